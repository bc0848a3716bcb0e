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
// A message starts at an envelope line: a line that begins with "From " and
// either is the first non-blank line of the file or follows an empty line
// (LF or CRLF files alike). By default the rest of the line must also look
// like an envelope — a sender word followed by a month name, a time of day
// and a four-digit year, as every common writer produces (see
// LooksLikeEnvelope). This resolves most of the mboxo ambiguity: an
// unescaped body line such as "From here on, ..." after a paragraph break
// stays in its message, while an unescaped line that copies a complete
// envelope ("From bob@example.com Mon Jan  1 00:00:00 2024") after a blank
// line still splits the message, as it would in any mbox reader. Set
// Options.LaxSeparator to split on every "From " line after an empty line.
//
// The empty line before an envelope line, and the one at the end of the
// file, belong to the mbox format and are removed from the preceding
// message. A missing final newline is tolerated (the last line is returned
// as is). An empty file has no messages. A UTF-8 byte order mark at the
// start is ignored.
//
// Escaping is undone according to Options.Format: MboxRD (the default)
// removes one '>' from lines matching ^>+From ; MboxO and MboxCL remove it
// from ^>From  only; MboxCL2 leaves lines alone. Content-Length headers are
// not used.
//
// Bytes before the first envelope line that are not blank are not silently
// dropped: they are returned first, as a Message with Preamble set and
// Index -1 (with the same MaxSize rule), so the caller can report them.
// When a file has no envelope line at all the whole file is that preamble.
//
// # Folders
//
// OpenEMLDir reads *.eml recursively in byte-wise order of the relative
// path; OpenMaildir reads cur and new (not tmp) sorted by file name. A file
// that cannot be read yields a *FileError, after which Next may be called
// again.
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
