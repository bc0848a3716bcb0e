package migrate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"unicode"

	"github.com/gwsadmin/workspace/mailsource"
)

// StreamSink is a Sink that takes a message as a *Body, read while it is
// sent, so that a large message is never held in memory whole. Run calls
// InsertBody instead of Insert for such a sink. The sinks of datatransfer
// and gmail are StreamSinks.
type StreamSink interface {
	Sink
	// InsertBody is Insert with the message as a Body. msg may be read as
	// many times as the attempt needs (a redirect, a refreshed token), each
	// time from its first byte with Open; it must not be used once
	// InsertBody has returned.
	InsertBody(ctx context.Context, target string, msg *Body) error
}

// Body is one message as a sink sends it: CRLF line ends, checked and
// repaired by the run's Policy. A message of up to a megabyte is in
// memory; a larger one is read from a temporary file of the source reader
// (see mailsource.Options.SpillSize), its line ends made CRLF on the way,
// every time it is read.
type Body struct {
	size int64
	data []byte // the whole message, when it is in memory
	// Otherwise: head (the header section as sent, repairs made) followed
	// by rest, made CRLF as it is read.
	head []byte
	rest *io.SectionReader
	raw  bool                // rest has CRLF line ends only: it is sent as read
	msg  *mailsource.Message // closed by release
}

// Size returns the length of the message in bytes, as sent.
func (b *Body) Size() int64 { return b.size }

// Open returns a reader of the message from its first byte. Every reader
// gives the same bytes, Size of them; one of a message read from a file
// may fail with the file's read error.
func (b *Body) Open() io.Reader {
	if b.rest == nil {
		return bytes.NewReader(b.data)
	}
	rest := io.NewSectionReader(b.rest, 0, b.rest.Size())
	if b.raw {
		return io.MultiReader(bytes.NewReader(b.head), rest)
	}
	return io.MultiReader(bytes.NewReader(b.head), newCRLFReader(rest, b.rest.Size()))
}

// bytes returns the message in memory: data itself, or a copy read from
// the file.
func (b *Body) bytes() ([]byte, error) {
	if b.rest == nil {
		return b.data, nil
	}
	out := make([]byte, b.size)
	if _, err := io.ReadFull(b.Open(), out); err != nil {
		return nil, fmt.Errorf("migrate: reading the message back: %w", err)
	}
	return out, nil
}

// memSize is how much memory the body holds.
func (b *Body) memSize() int64 { return int64(len(b.data) + len(b.head)) }

// keep makes the body independent of the source reader's buffer, which is
// reused for the next message: a message in memory is copied, one in a
// file keeps the file (until release). It reports whether the file is
// kept.
func (b *Body) keep() bool {
	if b.rest == nil {
		b.data = slices.Clone(b.data)
		return false
	}
	return true
}

// release closes the temporary file of a body read from one.
func (b *Body) release() {
	if b != nil && b.msg != nil {
		b.msg.Close()
		b.msg = nil
	}
}

// crlfReader makes every line end of r CRLF, as mailsource.NormalizeCRLF
// does: a bare LF or a bare CR becomes CRLF.
type crlfReader struct {
	r   io.Reader
	in  []byte
	out []byte // normalized bytes not yet returned
	buf []byte // out's storage
	cr  bool   // the last input byte read was a CR held back: its LF may follow
	err error
}

// newCRLFReader returns a crlfReader of r, which reads at most size
// bytes.
func newCRLFReader(r io.Reader, size int64) *crlfReader {
	n := int(min(size+1, 32<<10))
	return &crlfReader{r: r, in: make([]byte, n), buf: make([]byte, 0, 2*n+2)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			if !c.cr {
				return 0, c.err
			}
			c.cr = false
			c.out = append(c.buf[:0], '\r', '\n')
			break
		}
		n, err := c.r.Read(c.in)
		c.err = err
		chunk := c.in[:n]
		o := c.buf[:0]
		if c.cr && n > 0 {
			c.cr = false
			o = append(o, '\r', '\n')
			if chunk[0] == '\n' {
				chunk = chunk[1:]
			}
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\r' {
			c.cr = true
			chunk = chunk[:len(chunk)-1]
		}
		c.out = mailsource.AppendCRLF(o, chunk)
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// crlfScan tells, chunk by chunk, whether a text has CRLF line ends only
// (no bare CR, no bare LF).
type crlfScan struct {
	cr, lf, crlf int64
	lastCR       bool
}

var crlfBytes = []byte("\r\n")

func (s *crlfScan) add(c []byte) {
	if len(c) == 0 {
		return
	}
	s.cr += int64(bytes.Count(c, crlfBytes[:1]))
	s.lf += int64(bytes.Count(c, crlfBytes[1:]))
	s.crlf += int64(bytes.Count(c, crlfBytes))
	if s.lastCR && c[0] == '\n' {
		s.crlf++
	}
	s.lastCR = c[len(c)-1] == '\r'
}

// clean reports whether every CR and every LF seen are in a CRLF pair.
func (s *crlfScan) clean() bool { return s.cr == s.crlf && s.lf == s.crlf }

// headChunk is the first read of a large message looking for its header.
const headChunk = 64 << 10

// prepareLarge is prepare for a message kept out of memory: only its
// header section is read into memory; the rest is made CRLF each time the
// body is read. It refuses and repairs exactly as prepare does, and the
// body reads the bytes prepare would return. It also returns the hash of
// the body (see contentHash).
func prepareLarge(msg *mailsource.Message, target string, maxSize int64, policy Policy) (p prepared, b *Body, full, raw string, err error) {
	var repairs []string
	repairs = append(repairs, msg.Fixes.Strings()...)
	src := msg.Open()
	size := src.Size()
	var buf []byte
	var pos, end int
	for n := min(size, headChunk); ; n = min(2*n, size) {
		buf = slices.Grow(buf[:0], int(n))[:n]
		if _, err := src.ReadAt(buf, 0); err != nil && err != io.EOF {
			return prepared{}, nil, "", "", fmt.Errorf("migrate: reading the message: %w", err)
		}
		var ok bool
		if pos, end, ok = headerSpan(buf, n == size); ok {
			break
		}
	}
	empty := len(bytes.TrimSpace(buf)) == 0 && allSpace(src)
	if pos > 0 && !slices.Contains(repairs, RepairEnvelopeLine) {
		repairs = append(repairs, RepairEnvelopeLine)
	}
	head := mailsource.NormalizeCRLF(buf[pos:end])
	if len(head) == end-pos {
		head = slices.Clone(head)
	}
	h := scanFields(head)
	// The header as sent, should the message get past the checks.
	sent, sentH, added := head, h, []string(nil)
	if policy == Repair && h.present {
		sent, sentH, added = repairHeader(msg.Envelope, head, h, target)
	}
	b = &Body{head: sent, rest: io.NewSectionReader(src, int64(end), size-int64(end)), msg: msg}
	// One read of the whole message: the journal's hash of it as read,
	// and the body's hash, which is that of the rest as read when the
	// rest has CRLF line ends only (the usual case: then the body is sent
	// as read, without normalizing).
	rh, hs := sha256.New(), sha256.New()
	hs.Write(sent)
	var sc crlfScan
	chunk := make([]byte, min(size, 256<<10))
	for off := int64(0); off < size; {
		n, err := src.ReadAt(chunk[:min(int64(len(chunk)), size-off)], off)
		if n == 0 && err != nil {
			return prepared{}, nil, "", "", fmt.Errorf("migrate: reading the message: %w", err)
		}
		c := chunk[:n]
		rh.Write(c)
		if r := int64(end) - off; r < int64(n) {
			c = c[max(r, 0):]
			sc.add(c)
			hs.Write(c)
		}
		off += int64(n)
	}
	raw = hex.EncodeToString(rh.Sum(nil)[:16])
	restSize := b.rest.Size()
	if b.raw = sc.clean(); !b.raw {
		hs.Reset()
		hs.Write(sent)
		if restSize, err = io.Copy(hs, newCRLFReader(io.NewSectionReader(b.rest, 0, b.rest.Size()), b.rest.Size())); err != nil {
			return prepared{}, nil, "", "", fmt.Errorf("migrate: reading the message: %w", err)
		}
	}
	full = hex.EncodeToString(hs.Sum(nil))

	// The checks of prepare, in its order.
	if empty {
		return refuse("message", "the message is empty"), nil, "", raw, nil
	}
	normSize := int64(len(head)) + restSize
	if normSize != size-int64(pos) {
		repairs = append(repairs, RepairCRLF)
	}
	if normSize > maxSize {
		return refuse("size", fmt.Sprintf("%d bytes with CRLF line endings, over the %d-byte limit", normSize, maxSize)), nil, "", raw, nil
	}
	if !h.present {
		return refuse("header", "the message does not start with a header section (no \"Name: value\" field on its first line)"), nil, "", raw, nil
	}
	b.size = int64(len(sent)) + restSize
	if len(added) > 0 {
		repairs = append(repairs, added...)
		if b.size > maxSize {
			return refuse("size", fmt.Sprintf("%d bytes after repairs, over the %d-byte limit", b.size, maxSize)), nil, "", raw, nil
		}
	}
	if p := checkRequired(sentH); p.refusal != nil {
		return p, nil, "", raw, nil
	}
	if policy == Strict {
		// Validate looks at the header section only, and the rest is CRLF.
		if p := strictCheck(sent, maxSize); p.refusal != nil {
			return p, nil, "", raw, nil
		}
	}
	return prepared{repairs: repairs}, b, full, raw, nil
}

// headerSpan finds, in the first bytes of a message (all of it when eof),
// the end of the stray envelope lines at its top (pos) and the end of its
// header section (end, after the blank line; or after the first line when
// that is not a field, as scanFields stops there). It reports false when
// data ends before both are known.
func headerSpan(data []byte, eof bool) (pos, end int, ok bool) {
	for n := 0; n < maxEnvelopeRemovals; n++ {
		le, ok := lineEndIn(data[pos:], eof)
		if !ok {
			return 0, 0, false
		}
		if !isEnvelopeLine(data[pos : pos+le]) {
			break
		}
		pos += le
	}
	for p, first := pos, true; ; first = false {
		if p == len(data) {
			return pos, p, eof
		}
		le, ok := lineEndIn(data[p:], eof)
		if !ok {
			return 0, 0, false
		}
		line := bytes.TrimRight(data[p:p+le], "\r\n")
		if len(line) == 0 {
			return pos, p + le, true
		}
		if first {
			colon := bytes.IndexByte(line, ':')
			if line[0] == ' ' || line[0] == '\t' || colon <= 0 || !isFieldName(bytes.TrimRight(line[:colon], " \t")) {
				return pos, p + le, true
			}
		}
		p += le
	}
}

// lineEndIn is lineEnd for data that may continue beyond what is given
// (unless eof): it reports false when the line end is not known yet.
func lineEndIn(data []byte, eof bool) (int, bool) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		return len(data), eof
	case data[i] == '\n':
		return i + 1, true
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, true
		}
		return i + 1, true
	}
	return i + 1, eof
}

// allSpace reports whether r reads only white space, as bytes.TrimSpace
// sees it.
func allSpace(r io.ReadSeeker) bool {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return false
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		c, _, err := br.ReadRune()
		if err != nil {
			return err == io.EOF
		}
		if !unicode.IsSpace(c) {
			return false
		}
	}
}
