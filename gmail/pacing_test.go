package gmail_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

// virtualClock is a quota.Clock on simulated time shared with the fake
// server: a timer advances the time at once and fires, so that pacing
// costs no real time. Waits of concurrent callers add up, as if they came
// one after the other, which only makes the client slower than real.
type virtualClock struct{ fakeClock }

func (c *virtualClock) sleep(d time.Duration) { c.Advance(max(d, 0)) }

func (c *virtualClock) NewTimer(d time.Duration) quota.Timer {
	c.sleep(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return firedTimer(ch)
}

type firedTimer chan time.Time

func (t firedTimer) C() <-chan time.Time { return t }
func (t firedTimer) Stop() bool          { return false }

// pacingEnv is a fake whose user's real Gmail limit is a fifth of the
// documented one (3,000 units a minute, a second's burst), and a client
// with the default limiter, all on virtual time.
type pacingEnv struct {
	srv   *workspacetest.Server
	g     *gmail.Client
	lim   *quota.RuleLimiter
	clock *virtualClock
	user  string
}

func newPacingEnv(t *testing.T, fifth bool) *pacingEnv {
	t.Helper()
	// The token endpoint checks the JWT against its clock: start now.
	clock := &virtualClock{fakeClock{now: time.Now()}}
	srv := workspacetest.NewServer(workspacetest.WithClock(clock.Now), workspacetest.WithProcessingDelay(0))
	t.Cleanup(srv.Close)
	user := "alice@" + domainOf(srv.AdminEmail())
	srv.AddUser(user)
	if fifth {
		srv.SetGmailUserLimit(user, workspacetest.GmailLimit{UnitsPerMinute: 15000 / 5})
	}
	lim, err := quota.New(quota.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()),
		workspace.WithSubject(srv.AdminEmail()),
		workspace.WithScopes(auth.ScopeGmailFull),
		workspace.WithHTTPClient(&http.Client{Transport: base}),
		workspace.WithRetry(func(o *retry.Options) {
			o.Budget = retry.Unbudgeted()
			o.Sleep = func(ctx context.Context, d time.Duration) error { clock.sleep(d); return ctx.Err() }
		}),
		workspace.WithQuota(lim))
	if err != nil {
		t.Fatal(err)
	}
	return &pacingEnv{srv: srv, g: gmail.New(core), lim: lim, clock: clock, user: user}
}

func (e *pacingEnv) seed(n int) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.srv.AddGmailMessage(e.user, mail(i), "INBOX")
	}
	return ids
}

// batchOpts returns the default batch options: the client's Sleep
// advances the virtual clock between retry rounds.
func (e *pacingEnv) batchOpts() *gmail.BatchOptions {
	return &gmail.BatchOptions{}
}

// served returns what the fake accepted and refused of Gmail calls
// (batch parts included).
func (e *pacingEnv) served() (accepted, refused int) {
	st := e.srv.Stats()["gmail"]
	for _, n := range st.Rejected {
		refused += n
	}
	return st.Accepted, refused
}

func (e *pacingEnv) userRate() float64 {
	for _, st := range e.lim.Stats() {
		if st.Rule == "gmail.user.rate" && st.Key == e.user {
			return st.EffectiveRate
		}
	}
	return 0
}

// TestPacingGetManyFifthOfLimit is issue 15's case: 600 messages fetched
// in batches for a user whose real limit is a fifth of Gmail's documented
// one. Taking the documented limit as a promise and sending 50-call
// batches, 81% of the calls were refused and the sync failed; adapting,
// every message arrives and few calls are refused (those of the first
// seconds, while the limit is found).
func TestPacingGetManyFifthOfLimit(t *testing.T) {
	t.Parallel()
	e := newPacingEnv(t, true)
	ids := e.seed(600)
	start := e.clock.Now()
	msgs, err := e.g.Messages.GetMany(t.Context(), e.user, ids, &gmail.GetOptions{Format: "minimal", Batch: e.batchOpts()})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m == nil || m.Id != ids[i] {
			t.Fatalf("message %d = %v", i, m)
		}
	}
	acc, ref := e.served()
	took := e.clock.Now().Sub(start)
	t.Logf("600 gets: %d accepted, %d refused, %v of virtual time, user rate now %.1f units/s", acc, ref, took.Round(time.Second), e.userRate())
	if acc != 600 {
		t.Errorf("accepted = %d, want 600", acc)
	}
	// Finding the limit costs the refusals of the first second or two (at
	// five times the limit, four in five calls are refused); then none.
	if ref > 90 {
		t.Errorf("refused = %d of %d, want at most 90", ref, acc+ref)
	}
	// 3,000 units at 50 units/s take a minute; the virtual clock counts
	// concurrent waits one after the other, so allow some slack.
	if took > 2*time.Minute {
		t.Errorf("took %v", took)
	}
	if r := e.userRate(); r > 55 || r < 35 {
		t.Errorf("user rate = %.1f units/s, want about 50 (the real limit)", r)
	}
}

// TestPacingSingleGetsFifthOfLimit fetches messages one by one for a user
// whose real limit is a fifth of the documented one.
func TestPacingSingleGetsFifthOfLimit(t *testing.T) {
	t.Parallel()
	e := newPacingEnv(t, true)
	ids := e.seed(300)
	for _, id := range ids {
		if _, err := e.g.Messages.Get(t.Context(), e.user, id, &gmail.GetOptions{Format: "minimal"}); err != nil {
			t.Fatal(err)
		}
	}
	acc, ref := e.served()
	t.Logf("300 gets: %d accepted, %d refused, user rate now %.1f units/s", acc, ref, e.userRate())
	// Without adaptation the rate stays at the documented 250 units/s and
	// about 27 calls are refused; adapting, it settles near the real 50.
	if acc != 300 || ref > 10 {
		t.Errorf("accepted %d, refused %d: want 300 and at most 10", acc, ref)
	}
	if r := e.userRate(); r > 55 || r < 35 {
		t.Errorf("user rate %.1f units/s, want near the real 50", r)
	}
}

// TestPacingBatchIsNotABurst: at Gmail's documented 250 units a second, a
// batch carries the messages.get calls (5 units) the pace admits within a
// quarter of a second, not 50 at once.
func TestPacingBatchIsNotABurst(t *testing.T) {
	t.Parallel()
	e := newPacingEnv(t, false)
	ids := e.seed(200)
	calls := make([]*gmail.BatchCall, len(ids))
	for i, id := range ids {
		calls[i] = &gmail.BatchCall{Method: "users.messages.get", Path: "users/" + e.user + "/messages/" + id}
	}
	start := e.clock.Now()
	if err := e.g.Batch(t.Context(), e.user, calls, e.batchOpts()); err != nil {
		t.Fatal(err)
	}
	log := e.srv.GmailBatchLog()
	parts := 0
	for _, b := range log {
		parts += len(b.Calls)
		// 250 units/s × 0.25 s, plus the limiter's burst (25 units) and
		// the batch's first call: at most 19 calls of 5 units.
		if len(b.Calls) > 19 {
			t.Errorf("a batch carries %d calls (%d units at once)", len(b.Calls), 5*len(b.Calls))
		}
	}
	if parts != 200 || len(log) < 200/19 {
		t.Errorf("%d calls in %d batches", parts, len(log))
	}
	// The cost is drawn at the rate: 1,000 units at 250 units/s.
	if took := e.clock.Now().Sub(start); took < 3500*time.Millisecond {
		t.Errorf("200 gets took %v, faster than the documented rate allows", took)
	}
	if _, ref := e.served(); ref != 0 {
		t.Errorf("refused = %d", ref)
	}
}
