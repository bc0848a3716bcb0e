package mailsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// DefaultMaxSize is the largest message the Groups Migration API accepts:
// 25 MiB, headers, body and attachments included. It is the default for
// Options.MaxSize.
const DefaultMaxSize int64 = 26214400

// Kind says what sort of store a Message was read from.
type Kind int

const (
	// KindMbox is a message from an mbox file.
	KindMbox Kind = iota + 1
	// KindEML is a message from a single .eml file, alone or in a folder.
	KindEML
	// KindMaildir is a message from the cur or new folder of a Maildir.
	KindMaildir
)

// String returns "mbox", "eml" or "maildir".
func (k Kind) String() string {
	switch k {
	case KindMbox:
		return "mbox"
	case KindEML:
		return "eml"
	case KindMaildir:
		return "maildir"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Format is the mbox dialect, which decides how "From " lines inside message
// bodies were escaped when the file was written.
type Format int

const (
	// MboxRD is the default: writers prefix every line matching ^>*From  with
	// one more '>', so readers remove one '>' from every line matching
	// ^>+From . The escaping is reversible.
	MboxRD Format = iota
	// MboxO is the original dialect: writers turn "From " at the start of a
	// line into ">From " and readers turn every ">From " back. A body line
	// that really began with ">From " comes back as "From " — mboxo cannot
	// tell the two apart.
	MboxO
	// MboxCL is read like MboxO for escaping; its Content-Length headers
	// are used to find message boundaries, as in every format (see the
	// package documentation).
	MboxCL
	// MboxCL2 has no escaping at all: lines are returned as stored. A body
	// line that looks like an envelope line stays in its message when the
	// message's Content-Length header is right; otherwise it splits the
	// message (see the package documentation).
	MboxCL2
)

// String returns the dialect's usual name, e.g. "mboxrd".
func (f Format) String() string {
	switch f {
	case MboxRD:
		return "mboxrd"
	case MboxO:
		return "mboxo"
	case MboxCL:
		return "mboxcl"
	case MboxCL2:
		return "mboxcl2"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat returns the Format named by s ("mboxrd", "mboxo", "mboxcl",
// "mboxcl2", case-insensitive; "" means MboxRD).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "mboxrd", "rd":
		return MboxRD, nil
	case "mboxo", "o":
		return MboxO, nil
	case "mboxcl", "cl":
		return MboxCL, nil
	case "mboxcl2", "cl2":
		return MboxCL2, nil
	}
	return 0, fmt.Errorf("mailsource: unknown mbox format %q", s)
}

// Options tune a Reader. A nil *Options means all defaults.
type Options struct {
	// MaxSize is the largest message, in bytes as stored, that a Reader
	// returns with its Data. A larger message is not buffered: its bytes are
	// counted and skipped, and it is returned with TooLarge set and Data nil.
	// Zero or negative means DefaultMaxSize.
	MaxSize int64

	// Format is the mbox dialect. It is ignored for .eml files and Maildir.
	Format Format

	// LaxSeparator makes an mbox reader also treat every line that starts
	// with "From " and follows an empty line (or is the first non-blank
	// line of the file) as a message boundary, as classic mbox readers do.
	// By default a "From " line is a boundary only when it looks like an
	// envelope line (a sender, a month name, a time and a year) or starts
	// with "From -"; see the package documentation.
	LaxSeparator bool

	// ReuseBuffer lets an mbox reader return Data in one buffer that it
	// keeps and reuses for the next message, instead of a fresh slice per
	// message: Data is then valid only until the next call to Next. A
	// caller that handles each message before reading the next (as a
	// migration does) saves an allocation of up to MaxSize per message and
	// keeps its memory flat. Folders of files ignore it.
	ReuseBuffer bool

	// SpillSize, when positive, keeps a message larger than this many
	// bytes (and not over MaxSize) out of memory: Data is nil, and Open
	// reads the message. An mbox message goes to a temporary file (in
	// os.TempDir, removed from the folder at once where the system allows)
	// as it is read; with ReuseBuffer, the buffer then never grows beyond
	// SpillSize. A file of a folder is read where it is, from an open
	// handle, when Open is called (so it must not change meanwhile; a file
	// with CR line ends, changed as it is read, stays in memory). Close
	// the message when done with it: that releases the file.
	SpillSize int64

	// Skip, when set, is called for every message before its content is
	// read, with Source, Kind, Index, Offset, Name and Key known (Data,
	// Size, Envelope of files and Fixes are not). When it returns true the
	// message is passed over without being buffered and Next does not
	// return it. Use it to resume a migration from a journal. A message
	// found before the first envelope line of an mbox is only known to be
	// one once its header has been read, so Skip is called for it then.
	Skip func(m *Message) bool
}

func (o *Options) maxSize() int64 {
	if o == nil || o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

func (o *Options) resolved() Options {
	var r Options
	if o != nil {
		r = *o
	}
	r.MaxSize = o.maxSize()
	return r
}

// Message is one message read from a source.
type Message struct {
	// Kind is the sort of store the message came from.
	Kind Kind
	// Source is the path of the mbox file, of the .eml file when a single
	// file was opened, or of the folder for a folder of .eml files or a
	// Maildir. For NewMbox it is the name passed in.
	Source string
	// Index is the 0-based ordinal of the message in Source. An mbox
	// preamble (see Preamble) has Index -1.
	Index int
	// Offset is the byte offset of the message's envelope ("From ") line in
	// an mbox, or, for a message or preamble found before the first
	// envelope line, of its first non-blank line; 0 for files.
	Offset int64
	// Name is the file's path relative to Source, with forward slashes, for
	// folders of .eml files and Maildir ("cur/1700000000.M1P2.host:2,S"); the
	// base name for a single .eml file; empty for mbox.
	Name string
	// Envelope is the mbox envelope line without "From " and the line end
	// (e.g. "alice@example.com Mon Jan  1 00:00:00 2024"), at most 1 KiB.
	// For a file it is the stray envelope line removed from the top of the
	// file (see FixEnvelopeLine), without its "From " or ">From ", and
	// empty when there was none.
	Envelope string
	// Size is the length of the message in bytes after the changes listed
	// in Fixes: for files the file size less a dropped byte order mark and
	// stray envelope lines, for mbox the length after undoing the "From "
	// escaping (the envelope line and the blank separator line are not
	// counted). When TooLarge is false and the message is in memory,
	// Size == len(Data).
	Size int64
	// Data holds the message as stored (line ends untouched, mbox escaping
	// undone), except for the changes listed in Fixes. It is nil when
	// TooLarge is true, and when the message was kept out of memory (see
	// Options.SpillSize; Open reads it either way).
	Data []byte
	// TooLarge is true when Size exceeds Options.MaxSize; the message was
	// skipped, not buffered.
	TooLarge bool
	// Preamble is true for the bytes found before the first envelope line
	// of an mbox when they are not a message (see the package
	// documentation for when they are). They are returned (with Index -1,
	// and Data bounded by MaxSize like any message) so that the caller can
	// report them instead of losing them silently. Blank lines before the
	// first envelope line are ignored and produce no Preamble.
	Preamble bool
	// Fixes lists what the reader changed to make the stored bytes a
	// message, for a migration report. Zero means Data is the message as
	// stored, apart from the ordinary mbox envelope and separator lines.
	Fixes Fix

	spill     *os.File // the content, for a message kept out of memory
	spillOff  int64    // where it starts in spill
	spillName string   // spill's name, to remove at Close (a temporary file)
}

// Open returns a reader of the message's content from its first byte:
// Data, or the temporary file of a message kept out of memory (see
// Options.SpillSize). Each call returns a new reader, independent of the
// others. It reads nothing for a TooLarge message.
func (m *Message) Open() *io.SectionReader {
	if m.spill != nil {
		return io.NewSectionReader(m.spill, m.spillOff, m.Size)
	}
	return io.NewSectionReader(bytes.NewReader(m.Data), 0, int64(len(m.Data)))
}

// Close releases the temporary file of a message kept out of memory (see
// Options.SpillSize); Open must not be used after it. It does nothing for
// a message in memory, and may be called more than once.
func (m *Message) Close() error {
	if m.spill == nil {
		return nil
	}
	err := m.spill.Close()
	m.spill = nil
	if m.spillName != "" {
		if e := os.Remove(m.spillName); err == nil {
			err = e
		}
		m.spillName = ""
	}
	return err
}

// Fix is a set of changes a Reader made to a message (see Message.Fixes).
type Fix uint

const (
	// FixBOM: a UTF-8 byte order mark at the start of the file was
	// dropped.
	FixBOM Fix = 1 << iota
	// FixEnvelopeLine: a stray envelope line ("From ..." or ">From ...")
	// was removed from the top of the message: the first line of an .eml
	// or Maildir file, or a second envelope line right after an mbox
	// envelope line. It is not set for the ordinary mbox envelope line.
	FixEnvelopeLine
	// FixUnescaped: mbox "From " quoting was undone on at least one line,
	// according to Options.Format.
	FixUnescaped
	// FixCRLineEnds: the file had classic Mac line ends (CR only), which
	// were read as LF.
	FixCRLineEnds
	// FixContentLength: the message's Content-Length header decided where
	// it ends, and the line rules alone would have ended it elsewhere (a
	// line inside it looks like an envelope line) or without its last
	// empty line.
	FixContentLength
)

// fixNames are the phrases of Strings, in bit order.
var fixNames = [...]string{
	"byte order mark dropped",
	"envelope line removed",
	"mbox From-quoting undone",
	"CR line ends converted",
	"bounded by Content-Length",
}

// Strings returns a short phrase for each fix in f, in the order of the
// constants (FixBOM first), e.g. ["byte order mark dropped", "bounded by
// Content-Length"]. Unknown bits are shown as "Fix(0x40)". It returns nil
// when f is zero.
func (f Fix) Strings() []string {
	var out []string
	for i, name := range fixNames {
		if f&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	if rest := f &^ (1<<len(fixNames) - 1); rest != 0 {
		out = append(out, "Fix(0x"+strconv.FormatUint(uint64(rest), 16)+")")
	}
	return out
}

// String returns the phrases of Strings joined with ", ", or "" when f is
// zero.
func (f Fix) String() string {
	return strings.Join(f.Strings(), ", ")
}

// Key returns a stable identity for the message, suitable for a migration
// journal:
//
//   - mbox: Source + "#" + Index, e.g. "/a/inbox.mbox#41". Offset is a
//     useful cross-check: it does not change as long as the file is only
//     appended to.
//   - folder of .eml files: Source + "/" + Name.
//   - Maildir: Source + "/" + the unique part of the file name, without the
//     folder (cur or new) and without the ":2,flags" suffix, so a message
//     keeps its key when a mail client marks it read and moves it.
func (m *Message) Key() string {
	switch m.Kind {
	case KindMbox:
		return m.Source + "#" + strconv.Itoa(m.Index)
	case KindMaildir:
		return m.Source + "/" + maildirUnique(m.Name)
	}
	if m.Name == "" {
		return m.Source
	}
	if m.Source == "" || strings.HasSuffix(m.Source, m.Name) {
		return m.Source
	}
	return m.Source + "/" + m.Name
}

// maildirUnique returns the unique part of a Maildir file name: the base
// name up to the first ':' (the info separator, "2,S" and the like). "!"
// and ";" used by some Windows ports are treated the same way.
func maildirUnique(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if i := strings.IndexAny(name, ":!;"); i >= 0 {
		name = name[:i]
	}
	return name
}

// Reader returns the messages of a source one at a time.
type Reader interface {
	// Next returns the next message. At the end it returns nil, io.EOF.
	//
	// For an mbox, any other error is fatal and is returned again by later
	// calls. For a folder (.eml or Maildir) an error of type *FileError
	// concerns one file only; calling Next again continues with the next
	// file.
	Next() (*Message, error)
	// Close releases the underlying file, if the Reader opened one.
	Close() error
}

// FileError is a problem reading one file of a folder source. Next may be
// called again after it.
type FileError struct {
	Source string // the folder
	Name   string // the file, relative to Source
	Index  int    // the file's ordinal in the folder
	Err    error
}

// Error implements error.
func (e *FileError) Error() string {
	return "mailsource: " + e.Source + "/" + e.Name + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// ReadAll reads every message from r until io.EOF. It is meant for tests
// and small sources; *FileError values are collected, other errors stop
// the loop and are returned.
func ReadAll(r Reader) ([]*Message, []error, error) {
	var msgs []*Message
	var fileErrs []error
	for {
		m, err := r.Next()
		if err == io.EOF {
			return msgs, fileErrs, nil
		}
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) {
				fileErrs = append(fileErrs, err)
				continue
			}
			return msgs, fileErrs, err
		}
		msgs = append(msgs, m)
	}
}
