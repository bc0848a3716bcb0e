package gmail

import (
	"context"
	"errors"

	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/sendonce"
	"github.com/gwsadmin/workspace/migrate"
)

// ImportMboxOptions tune ImportMbox. Nil means defaults: messages.import
// with no labels (the messages land in "All Mail") and the migration
// engine's defaults.
type ImportMboxOptions struct {
	// Insert uses messages.insert (no delivery scanning, like IMAP APPEND)
	// instead of messages.import.
	Insert bool
	// Message sets labels, date source and flags of every message.
	Message *InsertOptions
	// Migrate tunes the migration engine: journal file, policy, duplicate
	// handling, mbox dialect, progress callback. Workers does not matter
	// here: one mailbox gets one call at a time.
	Migrate *migrate.Options
}

// ImportMbox copies every message of source (an mbox file, a folder of
// .eml files or a Maildir) into user's mailbox with messages.import (or
// insert), through the migration engine (migrate.Run): a journal next to
// the source (or Migrate.Journal) makes an interrupted run resume where it
// stopped, messages identical to one already imported are skipped, and the
// report lists what was imported, repaired, refused (locally or by Gmail)
// or failed, and why.
//
// It returns the report and, when the run stopped early (a spent daily
// quota, refused credentials, the context, a journal that could not be
// written), an error.
func (g *Client) ImportMbox(ctx context.Context, user, source string, opts *ImportMboxOptions) (*migrate.Report, error) {
	var o ImportMboxOptions
	if opts != nil {
		o = *opts
	}
	var mo migrate.Options
	if o.Migrate != nil {
		mo = *o.Migrate
	}
	if mo.Logger == nil {
		mo.Logger = core.Of(g.core).Logger
	}
	return migrate.Run(ctx, []migrate.Job{{Source: source, Target: user}}, g.ImportSink(&o), &mo)
}

// ImportSink returns the migrate.Sink that imports (or, with
// opts.Insert, inserts) messages into the target user's mailbox, for
// migrate.Run. Only opts.Insert and opts.Message are used. It is a
// migrate.StreamSink: a message above the resumable threshold is uploaded
// chunk by chunk as it is read, never whole in memory.
func (g *Client) ImportSink(opts *ImportMboxOptions) migrate.Sink {
	s := &mailboxSink{g: g}
	if opts != nil {
		s.insert, s.opts = opts.Insert, opts.Message
	}
	return s
}

// mailboxSink delivers messages to a Gmail mailbox; the target is the
// mailbox owner.
type mailboxSink struct {
	g      *Client
	insert bool
	opts   *InsertOptions
}

// CoreSettings gives the migration engine the client's sleeper and jitter
// source (core.SettingsSource).
func (s *mailboxSink) CoreSettings() *core.Settings { return core.Of(s.g.core) }

func (s *mailboxSink) CheckTarget(user string) error { return checkUser("gmail: ImportMbox", user) }

func (s *mailboxSink) MaxSize() int64 { return MaxInsertSize }

// Insert makes one attempt; the engine retries.
func (s *mailboxSink) Insert(ctx context.Context, user string, msg []byte) error {
	return s.store(ctx, user, bytesSource(msg))
}

// InsertBody is Insert with the message read as it is sent (a large one
// chunk by chunk with the resumable upload).
func (s *mailboxSink) InsertBody(ctx context.Context, user string, msg *migrate.Body) error {
	return s.store(ctx, user, source{size: msg.Size(), open: msg.Open})
}

func (s *mailboxSink) store(ctx context.Context, user string, src source) error {
	ctx = sendonce.With(ctx)
	method := "users.messages.import"
	if s.insert {
		method = "users.messages.insert"
	}
	_, err := s.g.Messages.store(ctx, method, user, src, s.opts)
	var ae *AnswerUnreadableError
	if errors.As(err, &ae) {
		return nil // stored: Gmail said so before its answer broke off
	}
	return err
}
