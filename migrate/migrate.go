package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// Job is one source to migrate into one target.
type Job struct {
	// Source is an mbox file, a single .eml file, a folder of .eml files
	// or a Maildir.
	Source string
	// Target is where the messages go: a group's e-mail address for a
	// group archive, a user's for a mailbox.
	Target string
}

// Sink delivers messages to one kind of target: a group archive
// (datatransfer), a Gmail mailbox (gmail), or anything else that takes one
// RFC 822 message at a time.
type Sink interface {
	// CheckTarget refuses a target the sink cannot deliver to, before any
	// request is sent.
	CheckTarget(target string) error
	// MaxSize is the largest message the sink accepts, in bytes.
	MaxSize() int64
	// Insert makes one attempt at delivering msg (CRLF line ends, checked
	// by the run's Policy) to target. The engine calls it at most once at
	// a time per target and does every retry itself, so a message waiting
	// for its retry does not hold its target: Insert must not retry.
	//
	// It returns nil once the server said the message is stored (even if
	// the rest of the answer could not be read), a *workspace.Error for
	// any other answer, a *workspace.InputError for a message it refuses
	// without sending, and the transport's error when no answer came.
	Insert(ctx context.Context, target string, msg []byte) error
}

// Dedupe says which messages are skipped as already in the target.
type Dedupe int

const (
	// ByContent, the default, skips a message whose content (as it would
	// be sent) is identical to a message already stored in the target by
	// this run or an earlier one with the same journal. A message that
	// shares only its Message-ID with another is sent, and listed in
	// Report.SameMessageID.
	ByContent Dedupe = iota
	// ByMessageID also skips a message whose Message-ID is already in the
	// target, whatever its content (the behaviour of older tools).
	ByMessageID
	// KeepAll sends every message, identical ones included.
	KeepAll
)

// String returns "content", "message-id" or "none".
func (d Dedupe) String() string {
	switch d {
	case ByContent:
		return "content"
	case ByMessageID:
		return "message-id"
	case KeepAll:
		return "none"
	}
	return fmt.Sprintf("Dedupe(%d)", int(d))
}

// ParseDedupe returns the Dedupe named s: "content" (or ""), "message-id"
// or "none".
func ParseDedupe(s string) (Dedupe, error) {
	switch strings.ToLower(s) {
	case "", "content":
		return ByContent, nil
	case "message-id", "messageid", "id":
		return ByMessageID, nil
	case "none", "keep", "keepall":
		return KeepAll, nil
	}
	return 0, fmt.Errorf("migrate: unknown dedupe rule %q (want content, message-id or none)", s)
}

// Status is what happened to one message.
type Status int

// Message outcomes reported in Events. All but Retrying are final for the
// run.
const (
	Inserted        Status = iota // stored in the target
	Duplicate                     // skipped: identical message already in the target
	Resumed                       // skipped: done by an earlier run, per the journal
	RefusedLocally                // refused before any request (Event.Err says why)
	RefusedByGoogle               // refused by the server as invalid (Event.Err)
	Failed                        // could not be stored (Event.Err); sent again by the next run
	Retrying                      // an attempt failed; the message is sent again after Event.Wait
	Pending                       // the run or its target stopped before the message finished
)

var statusNames = [...]string{"inserted", "duplicate", "resumed", "refused locally", "refused by Google", "failed", "retrying", "pending"}

// String returns the status in words.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Event reports one message's outcome as the run goes.
type Event struct {
	Target  string
	Source  string
	Key     string
	Index   int
	Offset  int64 // byte offset in an mbox
	Size    int64 // bytes as read
	Status  Status
	Err     error         // for refusals, failures and retries
	Wait    time.Duration // for Retrying: the wait before the next attempt
	Attempt int           // attempts made so far
	Repairs []string
}

// Options tune Run. Nil means defaults.
type Options struct {
	// Workers is how many targets are migrated at once (default 10).
	// Each target has at most one insert in flight, whatever this says.
	Workers int
	// Journal is the journal file for the whole run. Empty means one
	// journal per source, next to it: "<source>.journal".
	Journal string
	// Format is the mbox dialect of mbox sources (default mboxrd).
	Format mailsource.Format
	// Policy decides what is refused locally and what is repaired
	// (default Standard).
	Policy Policy
	// Dedupe decides what is skipped as already stored (default
	// ByContent).
	Dedupe Dedupe
	// MaxAttempts is how many times a message is sent before it is
	// reported as Failed, when the server throttles or fails (default 8).
	MaxAttempts int
	// AmbiguousRetries is how many times a message is sent again after
	// the connection failed once the message may have reached the server.
	// Such messages are listed in Report.PossibleDuplicates. Default 2;
	// negative means never (the message is then reported as Failed).
	AmbiguousRetries int
	// Logger, when set, gets a record (Info) for every retry wait longer
	// than a second, and for each target or run that stops early. No
	// message content is logged. datatransfer and gmail pass their
	// client's logger when this is nil.
	Logger *slog.Logger
	// Progress, when set, is called for every outcome from the migrating
	// goroutines (several at once): it must be safe for concurrent use and
	// quick.
	Progress func(Event)

	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	rand  func() float64 // jitter source, [0, 1)
	// spillSize is the size above which a message is read from a
	// temporary file instead of memory (default spillSize).
	spillSize int64
}

const (
	// tentativeLimit is how many refusals in a row, before any message of
	// the target was stored, stop the target as a setup problem.
	tentativeLimit = 5
	// failedLimit is how many messages in a row that failed after every
	// attempt stop the target.
	failedLimit = 3
	// unreachableAttempts is how many attempts without a connection,
	// before anything was stored, stop the run.
	unreachableAttempts = 3
	// queueLimit and queueBytes bound the messages waiting for a retry in
	// one target.
	queueLimit = 16
	queueBytes = 16 << 20
	// spillSize is the largest message held in memory: a larger one goes
	// from the source to a temporary file, and from there to the request.
	spillSize = 1 << 20
)

// Run copies every message of every job's source into the job's target
// through sink, and reports what happened to each one.
//
// Targets are migrated in parallel (Options.Workers), each strictly one
// insert at a time. A message whose attempt failed with a throttle or a
// server error waits for its retry while its target goes on with the next
// messages, so one slow message never holds a group; the client's quota
// layer paces the whole run to the project's limit.
//
// Every outcome is journaled (fsync'd before the target's next message is
// sent) under an exclusive lock, so a run that was killed or cancelled
// resumes where it stopped when called again with the same jobs and
// journal. A message is known by its content and its place among identical
// messages of the same source, so a source that changed between runs has
// its new and changed messages sent, never skipped. A message whose insert
// was in flight is sent again and listed in Report.PossibleDuplicates.
//
// Bad jobs are refused before any request with an *workspace.InputError.
// Once started, Run always returns a report; its error is non-nil when the
// run, or one of its targets, stopped early: a spent daily quota
// (errors.Is(err, workspace.ErrQuotaExhausted); Report.ResumeAfter says
// when it resets), a *SetupError (credentials, scopes, API access, a
// missing group), the context, or a journal that could not be written.
func Run(ctx context.Context, jobs []Job, sink Sink, opts *Options) (*Report, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	const op = "migrate: Run"
	switch {
	case o.Workers < 0:
		return nil, &workspace.InputError{Op: op, Field: "Workers", Reason: "must not be negative"}
	case o.MaxAttempts < 0:
		return nil, &workspace.InputError{Op: op, Field: "MaxAttempts", Reason: "must not be negative"}
	case o.Policy < Standard || o.Policy > Repair:
		return nil, &workspace.InputError{Op: op, Field: "Policy", Reason: "unknown policy"}
	case o.Dedupe < ByContent || o.Dedupe > KeepAll:
		return nil, &workspace.InputError{Op: op, Field: "Dedupe", Reason: "unknown dedupe rule"}
	case len(jobs) == 0:
		return nil, &workspace.InputError{Op: op, Field: "jobs", Reason: "no jobs given"}
	}
	if o.Workers == 0 {
		o.Workers = 10
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.AmbiguousRetries == 0 {
		o.AmbiguousRetries = 2
	}
	if o.now == nil {
		o.now = time.Now
	}
	// A sink of an API package (datatransfer's ArchiveSink, gmail's
	// ImportSink) brings its client's sleeper and jitter source, so that
	// the run's waits go where the client's go.
	if ss, ok := sink.(core.SettingsSource); ok {
		if cs := ss.CoreSettings(); cs != nil {
			if o.sleep == nil {
				o.sleep = cs.Sleep
			}
			if o.rand == nil {
				o.rand = cs.Rand
			}
		}
	}
	if o.sleep == nil {
		o.sleep = retry.SleepContext
	}
	if o.rand == nil {
		o.rand = rand.Float64
	}
	if o.spillSize == 0 {
		o.spillSize = spillSize
	}

	type pair struct{ src, target string }
	seen := map[pair]bool{}
	var order []string
	byTarget := map[string][]Job{}
	for i, j := range jobs {
		if err := sink.CheckTarget(j.Target); err != nil {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("jobs[%d].Target", i), Reason: "refused", Err: err}
		}
		if _, err := os.Stat(j.Source); err != nil {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("jobs[%d].Source", i), Reason: "cannot read", Err: err}
		}
		abs, err := filepath.Abs(j.Source)
		if err != nil {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("jobs[%d].Source", i), Reason: "bad path", Err: err}
		}
		t := strings.ToLower(j.Target)
		if seen[pair{abs, t}] {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("jobs[%d]", i), Reason: "the same source and target appear twice"}
		}
		seen[pair{abs, t}] = true
		if _, ok := byTarget[t]; !ok {
			order = append(order, t)
		}
		byTarget[t] = append(byTarget[t], Job{Source: abs, Target: t})
	}

	r := &run{sink: sink, opts: o, st: newJournalState(), journals: map[string]*journal{},
		report: &Report{Started: o.now(), Targets: map[string]*TargetCounts{}, RepairCounts: map[string]int{}}}
	// Open every journal first: one that cannot be opened (or is locked
	// by another run) stops the run before any request.
	for _, t := range order {
		r.report.Targets[t] = &TargetCounts{}
		for _, j := range byTarget[t] {
			if _, err := r.journal(j.Source); err != nil {
				r.closeJournals()
				return nil, &workspace.InputError{Op: op, Field: "Journal", Reason: "cannot open", Err: err}
			}
		}
		// Each target's goroutine touches only its own inner maps.
		if r.st.stored[t] == nil {
			r.st.stored[t] = map[string]bool{}
			r.st.ids[t] = map[string]string{}
		}
	}
	r.report.JournalProblems = r.st.damaged

	work := make(chan string)
	var wg sync.WaitGroup
	for range min(o.Workers, len(order)) {
		wg.Go(func() {
			for t := range work {
				tr := &targetRun{run: r, target: t, queued: map[string]*pending{}, queuedIDs: map[string]*pending{},
					confirmed: len(r.st.stored[t]) > 0, counts: r.report.Targets[t]}
				tr.migrate(ctx, byTarget[t])
			}
		})
	}
feed:
	for _, t := range order {
		select {
		case work <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()

	if err := r.closeJournals(); err != nil {
		r.stop(fmt.Errorf("migrate: %w", err))
	}
	if ctx.Err() != nil {
		r.stop(context.Cause(ctx))
	}
	rep := r.report
	rep.Finished = o.now()
	rep.sort()
	if len(rep.RepairCounts) == 0 {
		rep.RepairCounts = nil
	}
	var errs []error
	if r.stopErr != nil {
		errs = append(errs, r.stopErr)
		rep.Stopped = r.stopErr.Error()
		var be *quota.BudgetError
		switch {
		case errors.As(r.stopErr, &be):
			rep.ResumeAfter = be.ResetAt
		case errors.Is(r.stopErr, workspace.ErrQuotaExhausted):
			// Google's own daily quota resets at midnight Pacific time.
			rep.ResumeAfter = quota.NextPacificMidnight(o.now())
		}
	}
	for _, t := range order {
		if e := r.targetErrs[t]; e != nil {
			errs = append(errs, e)
		}
	}
	return rep, errors.Join(errs...)
}

// run is one call of Run.
type run struct {
	sink Sink
	opts Options
	st   *journalState

	jmu      sync.Mutex
	journals map[string]*journal

	anyStored  atomic.Bool // a message was stored in this run
	mu         sync.Mutex  // guards report, stopErr, targetErrs
	report     *Report
	stopped    atomic.Bool
	stopErr    error
	targetErrs map[string]error
}

func (r *run) journal(source string) (*journal, error) {
	path := r.opts.Journal
	if path == "" {
		path = strings.TrimRight(source, string(filepath.Separator)) + ".journal"
	}
	r.jmu.Lock()
	defer r.jmu.Unlock()
	if j, ok := r.journals[path]; ok {
		return j, nil
	}
	j, err := openJournal(path, r.st)
	if err != nil {
		return nil, err
	}
	r.journals[path] = j
	r.report.Journals = append(r.report.Journals, path)
	return j, nil
}

func (r *run) closeJournals() error {
	r.jmu.Lock()
	defer r.jmu.Unlock()
	var errs []error
	for _, j := range r.journals {
		errs = append(errs, j.close())
	}
	r.journals = map[string]*journal{}
	return errors.Join(errs...)
}

// stop ends the run after the messages in flight.
func (r *run) stop(err error) {
	r.mu.Lock()
	if r.stopErr == nil {
		r.stopErr = err
	}
	r.mu.Unlock()
	r.stopped.Store(true)
}

func (r *run) emit(ev Event) {
	if r.opts.Progress != nil {
		r.opts.Progress(ev)
	}
}

// pending is a message on its way: read, prepared, not yet finished.
type pending struct {
	item        Item
	rec         record
	j           *journal
	body        *Body
	attempts    int
	ambiguous   int
	possibleDup bool
	sameID      bool
	begun       bool // a begin record without an outcome is in the journal
	maybeStored bool // an attempt of this run may have stored the message
	readyAt     time.Time
	lastErr     error
	// followers are messages read while this one was pending that wait
	// for its outcome: identical ones (Item only), and, with ByMessageID,
	// different ones with the same Message-ID (with their own pending,
	// sent if this one is not stored).
	followers []follower
}

type follower struct {
	item Item
	pm   *pending
}

// targetRun migrates the jobs of one target, in one goroutine.
type targetRun struct {
	*run
	target    string
	counts    *TargetCounts
	queue     []*pending          // waiting for a retry
	queuedLen int64               // bytes in queue
	queued    map[string]*pending // by content hash: unfinished messages
	queuedIDs map[string]*pending // by Message-ID: unfinished messages
	confirmed bool                // a message is known to be stored in the target
	tentative []*pending          // refusals before the first stored message
	// newTentative counts those not already refused by an earlier run.
	newTentative int
	failedRun    int // messages in a row that failed
	stopped      bool
}

func (t *targetRun) halted(ctx context.Context) bool {
	return t.stopped || t.run.stopped.Load() || ctx.Err() != nil
}

func (t *targetRun) migrate(ctx context.Context, jobs []Job) {
	defer t.abandon()
	for _, job := range jobs {
		if t.halted(ctx) {
			return
		}
		j, err := t.journal(job.Source)
		if err != nil {
			t.run.stop(err)
			return
		}
		t.migrateSource(ctx, job.Source, j)
	}
	for len(t.queue) > 0 && !t.halted(ctx) {
		t.sendNext(ctx)
	}
}

func (t *targetRun) migrateSource(ctx context.Context, source string, j *journal) {
	ropts := &mailsource.Options{MaxSize: t.sink.MaxSize(), Format: t.opts.Format, ReuseBuffer: true, SpillSize: t.opts.spillSize}
	rd, err := mailsource.Open(source, ropts)
	if err != nil {
		t.sourceError(Item{Target: t.target, Source: source, Key: source, Index: -1, Reason: "cannot open source: " + err.Error()})
		return
	}
	defer rd.Close()
	occ := map[string]int{}
	for {
		// Retries whose time has come go first; a full queue waits.
		for len(t.queue) > 0 && !t.halted(ctx) &&
			(!t.queue[0].readyAt.After(t.opts.now()) || len(t.queue) >= queueLimit || t.queuedLen >= queueBytes) {
			t.sendNext(ctx)
		}
		if t.halted(ctx) {
			return
		}
		msg, err := rd.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var fe *mailsource.FileError
			if errors.As(err, &fe) {
				it := Item{Target: t.target, Source: source, Key: source + "/" + fe.Name, Index: fe.Index, Reason: "cannot read: "}
				t.count()
				t.final(Failed, it, err, 0)
				continue
			}
			t.sourceError(Item{Target: t.target, Source: source, Key: source, Index: -1, Reason: "reading the source stopped: " + err.Error()})
			return
		}
		t.count()
		if !t.handle(ctx, j, msg, occ) {
			msg.Close()
		}
	}
}

func (t *targetRun) sourceError(it Item) {
	t.mu.Lock()
	t.report.SourceErrors = append(t.report.SourceErrors, it)
	t.mu.Unlock()
	t.emit(t.event(it, Failed, errors.New(it.Reason)))
}

func (t *targetRun) count() {
	t.mu.Lock()
	t.report.Messages++
	t.mu.Unlock()
}

// shortHash is the journal's hash of a message: the first 16 bytes of its
// SHA-256, in hex.
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// handle decides what to do with one message just read. It reports
// whether msg is still needed (its body waits for a retry or for another
// message): otherwise the caller closes it.
func (t *targetRun) handle(ctx context.Context, j *journal, msg *mailsource.Message, occ map[string]int) (kept bool) {
	it := Item{Target: t.target, Source: msg.Source, Key: msg.Key(), Index: msg.Index, Offset: msg.Offset, Size: msg.Size}
	if msg.TooLarge {
		t.final(RefusedLocally, it, refuse("size", fmt.Sprintf("%d bytes, over the %d-byte limit", msg.Size, t.sink.MaxSize())).refusal, 0)
		return false
	}
	if msg.Preamble {
		t.final(RefusedLocally, it, refuse("mbox", "text before the first envelope (\"From \") line that is not a message").refusal, 0)
		return false
	}
	inMemory := msg.Data != nil || msg.Size == 0
	var h string
	var p prepared
	var body *Body
	var full string
	if inMemory {
		h = shortHash(msg.Data)
	} else {
		// Read once: the hash as read, and the body as prepare makes it.
		var err error
		if p, body, full, h, err = prepareLarge(msg, t.target, t.sink.MaxSize(), t.opts.Policy); err != nil {
			t.final(Failed, it, err, 0)
			return false
		}
	}
	rec := record{Target: t.target, Source: msg.Source, Key: it.Key, Off: msg.Offset, Size: msg.Size, Hash: h, Occ: occ[h]}
	occ[h]++
	if st, ok := t.st.final[rec.ident()]; ok {
		it.Reason = "done by an earlier run (" + st + ")"
		t.final(Resumed, it, nil, 0)
		return false
	}
	if inMemory {
		p = prepare(msg, t.target, t.sink.MaxSize(), t.opts.Policy)
		if p.refusal == nil {
			body = &Body{size: int64(len(p.data)), data: p.data}
			sum := sha256.Sum256(p.data)
			full = hex.EncodeToString(sum[:])
		}
	}
	it.Repairs = p.repairs
	t.mu.Lock()
	for _, r := range p.repairs {
		t.report.RepairCounts[r]++
	}
	t.mu.Unlock()
	if p.refusal != nil {
		t.final(RefusedLocally, it, p.refusal, 0)
		return
	}
	rec.Norm = full[:32] // shortHash of the body
	head := body.data
	if head == nil {
		head = body.head
	}
	rec.MsgID = mailsource.MessageID(head)
	it.MessageID = rec.MsgID
	v1InFlight := false
	if v := t.st.v1[t.target]; v != nil {
		k := v1KeyHash(rec.MsgID, full)
		if v.done[k] {
			it.Reason = "done by an earlier run (journal of the previous version)"
			t.final(Resumed, it, nil, 0)
			return false
		}
		v1InFlight = v.inFlight[k]
	}
	stored, ids := t.st.stored[t.target], t.st.ids[t.target]
	if t.opts.Dedupe != KeepAll {
		if stored[rec.Norm] {
			it.Reason = "an identical message is already in the target"
			t.final(Duplicate, it, nil, 0)
			return false
		}
		if q := t.queued[rec.Norm]; q != nil {
			q.followers = append(q.followers, follower{item: it})
			return false
		}
		if t.opts.Dedupe == ByMessageID && rec.MsgID != "" && ids[rec.MsgID] != "" {
			it.Reason = "a message with the same Message-ID is already in the target"
			t.final(Duplicate, it, nil, 0)
			return false
		}
	}
	pm := &pending{item: it, rec: rec, j: j, body: body, possibleDup: t.st.inFlight[rec.ident()] || v1InFlight}
	if t.opts.Dedupe == ByMessageID && rec.MsgID != "" {
		if q := t.queuedIDs[rec.MsgID]; q != nil {
			kept = pm.body.keep()
			q.followers = append(q.followers, follower{item: it, pm: pm})
			return kept
		}
	}
	if rec.MsgID != "" && t.queuedIDs[rec.MsgID] == nil {
		t.queuedIDs[rec.MsgID] = pm
	}
	if t.queued[rec.Norm] == nil {
		t.queued[rec.Norm] = pm
	}
	t.attempt(ctx, pm)
	if pm.readyAt.IsZero() {
		return false
	}
	// The reader lends its buffer until the next message: a message that
	// waits for a retry needs its own copy, or keeps its file.
	kept = pm.body.keep()
	t.enqueue(pm)
	return kept
}

// enqueue puts pm in the retry queue, ordered by readyAt.
func (t *targetRun) enqueue(pm *pending) {
	i, _ := slices.BinarySearchFunc(t.queue, pm.readyAt, func(q *pending, at time.Time) int { return q.readyAt.Compare(at) })
	t.queue = slices.Insert(t.queue, i, pm)
	t.queuedLen += pm.body.memSize()
}

// sendNext waits for the first queued message's time and sends it again.
func (t *targetRun) sendNext(ctx context.Context) {
	pm := t.queue[0]
	if d := pm.readyAt.Sub(t.opts.now()); d > 0 {
		if err := t.opts.sleep(ctx, d); err != nil {
			return
		}
	}
	t.queue = t.queue[1:]
	t.queuedLen -= pm.body.memSize()
	pm.readyAt = time.Time{}
	t.attempt(ctx, pm)
	if !pm.readyAt.IsZero() {
		t.enqueue(pm)
	}
}

// attempt sends pm once and deals with the answer; when the message is to
// be sent again it sets pm.readyAt.
func (t *targetRun) attempt(ctx context.Context, pm *pending) {
	if !pm.begun {
		pm.rec.State = stBegin
		// Synced, like outcomes: after a power loss the next run still
		// knows the message may have been stored.
		if err := pm.j.append(pm.rec, true); err != nil {
			t.run.stop(err)
			t.finishPending(pm, Pending, err)
			return
		}
		pm.begun = true
	}
	pm.attempts++
	var err error
	if ss, ok := t.sink.(StreamSink); ok {
		err = ss.InsertBody(ctx, t.target, pm.body)
	} else {
		var data []byte
		if data, err = pm.body.bytes(); err == nil {
			err = t.sink.Insert(ctx, t.target, data)
		}
	}
	pm.lastErr = err
	oc := classify(err)
	if oc != stored && oc != canceled && ctx.Err() != nil {
		oc = canceled
	}
	switch oc {
	case stored:
		t.run.anyStored.Store(true)
		t.record(pm, stOK, true)
		if c, ok := t.st.ids[t.target][pm.rec.MsgID]; ok && pm.rec.MsgID != "" && c != pm.rec.Norm {
			pm.sameID = true
		}
		t.confirmed = true
		t.failedRun = 0
		t.st.markStored(t.target, pm.rec.Norm, pm.rec.MsgID)
		for _, tp := range t.tentative {
			// The target takes messages: earlier refusals were about them.
			tp.rec.State = stRejected
			if err := tp.j.append(tp.rec, false); err != nil {
				t.run.stop(err)
			}
		}
		if len(t.tentative) > 0 {
			t.tentative = nil
			t.mu.Lock()
			for i := range t.report.RefusedByGoogle {
				it := &t.report.RefusedByGoogle[i]
				if it.Target == t.target {
					it.Tentative = false
				}
			}
			t.mu.Unlock()
		}
		t.finishPending(pm, Inserted, nil)
	case refused, localRefusal:
		st := RefusedByGoogle
		if oc == localRefusal {
			st = RefusedLocally
		}
		if oc == refused && !t.confirmed {
			// Messages refused the same way by an earlier run do not count
			// again, so a rerun gets past them to the next messages.
			again := t.st.tentative[pm.rec.ident()]
			t.record(pm, stTentative, true)
			t.tentative = append(t.tentative, pm)
			if !again {
				t.newTentative++
			}
			if t.newTentative >= tentativeLimit {
				t.stopTarget(&SetupError{Target: t.target, Err: err,
					Advice: fmt.Sprintf("Google refused the first %d messages sent to this target. %s", len(t.tentative), tentativeAdvice)})
			}
		} else if oc == refused {
			t.record(pm, stRejected, true)
		} else {
			t.unsent(pm, true)
		}
		t.finishPending(pm, st, err)
	case unsent:
		if !t.run.anyStored.Load() && pm.attempts >= unreachableAttempts {
			// Nothing got through yet: a wrong address or no network,
			// not a passing fault. Say so in seconds, not minutes.
			t.unsent(pm, true)
			t.run.stop(&SetupError{Err: err, Advice: fmt.Sprintf("No connection could be made in %d attempts and nothing "+
				"was stored yet in this run: check the endpoint address, the network and any proxy. Nothing was recorded "+
				"as final; run again once the server can be reached.", pm.attempts)})
			t.finishPending(pm, Pending, err)
			return
		}
		fallthrough
	case throttled, transient, serverError, ambiguous:
		switch oc {
		case ambiguous:
			pm.ambiguous++
			pm.possibleDup, pm.maybeStored = true, true
		case serverError:
			// An answer came, but it does not prove the message was
			// not stored: the begin record stays and the resend is
			// listed.
			pm.possibleDup, pm.maybeStored = true, true
		default:
			// An answer came, or no connection was made: not stored by
			// this attempt (an earlier one may have).
			t.unsent(pm, false)
		}
		giveUp := pm.attempts >= t.opts.MaxAttempts || (oc == ambiguous && pm.ambiguous > t.opts.AmbiguousRetries)
		if !giveUp {
			wait := delay(oc, pm.attempts, err, t.opts.rand)
			pm.readyAt = t.opts.now().Add(wait)
			ev := t.event(pm.item, Retrying, err)
			ev.Wait, ev.Attempt = wait, pm.attempts
			t.emit(ev)
			if l := t.opts.Logger; l != nil && wait > time.Second {
				l.LogAttrs(ctx, slog.LevelInfo, "migrate: message waits for its retry; its target goes on meanwhile",
					slog.String("target", t.target), slog.String("key", pm.item.Key), slog.Int("attempt", pm.attempts),
					slog.Duration("wait", wait), slog.String("error", err.Error()))
			}
			return
		}
		t.failed(pm, err)
	case setupTarget:
		t.unsent(pm, true)
		t.stopTarget(&SetupError{Target: t.target, Err: err, Advice: setupAdvice(err)})
		t.finishPending(pm, Pending, err)
	case setupRun:
		t.unsent(pm, true)
		t.run.stop(&SetupError{Err: err, Advice: setupAdvice(err)})
		t.finishPending(pm, Pending, err)
	case quotaSpent:
		t.unsent(pm, true)
		t.run.stop(err)
		t.finishPending(pm, Pending, err)
	case canceled:
		// Maybe in flight when the context ended: the begin record stays,
		// and the next run lists the message if it sends it again.
		t.finishPending(pm, Pending, err)
	default:
		t.unsent(pm, true)
		t.failed(pm, err)
	}
}

func (t *targetRun) failed(pm *pending, err error) {
	if pm.possibleDup {
		pm.item.Reason = "may have been stored before the connection failed; "
	}
	t.finishPending(pm, Failed, err)
	t.failedRun++
	if t.failedRun >= failedLimit {
		t.stopTarget(fmt.Errorf("migrate: %s: stopped after %d messages in a row failed (last: %w); "+
			"the next run with the same journal sends them again", t.target, t.failedRun, err))
	}
}

// unsent journals that pm's last attempt did not store it, unless an
// earlier attempt of this run may have: then the begin record stays, so a
// later run that sends it again lists it as a possible duplicate.
func (t *targetRun) unsent(pm *pending, sync bool) {
	if !pm.maybeStored {
		t.record(pm, stUnsent, sync)
	}
}

// record journals pm's outcome.
func (t *targetRun) record(pm *pending, state string, sync bool) {
	pm.rec.State = state
	if err := pm.j.append(pm.rec, sync); err != nil {
		t.run.stop(err)
	}
	pm.begun = state == stBegin
}

func (t *targetRun) stopTarget(err error) {
	if t.stopped {
		return
	}
	t.stopped = true
	if l := t.opts.Logger; l != nil {
		l.LogAttrs(context.Background(), slog.LevelWarn, "migrate: target stopped", slog.String("target", t.target),
			slog.String("error", err.Error()))
	}
	t.mu.Lock()
	t.counts.Stopped = err.Error()
	if t.targetErrs == nil {
		t.targetErrs = map[string]error{}
	}
	t.targetErrs[t.target] = err
	t.mu.Unlock()
}

// abandon reports the messages still queued when the target stops.
func (t *targetRun) abandon() {
	for _, pm := range t.queue {
		t.finishPending(pm, Pending, pm.lastErr)
	}
	t.queue = nil
	// Refusals that were never confirmed stay tentative: the next run
	// sends those messages again.
}

// finishPending reports pm and the identical messages that waited on it.
func (t *targetRun) finishPending(pm *pending, st Status, err error) {
	pm.body.release()
	if t.queued[pm.rec.Norm] == pm {
		delete(t.queued, pm.rec.Norm)
	}
	if pm.rec.MsgID != "" && t.queuedIDs[pm.rec.MsgID] == pm {
		delete(t.queuedIDs, pm.rec.MsgID)
	}
	if st == RefusedByGoogle && !t.confirmed {
		pm.item.Tentative = true
	}
	t.final(st, pm.item, err, pm.attempts)
	t.mu.Lock()
	if pm.possibleDup && (st == Inserted || st == Failed) {
		t.report.PossibleDuplicates = append(t.report.PossibleDuplicates, pm.item)
	}
	if st == Inserted {
		if len(pm.item.Repairs) > 0 {
			t.report.Repaired = append(t.report.Repaired, pm.item)
		}
		if pm.sameID {
			it := pm.item
			it.Reason = "same Message-ID as a different message already in the target"
			t.report.SameMessageID = append(t.report.SameMessageID, it)
		}
	}
	t.mu.Unlock()
	for _, f := range pm.followers {
		switch {
		case st == Inserted:
			f.item.Reason = "same as " + pm.item.Key + ", stored in this run"
			t.final(Duplicate, f.item, nil, 0)
			if f.pm != nil {
				f.pm.body.release()
			}
		case f.pm != nil && st != Pending:
			// Only its Message-ID was shared, and that message was not
			// stored: this one goes on its own.
			t.adopt(f.pm)
		default:
			if f.pm != nil {
				f.pm.body.release()
			}
			f.item.Reason = "waited for " + pm.item.Key + ", which ended " + st.String() + ": "
			f.item.Tentative = pm.item.Tentative
			t.final(st, f.item, err, 0)
		}
	}
}

// adopt queues fm, a message that waited for another, to be sent now.
func (t *targetRun) adopt(fm *pending) {
	if fm.rec.MsgID != "" && t.queuedIDs[fm.rec.MsgID] == nil {
		t.queuedIDs[fm.rec.MsgID] = fm
	}
	if t.queued[fm.rec.Norm] == nil {
		t.queued[fm.rec.Norm] = fm
	}
	fm.readyAt = t.opts.now()
	t.enqueue(fm)
}

func (t *targetRun) event(it Item, st Status, err error) Event {
	return Event{Target: it.Target, Source: it.Source, Key: it.Key, Index: it.Index, Offset: it.Offset,
		Size: it.Size, Status: st, Err: err, Repairs: it.Repairs}
}

// final records a finished message in the report and tells Progress.
func (t *targetRun) final(st Status, it Item, err error, attempts int) {
	if err != nil {
		var ie *workspace.InputError
		if errors.As(err, &ie) && ie.Err == nil {
			it.Field, it.Reason = ie.Field, it.Reason+ie.Reason
		} else {
			it.Reason += err.Error()
		}
	}
	t.mu.Lock()
	r, c := t.report, t.counts
	switch st {
	case Inserted:
		r.Inserted++
		r.Bytes += it.Size
		c.Inserted++
		c.Bytes += it.Size
	case Duplicate:
		r.Duplicates++
		c.Duplicates++
	case Resumed:
		r.Resumed++
		c.Resumed++
	case RefusedLocally:
		r.RefusedLocally = append(r.RefusedLocally, it)
		c.RefusedLocally++
	case RefusedByGoogle:
		r.RefusedByGoogle = append(r.RefusedByGoogle, it)
		c.RefusedByGoogle++
	case Failed:
		r.Failed = append(r.Failed, it)
		c.Failed++
	case Pending:
		r.Pending = append(r.Pending, it)
		c.Pending++
	}
	t.mu.Unlock()
	ev := t.event(it, st, err)
	ev.Attempt = attempts
	t.emit(ev)
}
