package mailsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// fileReader returns one message per file from a fixed, sorted list.
type fileReader struct {
	kind   Kind
	source string
	single bool     // source is the file itself
	names  []string // slash-separated, relative to source
	i      int
	opts   Options
	closed bool
}

// OpenEMLDir returns a Reader over the .eml files (any letter case) in the
// folder dir and, recursively, in its subfolders. Files and folders whose
// names begin with "." are ignored, and symbolic links to folders are not
// followed. Messages come in the byte-wise order of their slash-separated
// paths relative to dir ("2019/01.eml" < "2019/02.eml" < "2020/01.eml"),
// which is what Message.Name holds.
func OpenEMLDir(dir string, opts *Options) (Reader, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(d.Name()), ".eml") {
			return nil
		}
		if !isRegular(p, d) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailsource: %w", err)
	}
	sort.Strings(names)
	return &fileReader{kind: KindEML, source: dir, names: names, opts: opts.resolved()}, nil
}

// OpenEMLFile returns a Reader over the single message in the file at path.
// Message.Source is path and Message.Name its base name.
func OpenEMLFile(path string, opts *Options) (Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mailsource: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("mailsource: %s is a folder", path)
	}
	return &fileReader{kind: KindEML, source: path, single: true,
		names: []string{filepath.Base(path)}, opts: opts.resolved()}, nil
}

// OpenMaildir returns a Reader over a Maildir: the files in its cur and new
// subfolders (tmp holds messages still being delivered and is ignored, as
// are files whose names begin with "." and Maildir++ subfolders). Messages
// come sorted by file name across both folders, so delivery order (Maildir
// names begin with the delivery time) is kept; Message.Name is "cur/…" or
// "new/…". Both cur and new must exist. A message that a mail client moves
// from new to cur, or whose flags it changes, after the listing is found
// again by its unique name (Message.Name then holds its new path).
func OpenMaildir(dir string, opts *Options) (Reader, error) {
	type entry struct{ base, sub string }
	var entries []entry
	for _, sub := range []string{"cur", "new"} {
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("mailsource: not a Maildir: %w", err)
		}
		for _, d := range des {
			if strings.HasPrefix(d.Name(), ".") || d.IsDir() {
				continue
			}
			if !isRegular(filepath.Join(dir, sub, d.Name()), d) {
				continue
			}
			entries = append(entries, entry{d.Name(), sub})
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].base != entries[j].base {
			return entries[i].base < entries[j].base
		}
		return entries[i].sub < entries[j].sub
	})
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.sub + "/" + e.base
	}
	return &fileReader{kind: KindMaildir, source: dir, names: names, opts: opts.resolved()}, nil
}

// isRegular reports whether p is a regular file or a symbolic link to one.
func isRegular(p string, d fs.DirEntry) bool {
	if d.Type().IsRegular() {
		return true
	}
	if d.Type()&fs.ModeSymlink != 0 {
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular()
	}
	return false
}

// Close implements Reader.
func (r *fileReader) Close() error {
	r.closed = true
	return nil
}

// Next implements Reader.
func (r *fileReader) Next() (*Message, error) {
	if r.closed {
		return nil, errClosed
	}
	for r.i < len(r.names) {
		i := r.i
		r.i++
		m := &Message{Kind: r.kind, Source: r.source, Index: i, Name: r.names[i]}
		if r.opts.Skip != nil && r.opts.Skip(m) {
			continue
		}
		full := r.source
		if !r.single {
			full = filepath.Join(r.source, filepath.FromSlash(m.Name))
		}
		err := readFile(full, m, r.opts.MaxSize, r.opts.SpillSize)
		if err != nil && r.kind == KindMaildir && errors.Is(err, fs.ErrNotExist) {
			// A mail client may have moved the message from new to cur
			// or changed its flags since the folder was listed.
			if moved := r.findMoved(m.Name); moved != "" {
				m.Name = moved
				err = readFile(filepath.Join(r.source, filepath.FromSlash(moved)), m, r.opts.MaxSize, r.opts.SpillSize)
			}
		}
		if err != nil {
			return nil, &FileError{Source: r.source, Name: m.Name, Index: i, Err: err}
		}
		return m, nil
	}
	return nil, io.EOF
}

// findMoved looks in cur and new for a file with the same Maildir unique
// name as name and returns its relative path, or "".
func (r *fileReader) findMoved(name string) string {
	unique := maildirUnique(name)
	for _, sub := range []string{"cur", "new"} {
		des, err := os.ReadDir(filepath.Join(r.source, sub))
		if err != nil {
			continue
		}
		for _, d := range des {
			if maildirUnique(d.Name()) == unique && sub+"/"+d.Name() != name {
				return sub + "/" + d.Name()
			}
		}
	}
	return ""
}

// readFile fills m.Data, m.Size, m.TooLarge, m.Envelope and m.Fixes from
// the file at p without buffering more than maxSize+bytes.MinRead bytes.
// A file larger than spill (when positive) is not read: m keeps it open
// and Open reads it (unless its line ends are CR only, which are changed
// in memory).
func readFile(p string, m *Message, maxSize, spill int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	var pre filePrefix
	if spill > 0 && size > spill && size <= maxSize+lineBuf {
		head := make([]byte, min(size, lineBuf))
		n, err := f.ReadAt(head, 0)
		if err != nil && err != io.EOF {
			return err
		}
		if pre = examineHead(head[:n], int64(n) == size); pre.fixes&FixCRLineEnds == 0 && size-int64(pre.drop) > spill {
			pre.set(m)
			m.Size = size - int64(pre.drop)
			if m.Size > maxSize {
				m.TooLarge = true
				return nil
			}
			m.spill, m.spillOff, keep = f, int64(pre.drop), true
			return nil
		}
		pre = filePrefix{}
	}
	if size > maxSize {
		// Only the start is read: what is dropped there may bring a file
		// just over the limit under it.
		head := make([]byte, min(size, lineBuf))
		n, err := io.ReadFull(f, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		pre = examineHead(head[:n], int64(n) == size)
		if size-int64(pre.drop) > maxSize {
			pre.set(m)
			m.Size = size - int64(pre.drop)
			m.TooLarge = true
			return nil
		}
		if _, err := f.Seek(int64(pre.drop), io.SeekStart); err != nil {
			return err
		}
		size -= int64(pre.drop)
	}
	// Room for the whole file plus bytes.MinRead lets ReadFrom reach EOF
	// without growing; the limit stops a file that grew since Stat.
	var b bytes.Buffer
	b.Grow(int(size) + bytes.MinRead)
	if _, err := b.ReadFrom(io.LimitReader(f, maxSize+1)); err != nil {
		return err
	}
	buf := b.Bytes()
	if pre.drop == 0 {
		pre = examineHead(buf, true)
		buf = buf[pre.drop:]
	}
	pre.set(m)
	if int64(len(buf)) > maxSize {
		rest, err := io.Copy(io.Discard, f)
		if err != nil {
			return err
		}
		m.Size = int64(len(buf)) + rest
		m.TooLarge = true
		return nil
	}
	if pre.fixes&FixCRLineEnds != 0 {
		for q := buf; ; {
			i := bytes.IndexByte(q, '\r')
			if i < 0 {
				break
			}
			q[i] = '\n'
			q = q[i+1:]
		}
	}
	m.Size = int64(len(buf))
	m.Data = buf
	return nil
}

// filePrefix is what examineHead found at the start of a file.
type filePrefix struct {
	drop  int    // bytes dropped from the start: byte order mark, stray envelope lines
	env   string // the first stray envelope line, for Message.Envelope
	fixes Fix
}

func (p filePrefix) set(m *Message) {
	m.Envelope = p.env
	m.Fixes |= p.fixes
}

// examineHead looks at the start of a message file: head is its first
// bytes, all of them when whole is set. A UTF-8 byte order mark is
// dropped; a first block (lineBuf bytes) with CR but no LF means CR line
// ends; and lines at the top that begin with "From " or ">From " (stray
// envelope lines; a header field name has no space) are dropped when they
// end within the first block.
func examineHead(head []byte, whole bool) filePrefix {
	var p filePrefix
	if bytes.HasPrefix(head, utf8BOM) {
		p.drop = len(utf8BOM)
		p.fixes |= FixBOM
	}
	block := head
	if len(block) > lineBuf {
		block = block[:lineBuf]
	}
	eol := byte('\n')
	if rest := block[p.drop:]; bytes.IndexByte(rest, '\r') >= 0 && bytes.IndexByte(rest, '\n') < 0 {
		p.fixes |= FixCRLineEnds
		eol = '\r'
	}
	for {
		rest := block[p.drop:]
		text := rest
		if len(text) > 0 && text[0] == '>' {
			text = text[1:]
		}
		if !bytes.HasPrefix(text, fromSpace) || (len(text) == len(rest) && isFromField(text)) {
			break
		}
		end := bytes.IndexByte(rest, eol) + 1
		if end == 0 {
			if !whole || len(head) > lineBuf {
				break // the line goes on beyond the first block
			}
			end = len(rest)
		}
		if p.fixes&FixEnvelopeLine == 0 {
			p.env = envelopeText(text[len(fromSpace) : end-(len(rest)-len(text))])
			p.fixes |= FixEnvelopeLine
		}
		p.drop += end
	}
	return p
}

// Open opens path as a message source, choosing the reader by what it
// finds:
//
//   - a folder with cur and new subfolders: OpenMaildir;
//   - any other folder: OpenEMLDir;
//   - a file named *.eml: OpenEMLFile;
//   - any other file: an mbox (OpenMbox) when its first 64 KiB hold a line
//     that looksLikeEnvelope after "From " (or it begins with "From -", as
//     Netscape and Thunderbird write), or when it is empty or named *.mbox,
//     *.mbx or *.mbs; otherwise a single message (OpenEMLFile). Classic
//     Mac (CR only) line ends are recognized.
func Open(path string, opts *Options) (Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mailsource: %w", err)
	}
	if st.IsDir() {
		if isDir(filepath.Join(path, "cur")) && isDir(filepath.Join(path, "new")) {
			return OpenMaildir(path, opts)
		}
		return OpenEMLDir(path, opts)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".eml" {
		return OpenEMLFile(path, opts)
	}
	if st.Size() == 0 || ext == ".mbox" || ext == ".mbx" || ext == ".mbs" {
		return OpenMbox(path, opts)
	}
	isMbox, err := sniffMbox(path)
	if err != nil {
		return nil, fmt.Errorf("mailsource: %w", err)
	}
	if isMbox {
		return OpenMbox(path, opts)
	}
	return OpenEMLFile(path, opts)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func sniffMbox(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, lineBuf)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	head = bytes.TrimPrefix(head[:n], utf8BOM)
	if bytes.HasPrefix(head, []byte("From -")) {
		return true, nil
	}
	eol := byte('\n')
	if bytes.IndexByte(head, '\r') >= 0 && bytes.IndexByte(head, '\n') < 0 {
		eol = '\r'
	}
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, eol); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if bytes.HasPrefix(line, fromSpace) && looksLikeEnvelope(line[len(fromSpace):]) {
			return true, nil
		}
	}
	return false, nil
}
