// Package mailsource reads mail archives — mbox files, folders of .eml
// files and Maildirs — one message at a time, and checks messages against
// what the Groups Migration API accepts.
//
// # Readers
//
// Open picks a reader by looking at a path; NewMbox, OpenMbox, OpenEMLDir,
// OpenEMLFile and OpenMaildir choose explicitly. Every reader returns
// *Message values from Next until io.EOF. Memory stays bounded whatever the
// source: a message larger than Options.MaxSize (25 MiB by default, the
// Groups Migration limit) is skipped while its size is counted and comes
// back with TooLarge set and Data nil, so the caller can report it. Lines
// are read through a 64 KiB buffer; a longer line is handled in chunks. The
// peak memory of a reader is about twice MaxSize (the growing buffer and the
// exact-size copy returned as Data) plus a constant.
//
// # Identity and resuming
//
// Each message carries Source, Kind, Index (0-based, in reading order),
// Offset (of the envelope line, mbox only) and Name (files). Message.Key
// combines them into a journal key: Source#Index for mbox, the relative
// path for .eml folders, and the unique part of the file name for Maildir
// (stable when a client marks the message read). To resume, set
// Options.Skip: a skipped message is passed over without being buffered.
//
// # Mbox boundaries
//
// A message starts at an envelope line, found the way mutt finds it: a line
// that begins with "From " and whose rest looks like an envelope — a
// sender word followed by a month name, a time of day and a four-digit
// year, as every common writer produces. No empty
// line is needed before it; the date check is what tells it from a body
// line such as "From here on, ...". Netscape and Thunderbird write
// "From - " with a date, with a bare "-" or with nothing after it: any line
// that begins with "From -" is an envelope line too. With
// Options.LaxSeparator, every line that begins with "From " and follows an
// empty line (or is the first non-blank line of the file) is one as well.
// An unescaped body line that copies a complete envelope line ("From
// bob@example.com Mon Jan  1 00:00:00 2024") therefore splits its message,
// as in mutt, unless the message has a right Content-Length header.
//
// Content-Length. When a message's header (the lines up to its first empty
// line) has a Content-Length: N field, in any format, and the N bytes after
// that empty line end on a message boundary — the end of input, an envelope
// line, or one empty line (LF or CRLF) followed by an envelope line or the
// end of input — the body is exactly those N bytes, whatever lines that
// look like envelope lines it holds (Fixes has FixContentLength when that
// made a difference). A count that does not land on a boundary is ignored
// and the line rules apply. A file, or any input that is an io.ReaderAt and
// an io.Seeker, is checked by reading the few bytes where the count ends.
// A plain stream has to hold the bytes that follow a line inside the count
// that looks like an envelope line until the count is reached: at most
// max(MaxSize, 1 MiB) of them per message and, over the whole input, no
// more than that plus what has been read, so that wrong counts cannot make
// reading slower than linear; beyond that limit the line rules apply.
//
// The empty line before an envelope line, and the one at the end of the
// file, belong to the mbox format and are removed from the preceding
// message (an empty line inside a right Content-Length count stays). A
// missing final newline is tolerated (the last line is returned as is). An
// empty file has no messages.
//
// Escaping is undone according to Options.Format: MboxRD (the default)
// removes one '>' from lines matching ^>+From ; MboxO and MboxCL remove it
// from ^>From  only; MboxCL2 leaves lines alone. Lines inside a
// Content-Length count are unescaped the same way.
//
// Line ends may be LF or CRLF. A file whose first 64 KiB hold a CR but no
// LF has classic Mac line ends: it is read as if every CR were LF (one
// byte for one, so offsets hold). A UTF-8 byte order mark at the start of
// the file is dropped.
//
// A message whose first line begins with "From " or ">From " (after
// unescaping) has a second, stray envelope line at its top — typically an
// .eml file with its own envelope line appended to an mbox, or a
// Thunderbird "From - " line followed by the original one. No header field
// begins that way, so such lines are removed from Data (Envelope keeps the
// envelope line that started the message).
//
// Bytes before the first envelope line are not silently dropped. Blank
// lines there are ignored. If the first non-blank line is a header field
// ("Name: value", the name printable ASCII without spaces or ':') and the
// header block it starts (fields and folded lines) has a From, Date,
// Subject, Message-ID, Received, Return-Path or To field, they are a
// message: Index 0, the following messages counting from 1; a file that
// has no envelope line at all is then one message. Otherwise they are
// returned as a Message with Preamble set and Index -1 (with the same
// MaxSize rule), so the caller can report them; a file with no envelope
// line at all is then that preamble.
//
// # Fixes
//
// Message.Fixes lists what a reader changed to turn stored bytes into a
// message — byte order mark dropped, stray envelope line removed, From
// quoting undone, CR line ends converted, body bounded by Content-Length —
// so that a migration report can show it per message (Fix.String).
//
// # Folders
//
// OpenEMLDir reads *.eml recursively in byte-wise order of the relative
// path; OpenMaildir reads cur and new (not tmp) sorted by file name. A file
// that cannot be read yields a *FileError, after which Next may be called
// again. A file is one message, as stored, except that a UTF-8 byte order
// mark at its start is dropped, CR line ends (a CR but no LF in the first
// 64 KiB) are read as LF, and stray envelope lines at its top (lines that
// begin with "From " or ">From " and end within the first 64 KiB) are
// removed; the first of these goes to Message.Envelope.
//
// # Helpers
//
// NormalizeCRLF turns bare LF and bare CR into CRLF (the API requires CRLF)
// without copying clean input; MessageID extracts the Message-ID;
// ContentHash gives a SHA-256 of the normalized bytes for deduplication
// when there is no Message-ID; Validate and Problems check a message (see
// Validate for the rules); ParseDate is the tolerant Date parser Validate
// uses. MboxWriter writes mboxrd or mboxo files.
//
// The subpackage mailgen generates realistic test messages and archives;
// testdata/sample.mbox is one such archive, described in testdata/README.md.
package mailsource
