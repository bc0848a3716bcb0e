package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// WaitThreshold is the shortest wait the examples announce: a pause of
// more than a few seconds gets one line on stderr, so that a program that
// is only waiting never looks stuck.
const WaitThreshold = 3 * time.Second

// NewLogger returns the logger the examples give the core client
// (workspace.WithLogger). It always turns the core's records of a wait
// longer than WaitThreshold into one human line on w ("waiting 10s for
// Google's quota (403 userRateLimitExceeded) before retrying gmail
// users.messages.get"); with verbose (the -v flag) it also writes every
// record, from Debug up (retries, waits, token refreshes), as text, with
// anything that looks like a token, key, passphrase or body left out.
func NewLogger(w io.Writer, verbose bool) *slog.Logger {
	return slog.New(NewHandler(w, verbose))
}

// Handler is the slog.Handler of NewLogger.
type Handler struct {
	out     *lockedWriter
	verbose slog.Handler // nil without -v
	attrs   []slog.Attr  // from WithAttrs, for the wait line
	group   string       // from WithGroup: attributes inside it are not the core's wait
	// Threshold is the shortest wait announced; NewHandler sets
	// WaitThreshold.
	Threshold time.Duration
}

// NewHandler returns the Handler of NewLogger.
func NewHandler(w io.Writer, verbose bool) *Handler {
	h := &Handler{out: &lockedWriter{w: w}, Threshold: WaitThreshold}
	if verbose {
		h.verbose = slog.NewTextHandler(h.out, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: redact})
	}
	return h
}

// lockedWriter serializes the wait lines and the verbose records.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Enabled reports whether a record at level is wanted: every level with
// -v, Info and above (where the core logs its waits) without.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	if h.verbose != nil {
		return h.verbose.Enabled(ctx, level)
	}
	return level >= slog.LevelInfo
}

// Handle writes the wait line of a long wait, and with -v the record.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if line := h.waitLine(r); line != "" {
		if _, err := io.WriteString(h.out, line+"\n"); err != nil {
			return err
		}
	}
	if h.verbose != nil {
		return h.verbose.Handle(ctx, r)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	if h.group == "" {
		c.attrs = append(slices.Clip(h.attrs), attrs...)
	}
	if h.verbose != nil {
		c.verbose = h.verbose.WithAttrs(attrs)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	if name != "" {
		c.group = name
	}
	if h.verbose != nil {
		c.verbose = h.verbose.WithGroup(name)
	}
	return &c
}

// waitLine returns the human line of a record that announces a wait over
// the threshold, or "".
func (h *Handler) waitLine(r slog.Record) string {
	a := map[string]slog.Value{}
	for _, at := range h.attrs {
		a[at.Key] = at.Value.Resolve()
	}
	if h.group == "" {
		r.Attrs(func(at slog.Attr) bool {
			a[at.Key] = at.Value.Resolve()
			return true
		})
	}
	str := func(k string) string {
		if v, ok := a[k]; ok {
			return v.String()
		}
		return ""
	}
	call := strings.TrimSpace(str("api") + " " + str("method"))
	if call == "" {
		call = "the call"
	}
	if r.Message == quotaWaitMsg {
		if v, ok := a["waited"]; ok && v.Kind() == slog.KindDuration {
			return fmt.Sprintf("waiting for Google's quota: %s has waited %s so far (paced to the documented limits)", call, human(v.Duration()))
		}
	}
	wv, ok := a["wait"]
	if !ok || wv.Kind() != slog.KindDuration {
		return ""
	}
	// A retry after no answer at all (the host cannot be reached, the
	// connection broke) is told however short its wait: on a wrong
	// endpoint it is the first sign of trouble.
	noAnswer := r.Message == "workspace: retrying" && str("status") == "0" && str("class") == "transient"
	if wv.Duration() < h.Threshold && !noAnswer {
		return ""
	}
	wait := human(wv.Duration())
	switch r.Message {
	case "workspace: retrying":
		why := ""
		status := str("status")
		if status == "0" {
			status = ""
		}
		if reason := str("reason"); reason != "" {
			why = strings.TrimSpace(status + " " + reason)
		} else {
			why = status
		}
		switch str("class") {
		case "throttle":
			if why == "" {
				why = "throttled"
			}
			return fmt.Sprintf("waiting %s for Google's quota (%s) before retrying %s", wait, why, call)
		case "auth":
			return fmt.Sprintf("waiting %s: no token could be had (%s); then retrying %s", wait, orText(why, "token endpoint failure"), call)
		default:
			if why == "" {
				return fmt.Sprintf("waiting %s: no answer from the server; then retrying %s", wait, call)
			}
			return fmt.Sprintf("waiting %s after a server error (%s) before retrying %s", wait, why, call)
		}
	case "workspace: paced by quota":
		// Logged once the wait is over (client.go's quotaTransport).
		return fmt.Sprintf("waited %s for the quota of %s (paced to Google's documented limits)", wait, call)
	}
	msg := r.Message
	if i := strings.Index(msg, ": "); i > 0 && !strings.Contains(msg[:i], " ") {
		msg = msg[i+2:] // the package prefix
	}
	var extra []string
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "wait" || sensitive(k) {
			continue
		}
		extra = append(extra, k+" "+scrub(a[k].String()))
	}
	line := fmt.Sprintf("waiting %s: %s", wait, msg)
	if len(extra) > 0 {
		line += " (" + strings.Join(extra, ", ") + ")"
	}
	return line
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// human rounds a wait for people: whole seconds from 10 s, tenths below.
func human(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// sensitive reports attribute keys whose values are never printed.
func sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"token", "authorization", "secret", "password", "passphrase", "private", "assertion", "body", "cookie", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "key" || strings.HasSuffix(k, "_key") || strings.HasSuffix(k, ".key")
}

var (
	bearerRE = regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;]+`)
	tokenRE  = regexp.MustCompile(`\bya29\.[A-Za-z0-9_\-.]+|\b1//[A-Za-z0-9_\-]{10,}|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`)
	pemRE    = regexp.MustCompile(`(?s)-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----.*?(-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|$)`)
)

// scrub removes tokens (bearer values, Google access and refresh tokens,
// JWTs) and private keys from a text.
func scrub(s string) string {
	if !strings.ContainsAny(s, ".-/ ") {
		return s
	}
	s = pemRE.ReplaceAllString(s, "[private key removed]")
	s = bearerRE.ReplaceAllString(s, "${1}[removed]")
	return tokenRE.ReplaceAllString(s, "[token removed]")
}

// redact is the verbose handler's ReplaceAttr: sensitive attributes are
// dropped, string values scrubbed.
func redact(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
		if a.Key == slog.MessageKey {
			a.Value = slog.StringValue(scrub(a.Value.String()))
		}
		return a
	}
	if sensitive(a.Key) {
		return slog.Attr{}
	}
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(scrub(a.Value.String()))
	case slog.KindAny:
		var b bytes.Buffer
		fmt.Fprint(&b, a.Value.Any())
		if s := b.String(); scrub(s) != s {
			a.Value = slog.StringValue(scrub(s))
		}
	}
	return a
}
