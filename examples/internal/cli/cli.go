// Package cli holds what the example programs share: the exit-code
// convention, the checks every example makes before its first call that
// costs quota (flags, endpoint, credentials), the -v logger and the wait
// lines, and the quota limiter of the -redis flag.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/quota/redisstore"
	"github.com/gwsadmin/workspace/retry"
)

// Exit statuses, the same for every example.
const (
	// ExitOK: the job succeeded.
	ExitOK = 0
	// ExitFailed: the job (or part of it) failed.
	ExitFailed = 1
	// ExitUsage: bad usage: a flag error, a missing or contradictory
	// flag, an unreadable input file, credentials that cannot work; no
	// call that costs quota was made.
	ExitUsage = 2
)

// Sleep, when set, replaces the real waits of the retry layer in every
// client an example builds with ClientOptions. Only tests set it, to
// record the waits instead of sleeping; programs leave it nil.
var Sleep func(ctx context.Context, d time.Duration) error

// ConnectTimeout bounds how long the examples wait for a connection to be
// made: a host that drops packets (a wrong address behind a firewall)
// fails after it instead of the 30 s of net/http's default dialer, and
// the client's fast failure for unreachable hosts (three tries) then ends
// a run within a minute, not several.
const ConnectTimeout = 10 * time.Second

// ResponseTimeout bounds the wait for an answer once a request is sent:
// a server that takes the connection and never answers fails instead of
// holding the program silently. Both timeouts are the client's defaults;
// Transport is for an example that changes one of them.
const ResponseTimeout = 2 * time.Minute

// Transport returns the base transport of the examples: net/http's
// default one with ConnectTimeout for making connections and
// ResponseTimeout for an answer.
func Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second}
	t.DialContext = d.DialContext
	t.ResponseHeaderTimeout = ResponseTimeout
	return t
}

// ClientOptions returns the options every example gives the core client:
// the logger of NewLogger on stderr (every record with -v, the wait lines
// always), the limiter lim (when not nil) watched by WatchLimiter, and
// Sleep when a test set it. An example that needs its own HTTP client
// passes WithHTTPClient after these, built on Transport.
func ClientOptions(stderr io.Writer, verbose bool, lim quota.Limiter) []workspace.Option {
	log := NewLogger(stderr, verbose)
	// The client's default transport has the same timeouts as Transport.
	opts := []workspace.Option{workspace.WithLogger(log)}
	if lim != nil {
		opts = append(opts, workspace.WithQuota(WatchLimiter(lim, log)))
	}
	if Sleep != nil {
		sleep := Sleep
		opts = append(opts, workspace.WithRetry(func(o *retry.Options) { o.Sleep = sleep }))
	}
	return opts
}

// Limiter builds the quota limiter of an example: quota.New with opts, on a
// Redis store when redisAddr is set (the -redis flag), so that several
// processes share one project's quota. The returned close function releases
// the Redis connection; call it when the program ends.
func Limiter(ctx context.Context, redisAddr string, opts ...quota.Option) (*quota.RuleLimiter, func(), error) {
	closeFn := func() {}
	if redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, closeFn, fmt.Errorf("redis %s: %w", redisAddr, err)
		}
		closeFn = func() { rdb.Close() }
		opts = append(opts, quota.WithStore(redisstore.New(rdb, "workspace")))
	}
	lim, err := quota.New(opts...)
	if err != nil {
		closeFn()
		return nil, func() {}, err
	}
	return lim, closeFn, nil
}

// Connect returns the client options of the -credentials, -subject and
// -endpoint flags for real use: the service-account key acting as subject,
// or no authentication when only an endpoint is given (a proxy that adds
// credentials, a fake started without them), and the endpoint when set.
// Check them first with CheckConnection.
func Connect(credentials, subject, endpoint string) []workspace.Option {
	var opts []workspace.Option
	if credentials != "" {
		opts = append(opts, workspace.WithCredentialsFile(credentials))
		if subject != "" {
			opts = append(opts, workspace.WithSubject(subject))
		}
	} else {
		opts = append(opts, workspace.WithoutAuthentication())
	}
	if endpoint != "" {
		opts = append(opts, workspace.WithEndpoint(endpoint))
	}
	return opts
}

// CheckConnection checks the -credentials, -subject and -endpoint flags
// before anything is sent: the endpoint is a well-formed http(s) URL with
// a host (plain http only to a loopback address, as the client requires);
// the credentials file is readable and parses, with its private key; a
// service-account key has a subject to act as (an e-mail address). Its
// errors are usage errors (ExitUsage).
func CheckConnection(credentials, subject, endpoint string) error {
	if endpoint != "" {
		if err := CheckEndpoint(endpoint); err != nil {
			return err
		}
	}
	if subject != "" && !strings.Contains(subject, "@") {
		return fmt.Errorf("-subject %q is not an e-mail address", subject)
	}
	if credentials == "" {
		return nil
	}
	data, err := os.ReadFile(credentials)
	if err != nil {
		return fmt.Errorf("-credentials: %w", err)
	}
	cr, err := auth.ParseCredentials(data)
	if err != nil {
		return fmt.Errorf("-credentials %s: %w", credentials, err)
	}
	if cr.Type() == auth.TypeServiceAccount && subject == "" {
		return fmt.Errorf("-credentials %s is a service-account key: give -subject, the administrator it acts as", credentials)
	}
	return nil
}

// CheckEndpoint checks an -endpoint URL: http or https, a host, no
// credentials or query in it, plain http only to a loopback address.
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-endpoint %q: want an http:// or https:// URL (%v)", raw, errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("-endpoint %q: want an http:// or https:// URL", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("-endpoint %q: no host", raw)
	case u.User != nil:
		return fmt.Errorf("-endpoint %q: no user or password in the URL, please", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("-endpoint %q: a base URL has no query or fragment", raw)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return fmt.Errorf("-endpoint %q: plain http only to a loopback address (127.0.0.1, ::1, localhost); use https", raw)
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return fmt.Errorf("-endpoint %q: bad port %q", raw, p)
		}
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Usage prints an example's usage error on stderr, prefixed with its
// name, and returns ExitUsage.
func Usage(stderr io.Writer, name, format string, args ...any) int {
	fmt.Fprintf(stderr, name+": "+format+"\n", args...)
	return ExitUsage
}

// Failed prints an example's failure on stderr, prefixed with its name,
// and returns ExitFailed.
func Failed(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return ExitFailed
}
