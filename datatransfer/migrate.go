package datatransfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/quota"
)

// Job is one source to migrate into one group archive.
type Job struct {
	// Source is an mbox file, a folder of .eml files or a Maildir.
	Source string
	// Group is the group's e-mail address: the target of the job. With
	// Run and another Sink it is whatever that sink delivers to (a Gmail
	// user for gmail.ImportMbox).
	Group string
}

// Sink is where Run delivers messages: a group archive (this package's
// Migrate), a Gmail mailbox (gmail.ImportMbox), or anything else that takes
// one RFC 822 message at a time.
type Sink interface {
	// CheckTarget refuses a target the sink cannot deliver to, before any
	// request is sent.
	CheckTarget(target string) error
	// MaxSize is the largest message the sink accepts, in bytes.
	MaxSize() int64
	// Prepare validates and normalizes a raw message. Its error, typically
	// an *workspace.InputError, is reported as the message's reason for
	// being invalid.
	Prepare(raw []byte) ([]byte, error)
	// Insert delivers a prepared message to target, at most one call at a
	// time per target. It must return errors that match
	// workspace.ErrQuotaExhausted for a spent daily quota and
	// workspace.ErrInvalidInput for a message the server refused, and a
	// *workspace.Error for any other answer from the server; anything else
	// is taken as a failure after which the message may have arrived.
	Insert(ctx context.Context, target string, msg []byte) error
}

// archiveSink delivers to group archives.
type archiveSink struct{ s *ArchiveService }

func (a archiveSink) CheckTarget(g string) error         { return checkGroup(g) }
func (a archiveSink) MaxSize() int64                     { return MaxMessageSize }
func (a archiveSink) Prepare(raw []byte) ([]byte, error) { return Prepare(raw) }
func (a archiveSink) Insert(ctx context.Context, g string, msg []byte) error {
	return a.s.insert(ctx, g, msg)
}

// Status is what happened to one message.
type Status int

// Message outcomes reported in Events.
const (
	Inserted  Status = iota // stored in the group archive
	Duplicate               // skipped: already in the group (same Message-ID or content)
	Resumed                 // skipped: done in an earlier run, per the journal
	Invalid                 // refused as invalid (see Event.Err)
	Failed                  // valid, but could not be inserted (see Event.Err)
)

var statusNames = [...]string{"inserted", "duplicate", "resumed", "invalid", "failed"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Event reports one message's outcome as the migration goes.
type Event struct {
	Group  string
	Source string
	Key    string
	Index  int
	Offset int64 // byte offset in an mbox
	Size   int64 // bytes as stored; 0 for Resumed (not read)
	Status Status
	Err    error // for Invalid and Failed
}

// MigrateOptions tune Migrate. Nil means defaults.
type MigrateOptions struct {
	// Workers is how many groups are migrated at once (default 10). Each
	// group has at most one insert in flight, whatever this says.
	Workers int
	// Journal is the journal file for the whole run. Empty means one
	// journal per source, next to it: "<source>.journal".
	Journal string
	// Format is the mbox dialect of mbox sources (default mboxrd).
	Format mailsource.Format
	// KeepDuplicates inserts messages whose Message-ID is already in the
	// group. By default they are skipped and counted.
	KeepDuplicates bool
	// AmbiguousRetries is how many times a message is sent again after the
	// connection failed once the message may have reached Google. Such
	// messages are listed in Report.PossibleDuplicates. Default 2; negative
	// means never (the message is then reported as Failed).
	AmbiguousRetries int
	// Progress, when set, is called for every message from the migrating
	// goroutines (several at once): it must be safe for concurrent use and
	// quick.
	Progress func(Event)
}

// Migrate copies every message of every job's source into the job's group
// archive and reports what happened to each one.
//
// Groups are migrated in parallel (Workers), each strictly one insert at a
// time, in source order; the client's quota layer paces the whole run to
// the project's limit (10 inserts a second by default) and, with a Redis
// store, keeps other processes from inserting into the same group at the
// same moment.
//
// Every outcome is written to a journal (fsync'd before the group's next
// message is sent), so a run that was killed or cancelled resumes where it
// stopped when called again with the same jobs and journal: messages done
// are skipped; a message whose insert was in flight is sent again and
// listed in Report.PossibleDuplicates. Messages whose Message-ID (or, when
// it has none, content) is already in the group are skipped as duplicates.
//
// Bad jobs are refused before any request is sent, with an
// *workspace.InputError. Once started, Migrate always returns a report. Its
// error is non-nil only when the run stopped early: a spent daily quota
// (errors.Is(err, workspace.ErrQuotaExhausted); Report.ResumeAfter says
// when it resets), the context, or a journal that could not be written.
func (c *Client) Migrate(ctx context.Context, jobs []Job, opts *MigrateOptions) (*Report, error) {
	return Run(ctx, jobs, archiveSink{c.Archive}, opts)
}

// Run is the engine behind Migrate, for any Sink: the same journal,
// duplicate detection, parallelism (one target at a time per worker),
// resumption and report, with messages delivered by sink.
func Run(ctx context.Context, jobs []Job, sink Sink, opts *MigrateOptions) (*Report, error) {
	o := MigrateOptions{Workers: 10, AmbiguousRetries: 2}
	if opts != nil {
		o = *opts
		if o.Workers == 0 {
			o.Workers = 10
		}
		if o.AmbiguousRetries == 0 {
			o.AmbiguousRetries = 2
		}
	}
	const op = "datatransfer: Migrate"
	if o.Workers < 0 {
		return nil, workspace.InvalidInput(op, "Workers", "must not be negative")
	}
	if len(jobs) == 0 {
		return nil, workspace.InvalidInput(op, "jobs", "no jobs given")
	}
	type pair struct{ src, group string }
	seenJobs := map[pair]bool{}
	var order []string
	byGroup := map[string][]Job{}
	for i, j := range jobs {
		if err := sink.CheckTarget(j.Group); err != nil {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("jobs[%d].Group", i), Reason: "refused", Err: err}
		}
		if _, err := os.Stat(j.Source); err != nil {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("jobs[%d].Source", i), Reason: "cannot read", Err: err}
		}
		abs, err := filepath.Abs(j.Source)
		if err != nil {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("jobs[%d].Source", i), Reason: "bad path", Err: err}
		}
		g := strings.ToLower(j.Group)
		p := pair{abs, g}
		if seenJobs[p] {
			return nil, workspace.InvalidInput(op, fmt.Sprintf("jobs[%d]", i), "the same source and group appear twice")
		}
		seenJobs[p] = true
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], Job{Source: j.Source, Group: g})
	}

	m := &migration{sink: sink, opts: o, journals: map[string]*openedJournal{},
		report: &Report{Started: time.Now(), Groups: map[string]*GroupCounts{}}}
	// Open every journal first: a journal that cannot be opened stops the
	// run before any request.
	for _, g := range order {
		m.report.Groups[g] = &GroupCounts{}
		for _, j := range byGroup[g] {
			if _, err := m.journal(j.Source); err != nil {
				m.closeJournals()
				return nil, &workspace.InputError{Op: op, Field: "Journal", Reason: "cannot open", Err: err}
			}
		}
	}

	work := make(chan string)
	var wg sync.WaitGroup
	for range min(max(o.Workers, 1), len(order)) {
		wg.Go(func() {
			for g := range work {
				m.migrateGroup(ctx, g, byGroup[g])
			}
		})
	}
feed:
	for _, g := range order {
		select {
		case work <- g:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()

	if err := m.closeJournals(); err != nil && m.stopErr == nil {
		m.stop(err)
	}
	r := m.report
	r.Finished = time.Now()
	if m.stopErr == nil && ctx.Err() != nil {
		m.stop(context.Cause(ctx))
	}
	r.sort()
	if m.stopErr != nil {
		r.Stopped = m.stopErr.Error()
		var be *quota.BudgetError
		switch {
		case errors.As(m.stopErr, &be):
			r.ResumeAfter = be.ResetAt
		case errors.Is(m.stopErr, workspace.ErrQuotaExhausted):
			// Google's own daily quota: it resets at midnight Pacific time.
			r.ResumeAfter = quota.NextPacificMidnight(time.Now())
		}
		return r, m.stopErr
	}
	return r, nil
}

type openedJournal struct {
	j  *journal
	st *journalState
}

type migration struct {
	sink Sink
	opts MigrateOptions

	jmu      sync.Mutex
	journals map[string]*openedJournal

	mu      sync.Mutex // guards report
	report  *Report
	stopped atomic.Bool
	stopErr error
}

func (m *migration) journal(source string) (*openedJournal, error) {
	path := m.opts.Journal
	if path == "" {
		path = strings.TrimRight(source, string(filepath.Separator)) + ".journal"
	}
	m.jmu.Lock()
	defer m.jmu.Unlock()
	if oj, ok := m.journals[path]; ok {
		return oj, nil
	}
	j, st, err := openJournal(path)
	if err != nil {
		return nil, err
	}
	oj := &openedJournal{j: j, st: st}
	m.journals[path] = oj
	m.report.Journals = append(m.report.Journals, path)
	return oj, nil
}

func (m *migration) closeJournals() error {
	m.jmu.Lock()
	defer m.jmu.Unlock()
	var errs []error
	for _, oj := range m.journals {
		errs = append(errs, oj.j.close())
	}
	m.journals = map[string]*openedJournal{}
	return errors.Join(errs...)
}

// stop ends the run after the messages in flight.
func (m *migration) stop(err error) {
	m.mu.Lock()
	if m.stopErr == nil {
		m.stopErr = err
	}
	m.mu.Unlock()
	m.stopped.Store(true)
}

func (m *migration) emit(ev Event) {
	if m.opts.Progress != nil {
		m.opts.Progress(ev)
	}
}

// count records an outcome in the report.
func (m *migration) count(group string, st Status, it *Item, size int64, possibleDup bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, g := m.report, m.report.Groups[group]
	switch st {
	case Inserted:
		r.Inserted++
		r.Bytes += size
		g.Inserted++
		g.Bytes += size
	case Duplicate:
		r.Duplicates++
		g.Duplicates++
	case Resumed:
		r.Resumed++
		g.Resumed++
	case Invalid:
		r.Invalid = append(r.Invalid, *it)
		g.Invalid++
	case Failed:
		r.Failed = append(r.Failed, *it)
		g.Failed++
	}
	if possibleDup {
		r.PossibleDuplicates = append(r.PossibleDuplicates, *it)
	}
}

func (m *migration) migrateGroup(ctx context.Context, group string, jobs []Job) {
	// Message-IDs already in the group according to the journals.
	seen := map[string]bool{}
	for _, j := range jobs {
		oj, _ := m.journal(j.Source)
		for id := range oj.st.seen[group] {
			seen[id] = true
		}
	}
	for _, job := range jobs {
		if m.stopped.Load() || ctx.Err() != nil {
			return
		}
		oj, err := m.journal(job.Source)
		if err != nil {
			m.stop(err)
			return
		}
		m.migrateSource(ctx, group, job.Source, oj, seen)
	}
}

func (m *migration) migrateSource(ctx context.Context, group, source string, oj *openedJournal, seen map[string]bool) {
	// Each message is handled before the next is read, so the reader may
	// reuse one buffer for all of them.
	ropts := &mailsource.Options{MaxSize: m.sink.MaxSize(), Format: m.opts.Format, ReuseBuffer: true,
		Skip: func(msg *mailsource.Message) bool {
			st := oj.st.final[group+"\x00"+msg.Key()]
			if st == "" {
				return false
			}
			m.count(group, Resumed, nil, 0, false)
			m.emit(Event{Group: group, Source: msg.Source, Key: msg.Key(), Index: msg.Index, Offset: msg.Offset, Status: Resumed})
			return true
		}}
	r, err := mailsource.Open(source, ropts)
	if err != nil {
		it := Item{Group: group, Source: source, Key: source, Index: -1, Reason: "cannot open source: " + err.Error()}
		m.count(group, Failed, &it, 0, false)
		m.emit(Event{Group: group, Source: source, Key: source, Index: -1, Status: Failed, Err: err})
		return
	}
	defer r.Close()
	for {
		if m.stopped.Load() || ctx.Err() != nil {
			return
		}
		msg, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var fe *mailsource.FileError
			if errors.As(err, &fe) {
				it := Item{Group: group, Source: source, Key: source + "/" + fe.Name, Index: fe.Index, Reason: "cannot read: " + fe.Err.Error()}
				m.count(group, Failed, &it, 0, false)
				m.emit(Event{Group: group, Source: source, Key: it.Key, Index: fe.Index, Status: Failed, Err: err})
				continue
			}
			it := Item{Group: group, Source: source, Key: source, Index: -1, Reason: "reading source stopped: " + err.Error()}
			m.count(group, Failed, &it, 0, false)
			m.emit(Event{Group: group, Source: source, Key: source, Index: -1, Status: Failed, Err: err})
			return
		}
		m.migrateMessage(ctx, group, oj, msg, seen)
	}
}

func (m *migration) migrateMessage(ctx context.Context, group string, oj *openedJournal, msg *mailsource.Message, seen map[string]bool) {
	key := msg.Key()
	it := Item{Group: group, Source: msg.Source, Key: key, Index: msg.Index, Offset: msg.Offset, Size: msg.Size}
	ev := Event{Group: group, Source: msg.Source, Key: key, Index: msg.Index, Offset: msg.Offset, Size: msg.Size}
	rec := record{Group: group, Key: key, Off: msg.Offset}
	finish := func(st Status, err error, possibleDup bool) {
		if err != nil {
			it.Reason = err.Error()
			var ie *workspace.InputError
			if errors.As(err, &ie) {
				it.Field, it.Reason = ie.Field, ie.Reason
			}
		}
		m.count(group, st, &it, msg.Size, possibleDup)
		ev.Status, ev.Err = st, err
		m.emit(ev)
	}
	invalid := func(err error) {
		rec.State = stInvalid
		if jerr := oj.j.append(rec, true); jerr != nil {
			m.stop(jerr)
		}
		finish(Invalid, err, false)
	}

	switch {
	case msg.Preamble:
		invalid(workspace.InvalidInput("datatransfer: Migrate", "mbox", "text before the first \"From \" line is not a message"))
		return
	case msg.TooLarge:
		invalid(workspace.InvalidInput("datatransfer: Migrate", "size",
			fmt.Sprintf("%d bytes, over the %d-byte limit", msg.Size, m.sink.MaxSize())))
		return
	}
	norm, err := m.sink.Prepare(msg.Data)
	if err != nil {
		invalid(err)
		return
	}
	msg.Data = nil // let the raw copy go before the upload
	id := mailsource.MessageID(norm)
	it.MessageID = id
	var dkey string
	if id != "" {
		sum := sha256.Sum256([]byte(id))
		dkey = "m" + hex.EncodeToString(sum[:12])
	} else {
		dkey = "c" + mailsource.ContentHash(norm)[:24]
	}
	rec.ID = dkey
	if seen[dkey] && !m.opts.KeepDuplicates {
		rec.State = stDup
		if err := oj.j.append(rec, true); err != nil {
			m.stop(err)
		}
		finish(Duplicate, nil, false)
		return
	}
	_, wasInFlight := oj.st.inFlight[group+"\x00"+key]

	rec.State = stBegin
	if err := oj.j.append(rec, false); err != nil {
		m.stop(err)
		return
	}
	err = m.sink.Insert(ctx, group, norm)
	possibleDup := wasInFlight
	for tries := 0; err != nil && ambiguous(err) && tries < m.opts.AmbiguousRetries && ctx.Err() == nil; tries++ {
		possibleDup = true
		err = m.sink.Insert(ctx, group, norm)
	}
	switch {
	case err == nil:
		rec.State = stOK
		if jerr := oj.j.append(rec, true); jerr != nil {
			m.stop(jerr)
		}
		seen[dkey] = true
		finish(Inserted, nil, possibleDup)
	case errors.Is(err, workspace.ErrQuotaExhausted):
		// Not sent: leave the message for the next run.
		rec.State = stUnsent
		_ = oj.j.append(rec, true)
		m.stop(err)
	case ctx.Err() != nil:
		// Stopped by the caller, maybe while the insert was in flight: the
		// begin record stays, and the next run reports it if it resends.
	case errors.Is(err, workspace.ErrInvalidInput):
		invalid(err)
	default:
		rec.State = stFailed
		if jerr := oj.j.append(rec, true); jerr != nil {
			m.stop(jerr)
		}
		if possibleDup {
			it.Reason = "may have been stored before the connection failed: "
		}
		finish(Failed, err, possibleDup)
	}
}

// ambiguous reports a failure after which the message may have reached
// Google: a transport error, not an answer from the server.
func ambiguous(err error) bool {
	var we *workspace.Error
	var ie *workspace.InputError
	if errors.As(err, &we) || errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return true
}
