package audit

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/bits"
	"sync"
)

// A raw deflate decoder (RFC 1951) for the compressed data packets of
// exports: the same format klauspost/compress's flate and compress/flate
// read, decoded with a 64-bit bit buffer refilled eight bytes at a time
// from the bufio.Reader's buffer, first-level table lookups of up to 10
// bits, and matches copied eight bytes at a time (long ones that do not
// overlap by copy) within a flat window (32 KiB of history followed by the
// output not yet read), which Read copies out of. Every
// length, distance and code is checked as in zlib: a corrupt stream is a
// deflateError, a stream cut short io.ErrUnexpectedEOF (or the source's
// error). It reads no further from the bufio.Reader than the end of the
// deflate stream (ZLIB's Adler-32 follows it).

// deflateError is a corrupt deflate stream.
type deflateError string

func (e deflateError) Error() string { return "audit: corrupt deflate stream: " + string(e) }

const (
	deflateHistory = 32 << 10  // the largest distance
	deflateWindow  = 512 << 10 // history plus output buffered for Read
	deflateMaxCopy = 258 + 8   // room kept free at the end of the window: one match, copied 8 bytes at a time
	huffBits       = 10        // bits of a table's first level
	huffFlagSub    = 1 << 15   // entry points to a second-level table
	huffMaxLen     = 15
	huffInvalid    = 0x1ff<<16 | 1
)

// A Huffman table entry: bits 0–7 the code length to consume, bit 15 set
// for a pointer to a second-level table, whose index bits are in bits
// 8–11 and start in bits 16–31; else bits 16–31 are the symbol. A code
// the table lacks decodes to huffInvalid, a symbol no table has, so that
// the decoding loop needs no test of its own for it.
type huffTable struct {
	e    []uint32
	mask uint64 // of the first level: 1<<min(huffBits, longest code) - 1
}

// build makes the table for the code lengths lens (canonical Huffman
// code, RFC 1951 §3.2.2). An over-subscribed or incomplete set of lengths
// is an error, except no code at all and a single one-bit code, as in
// zlib; reading a code the table lacks is an error when met.
func (t *huffTable) build(lens []uint8) error {
	var count [huffMaxLen + 1]int
	maxLen := 0
	for _, l := range lens {
		count[l]++
		maxLen = max(maxLen, int(l))
	}
	count[0] = 0
	left := 1
	for l := 1; l <= huffMaxLen; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return deflateError("over-subscribed code")
		}
	}
	// Incomplete: only no code at all, or a single code of one bit, as
	// zlib and compress/flate accept.
	if left > 0 && maxLen > 0 && !(maxLen == 1 && count[1] == 1) {
		return deflateError("incomplete code")
	}
	var next [huffMaxLen + 2]int
	code := 0
	for l := 1; l <= huffMaxLen; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	// Second-level tables: one per first-level prefix of codes longer
	// than huffBits, each of 2^(maxLen-huffBits) entries.
	tb := min(huffBits, max(maxLen, 1)) // first-level bits
	t.mask = 1<<tb - 1
	sub := max(maxLen-huffBits, 0)
	long := 0
	for l := huffBits + 1; l <= maxLen; l++ {
		long += count[l]
	}
	size := 1<<tb + long<<sub
	if cap(t.e) < size {
		t.e = make([]uint32, size)
	}
	t.e = t.e[:size]
	if left > 0 {
		// Incomplete (no code, or a single one): the rest is invalid.
		// A complete code fills every entry below.
		for i := range t.e {
			t.e[i] = huffInvalid
		}
	}
	nextSub := 1 << tb
	var subOf [1 << huffBits]uint16 // second-level table of a prefix, 0 for none yet
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		r := int(bits.Reverse16(uint16(c)) >> (16 - l))
		if int(l) <= huffBits {
			for i := r; i < 1<<tb; i += 1 << l {
				t.e[i] = uint32(sym)<<16 | uint32(l)
			}
			continue
		}
		p := r & (1<<huffBits - 1)
		if subOf[p] == 0 {
			subOf[p] = uint16(nextSub)
			t.e[p] = uint32(nextSub)<<16 | huffFlagSub | uint32(sub)<<8 | huffBits
			nextSub += 1 << sub
		}
		base := int(subOf[p])
		rest := r >> huffBits
		rl := int(l) - huffBits
		for i := rest; i < 1<<sub; i += 1 << rl {
			t.e[base+i] = uint32(sym)<<16 | uint32(rl)
		}
	}
	return nil
}

var lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
var distBase = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// fixedTables are the tables of the fixed Huffman code (RFC 1951 §3.2.6).
var fixedTables = sync.OnceValues(func() (*huffTable, *huffTable) {
	var lens [288 + 32]uint8
	for i := range 288 {
		switch {
		case i < 144:
			lens[i] = 8
		case i < 256:
			lens[i] = 9
		case i < 280:
			lens[i] = 7
		default:
			lens[i] = 8
		}
	}
	for i := range 32 {
		lens[288+i] = 5
	}
	lit, dist := &huffTable{}, &huffTable{}
	if lit.build(lens[:288]) != nil || dist.build(lens[288:]) != nil {
		panic("audit: fixed Huffman tables")
	}
	return lit, dist
})

// inflateReader decodes a raw deflate stream read from br.
type inflateReader struct {
	br *bufio.Reader
	in []byte // br's buffered bytes, from Peek; in[:ip] read into bits
	ip int
	// bits holds nb bits not yet consumed, least significant first (and
	// above them possibly the bits of in[ip:], read ahead).
	bits uint64
	nb   int
	eof  bool  // br has no more bytes: in is all there is
	serr error // br's error other than io.EOF

	win    []byte // [history][decoded data not yet read]
	wp, rp int    // end of the decoded data; start of the data not yet read

	final   bool // the current block is the last
	inBlock int  // 0 between blocks, 1 in a stored block, 2 in a Huffman block
	stored  int  // bytes left in the stored block
	lit     *huffTable
	dist    *huffTable
	dyn     [2]huffTable // dynamic tables, reused
	done    bool         // the stream ended
	err     error
}

func newInflateReader(br *bufio.Reader) *inflateReader {
	return &inflateReader{br: br, win: make([]byte, deflateWindow)}
}

// fill reads more of br into in, keeping the 8 bytes before ip (the bits
// not yet consumed come from them), and bits up to at least 56 bits when
// there are that many.
func (f *inflateReader) fill() {
	if f.ip > 8 {
		d := f.ip - 8
		f.br.Discard(d)
		f.in, f.ip = f.in[d:], 8
	}
	if !f.eof && len(f.in)-f.ip < 8 {
		var err error
		f.in, err = f.br.Peek(f.br.Size())
		if err != nil && err != bufio.ErrBufferFull {
			f.eof = true
			if err != io.EOF {
				f.serr = err
			}
		}
	}
	for f.nb <= 56 && f.ip < len(f.in) {
		f.bits |= uint64(f.in[f.ip]) << uint(f.nb)
		f.ip++
		f.nb += 8
	}
}

// need makes sure n bits are in bits, or reports a cut stream.
func (f *inflateReader) need(n int) error {
	if f.nb < n {
		f.fill()
		if f.nb < n {
			return f.cut()
		}
	}
	return nil
}

func (f *inflateReader) cut() error {
	if f.serr != nil {
		return f.serr
	}
	return io.ErrUnexpectedEOF
}

func (f *inflateReader) take(n int) uint32 {
	v := uint32(f.bits & (1<<uint(n) - 1))
	f.bits >>= uint(n)
	f.nb -= n
	return v
}

// Read returns the decoded data.
func (f *inflateReader) Read(p []byte) (int, error) {
	for f.rp == f.wp {
		if f.err != nil {
			return 0, f.err
		}
		if f.done {
			f.err = io.EOF
			// Leave br just after the stream: the whole bytes still in
			// bits were not part of it.
			f.br.Discard(f.ip - f.nb>>3)
			f.in, f.ip, f.bits, f.nb = nil, 0, 0, 0
			return 0, io.EOF
		}
		if f.wp > len(f.win)-deflateMaxCopy-deflateHistory/2 {
			// Slide: keep the last 32 KiB as history.
			n := copy(f.win, f.win[f.wp-deflateHistory:f.wp])
			f.wp, f.rp = n, n
		}
		if err := f.decode(); err != nil {
			// Return nothing of what the failing call decoded: near a
			// cut end it may come from missing bits.
			f.err, f.wp = err, f.rp
		}
	}
	n := copy(p, f.win[f.rp:f.wp])
	f.rp += n
	return n, nil
}

func (f *inflateReader) Close() error { return nil }

// decode decodes until the window is nearly full or the stream ended.
func (f *inflateReader) decode() error {
	for f.wp < len(f.win)-deflateMaxCopy && !f.done {
		switch f.inBlock {
		case 0:
			if f.final {
				f.done = true
				return nil
			}
			if err := f.blockHeader(); err != nil {
				return err
			}
		case 1:
			if err := f.copyStored(); err != nil {
				return err
			}
		case 2:
			if err := f.huffman(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *inflateReader) blockHeader() error {
	if err := f.need(3); err != nil {
		return err
	}
	f.final = f.take(1) == 1
	switch f.take(2) {
	case 0:
		f.take(f.nb & 7) // to a byte boundary
		if err := f.need(32); err != nil {
			return err
		}
		n, nn := f.take(16), f.take(16)
		if n != ^nn&0xffff {
			return deflateError("stored block length does not match its complement")
		}
		f.stored, f.inBlock = int(n), 1
	case 1:
		f.lit, f.dist = fixedTables()
		f.inBlock = 2
	case 2:
		if err := f.dynamicTables(); err != nil {
			return err
		}
		f.lit, f.dist = &f.dyn[0], &f.dyn[1]
		f.inBlock = 2
	default:
		return deflateError("reserved block type")
	}
	return nil
}

var codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func (f *inflateReader) dynamicTables() error {
	if err := f.need(14); err != nil {
		return err
	}
	nlit, ndist, nclen := int(f.take(5))+257, int(f.take(5))+1, int(f.take(4))+4
	if nlit > 286 || ndist > 30 {
		return deflateError("too many length or distance codes")
	}
	var clens [19]uint8
	for i := range nclen {
		if err := f.need(3); err != nil {
			return err
		}
		clens[codeLengthOrder[i]] = uint8(f.take(3))
	}
	var ct huffTable
	if err := ct.build(clens[:]); err != nil {
		return err
	}
	var lens [286 + 30]uint8
	for i := 0; i < nlit+ndist; {
		sym, err := f.slowSymbol(&ct)
		if err != nil {
			return err
		}
		var rep int
		var val uint8
		switch {
		case sym < 16:
			lens[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				return deflateError("repeat with no previous length")
			}
			if err := f.need(2); err != nil {
				return err
			}
			rep, val = 3+int(f.take(2)), lens[i-1]
		case sym == 17:
			if err := f.need(3); err != nil {
				return err
			}
			rep = 3 + int(f.take(3))
		default:
			if err := f.need(7); err != nil {
				return err
			}
			rep = 11 + int(f.take(7))
		}
		if i+rep > nlit+ndist {
			return deflateError("code lengths repeated past the end")
		}
		for range rep {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		return deflateError("no end-of-block code")
	}
	if err := f.dyn[0].build(lens[:nlit]); err != nil {
		return err
	}
	return f.dyn[1].build(lens[nlit : nlit+ndist])
}

// slowSymbol decodes one symbol with t, refilling as needed (block
// headers only).
func (f *inflateReader) slowSymbol(t *huffTable) (int, error) {
	if f.nb < huffMaxLen {
		f.fill()
	}
	e := t.e[f.bits&t.mask]
	if e&huffFlagSub != 0 {
		if f.nb < huffBits {
			return 0, f.cut()
		}
		e = t.e[int(e>>16)+int(f.bits>>huffBits)&(1<<((e>>8)&0xf)-1)]
		if e == huffInvalid {
			return 0, deflateError("invalid code")
		}
		if n := int(e & 0xff); f.nb < huffBits+n {
			return 0, f.cut()
		}
		f.take(huffBits)
	}
	if e == huffInvalid {
		return 0, deflateError("invalid code")
	}
	n := int(e & 0xff)
	if f.nb < n {
		return 0, f.cut()
	}
	f.take(n)
	return int(e >> 16), nil
}

func (f *inflateReader) copyStored() error {
	for f.stored > 0 && f.wp < len(f.win)-deflateMaxCopy {
		// First the whole bytes left in bits, then straight from in.
		if f.nb >= 8 {
			f.win[f.wp] = byte(f.take(8))
			f.wp++
			f.stored--
			continue
		}
		if f.ip == len(f.in) {
			f.fill()
			if f.nb < 8 && f.ip == len(f.in) {
				return f.cut()
			}
			continue
		}
		n := copy(f.win[f.wp:min(f.wp+f.stored, len(f.win)-deflateMaxCopy)], f.in[f.ip:])
		f.wp += n
		f.ip += n
		f.stored -= n
		f.bits = 0 // the read-ahead bits of in[ip:] are stale now
	}
	if f.stored == 0 {
		f.inBlock = 0
	}
	return nil
}

// huffman decodes the current Huffman block until its end or until the
// window is nearly full. Near the end of the input the bits past the last
// byte read as zeros: nb going negative means the stream was cut, which
// is checked before a match, at the end of the block and at each refill
// (literals decoded from missing bits are dropped with the error: Read
// returns nothing decoded by the failing call).
func (f *inflateReader) huffman() error {
	bitsv, nb := f.bits, f.nb
	win, wp := f.win, f.wp
	lit, dist := f.lit.e, f.dist.e
	litMask, distMask := f.lit.mask, f.dist.mask
	limit := len(win) - deflateMaxCopy
	in, ip := f.in, f.ip
	for wp < limit {
		// At least 48 bits: a length code and its extra bits, a
		// distance code and its extra bits (15+5+15+13).
		if nb < 48 {
			if ip+8 <= len(in) {
				bitsv |= binary.LittleEndian.Uint64(in[ip:]) << uint(nb)
				ip += (63 - nb) >> 3
				nb |= 56
			} else {
				if nb < 0 {
					break
				}
				f.bits, f.nb, f.in, f.ip = bitsv, nb, in, ip
				f.fill()
				bitsv, nb, in, ip = f.bits, f.nb, f.in, f.ip
			}
		}
		e := lit[bitsv&litMask]
		if e&huffFlagSub != 0 {
			e = lit[int(e>>16)+int(bitsv>>huffBits)&(1<<((e>>8)&0xf)-1)]
			bitsv >>= huffBits
			nb -= huffBits
		}
		bitsv >>= e & 0xff
		nb -= int(e & 0xff)
		sym := int(e >> 16)
		if sym < 256 {
			win[wp] = byte(sym)
			wp++
			// A second literal with the bits left, when it is one.
			if nb >= huffMaxLen {
				e = lit[bitsv&litMask]
				if e>>16 < 256 {
					bitsv >>= e & 0xff
					nb -= int(e & 0xff)
					win[wp] = byte(e >> 16)
					wp++
				}
			}
			continue
		}
		if sym == 256 {
			if nb < 0 {
				break
			}
			f.bits, f.nb, f.in, f.ip, f.wp = bitsv, nb, in, ip, wp
			f.inBlock = 0
			return nil
		}
		sym -= 257
		if sym >= 29 {
			if nb < 0 {
				break
			}
			return f.corrupt("invalid literal/length code")
		}
		x := uint(lengthExtra[sym])
		length := int(lengthBase[sym]) + int(bitsv&(1<<x-1))
		bitsv >>= x
		nb -= int(x)
		e = dist[bitsv&distMask]
		if e&huffFlagSub != 0 {
			e = dist[int(e>>16)+int(bitsv>>huffBits)&(1<<((e>>8)&0xf)-1)]
			bitsv >>= huffBits
			nb -= huffBits
		}
		bitsv >>= e & 0xff
		nb -= int(e & 0xff)
		dsym := int(e >> 16)
		if dsym >= 30 {
			if nb < 0 {
				break
			}
			return f.corrupt("invalid distance code")
		}
		x = uint(distExtra[dsym])
		d := int(distBase[dsym]) + int(bitsv&(1<<x-1))
		bitsv >>= x
		nb -= int(x)
		if nb < 0 {
			break
		}
		if d > wp {
			return f.corrupt("distance too far back")
		}
		src := wp - d
		if d >= length && length >= 32 {
			copy(win[wp:wp+length], win[src:src+length])
			wp += length
		} else if d >= 8 {
			// 8 bytes at a time; may write up to 7 bytes past the
			// match, within the room kept free.
			end := wp + length
			for wp < end {
				binary.LittleEndian.PutUint64(win[wp:], binary.LittleEndian.Uint64(win[src:]))
				wp += 8
				src += 8
			}
			wp = end
		} else if d == 1 {
			b := win[src]
			w := win[wp : wp+length]
			for i := range w {
				w[i] = b
			}
			wp += length
		} else {
			for range length {
				win[wp] = win[src]
				wp++
				src++
			}
		}
	}
	f.bits, f.nb, f.in, f.ip, f.wp = bitsv, nb, in, ip, wp
	if nb < 0 {
		return f.cut()
	}
	return nil
}

// corrupt is the error for a corrupt stream (Read drops what the failing
// call decoded).
func (f *inflateReader) corrupt(what string) error {
	return deflateError(what)
}
