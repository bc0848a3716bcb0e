package audit

import (
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
)

// The decryption of a symmetrically encrypted integrity protected data
// packet, version 1 (RFC 4880 §5.13, RFC 9580 §5.13.1), the packet every
// Email Audit export and every file gpg encrypts to an RSA key holds.
//
// go-crypto decrypts it byte by byte, one AES block call per 16 bytes, and
// hashes and parses on the same goroutine. Here the same computation runs
// as a pipeline over chunks of 512 KiB:
//
//	producer: read ciphertext, CFB-decrypt it (all keystream blocks of a
//	          chunk at once: in CFB decryption each keystream block is the
//	          encryption of the previous ciphertext block, all known;
//	          32 blocks at a time with VAES and AVX-512, with the XOR in
//	          the same pass, else 8 with AES-NI)
//	hasher:   SHA-1 over the plaintext chunks, in order; at the end the
//	          MDC check
//	consumer: Read, by the packet parser, of the same chunks; io.EOF
//	          only after the hasher's verdict
//
// The integrity check is the one go-crypto makes (seMDCReader): SHA-1 over
// the decrypted prefix (block size + 2 bytes, whose repeated "quick check"
// bytes are not checked on their own, as in go-crypto: only through the
// hash), the plaintext and the two header bytes 0xD3 0x14 of the trailing
// modification detection code packet, compared in constant time with the
// 20 bytes that follow them, which must end the packet. The plaintext
// never includes those last 22 bytes. Until Read returns io.EOF the
// plaintext is unauthenticated; a mismatch, a short packet or a read error
// is returned by Read instead of io.EOF.

const (
	mdcLen      = 2 + sha1.Size // MDC packet: tag 0xD3, length 0x14, SHA-1
	cfbChunk    = 512 << 10     // ciphertext read and decrypted at once
	cfbBuffers  = 4             // plaintext chunks in flight
	cfbBlockLen = 16            // AES
)

// cfbDecrypter decrypts OpenPGP's CFB mode without resynchronisation (a
// zero IV over prefix and data), which is standard CFB.
type cfbDecrypter struct {
	b    cipher.Block
	prev [cfbBlockLen]byte // the previous ciphertext block: the next block's keystream input
	// ecb, when set, encrypts len(src)/16 consecutive blocks of src into dst.
	ecb func(dst, src []byte)
	// cfb, when set, sets dst[i] = AES(src[i]) XOR x[i] for the
	// len(src)/16 blocks of src (VAES: keystream and XOR in one pass).
	cfb func(dst, src, x []byte)
}

// newCFBDecrypter decrypts with the AES key key; b is crypto/aes's
// cipher for it.
func newCFBDecrypter(b cipher.Block, key []byte) *cfbDecrypter {
	d := &cfbDecrypter{b: b, cfb: cfbFunc(key)}
	if d.cfb == nil {
		d.ecb = ecbFunc(key)
	}
	return d
}

// decrypt decrypts src into dst (same length, not overlapping). Only the
// last call of a stream may pass a length that is not a multiple of the
// block size.
func (d *cfbDecrypter) decrypt(dst, src []byte) {
	const bs = cfbBlockLen
	full := len(src) / bs
	if d.cfb != nil && full > 1 {
		// Block 0 from the previous call's last ciphertext block, blocks
		// 1 to full-1 from this call's, the tail from the last full one.
		var ks [bs]byte
		d.b.Encrypt(ks[:], d.prev[:])
		subtle.XORBytes(dst[:bs], src[:bs], ks[:])
		d.cfb(dst[bs:full*bs], src[:(full-1)*bs], src[bs:full*bs])
		copy(d.prev[:], src[(full-1)*bs:full*bs])
		if tail := len(src) - full*bs; tail > 0 {
			d.b.Encrypt(ks[:], d.prev[:])
			subtle.XORBytes(dst[full*bs:], src[full*bs:], ks[:tail])
		}
		return
	}
	if full > 0 {
		d.b.Encrypt(dst[:bs], d.prev[:])
		if full > 1 {
			if d.ecb != nil {
				d.ecb(dst[bs:full*bs], src[:(full-1)*bs])
			} else {
				for i := 1; i < full; i++ {
					d.b.Encrypt(dst[i*bs:(i+1)*bs], src[(i-1)*bs:i*bs])
				}
			}
		}
		copy(d.prev[:], src[(full-1)*bs:full*bs])
	}
	if tail := len(src) - full*bs; tail > 0 {
		var ks [bs]byte
		d.b.Encrypt(ks[:], d.prev[:])
		copy(dst[full*bs:], ks[:tail])
	}
	subtle.XORBytes(dst, dst, src)
}

// pbuf is a pooled plaintext buffer, back in the pool when the hasher
// and the reader are both done with it.
type pbuf struct {
	b    []byte
	refs atomic.Int32
}

// chunk is plaintext passed down the pipeline.
type chunk struct {
	buf  *pbuf  // pooled buffer holding data
	data []byte // plaintext to hash
	skip int    // leading bytes of data the reader does not return (the prefix)
	last bool   // end of the packet: trailer holds the MDC packet, err any read error
	err  error
	// trailer is the last mdcLen bytes of plaintext (trailerLen of them
	// when the packet is shorter).
	trailer    [mdcLen]byte
	trailerLen int
}

// seipdReader is the plaintext of a version 1 SEIPD packet, checked
// against its MDC. Read, finish and stop must not be called concurrently.
type seipdReader struct {
	hashed  chan chunk // to the reader
	toHash  chan chunk // to the hasher
	verdict chan error // from the hasher: the MDC check
	free    chan *pbuf
	done    chan struct{}
	wg      sync.WaitGroup
	stopped bool

	cur chunk
	off int
	err error // sticky: io.EOF after a good MDC, else the failure
}

// newSEIPDReader decrypts the packet contents ciphertext (everything after
// the version byte) with the AES key key, b being crypto/aes's cipher for it.
func newSEIPDReader(ciphertext io.Reader, b cipher.Block, key []byte) *seipdReader {
	r := &seipdReader{
		hashed:  make(chan chunk, cfbBuffers),
		toHash:  make(chan chunk, cfbBuffers),
		verdict: make(chan error, 1),
		free:    make(chan *pbuf, cfbBuffers),
		done:    make(chan struct{}),
	}
	for range cfbBuffers {
		r.free <- nil // allocated on first use
	}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		r.produce(ciphertext, newCFBDecrypter(b, key), b.BlockSize()+2)
	}()
	go func() {
		defer r.wg.Done()
		r.hash(sha1.New())
	}()
	return r
}

// readChunk reads until p is full or the reader fails; unlike
// io.ReadFull it returns io.EOF as is, so that a clean end is told from a
// truncated packet (io.ErrUnexpectedEOF from go-crypto's packet reader).
func readChunk(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// release returns pb to the pool once both its users are done with it.
func (r *seipdReader) release(pb *pbuf) {
	if pb.refs.Add(-1) == 0 {
		r.free <- pb // never blocks: there are only cap(free) buffers
	}
}

func (r *seipdReader) produce(src io.Reader, d *cfbDecrypter, prefixLen int) {
	send := func(c chunk) bool {
		for _, ch := range []chan chunk{r.toHash, r.hashed} {
			select {
			case ch <- c:
			case <-r.done:
				return false
			}
		}
		return true
	}
	var cbuf []byte
	var carry [mdcLen]byte
	carryLen := 0
	skip := prefixLen
	for {
		if cbuf == nil {
			cbuf = make([]byte, cfbChunk)
		}
		n, err := readChunk(src, cbuf)
		if n > 0 {
			var pb *pbuf
			select {
			case pb = <-r.free:
			case <-r.done:
				return
			}
			if pb == nil {
				pb = &pbuf{b: make([]byte, mdcLen+cfbChunk)}
			}
			b := pb.b
			// b: [carried-over plaintext][this chunk's plaintext]; the
			// last mdcLen bytes of it stay behind for the next chunk.
			d.decrypt(b[mdcLen:mdcLen+n], cbuf[:n])
			start, end := mdcLen-carryLen, mdcLen+n
			copy(b[start:mdcLen], carry[:carryLen])
			keep := min(mdcLen, end-start)
			carryLen = copy(carry[:], b[end-keep:end])
			if data := b[start : end-keep]; len(data) > 0 {
				pb.refs.Store(2)
				c := chunk{buf: pb, data: data, skip: min(skip, len(data))}
				skip -= c.skip
				if !send(c) {
					return
				}
			} else {
				r.free <- pb // never blocks: pb came from free
			}
		}
		if err != nil {
			c := chunk{last: true, trailerLen: carryLen, trailer: carry}
			if err != io.EOF {
				c.err = err
			}
			send(c)
			return
		}
	}
}

// hash hashes the plaintext chunks in order and, at the end, sends the
// verdict of the MDC check.
func (r *seipdReader) hash(h hash.Hash) {
	for {
		var c chunk
		select {
		case c = <-r.toHash:
		case <-r.done:
			return
		}
		if c.last {
			if c.err == nil {
				r.verdict <- checkMDC(h, c.trailer[:c.trailerLen]) // buffered
			}
			return
		}
		h.Write(c.data)
		r.release(c.buf)
	}
}

// checkMDC compares the MDC packet trailer with h, the SHA-1 of the prefix
// and plaintext, as go-crypto's seMDCReader.Close does.
func checkMDC(h hash.Hash, trailer []byte) error {
	if len(trailer) != mdcLen {
		return pgperrors.ErrMDCHashMismatch
	}
	h.Write(trailer[:2])
	sum := h.Sum(nil)
	if subtle.ConstantTimeCompare(sum, trailer[2:]) != 1 {
		return pgperrors.ErrMDCHashMismatch
	}
	if trailer[0] != 0xD3 || trailer[1] != sha1.Size {
		return pgperrors.ErrMDCHashMismatch
	}
	return nil
}

// Read returns the plaintext, while the hasher hashes it; io.EOF only once
// the MDC matched.
func (r *seipdReader) Read(p []byte) (int, error) {
	for r.off >= len(r.cur.data) {
		if r.err != nil {
			return 0, r.err
		}
		if r.cur.buf != nil {
			r.release(r.cur.buf)
			r.cur = chunk{}
		}
		c := <-r.hashed
		if c.last {
			r.err = c.err
			if r.err == nil {
				r.err = <-r.verdict
			}
			if r.err == nil {
				r.err = io.EOF
			}
			return 0, r.err
		}
		r.cur, r.off = c, c.skip
	}
	n := copy(p, r.cur.data[r.off:])
	r.off += n
	return n, nil
}

// finish reads what is left of the packet and returns the verdict of its
// integrity check: nil when the MDC matched, else ErrMDCHashMismatch,
// whatever went wrong (a read error, a short packet), as go-crypto's
// seMDCReader.Close does.
func (r *seipdReader) finish() error {
	defer r.stop()
	if r.err == nil {
		var buf [32 << 10]byte
		for {
			if _, err := r.Read(buf[:]); err != nil {
				break
			}
		}
	}
	if r.err == io.EOF {
		return nil
	}
	return pgperrors.ErrMDCHashMismatch
}

// stop ends the pipeline's goroutines and waits for them, so that none
// reads the source after Decrypt returns.
func (r *seipdReader) stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	close(r.done)
	r.wg.Wait()
}
