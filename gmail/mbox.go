package gmail

import (
	"context"

	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
)

// ImportMboxOptions tune ImportMbox. Nil means defaults: messages.import
// with no labels (the messages land in "All Mail") and the datatransfer
// engine's defaults.
type ImportMboxOptions struct {
	// Insert uses messages.insert (no delivery scanning, like IMAP APPEND)
	// instead of messages.import.
	Insert bool
	// Message sets labels, date source and flags of every message.
	Message *InsertOptions
	// Migrate tunes the shared engine: journal file, duplicate handling,
	// mbox dialect, progress callback. Workers does not matter here: one
	// mailbox gets one call at a time.
	Migrate *datatransfer.MigrateOptions
}

// ImportMbox copies every message of source (an mbox file, a folder of
// .eml files or a Maildir) into user's mailbox with messages.import (or
// insert), through the same engine as datatransfer.Migrate: a journal
// next to the source (or Migrate.Journal) makes an interrupted run resume
// where it stopped, messages whose Message-ID was already imported by an
// earlier run are skipped, and the report lists what was imported,
// skipped, invalid or failed, and why. Messages over MaxInsertSize or
// without a readable header are reported as invalid without a request.
//
// It returns the report and, only when the run stopped early (a spent
// daily quota, the context, a journal that could not be written), an
// error.
func (g *Client) ImportMbox(ctx context.Context, user, source string, opts *ImportMboxOptions) (*datatransfer.Report, error) {
	var o ImportMboxOptions
	if opts != nil {
		o = *opts
	}
	sink := &mailboxSink{g: g, insert: o.Insert, opts: o.Message}
	return datatransfer.Run(ctx, []datatransfer.Job{{Source: source, Group: user}}, sink, o.Migrate)
}

// mailboxSink delivers messages to a Gmail mailbox for datatransfer.Run.
// The job's Group field carries the mailbox owner.
type mailboxSink struct {
	g      *Client
	insert bool
	opts   *InsertOptions
}

func (s *mailboxSink) CheckTarget(user string) error { return checkUser("gmail: ImportMbox", user) }

func (s *mailboxSink) MaxSize() int64 { return MaxInsertSize }

func (s *mailboxSink) Prepare(raw []byte) ([]byte, error) {
	norm := mailsource.NormalizeCRLF(raw)
	op := "gmail: messages.import"
	if s.insert {
		op = "gmail: messages.insert"
	}
	if err := checkRaw(op, norm, MaxInsertSize); err != nil {
		return nil, err
	}
	return norm, nil
}

func (s *mailboxSink) Insert(ctx context.Context, user string, msg []byte) error {
	var err error
	if s.insert {
		_, err = s.g.Messages.Insert(ctx, user, msg, s.opts)
	} else {
		_, err = s.g.Messages.Import(ctx, user, msg, s.opts)
	}
	return err
}
