package mailsource

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	// lineBuf is the bufio buffer size. A line longer than this is handled
	// in chunks of this size; only the first chunk is looked at for the
	// envelope and escaping rules.
	lineBuf = 64 << 10
	// maxEnvelope bounds Message.Envelope.
	maxEnvelope = 1 << 10
	// scratchKeep is the largest scratch buffer kept between messages.
	scratchKeep = 4 << 20
)

var utf8BOM = []byte("\xef\xbb\xbf")

type mboxReader struct {
	br     *bufio.Reader
	closer io.Closer
	name   string
	opts   Options

	off         int64 // bytes consumed from the input
	atLineStart bool  // the next chunk begins a line
	started     bool  // the preamble has been dealt with
	haveEnv     bool  // an envelope line has been read and its message not yet
	envOff      int64
	envLine     string
	index       int
	err         error // sticky
	scratch     []byte
}

// NewMbox returns a Reader over the mbox read from r. name is used as
// Message.Source. Offsets are counted from the current position of r. If r
// is an io.Closer it is closed by Close.
//
// See the package documentation for how message boundaries are found.
func NewMbox(r io.Reader, name string, opts *Options) Reader {
	mr := &mboxReader{
		br:          bufio.NewReaderSize(r, lineBuf),
		name:        name,
		opts:        opts.resolved(),
		atLineStart: true,
	}
	if c, ok := r.(io.Closer); ok {
		mr.closer = c
	}
	return mr
}

// OpenMbox opens the mbox file at path.
func OpenMbox(path string, opts *Options) (Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mailsource: %w", err)
	}
	return NewMbox(f, path, opts), nil
}

// Close implements Reader.
func (r *mboxReader) Close() error {
	r.err = errClosed
	r.scratch = nil
	if r.closer != nil {
		c := r.closer
		r.closer = nil
		return c.Close()
	}
	return nil
}

var errClosed = errors.New("mailsource: reader closed")

// Next implements Reader.
func (r *mboxReader) Next() (*Message, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		r.started = true
		// A UTF-8 byte order mark some Windows tools write is dropped.
		if p, _ := r.br.Peek(len(utf8BOM)); bytes.Equal(p, utf8BOM) {
			r.br.Discard(len(utf8BOM))
			r.off += int64(len(utf8BOM))
		}
		pre := &Message{Kind: KindMbox, Source: r.name, Index: -1, Preamble: true}
		content, err := r.collect(pre, true, false)
		if err != nil {
			r.err = err
			return nil, err
		}
		if content {
			return pre, nil
		}
	}
	for r.haveEnv {
		m := &Message{Kind: KindMbox, Source: r.name, Index: r.index, Offset: r.envOff, Envelope: r.envLine}
		r.index++
		skip := r.opts.Skip != nil && r.opts.Skip(m)
		if _, err := r.collect(m, false, skip); err != nil {
			r.err = err
			return nil, err
		}
		if !skip {
			return m, nil
		}
	}
	r.err = io.EOF
	return nil, io.EOF
}

// collect reads up to the next envelope line (which it consumes and records)
// or the end of input, filling m. In preamble mode an envelope line need not
// follow a blank line, escaping is left alone, and the returned bool says
// whether anything but blank space was seen. When discard is true nothing
// is buffered.
func (r *mboxReader) collect(m *Message, preamble, discard bool) (bool, error) {
	maxSize := r.opts.MaxSize
	buf := r.scratch[:0]
	var size int64
	tooLarge := discard
	var pending [2]byte // a held-back blank line: "\n" or "\r\n"
	pendingLen := 0
	content := false

	add := func(p []byte) {
		if !tooLarge && size+int64(len(p)) > maxSize {
			tooLarge = true
			buf = buf[:0]
		}
		size += int64(len(p))
		if !tooLarge {
			buf = appendBounded(buf, p, maxSize)
		}
	}

	r.haveEnv = false
	for {
		lineStart := r.atLineStart
		start := r.off
		b, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = nil
		}
		if len(b) > 0 {
			r.off += int64(len(b))
			r.atLineStart = b[len(b)-1] == '\n'
			if lineStart && r.isEnvelope(b, preamble || pendingLen > 0) {
				if err2 := r.takeEnvelope(start, b); err2 != nil {
					return false, err2
				}
				break
			}
			if lineStart {
				if pendingLen > 0 {
					add(pending[:pendingLen])
					pendingLen = 0
				}
				if isBlankLine(b) {
					pendingLen = copy(pending[:], b)
					b = nil
				} else if !preamble {
					b = r.unescape(b)
				}
			}
			if len(b) > 0 {
				if preamble && !content && len(bytes.TrimSpace(b)) > 0 {
					content = true
				}
				add(b)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, fmt.Errorf("mailsource: %s: reading at offset %d: %w", r.name, r.off, err)
		}
	}

	m.Size = size
	if tooLarge {
		m.TooLarge = !discard
		m.Data = nil
	} else if r.opts.ReuseBuffer {
		// The caller is done with the previous Data: lend the buffer.
		m.Data = buf[:len(buf):len(buf)]
		r.scratch = buf[:0]
		return content, nil
	} else if cap(buf) > scratchKeep {
		// Too big to keep as scratch: hand the buffer over instead of
		// copying it, so a 25 MiB message costs one 25 MiB buffer, not two.
		m.Data = buf[:len(buf):len(buf)]
		buf = nil
	} else {
		m.Data = make([]byte, len(buf))
		copy(m.Data, buf)
	}
	if cap(buf) <= scratchKeep {
		r.scratch = buf[:0]
	} else {
		r.scratch = nil
	}
	return content, nil
}

// appendBounded appends p to buf, growing the capacity geometrically but
// never beyond limit (which the caller guarantees len(buf)+len(p) fits).
func appendBounded(buf, p []byte, limit int64) []byte {
	need := len(buf) + len(p)
	if need <= cap(buf) {
		return append(buf, p...)
	}
	newCap := 2 * cap(buf)
	if newCap < 4096 {
		newCap = 4096
	}
	if newCap < need {
		newCap = need
	}
	if int64(newCap) > limit {
		newCap = int(limit)
	}
	nb := make([]byte, len(buf), newCap)
	copy(nb, buf)
	return append(nb, p...)
}

func isBlankLine(b []byte) bool {
	return (len(b) == 1 && b[0] == '\n') || (len(b) == 2 && b[0] == '\r' && b[1] == '\n')
}

var fromSpace = []byte("From ")

// isEnvelope reports whether b, a chunk that starts a line, is an envelope
// line: it starts with "From ", the previous line was blank (or afterBlank
// is otherwise granted) and, unless LaxSeparator is set, the rest looks
// like an envelope.
func (r *mboxReader) isEnvelope(b []byte, afterBlank bool) bool {
	if !afterBlank || !bytes.HasPrefix(b, fromSpace) {
		return false
	}
	return r.opts.LaxSeparator || LooksLikeEnvelope(b[len(fromSpace):])
}

// takeEnvelope records the envelope line starting with chunk b at offset
// start, consuming the rest of the line if it was longer than the buffer.
func (r *mboxReader) takeEnvelope(start int64, b []byte) error {
	line := b[len(fromSpace):]
	line = bytes.TrimRight(line, "\r\n")
	if len(line) > maxEnvelope {
		line = line[:maxEnvelope]
	}
	r.envLine = string(line)
	r.envOff = start
	r.haveEnv = true
	for !r.atLineStart {
		c, err := r.br.ReadSlice('\n')
		r.off += int64(len(c))
		if len(c) > 0 {
			r.atLineStart = c[len(c)-1] == '\n'
		}
		if err == io.EOF {
			return nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return fmt.Errorf("mailsource: %s: reading at offset %d: %w", r.name, r.off, err)
		}
	}
	return nil
}

// unescape undoes the "From " quoting of the reader's format on chunk b,
// which starts a line.
func (r *mboxReader) unescape(b []byte) []byte {
	if len(b) == 0 || b[0] != '>' {
		return b
	}
	switch r.opts.Format {
	case MboxRD:
		j := 1
		for j < len(b) && b[j] == '>' {
			j++
		}
		if bytes.HasPrefix(b[j:], fromSpace) {
			return b[1:]
		}
	case MboxO, MboxCL:
		if bytes.HasPrefix(b[1:], fromSpace) {
			return b[1:]
		}
	}
	return b
}

// LooksLikeEnvelope reports whether rest, the part of a line after "From ",
// has the shape of an mbox envelope: a sender (any word, "-" and
// "MAILER-DAEMON" included) followed by a date that has a month name, a
// time of day (h:mm or hh:mm:ss) and a four-digit year, in any order, as in
// "alice@example.com Mon Jan  1 00:00:00 2024",
// "- Thu Aug 11 10:27:01 2005" or
// "1781234@xxx Sat Feb 10 14:51:23 +0000 2024".
func LooksLikeEnvelope(rest []byte) bool {
	var month, clock, year bool
	n := 0
	for i := 0; i < len(rest); {
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\r' || rest[i] == '\n') {
			i++
		}
		j := i
		for j < len(rest) && rest[j] != ' ' && rest[j] != '\t' && rest[j] != '\r' && rest[j] != '\n' {
			j++
		}
		if j == i {
			break
		}
		f := rest[i:j]
		i = j
		n++
		if n == 1 {
			continue // the sender
		}
		switch {
		case isMonth(f):
			month = true
		case isClock(f):
			clock = true
		case isYear(f):
			year = true
		}
	}
	return n >= 2 && month && clock && year
}

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func isMonth(f []byte) bool {
	f = bytes.TrimRight(f, ",.")
	if len(f) < 3 || len(f) > 9 {
		return false
	}
	for _, m := range monthNames {
		if (f[0]|0x20) == m[0] && (f[1]|0x20) == m[1] && (f[2]|0x20) == m[2] {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isClock matches h:mm, hh:mm, h:mm:ss and hh:mm:ss.
func isClock(f []byte) bool {
	i := 0
	for i < len(f) && isDigit(f[i]) {
		i++
	}
	if i < 1 || i > 2 {
		return false
	}
	rest := f[i:]
	for k := 0; k < 2; k++ {
		if len(rest) == 0 {
			return k > 0
		}
		if len(rest) < 3 || rest[0] != ':' || !isDigit(rest[1]) || !isDigit(rest[2]) {
			return false
		}
		rest = rest[3:]
	}
	return len(rest) == 0
}

func isYear(f []byte) bool {
	return len(f) == 4 && isDigit(f[0]) && isDigit(f[1]) && isDigit(f[2]) && isDigit(f[3])
}
