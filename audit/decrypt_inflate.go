package audit

import (
	"bufio"
	"compress/bzip2"
	"encoding/binary"
	"io"
	"strconv"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zlib"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
)

// The decompression of the compressed data packet (RFC 4880 §5.6, RFC
// 9580 §5.6) that gpg puts around the literal data: one octet naming the
// algorithm (0 none, 1 ZIP: RFC 1951 raw deflate, 2 ZLIB: RFC 1950, 3
// BZip2), then the compressed stream up to the end of the packet.
//
// go-crypto decompresses it with compress/flate and compress/zlib, which
// take about as long as gpg's whole run on a large mbox. Here the
// outermost packet of the decrypted data is read as go-crypto reads it
// (packet.Read and Compressed.parse), but ZIP and ZLIB are inflated with
// github.com/klauspost/compress's flate, about twice as fast. For ZLIB the
// two-octet header and the Adler-32 trailer are read here, as
// compress/zlib reads them, and the Adler-32 is computed with AVX2
// (adler32Update). BZip2 stays with compress/bzip2, as in go-crypto. The
// decompressed data, itself a packet sequence, is parsed by go-crypto,
// which reads it straight from the inflater into the caller's buffer (the
// asyncWriter's, in DecryptFile), on the caller's goroutine: no copy and
// no hand-off between goroutines per chunk.

// packetTagCompressed is the tag of the compressed data packet.
const packetTagCompressed = 8

// compressedBufferSize is the size of the buffer between the decrypted
// data and the decompressor.
const compressedBufferSize = 64 << 10

// packetHeader is a parsed OpenPGP packet header (RFC 4880 §4.2).
type packetHeader struct {
	raw     [6]byte // the header bytes as read
	rawLen  int
	tag     byte
	length  int64 // of the body, or of its first part when partial
	partial bool  // new format, partial body lengths follow
	toEnd   bool  // old format, indeterminate length: up to the end of the data
}

// readPacketHeader reads a packet header from r, as go-crypto's readHeader
// does: io.EOF when r is empty, io.ErrUnexpectedEOF when it ends within
// the header.
func readPacketHeader(r io.Reader) (*packetHeader, error) {
	h := &packetHeader{}
	read := func(n int) ([]byte, error) {
		b := h.raw[h.rawLen : h.rawLen+n]
		k, err := io.ReadFull(r, b)
		h.rawLen += k
		if err == io.EOF && h.rawLen > 0 {
			err = io.ErrUnexpectedEOF
		}
		return b, err
	}
	b, err := read(1)
	if err != nil {
		return nil, err
	}
	t := b[0]
	if t&0x80 == 0 {
		return nil, pgperrors.StructuralError("tag byte does not have MSB set")
	}
	if t&0x40 == 0 { // old format
		h.tag = (t & 0x3f) >> 2
		lt := t & 3
		if lt == 3 {
			h.toEnd = true
			return h, nil
		}
		b, err := read(1 << lt)
		if err != nil {
			return nil, err
		}
		for _, c := range b {
			h.length = h.length<<8 | int64(c)
		}
		return h, nil
	}
	h.tag = t & 0x3f
	h.length, h.partial, err = readBodyLength(read)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// readBodyLength reads a new-format body length (RFC 4880 §4.2.2) with
// read, which returns the next n bytes.
func readBodyLength(read func(n int) ([]byte, error)) (length int64, partial bool, err error) {
	b, err := read(1)
	if err != nil {
		return 0, false, err
	}
	switch c := b[0]; {
	case c < 192:
		return int64(c), false, nil
	case c < 224:
		b, err := read(1)
		if err != nil {
			return 0, false, err
		}
		return int64(c-192)<<8 + int64(b[0]) + 192, false, nil
	case c < 255:
		return 1 << (c & 0x1f), true, nil
	default:
		b, err := read(4)
		if err != nil {
			return 0, false, err
		}
		return int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3]), false, nil
	}
}

// body returns the body of the packet whose header h was read from r:
// io.EOF at its end, io.ErrUnexpectedEOF when r ends before.
func (h *packetHeader) body(r io.Reader) io.Reader {
	if h.toEnd {
		return r
	}
	return &bodyReader{r: r, remaining: h.length, partial: h.partial}
}

// bodyReader reads a packet body of known length or in partial lengths.
type bodyReader struct {
	r         io.Reader
	remaining int64 // in the current part
	partial   bool  // more parts follow the current one
}

func (b *bodyReader) Read(p []byte) (int, error) {
	for b.remaining == 0 {
		if !b.partial {
			return 0, io.EOF
		}
		var buf [4]byte
		var err error
		b.remaining, b.partial, err = readBodyLength(func(n int) ([]byte, error) {
			_, err := io.ReadFull(b.r, buf[:n])
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf[:n], err
		})
		if err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.r.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF && (b.remaining > 0 || b.partial) {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil // the next call says io.EOF
	}
	return n, err
}

// decompress reads the algorithm octet of a compressed data packet's body
// and returns the decompressed data, which ends with io.EOF once the
// compressed stream ended, the rest of the body being read and discarded
// then, as go-crypto does. For ZLIB it fails with zlib.ErrChecksum at the
// end when the Adler-32 of the data is not the stream's, as compress/zlib
// does.
func decompress(body io.Reader) (io.Reader, error) {
	var algo [1]byte
	if _, err := io.ReadFull(body, algo[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch algo[0] {
	case 0:
		return body, nil
	case 1:
		br := bufio.NewReaderSize(body, compressedBufferSize)
		return &inflater{compressed: br, r: flate.NewReader(br)}, nil
	case 2:
		br := bufio.NewReaderSize(body, compressedBufferSize)
		z, err := newZlibInflater(br)
		if err != nil {
			return nil, err
		}
		return &inflater{compressed: br, r: z}, nil
	case 3:
		return &inflater{compressed: body, r: io.NopCloser(bzip2.NewReader(body))}, nil
	}
	return nil, pgperrors.UnsupportedError("unknown compression algorithm: " + strconv.Itoa(int(algo[0])))
}

// zlibInflater inflates a ZLIB stream (RFC 1950): a two-octet header, a
// deflate stream, the Adler-32 of the decompressed data (big-endian),
// checked at the end as compress/zlib checks it, but computed with
// adler32Update (AVX2 where the CPU has it, about ten times faster than
// hash/adler32).
type zlibInflater struct {
	br    *bufio.Reader
	fr    io.ReadCloser
	adler uint32 // of the data so far
}

// newZlibInflater reads and checks the ZLIB header from br, as
// compress/zlib does: deflate, a window of at most 32 KiB, no preset
// dictionary (OpenPGP gives none).
func newZlibInflater(br *bufio.Reader) (*zlibInflater, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if h[0]&0x0f != 8 || h[0]>>4 > 7 || (uint(h[0])<<8|uint(h[1]))%31 != 0 {
		return nil, zlib.ErrHeader
	}
	if h[1]&0x20 != 0 {
		return nil, zlib.ErrDictionary
	}
	return &zlibInflater{br: br, fr: flate.NewReader(br), adler: 1}, nil
}

func (z *zlibInflater) Read(p []byte) (int, error) {
	n, err := z.fr.Read(p)
	z.adler = adler32Update(z.adler, p[:n])
	if err != io.EOF {
		return n, err
	}
	// The deflate stream ended; klauspost's inflater reads no further
	// than its end from a bufio.Reader.
	var t [4]byte
	if _, err := io.ReadFull(z.br, t[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	}
	if binary.BigEndian.Uint32(t[:]) != z.adler {
		return n, zlib.ErrChecksum
	}
	return n, io.EOF
}

func (z *zlibInflater) Close() error { return z.fr.Close() }

// inflater is the decompressed data of a compressed packet, as
// go-crypto's decompressionReader: at the end of the compressed stream
// the decompressor is closed and the rest of the packet read.
type inflater struct {
	compressed io.Reader
	r          io.ReadCloser
	done       bool
}

func (d *inflater) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	n, err := d.r.Read(p)
	if err == io.EOF {
		d.done = true
		if cerr := d.r.Close(); cerr != nil {
			return n, cerr
		}
		if _, cerr := io.Copy(io.Discard, d.compressed); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}
