// Package migrate is the mail migration engine: it reads mail sources
// (mbox files in any dialect, .eml files and folders, Maildirs), prepares
// each message, skips what is already there, keeps a crash-safe journal,
// delivers through a Sink, and reports what happened to every message.
//
// Sinks come from the API packages: datatransfer.Client.ArchiveSink for
// Google Groups archives (Groups Migration API) and
// gmail.Client.ImportSink for mailboxes. datatransfer.Client.Migrate and
// gmail.Client.ImportMbox are Run with those sinks.
//
//	dt := datatransfer.New(client)
//	report, err := migrate.Run(ctx, []migrate.Job{
//		{Source: "list-archive.mbox", Target: "list@example.com"},
//	}, dt.ArchiveSink(), &migrate.Options{Policy: migrate.Repair})
//
// # What is sent
//
// Google's documents refuse a message that is empty, over 25 MiB, not
// RFC 822, or whose From, To or Date header is missing, and lines that do
// not end in CRLF. The Standard policy refuses locally exactly those it can
// tell for certain (empty, too large, no header section, From/To/Date
// missing or blank) and sends everything else; Google's answer decides.
// Repairs that change no meaning are always made and listed per message:
// line endings to CRLF, a stray envelope line removed, mbox quoting undone,
// a byte order mark dropped. Strict adds deep checks of addresses and
// dates; Repair fills a missing Date and To. See Policy.
//
// # Duplicates
//
// By default a message is skipped only when an identical one (same
// content, as it would be sent) is already stored in the target. Two
// different messages that share a Message-ID are both stored, and listed
// in Report.SameMessageID. See Dedupe.
//
// # Failures
//
// One insert is in flight per target at a time. A throttle or a server
// error puts the message in a retry queue with a delay that follows the
// error (about half a second for a backend error, seconds for a throttle,
// the server's Retry-After when given), and the target goes on with its
// next message meanwhile. A message sent again after a dropped connection
// is listed in Report.PossibleDuplicates. Failures that are not about a
// message (refused credentials, a scope not granted, the API disabled, a
// missing group) stop the run or the target with a *SetupError that says
// what to fix, and nothing about those messages is recorded as final, so
// the next run sends them. A spent daily quota stops the run with
// Report.ResumeAfter set.
//
// # Memory
//
// A message of up to a megabyte is read into memory; a larger one (up to
// the sink's limit, 25 MiB for a group) is not: from an mbox it goes to a
// temporary file as it is read (unlinked at once where the system allows);
// an .eml or Maildir file is read where it is. It is checked and hashed
// from there, and reaches the request through Body.Open with its line ends
// made CRLF on the way: no copy of it is held in memory, and a retry reads
// the file again. A Sink that is also a
// StreamSink (those of datatransfer and gmail are) gets the Body; any
// other gets the message as a []byte, read back for each attempt.
//
// # Journal
//
// The journal is an append-only file of JSON lines, fsync'd before each
// target's next message, held under an exclusive lock (a second run on
// the same journal fails at once). A message is known by the hash of its
// content and its place among identical messages of its source, so
// resuming after a crash skips what was done, and a source that changed
// between runs has its new or changed messages sent. A damaged line costs
// that record only, and is reported. A journal written by the previous
// version of this library is renamed to "<journal>.v1" and read on every
// run: what it says was stored is not sent again.
package migrate
