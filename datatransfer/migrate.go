package datatransfer

import (
	"context"

	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/sendonce"
	"github.com/gwsadmin/workspace/migrate"
)

// Migrate copies every message of every job's source into the job's group
// archive (Job.Target is the group's address) and reports what happened
// to each one. It is migrate.Run with the group archive sink; see there
// for journal, resumption, retries, duplicates and the report.
func (c *Client) Migrate(ctx context.Context, jobs []migrate.Job, opts *migrate.Options) (*migrate.Report, error) {
	var o migrate.Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = core.Of(c.core).Logger
	}
	return migrate.Run(ctx, jobs, c.ArchiveSink(), &o)
}

// ArchiveSink returns the migrate.Sink that inserts into group archives,
// for migrate.Run. It is a migrate.StreamSink: a large message goes to
// the request as it is read, never whole in memory.
func (c *Client) ArchiveSink() migrate.Sink { return archiveSink{c.Archive} }

type archiveSink struct{ s *ArchiveService }

// CoreSettings gives the migration engine the client's sleeper and jitter
// source (core.SettingsSource).
func (a archiveSink) CoreSettings() *core.Settings { return core.Of(a.s.c.core) }

func (a archiveSink) CheckTarget(g string) error { return checkGroup(g) }
func (a archiveSink) MaxSize() int64             { return MaxMessageSize }

// Insert makes one attempt: the engine retries, so that a message waiting
// for its retry does not hold its group.
func (a archiveSink) Insert(ctx context.Context, g string, msg []byte) error {
	return a.s.insert(sendonce.With(ctx), g, msg)
}

// InsertBody is Insert with the message read as it is sent.
func (a archiveSink) InsertBody(ctx context.Context, g string, msg *migrate.Body) error {
	return a.s.send(sendonce.With(ctx), g, msg.Size(), msg.Open)
}
