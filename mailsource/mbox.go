package mailsource

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
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
	src    io.Reader // the input as given to NewMbox
	br     *bufio.Reader
	back   []byte // bytes given back after a wrong Content-Length, read before br
	closer io.Closer
	name   string
	opts   Options

	off         int64 // bytes consumed from the input
	atLineStart bool  // the next chunk begins a line
	readErr     error // the error that ends the input (io.EOF at the end), once seen
	started     bool  // the preamble has been dealt with
	fixFirst    Fix   // fixes of the first message read (a byte order mark)
	fixAll      Fix   // fixes of every message (CR line ends)
	haveEnv     bool  // an envelope line has been read and its message not yet
	envOff      int64
	envLine     string
	index       int
	err         error // sticky
	scratch     []byte
	raw         []byte // counted body bytes held while a Content-Length is checked
	givenBack   int64  // bytes given back so far (see holdLimit)

	spillBuf []byte // bytes on their way to the temporary file of a message kept out of memory

	at   io.ReaderAt // the input, when it can be read at an offset
	base int64       // the offset in at of offset 0
	win  []byte      // a window read from at
}

// NewMbox returns a Reader over the mbox read from r. name is used as
// Message.Source. Offsets are counted from the current position of r. If r
// is an io.Closer it is closed by Close.
//
// See the package documentation for how message boundaries are found.
func NewMbox(r io.Reader, name string, opts *Options) Reader {
	mr := &mboxReader{
		src:         r,
		br:          bufio.NewReaderSize(r, lineBuf),
		name:        name,
		opts:        opts.resolved(),
		atLineStart: true,
	}
	if c, ok := r.(io.Closer); ok {
		mr.closer = c
	}
	// A file (or any seekable input) lets a Content-Length be checked by
	// reading the few bytes where it ends.
	if ra, ok := r.(io.ReaderAt); ok {
		if sk, ok := r.(io.Seeker); ok {
			if pos, err := sk.Seek(0, io.SeekCurrent); err == nil {
				mr.at, mr.base = ra, pos
			}
		}
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
	r.raw = nil
	r.back = nil
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
		r.start()
		pre := &Message{Kind: KindMbox, Source: r.name, Index: -1, Preamble: true}
		keep, err := r.collect(pre, true, false)
		if err != nil {
			r.err = err
			return nil, err
		}
		if keep {
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

// start looks at the first block of the input: a UTF-8 byte order mark is
// dropped, and a block with CR but no LF makes the whole input read with
// every CR turned into LF (classic Mac line ends; offsets are unchanged).
func (r *mboxReader) start() {
	p, _ := r.br.Peek(lineBuf)
	if bytes.HasPrefix(p, utf8BOM) {
		r.br.Discard(len(utf8BOM))
		r.off += int64(len(utf8BOM))
		r.fixFirst = FixBOM
		p = p[len(utf8BOM):]
	}
	if bytes.IndexByte(p, '\r') >= 0 && bytes.IndexByte(p, '\n') < 0 {
		head := bytes.ReplaceAll(p, []byte{'\r'}, []byte{'\n'})
		old := r.br
		old.Discard(len(p))
		r.br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(head), &crToLF{old}), lineBuf)
		r.fixAll = FixCRLineEnds
	}
}

// crToLF turns every CR read through it into LF.
type crToLF struct{ r io.Reader }

func (c *crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for q := p[:n]; ; {
		i := bytes.IndexByte(q, '\r')
		if i < 0 {
			break
		}
		q[i] = '\n'
		q = q[i+1:]
	}
	return n, err
}

// readChunk returns the next chunk of input: a line with its line end, or
// part of a line longer than the buffer (or than what is left), and
// advances off and atLineStart. It returns a non-empty chunk and nil, or
// nil and the error that ended the input (io.EOF at the end).
func (r *mboxReader) readChunk() ([]byte, error) {
	if len(r.back) > 0 {
		b := r.back
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[:i+1]
		}
		if len(b) > lineBuf && r.atLineStart {
			b = b[:lineBuf] // the first chunk of a line is what bufio would give
		}
		r.back = r.back[len(b):]
		if len(r.back) == 0 {
			r.back = nil
		}
		r.off += int64(len(b))
		r.atLineStart = b[len(b)-1] == '\n'
		return b, nil
	}
	if r.readErr != nil {
		return nil, r.readErr
	}
	return r.tookChunk(r.br.ReadSlice('\n'))
}

// tookChunk finishes readChunk with what bufio.Reader.ReadSlice returned.
func (r *mboxReader) tookChunk(b []byte, err error) ([]byte, error) {
	if err != nil && err != bufio.ErrBufferFull {
		if err != io.EOF {
			err = fmt.Errorf("mailsource: %s: reading at offset %d: %w", r.name, r.off+int64(len(b)), err)
		}
		r.readErr = err
		if len(b) == 0 {
			return nil, err
		}
	}
	r.off += int64(len(b))
	r.atLineStart = b[len(b)-1] == '\n'
	return b, nil
}

// giveBack makes the next reads return p (which the reader now owns) and
// then what followed, as if the p.len bytes before off had not been read.
// p must begin a line.
func (r *mboxReader) giveBack(p []byte) {
	if len(r.back) > 0 {
		p = append(p, r.back...)
	}
	n := int64(len(p) - len(r.back))
	r.off -= n
	r.givenBack += n
	r.back = p
	r.atLineStart = true
}

// holdLimit is how many bytes may be held to check a Content-Length in an
// input that cannot be read at an offset: at most max(MaxSize, 1 MiB) per
// message, and in all no more than that plus the bytes read so far, so that
// giving bytes back at most doubles the reading however many counts are
// wrong.
func (r *mboxReader) holdLimit() int64 {
	return min(max(r.opts.MaxSize, 1<<20), max(r.opts.MaxSize, 1<<20)+r.off-r.givenBack)
}

// lengthRightAt reports whether a body of n bytes starting at offset body
// ends on a message boundary (see the package documentation), reading the
// input at that place. It gives the answer the line by line check of
// lengthCheck would give.
func (r *mboxReader) lengthRightAt(body, n int64) (bool, error) {
	p := body + n
	from := max(p-3, 0) // the last counted line's end and what precedes it
	size := 4096
	if r.win == nil {
		r.win = make([]byte, 3+2*(lineBuf+2))
	}
	for {
		k, err := r.at.ReadAt(r.win[:size], r.base+from)
		if err != nil && err != io.EOF {
			return false, fmt.Errorf("mailsource: %s: reading at offset %d: %w", r.name, from, err)
		}
		w := r.win[:k]
		whole := k < size // w reaches the end of input
		if r.fixAll&FixCRLineEnds != 0 {
			for i, c := range w {
				if c == '\r' {
					w[i] = '\n'
				}
			}
		}
		i := int(p - from)
		if len(w) < i {
			return false, nil // the input ends inside the count
		}
		if i > 0 && w[i-1] != '\n' {
			return len(w) == i && whole, nil // only the end of input may follow a partial line
		}
		lastBlank := n == 0 || (i >= 2 && w[i-2] == '\n') || (i >= 3 && w[i-3] == '\n' && w[i-2] == '\r')
		rest := w[i:]
		l1, ok := firstChunk(rest, whole)
		if ok && len(l1) == 0 {
			return true, nil // end of input
		}
		if ok && r.isSeparator(l1, lastBlank) {
			return true, nil
		}
		if ok && isBlankLine(l1) {
			l2, ok2 := firstChunk(rest[len(l1):], whole)
			if ok2 {
				return len(l2) == 0 || r.isSeparator(l2, true), nil
			}
			ok = false
		}
		if ok || size > 4096 {
			return false, nil
		}
		size = len(r.win) // a line goes on beyond the window
	}
}

// firstChunk returns the first chunk of the line at the start of w, as
// bufio would return it: up to and including '\n', at most lineBuf bytes.
// It reports false when w ends before the chunk does and is not the whole
// rest of the input.
func firstChunk(w []byte, whole bool) ([]byte, bool) {
	if i := bytes.IndexByte(w, '\n'); i >= 0 && i < lineBuf {
		return w[:i+1], true
	}
	if len(w) >= lineBuf {
		return w[:lineBuf], true
	}
	return w, whole
}

// collector accumulates the bytes of one message (or preamble).
type collector struct {
	r          *mboxReader
	m          *Message
	buf        []byte
	spare      []byte // buf, kept for reuse once skipping
	size       int64  // the size, once skipping or spilling
	maxSize    int64
	memLimit   int64    // the most kept in memory: maxSize, or less with Options.SpillSize
	spill      *os.File // the message's bytes, once over memLimit
	spillName  string   // spill's name while it is in its folder
	spillErr   error    // writing to spill failed
	skipping   bool     // bytes are counted, not kept
	skipped    bool     // skipping because the caller said so, not because of the size
	pending    [2]byte  // a held-back blank line: "\n" or "\r\n"
	pendingLen int
}

// add appends p to the message. While the message is kept, its size is
// len(buf), and cap(buf) never exceeds maxSize (appendBounded), so a p
// that fits the capacity needs no other check.
func (c *collector) add(p []byte) {
	if len(c.buf)+len(p) <= cap(c.buf) { // buf is nil once skipping
		c.buf = append(c.buf, p...)
		return
	}
	c.addSlow(p)
}

func (c *collector) addSlow(p []byte) {
	if c.spill != nil {
		if c.size+int64(len(p)) <= c.maxSize {
			c.spillWrite(p)
			return
		}
		c.skip()
	}
	if !c.skipping {
		n := int64(len(c.buf) + len(p))
		if n <= c.memLimit {
			c.buf = appendBounded(c.buf, p, c.memLimit)
			return
		}
		if n <= c.maxSize && c.startSpill() {
			c.spillWrite(p)
			return
		}
		if n <= c.maxSize {
			// No temporary file: keep the message in memory after all.
			c.memLimit = c.maxSize
			c.buf = appendBounded(c.buf, p, c.memLimit)
			return
		}
		c.skip()
	}
	c.size += int64(len(p))
}

// startSpill moves the message to a temporary file (Options.SpillSize),
// and reports whether it could create one.
func (c *collector) startSpill() bool {
	f, err := os.CreateTemp("", "mailsource-*.eml")
	if err != nil {
		return false
	}
	c.spill, c.spillName = f, f.Name()
	if runtime.GOOS != "windows" && os.Remove(f.Name()) == nil {
		// Gone from the folder at once: nothing is left behind by a crash.
		c.spillName = ""
	}
	if c.r.spillBuf == nil {
		c.r.spillBuf = make([]byte, 0, lineBuf)
	}
	c.r.spillBuf = c.r.spillBuf[:0]
	c.size = 0
	c.spillWrite(c.buf)
	c.spare = c.buf[:0]
	c.buf = nil
	return true
}

// spillWrite adds p to the temporary file, through spillBuf (p is copied,
// never handed to the file, so that it does not escape).
func (c *collector) spillWrite(p []byte) {
	c.size += int64(len(p))
	for len(p) > 0 && c.spillErr == nil {
		b := c.r.spillBuf
		if len(b) == cap(b) {
			c.spillFlush()
			continue
		}
		n := copy(b[len(b):cap(b)], p)
		c.r.spillBuf = b[:len(b)+n]
		p = p[n:]
	}
}

// spillFlush writes spillBuf to the temporary file.
func (c *collector) spillFlush() {
	if c.spillErr == nil && len(c.r.spillBuf) > 0 {
		_, c.spillErr = c.spill.Write(c.r.spillBuf)
	}
	c.r.spillBuf = c.r.spillBuf[:0]
}

// dropSpill closes and removes the temporary file, if any.
func (c *collector) dropSpill() {
	if c.spill != nil {
		(&Message{spill: c.spill, spillName: c.spillName}).Close()
		c.spill, c.spillName = nil, ""
		c.r.spillBuf = c.r.spillBuf[:0]
	}
}

// skip stops keeping the message; its bytes are counted from now on.
func (c *collector) skip() {
	if c.skipping {
		return
	}
	c.skipping = true
	if c.spill != nil {
		c.dropSpill()
		return
	}
	c.size = int64(len(c.buf))
	c.spare = c.buf[:0]
	c.buf = nil
}

// total returns the size of the message so far.
func (c *collector) total() int64 {
	if c.skipping || c.spill != nil {
		return c.size
	}
	return int64(len(c.buf))
}

// flush adds the held-back blank line, if any.
func (c *collector) flush() {
	if c.pendingLen > 0 {
		c.add(c.pending[:c.pendingLen])
		c.pendingLen = 0
	}
}

// line adds chunk b of a message line by the line rules: a blank line is
// held back (it is dropped if an envelope line or the end of input
// follows), and the "From " quoting is undone at the start of a line when
// unescape is set.
func (c *collector) line(b []byte, lineStart, unescape bool) {
	if lineStart {
		c.flush()
		if isBlankLine(b) {
			c.pendingLen = copy(c.pending[:], b)
			return
		}
		if unescape && b[0] == '>' {
			if u := c.r.unescape(b); len(u) != len(b) {
				c.m.Fixes |= FixUnescaped
				b = u
			}
		}
	}
	c.add(b)
}

// lengthCheck is the state of a Content-Length being checked: the counted
// body is read by the line rules until a line in it looks like an envelope
// line (a conflict); from there on its bytes are held in raw until the end
// of the count shows whether the header was right.
type lengthCheck struct {
	known       bool  // the count was found right by reading ahead (lengthRightAt)
	remaining   int64 // counted bytes still to read
	after       int   // 0: in the counted body; 1: right after it; 2: after it and one blank line
	lastBlank   bool  // the last counted line is blank
	conflict    bool
	conflictOff int64
	blank       [2]byte // the blank line after the count (after == 2)
	blankLen    int
}

type lengthVerdict int

const (
	lengthMore      lengthVerdict = iota // undecided; the chunk was taken
	lengthRight                          // the count ends the message; the chunk, if any, is an envelope line
	lengthWrong                          // the count is wrong; the chunk, if any, is to be read by the line rules
	lengthWrongHeld                      // the count is wrong; the chunk is already held
)

// holding reports whether counted bytes are being held.
func (k *lengthCheck) holding() bool { return k.conflict && !k.known }

// step takes the next chunk b (nil at the end of input) while a
// Content-Length is checked.
func (k *lengthCheck) step(c *collector, b []byte, lineStart bool, start int64, unescape bool) lengthVerdict {
	r := c.r
	switch k.after {
	case 0:
		if len(b) == 0 || int64(len(b)) > k.remaining {
			return lengthWrong // the input ends, or the count ends inside a line
		}
		switch {
		case k.holding():
			r.raw = append(r.raw, b...)
		case lineStart && r.isSeparator(b, c.pendingLen > 0):
			if k.known {
				k.conflict = true
				c.line(b, lineStart, unescape)
				break
			}
			if r.holdLimit() <= int64(len(b)) {
				return lengthWrong // no more holding: believe the lines
			}
			k.conflict = true
			k.conflictOff = start
			r.raw = append(r.raw[:0], b...)
		default:
			c.line(b, lineStart, unescape)
		}
		k.remaining -= int64(len(b))
		k.lastBlank = lineStart && isBlankLine(b)
		if k.remaining == 0 {
			k.after = 1
		}
		if k.holding() && int64(len(r.raw)) > r.holdLimit() {
			return lengthWrongHeld // too much to hold: believe the lines
		}
		return lengthMore
	case 1:
		switch {
		case len(b) == 0:
			return lengthRight
		case !lineStart:
			return lengthWrong
		case r.isSeparator(b, k.lastBlank):
			return lengthRight
		case isBlankLine(b):
			k.blankLen = copy(k.blank[:], b)
			k.after = 2
			return lengthMore
		}
		return lengthWrong
	}
	if len(b) == 0 || r.isSeparator(b, true) {
		return lengthRight
	}
	return lengthWrong
}

// collect reads up to the next envelope line (which it consumes and records)
// or the end of input, filling m. In preamble mode leading blank lines are
// dropped, escaping is left alone, and m turns into message 0 when its
// header says it is a message; the returned bool says whether m is to be
// returned. When discard is true nothing is buffered.
func (r *mboxReader) collect(m *Message, preamble, discard bool) (bool, error) {
	c := collector{r: r, m: m, buf: r.scratch[:0], maxSize: r.opts.MaxSize, memLimit: r.opts.MaxSize}
	if r.opts.SpillSize > 0 && r.opts.SpillSize < c.memLimit {
		c.memLimit = r.opts.SpillSize
	}
	if discard {
		c.skip()
		c.skipped = true
	}
	var (
		first     = !preamble // the next line is the message's first
		seen      = !preamble // a non-blank line has been read
		deciding  = preamble  // preamble: whether it is a message is not known yet
		isMsg     = !preamble // unescape, and honour Content-Length
		inHeader  = true
		cl        = int64(-1) // the Content-Length header, if any
		counting  bool        // a Content-Length is being checked
		k         lengthCheck
		headerEnd bool
	)
	decide := func() {
		deciding = false
		isMsg = true
		m.Preamble = false
		m.Index = 0
		r.index = 1
		if r.opts.Skip != nil && r.opts.Skip(m) {
			c.skip()
			c.skipped = true
		}
	}

	r.haveEnv = false
	r.raw = r.raw[:0]
loop:
	for {
		lineStart := r.atLineStart
		start := r.off
		var b []byte
		var err error
		if len(r.back) == 0 && r.readErr == nil {
			b, err = r.br.ReadSlice('\n')
			if len(b) > 0 && (err == nil || err == bufio.ErrBufferFull) {
				r.off += int64(len(b))
				r.atLineStart = b[len(b)-1] == '\n'
				err = nil
			} else {
				b, err = r.tookChunk(b, err)
			}
		} else {
			b, err = r.readChunk()
		}
		if err != nil && err != io.EOF {
			return false, err
		}
		if !counting && len(b) > 0 && !first && seen && !deciding && !inHeader {
			// In the body, the common case: a line that cannot be an
			// envelope line, blank or escaped.
			if !lineStart {
				c.add(b)
				continue
			}
			if c0 := b[0]; c0 != 'F' && c0 != '>' && c0 != '\n' && c0 != '\r' {
				c.flush()
				c.add(b)
				continue
			}
		}
		if counting {
			switch k.step(&c, b, lineStart, start, isMsg) {
			case lengthMore:
				continue
			case lengthRight:
				c.flush() // the last counted line belongs to the body, blank or not
				if k.conflict || (k.after == 1 && k.lastBlank) {
					m.Fixes |= FixContentLength
				}
				if !k.holding() {
					r.raw = r.raw[:0]
				}
				for p := r.raw; len(p) > 0; {
					ln := p
					if i := bytes.IndexByte(p, '\n'); i >= 0 {
						ln = p[:i+1]
					}
					p = p[len(ln):]
					if u := r.unescape(ln); len(u) != len(ln) {
						m.Fixes |= FixUnescaped
						ln = u
					}
					c.add(ln)
				}
				if len(b) > 0 {
					if err := r.takeEnvelope(start, b); err != nil {
						return false, err
					}
				}
				break loop
			case lengthWrongHeld:
				b = nil
			}
			// The count is wrong.
			counting = false
			if k.holding() {
				// The message ends at the first line that looked like an
				// envelope line; what follows it is read again.
				back := r.raw
				r.raw = nil
				back = append(back, k.blank[:k.blankLen]...)
				back = append(back, b...)
				r.giveBack(back)
				c.pendingLen = 0
				line, _ := r.readChunk()
				if err := r.takeEnvelope(k.conflictOff, line); err != nil {
					return false, err
				}
				break loop
			}
			if k.blankLen > 0 {
				c.line(k.blank[:k.blankLen], true, isMsg)
			}
		}
		if err == io.EOF {
			break
		}

		if lineStart {
			if first {
				if u := r.unescape(b); (bytes.HasPrefix(u, fromSpace) && !isFromField(u)) || bytes.HasPrefix(u, gtFromSpace) {
					// A stray envelope line at the top of the message.
					m.Fixes |= FixEnvelopeLine
					if err := r.skipLine(); err != nil {
						return false, err
					}
					continue
				}
				first = false
			}
			if b[0] == 'F' && r.isSeparator(b, c.pendingLen > 0 || !seen) {
				if err := r.takeEnvelope(start, b); err != nil {
					return false, err
				}
				break
			}
			blank := isBlankLine(b)
			if !seen {
				if blank {
					continue // blank lines before the first envelope line
				}
				seen = true
				m.Offset = start
				if !isField(b) {
					deciding = false
				} else if isKeyField(b) {
					decide()
				}
			} else if deciding {
				switch {
				case blank:
					deciding = false
				case b[0] == ' ' || b[0] == '\t':
				case isField(b):
					if isKeyField(b) {
						decide()
					}
				default:
					deciding = false
				}
			}
			if inHeader {
				if blank {
					inHeader = false
					headerEnd = isMsg && cl >= 0
				} else if cl < 0 && b[0]|0x20 == 'c' {
					cl = contentLength(b)
				}
			}
		}
		c.line(b, lineStart, isMsg)
		if headerEnd {
			// The header ends here, and the body has a Content-Length.
			headerEnd = false
			known := false
			if r.at != nil {
				right, err := r.lengthRightAt(r.off, cl)
				if err != nil {
					return false, err
				}
				if !right {
					continue // the line rules apply
				}
				known = true
			}
			counting = true // the header's blank line stays held until the count is right
			k = lengthCheck{known: known, remaining: cl, lastBlank: true}
			if cl == 0 {
				k.after = 1
			}
		}
	}

	m.Size = c.total()
	if !preamble || seen {
		m.Fixes |= r.fixFirst | r.fixAll
		r.fixFirst = 0
	}
	buf := c.buf
	if c.skipping {
		buf = c.spare
		m.TooLarge = !c.skipped
		m.Data = nil
	} else if c.spill != nil {
		c.spillFlush()
		if c.spillErr != nil {
			c.dropSpill()
			return false, fmt.Errorf("mailsource: %s: writing a large message to a temporary file: %w", r.name, c.spillErr)
		}
		if seen {
			m.Data = nil
			m.spill, m.spillName = c.spill, c.spillName
			c.spill, c.spillName = nil, ""
		} else {
			c.dropSpill()
		}
		r.scratch = c.spare
		r.trimRaw()
		return seen, nil
	} else if r.opts.ReuseBuffer {
		// The caller is done with the previous Data: lend the buffer.
		m.Data = buf[:len(buf):len(buf)]
		r.scratch = buf[:0]
		r.trimRaw()
		return seen && !c.skipped, nil
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
	r.trimRaw()
	return seen && !c.skipped, nil
}

// trimRaw drops a large hold buffer rather than keep it between messages.
func (r *mboxReader) trimRaw() {
	if cap(r.raw) > scratchKeep {
		r.raw = nil
	}
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

var (
	fromSpace   = []byte("From ")
	gtFromSpace = []byte(">From ")
)

// isSeparator reports whether b, a chunk that starts a line, is an
// envelope line: it starts with "From " and either the rest looks like an
// envelope or starts with "-" (Netscape and Thunderbird write "From - "
// with or without a date), or LaxSeparator is set and the line follows a
// blank line (afterBlank).
func (r *mboxReader) isSeparator(b []byte, afterBlank bool) bool {
	if len(b) < len(fromSpace) || b[0] != 'F' || !bytes.HasPrefix(b, fromSpace) {
		return false
	}
	return isEnvelopeLine(b) || (r.opts.LaxSeparator && afterBlank)
}

// isEnvelopeLine reports whether line, which starts with "From ", is an
// envelope line by the default rules.
func isEnvelopeLine(line []byte) bool {
	rest := line[len(fromSpace):]
	return (len(rest) > 0 && rest[0] == '-') || looksLikeEnvelope(rest)
}

// isFromField reports whether line, which starts with "From ", is a From
// header field written with white space before its colon ("From : a@b",
// RFC 822's syntax), not an envelope line.
func isFromField(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line[len("From"):], " \t"), []byte(":"))
}

// takeEnvelope records the envelope line starting with chunk b at offset
// start, consuming the rest of the line if it was longer than the buffer.
func (r *mboxReader) takeEnvelope(start int64, b []byte) error {
	r.envLine = envelopeText(b[len(fromSpace):])
	r.envOff = start
	r.haveEnv = true
	return r.skipLine()
}

// envelopeText returns an envelope line after its "From " without the line
// end, at most maxEnvelope bytes.
func envelopeText(line []byte) string {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) > maxEnvelope {
		line = line[:maxEnvelope]
	}
	return string(line)
}

// skipLine consumes the rest of the current line.
func (r *mboxReader) skipLine() error {
	for !r.atLineStart {
		if _, err := r.readChunk(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
	return nil
}

// isField reports whether line starts with a header field name (printable
// ASCII other than ':') followed by ':'.
func isField(line []byte) bool {
	for i, c := range line {
		if c == ':' {
			return i > 0
		}
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return false
}

// keyFields are the header fields that make the text before the first
// envelope line a message.
var keyFields = [...]string{"from", "date", "subject", "message-id", "received", "return-path", "to"}

// isKeyField reports whether line, a header field, is one of keyFields.
func isKeyField(line []byte) bool {
	name := line[:bytes.IndexByte(line, ':')]
	for _, k := range keyFields {
		if len(name) == len(k) && strings.EqualFold(string(name), k) {
			return true
		}
	}
	return false
}

var contentLengthName = []byte("content-length:")

// contentLength returns the value of line if it is a valid Content-Length
// header field (digits, surrounded by optional white space), else -1.
func contentLength(line []byte) int64 {
	if len(line) < len(contentLengthName) || (line[0]|0x20) != 'c' ||
		!bytes.EqualFold(line[:len(contentLengthName)], contentLengthName) {
		return -1
	}
	v := bytes.Trim(line[len(contentLengthName):], " \t\r\n")
	if len(v) == 0 || len(v) > 15 {
		return -1
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
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

// looksLikeEnvelope reports whether rest, the part of a line after "From ",
// has the shape of an mbox envelope: a sender (any word, "-" and
// "MAILER-DAEMON" included) followed by a date that has a month name, a
// time of day (h:mm or hh:mm:ss) and a four-digit year, in any order, as in
// "alice@example.com Mon Jan  1 00:00:00 2024",
// "- Thu Aug 11 10:27:01 2005" or
// "1781234@xxx Sat Feb 10 14:51:23 +0000 2024".
func looksLikeEnvelope(rest []byte) bool {
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
