package settings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/poll"
	"github.com/gwsadmin/workspace/retry"
)

// DefaultMXTTL is the TTL that NetResolver reports for every record,
// because the standard library's resolver does not expose TTLs: one hour,
// the TTL Google's setup instructions suggest for MX records.
const DefaultMXTTL = time.Hour

// MX is one MX record.
type MX struct {
	Host string        // the mail server, lower case, without the final dot
	Pref uint16        // preference: lower is tried first
	TTL  time.Duration // time to live; 0 when unknown
}

// Resolver looks up a domain's MX records with their TTLs. A domain with
// no MX records (or no such name) is an empty answer, not an error.
// NetResolver is the default; tests use a double with chosen TTLs.
type Resolver interface {
	LookupMX(ctx context.Context, domain string) ([]MX, error)
}

// NetResolver is a Resolver built on *net.Resolver. net.Resolver does not
// expose TTLs, so every record gets TTL (DefaultMXTTL when zero).
type NetResolver struct {
	Resolver *net.Resolver // nil means net.DefaultResolver
	TTL      time.Duration // 0 means DefaultMXTTL
}

// LookupMX implements Resolver.
func (r *NetResolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	res := r.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultMXTTL
	}
	recs, err := res.LookupMX(ctx, domain)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, nil
		}
		if len(recs) == 0 {
			return nil, err
		}
		// net returns the valid records along with an error for bad ones.
	}
	out := make([]MX, 0, len(recs))
	for _, m := range recs {
		out = append(out, MX{Host: m.Host, Pref: m.Pref, TTL: ttl})
	}
	return out, nil
}

// googleMX are Google's inbound mail servers: the single record Google
// asks for today (smtp.google.com) and the five of the older setup
// (aspmx.l.google.com, alt1–alt4.aspmx.l.google.com, and the historical
// aspmx2–aspmx5.googlemail.com).
var googleMX = []string{
	"smtp.google.com",
	"aspmx.l.google.com",
	"alt1.aspmx.l.google.com", "alt2.aspmx.l.google.com", "alt3.aspmx.l.google.com", "alt4.aspmx.l.google.com",
	"aspmx2.googlemail.com", "aspmx3.googlemail.com", "aspmx4.googlemail.com", "aspmx5.googlemail.com",
}

// IsGoogleMX reports whether host is one of Google's inbound mail servers
// (case and a final dot do not matter).
func IsGoogleMX(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	if slices.Contains(googleMX, h) {
		return true
	}
	// altN.aspmx.l.google.com for any N Google may add.
	if rest, ok := strings.CutSuffix(h, ".aspmx.l.google.com"); ok && strings.HasPrefix(rest, "alt") {
		n := rest[3:]
		return n != "" && strings.Trim(n, "0123456789") == ""
	}
	return false
}

// MXReport is the result of an MX check.
type MXReport struct {
	Domain  string
	Records []MX     // sorted by preference
	Foreign []string // hosts that are not Google's
	// PointsAtGoogle is true when the domain has MX records and every one
	// of them is a Google server (a foreign record would take some mail
	// elsewhere).
	PointsAtGoogle bool
	// TTL is the shortest TTL among the records (DefaultMXTTL when there
	// are none or none is known): how long a change may take to be seen.
	TTL     time.Duration
	Checked time.Time
	Checks  int // how many lookups WaitMX made (1 for CheckMX)
}

// String summarises the report on one line: records, verdict, TTL.
func (r *MXReport) String() string {
	if len(r.Records) == 0 {
		return r.Domain + ": no MX records"
	}
	hosts := make([]string, len(r.Records))
	for i, m := range r.Records {
		hosts[i] = fmt.Sprintf("%d %s", m.Pref, m.Host)
	}
	verdict := "points at Google"
	if !r.PointsAtGoogle {
		verdict = "not only Google's servers (others: " + strings.Join(r.Foreign, ", ") + ")"
	}
	return fmt.Sprintf("%s: %s; %s; TTL %s", r.Domain, strings.Join(hosts, ", "), verdict, r.TTL)
}

// MXOptions tune CheckMX and WaitMX. Nil means defaults.
//
// The embedded WaitOptions are WaitMX's (CheckMX ignores them): the first
// wait between two checks (Interval, default 1 minute), which grows by
// half after each check up to MaxInterval (default 1 hour; an Interval
// above it raises it), and Timeout, which bounds the whole wait (0: until
// ctx ends); WaitMX refuses a negative one. A wait is never shorter than
// the records' TTL: a change cannot be seen sooner.
type MXOptions struct {
	workspace.WaitOptions
	// Resolver answers the lookups; nil means &NetResolver{}.
	Resolver Resolver
	// Domain to check; "" means the Client's domain.
	Domain string
	// Progress, when set, is called by WaitMX after every lookup, before
	// any wait that follows: the last lookup, the one at the timeout and
	// the one whose records point at Google included. A lookup that
	// answered gives (its report, nil); a failed one gives (nil, its
	// error). CheckMX does not call it.
	Progress func(*MXReport, error)

	// Set by the package, or by its tests through export_test.go.
	sleep  func(ctx context.Context, d time.Duration) error // the waits between checks; nil: a timer
	now    func() time.Time                                 // the clock of MXReport.Checked; nil: time.Now
	logger *slog.Logger                                     // the Client's, for Client.WaitMX: each wait is logged
}

// Defaults of WaitMX's WaitOptions.
const (
	defaultMXInterval    = time.Minute
	defaultMXMaxInterval = time.Hour
)

// CheckMX looks up the domain's MX records once and reports whether they
// point at Google's mail servers. It replaces the turned-down
// verification/mx feed: the check is made by DNS, as Google's own is.
func (c *Client) CheckMX(ctx context.Context, opts *MXOptions) (*MXReport, error) {
	o, err := mxDefaults(opts, c.domain, false)
	if err != nil {
		return nil, err
	}
	return checkMX(ctx, o)
}

// CheckMX is Client.CheckMX without a Client: opts.Domain is required.
func CheckMX(ctx context.Context, opts *MXOptions) (*MXReport, error) {
	o, err := mxDefaults(opts, "", false)
	if err != nil {
		return nil, err
	}
	return checkMX(ctx, o)
}

// WaitMX checks the domain's MX records until they point at Google, ctx
// ends or opts.Timeout passes. Between checks it waits opts.Interval,
// half as long again after each check up to opts.MaxInterval (an Interval
// above MaxInterval raises MaxInterval to it), and never less than the
// records' TTL, which is how long a resolver may keep serving the old
// answer; a negative duration is a *workspace.InputError, before any
// lookup. It waits through the workspace.Client's sleep (the retry
// options' Sleep when one was given); the timeout counts the larger of the
// waits slept and the time passed. When the next wait would pass the
// timeout, it is cut to end there and a last check is made.
//
// A failed lookup (SERVFAIL, a resolver timeout) is checked again at the
// next wait, like a miss, unless it was the last check at the timeout.
// opts.Progress sees every lookup, failed ones and the last included.
// WaitMX returns the last report a lookup gave
// (nil only when none did), its Checks counting every lookup made: with a
// nil error once the records point at Google; with an error matching
// context.DeadlineExceeded when the timeout passes, which says whether the
// records were still not Google's or the lookups failed (and how); with
// ctx.Err() itself when ctx ends.
func (c *Client) WaitMX(ctx context.Context, opts *MXOptions) (*MXReport, error) {
	o, err := mxDefaults(opts, c.domain, true)
	if err != nil {
		return nil, err
	}
	o.logger = core.Of(c.core).Logger
	o.sleep = core.Of(c.core).Sleep
	return waitMX(ctx, o)
}

// WaitMX is Client.WaitMX without a Client: opts.Domain is required. It
// waits with a timer.
func WaitMX(ctx context.Context, opts *MXOptions) (*MXReport, error) {
	o, err := mxDefaults(opts, "", true)
	if err != nil {
		return nil, err
	}
	return waitMX(ctx, o)
}

// mxDefaults fills in opts' defaults; for WaitMX (wait) it first refuses
// a negative duration.
func mxDefaults(opts *MXOptions, domain string, wait bool) (MXOptions, error) {
	var o MXOptions
	if opts != nil {
		o = *opts
	}
	po := poll.Options{Interval: o.Interval, MaxInterval: o.MaxInterval, Timeout: o.Timeout}
	if f := po.Negative(); wait && f != "" {
		return o, &workspace.InputError{Op: "settings: WaitMX", Field: f, Reason: "must not be negative (0 for the default)"}
	}
	po = po.WithDefaults(defaultMXInterval, defaultMXMaxInterval)
	o.Interval, o.MaxInterval = po.Interval, po.MaxInterval
	if o.Domain == "" {
		o.Domain = domain
	}
	if o.Resolver == nil {
		o.Resolver = &NetResolver{}
	}
	if o.sleep == nil {
		o.sleep = retry.SleepContext
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

func checkMX(ctx context.Context, o MXOptions) (*MXReport, error) {
	const op = "settings: mx.check"
	d, err := checkDomainName(op, o.Domain)
	if err != nil {
		return nil, err
	}
	recs, err := o.Resolver.LookupMX(ctx, d)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: looking up MX of %s: %w", op, d, err)
	}
	rep := &MXReport{Domain: d, Checked: o.now(), Checks: 1}
	for _, m := range recs {
		m.Host = strings.ToLower(strings.TrimSuffix(m.Host, "."))
		if m.Host == "" {
			m.Host = "." // a null MX (RFC 7505): the domain takes no mail
		}
		rep.Records = append(rep.Records, m)
		if !IsGoogleMX(m.Host) && !slices.Contains(rep.Foreign, m.Host) {
			rep.Foreign = append(rep.Foreign, m.Host)
		}
		if m.TTL > 0 && (rep.TTL == 0 || m.TTL < rep.TTL) {
			rep.TTL = m.TTL
		}
	}
	slices.SortStableFunc(rep.Records, func(a, b MX) int { return int(a.Pref) - int(b.Pref) })
	if rep.TTL == 0 {
		rep.TTL = DefaultMXTTL
	}
	rep.PointsAtGoogle = len(rep.Records) > 0 && len(rep.Foreign) == 0
	return rep, nil
}

func waitMX(ctx context.Context, o MXOptions) (*MXReport, error) {
	const op = "settings: WaitMX"
	if _, err := checkDomainName(op, o.Domain); err != nil {
		return nil, err
	}
	checks := 0
	rep, err := poll.Wait(ctx, &poll.Poller[*MXReport]{
		Options: poll.Options{Interval: o.Interval, MaxInterval: o.MaxInterval, Timeout: o.Timeout},
		Sleep:   o.sleep,
		Now:     o.now,
		Poll: func(ctx context.Context) (*MXReport, error) {
			checks++
			rep, err := checkMX(ctx, o)
			if err != nil {
				return nil, err
			}
			rep.Checks = checks
			return rep, nil
		},
		Done: func(rep *MXReport) (bool, error) { return rep.PointsAtGoogle, nil },
		// A failed lookup (SERVFAIL, timeout) is checked again like a miss.
		Temporary: func(err error) bool { return !errors.Is(err, workspace.ErrInvalidInput) },
		MinPause:  func(rep *MXReport) time.Duration { return rep.TTL },
		Progress:  o.Progress,
		Waiting: func(ctx context.Context, d time.Duration, _ *MXReport, err error) {
			l := o.logger
			if l == nil || d <= time.Second || !l.Enabled(ctx, slog.LevelInfo) {
				return
			}
			if err != nil {
				l.LogAttrs(ctx, slog.LevelInfo, "settings: MX lookup failed; checking again after a pause",
					slog.String("domain", o.Domain), slog.Int("checks", checks), slog.String("error", err.Error()), slog.Duration("wait", d))
				return
			}
			l.LogAttrs(ctx, slog.LevelInfo, "settings: MX records do not point at Google yet; checking again after a pause",
				slog.String("domain", o.Domain), slog.Int("checks", checks), slog.Duration("wait", d))
		},
		TimedOut: func(t poll.Timeout[*MXReport]) string {
			msg := fmt.Sprintf("%s: %s: after %v (%d checks) ", op, o.Domain, t.After, t.Polls)
			switch {
			case !t.Read:
				return msg + fmt.Sprintf("the lookups failed: %v", t.Err)
			case t.Err != nil:
				return msg + fmt.Sprintf("the last lookups failed: %v; the last records seen (%s) did not point at Google", t.Err, t.Last)
			}
			return msg + fmt.Sprintf("the MX records still do not point at Google (%s)", t.Last)
		},
	})
	if rep != nil {
		rep.Checks = checks
	}
	return rep, err
}

// StaticResolver answers MX lookups from a map of domain → records, for
// tests and demonstrations. An absent domain has no records.
type StaticResolver map[string][]MX

// LookupMX implements Resolver.
func (r StaticResolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return slices.Clone(r[strings.ToLower(strings.TrimSuffix(domain, "."))]), nil
}
