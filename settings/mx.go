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
// half after each check up to MaxInterval (default 1 hour), and Timeout,
// which bounds the whole wait (0: until ctx ends). A wait is never
// shorter than the records' TTL: a change cannot be seen sooner.
type MXOptions struct {
	workspace.WaitOptions
	// Resolver answers the lookups; nil means &NetResolver{}.
	Resolver Resolver
	// Domain to check; "" means the Client's domain.
	Domain string
	// Progress, when set, is called with each report WaitMX gets before it
	// waits again.
	Progress func(*MXReport)

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
// half as long again after each check up to opts.MaxInterval, and never
// less than the records' TTL, which is how long a resolver may keep
// serving the old answer. A failed lookup is checked again like a miss.
// When ctx ends it returns the last report with ctx's error; when the
// timeout passes, it checks a last time and returns that report with an
// error matching context.DeadlineExceeded. It waits through the
// workspace.Client's sleep (the retry options' Sleep when one was given).
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
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"Interval", o.Interval}, {"MaxInterval", o.MaxInterval}, {"Timeout", o.Timeout}} {
		if wait && f.v < 0 {
			return o, &workspace.InputError{Op: "settings: mx.wait", Field: f.name, Reason: "must not be negative (0 for the default)"}
		}
	}
	if o.Domain == "" {
		o.Domain = domain
	}
	if o.Resolver == nil {
		o.Resolver = &NetResolver{}
	}
	if o.Interval == 0 {
		o.Interval = defaultMXInterval
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = defaultMXMaxInterval
	}
	if o.MaxInterval < o.Interval {
		o.MaxInterval = o.Interval
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
	wait := o.Interval
	checks := 0
	// elapsed is the larger of the time slept (what a test's sleep
	// records) and the time passed since the start (lookups take time
	// too), so that Timeout bounds the wait under both.
	start := o.now()
	var slept time.Duration
	elapsed := func() time.Duration { return max(slept, o.now().Sub(start)) }
	last := false // the check at the timeout
	for {
		rep, err := checkMX(ctx, o)
		checks++
		if err != nil {
			if errors.Is(err, workspace.ErrInvalidInput) || ctx.Err() != nil {
				return nil, err
			}
			// A failed lookup (SERVFAIL, timeout) is retried like a miss.
			rep = nil
		}
		if rep != nil {
			rep.Checks = checks
			if rep.PointsAtGoogle {
				return rep, nil
			}
			if o.Progress != nil {
				o.Progress(rep)
			}
		}
		if last {
			return rep, fmt.Errorf("settings: mx.wait: %s: the MX records do not point at Google after %v (%d checks): %w",
				o.Domain, o.Timeout, checks, context.DeadlineExceeded)
		}
		d := wait
		if rep != nil && rep.TTL > d {
			d = rep.TTL
		}
		if o.Timeout > 0 {
			if left := o.Timeout - elapsed(); d >= left {
				d, last = max(left, 0), true
			}
		}
		if l := o.logger; l != nil && d > time.Second && l.Enabled(ctx, slog.LevelInfo) {
			l.LogAttrs(ctx, slog.LevelInfo, "settings: MX records do not point at Google yet; checking again after a pause",
				slog.String("domain", o.Domain), slog.Int("checks", checks), slog.Duration("wait", d))
		}
		if err := o.sleep(ctx, d); err != nil {
			return rep, err
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		slept += d
		wait = min(wait+wait/2, o.MaxInterval)
	}
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
