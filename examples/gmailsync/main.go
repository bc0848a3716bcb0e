// Command gmailsync keeps a local copy of a Gmail mailbox's metadata in
// sync: the first run does a full sync (messages.list, then batched
// messages.get), later runs read only the changes (history.list), and a
// history id Gmail has forgotten falls back to a full sync. The state is
// kept in a bbolt file, so runs resume where the last one stopped.
//
// With no flags it runs a demo against the built-in fake server: it seeds
// a mailbox of 2,000 messages, runs a full sync, adds, deletes, trashes
// and stars mail, runs an incremental sync, and prints what changed and
// the quota units spent. Against Google Workspace:
//
//	go run ./examples/gmailsync -credentials sa.json -subject admin@example.com \
//		-user alice@example.com -store alice.db
//
// -endpoint URL points at any compatible server (a standalone fake).
// -regime 2026 paces for projects created from 2026-05-01. Pacing adapts
// to a lower limit than Google documents by itself; -user-limit N sets the
// per-user ceiling (quota units a minute) when a mailbox's limit is known to
// be lower.
//
// Every flag, the endpoint and the credentials are checked before the
// first call. -v logs the client's retries, waits and token refreshes; a
// wait of more than a few seconds is always announced on stderr.
//
// Exit status: 0 on success, 1 when a sync failed, 2 for bad usage, with
// nothing sent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/gmail/boltstore"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gmailsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		creds     = fs.String("credentials", "", "service account JSON key with domain-wide delegation")
		subject   = fs.String("subject", "", "administrator to act as by default")
		endpoint  = fs.String("endpoint", "", "base URL of a compatible server instead of Google")
		user      = fs.String("user", "", "mailbox to sync")
		store     = fs.String("store", "", "bbolt file holding the sync state (default: <user>.gmailsync.db; a temporary file in demo mode)")
		regime    = fs.String("regime", "legacy", "Gmail quota regime of the project: legacy (before 2026-05-01) or 2026")
		messages  = fs.Int("messages", 2000, "demo mode: messages to seed")
		redisAddr = fs.String("redis", "", "share quotas with other processes through this Redis (host:port)")
		verbose   = fs.Bool("v", false, "log the client's retries, waits and token refreshes")
		userLimit = fs.Int("user-limit", 0, "per-user ceiling in quota units a minute (0: Google's documented limit; pacing adapts below it anyway)")
	)
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int { return cli.Usage(stderr, "gmailsync", format, a...) }
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	var reg quota.GmailRegime
	switch *regime {
	case "legacy":
	case "2026":
		reg = quota.Gmail2026
	default:
		return usage("-regime must be legacy or 2026, not %q", *regime)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	demo := *creds == "" && *endpoint == ""
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if demo {
		switch {
		case set["user"] || set["subject"]:
			return usage("demo mode (no -credentials or -endpoint) syncs its own mailbox; give -credentials or -endpoint to sync yours")
		case *messages < 1:
			return usage("-messages must be at least 1")
		}
	} else {
		// Every flag is checked before the first call.
		if set["messages"] {
			return usage("-messages: demo mode only (without -credentials and -endpoint)")
		}
		if *user == "" {
			return usage("-user is needed (or no flags for the demo)")
		}
		if !strings.Contains(*user, "@") {
			return usage("-user %q: want the mailbox's e-mail address", *user)
		}
		if err := cli.CheckConnection(*creds, *subject, *endpoint); err != nil {
			return usage("%v", err)
		}
	}
	if *userLimit < 0 {
		return usage("-user-limit must be 0 (the documented limit) or a number of quota units a minute")
	}
	qopts := []quota.Option{quota.WithGmailRegime(reg)}
	if *userLimit > 0 {
		qopts = append(qopts, quota.WithRules(quota.Rate("gmail.user.rate", "gmail", quota.PerUser, float64(*userLimit), time.Minute).
			Units().Blames("userRateLimitExceeded").From("-user-limit")))
	}
	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr, qopts...)
	if err != nil {
		return cli.Failed(stderr, "gmailsync", err)
	}
	defer closeRedis()
	if demo {
		return runDemo(ctx, stdout, stderr, *messages, *store, reg, *verbose)
	}
	// -endpoint alone: a server that needs no credentials (a proxy that
	// adds them, or a fake started without authentication).
	c, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, lim), cli.Connect(*creds, *subject, *endpoint)...)...)
	if err != nil {
		return usage("%v", err)
	}
	path := *store
	if path == "" {
		path = strings.ToLower(*user) + ".gmailsync.db"
	}
	st, err := boltstore.Open(path)
	if err != nil {
		return cli.Failed(stderr, "gmailsync", err)
	}
	defer st.Close()
	res, err := gmail.New(c).Sync(ctx, *user, st, progressOpts(stderr))
	if err != nil {
		fmt.Fprintln(stderr, "gmailsync: sync failed:", err)
		fmt.Fprintf(stderr, "gmailsync: what this run saved is kept in %s: run the same command again to resume from it\n", path)
		return cli.ExitFailed
	}
	report(stdout, res, reg, -1)
	return cli.ExitOK
}

func progressOpts(w io.Writer) *gmail.SyncOptions {
	last := -1
	return &gmail.SyncOptions{Progress: func(done, total int) {
		if pct := done * 100 / max(total, 1); pct/10 != last/10 {
			last = pct
			fmt.Fprintf(w, "  fetched %d/%d messages\n", done, total)
		}
	}}
}

// report prints a sync's summary. serverUnits < 0 means unknown.
func report(w io.Writer, r *gmail.SyncResult, reg quota.GmailRegime, serverUnits int64) {
	kind := "incremental sync"
	if r.Full {
		kind = "full sync (" + r.Reason + ")"
	}
	if r.Resumed {
		kind += fmt.Sprintf(", resumed with %d messages already fetched", r.ResumedMessages)
	}
	fmt.Fprintf(w, "%s of %s: %d messages, history id %d\n", kind, r.User, r.Messages, r.HistoryID)
	fmt.Fprintf(w, "  added %d, labels changed %d, deleted %d\n", len(r.Added), len(r.Changed), len(r.Deleted))
	list := func(name string, ids []string) {
		if len(ids) > 0 && len(ids) <= 10 {
			fmt.Fprintf(w, "  %s: %s\n", name, strings.Join(ids, " "))
		}
	}
	list("added", r.Added)
	list("changed", r.Changed)
	list("deleted", r.Deleted)
	fmt.Fprintf(w, "  calls: %v\n", r.Calls)
	fmt.Fprintf(w, "  quota units spent: %d (%s regime)", r.Units(reg), reg)
	if serverUnits >= 0 {
		fmt.Fprintf(w, "; the server charged %d", serverUnits)
	}
	fmt.Fprintln(w)
}

func runDemo(ctx context.Context, stdout, stderr io.Writer, n int, storePath string, reg quota.GmailRegime, verbose bool) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "gmailsync: demo failed:", err)
		return 1
	}
	srv := workspacetest.NewServer(workspacetest.WithSpeed(20), workspacetest.WithProcessingDelay(0))
	defer srv.Close()
	fakeReg := workspacetest.GmailLegacyRegime
	if reg == quota.Gmail2026 {
		fakeReg = workspacetest.Gmail2026Regime
	}
	srv.SetGmailConfig(workspacetest.GmailConfig{Regime: fakeReg})
	// The fake's quotas run 20 times faster: scale the limiter to match.
	perUser := 15000.0
	if reg == quota.Gmail2026 {
		perUser = 6000
	}
	lim, err := quota.New(quota.WithGmailRegime(reg), quota.WithRules(
		quota.Rate("gmail.user.rate", "gmail", quota.PerUser, perUser*20, 60e9).Units().
			Blames("userRateLimitExceeded").From("demo: the fake's per-user quota at speed 20")))
	if err != nil {
		return fail(err)
	}
	c, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, verbose, lim), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithScopes(auth.ScopeGmailFull))...)
	if err != nil {
		return fail(err)
	}
	user := "alice@" + srv.Domain()
	srv.AddUser(user)
	ids := make([]string, n)
	for i := range n {
		ids[i] = srv.AddGmailMessage(user, demoMail(user, i), "INBOX")
	}
	fmt.Fprintf(stdout, "demo: seeded %d messages for %s in the fake server\n", n, user)

	if storePath == "" {
		dir, err := os.MkdirTemp("", "gmailsync")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		storePath = filepath.Join(dir, "state.db")
	}
	st, err := boltstore.Open(storePath)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	g := gmail.New(c)

	units0 := srv.GmailUnits(user)
	res, err := g.Sync(ctx, user, st, progressOpts(stderr))
	if err != nil {
		return fail(err)
	}
	report(stdout, res, reg, srv.GmailUnits(user)-units0)
	if res.Messages != n {
		return fail(fmt.Errorf("full sync holds %d messages, want %d", res.Messages, n))
	}

	fmt.Fprintln(stdout, "demo: adding 5 messages, deleting 3, trashing 1, starring 2")
	for i := range 5 {
		srv.AddGmailMessage(user, demoMail(user, n+i), "INBOX")
	}
	for _, id := range ids[:3] {
		if err := g.Messages.Delete(ctx, user, id); err != nil {
			return fail(err)
		}
	}
	if err := g.Messages.Trash(ctx, user, ids[3]); err != nil {
		return fail(err)
	}
	if err := g.Messages.LabelMany(ctx, user, ids[4:6], []string{"STARRED"}, nil); err != nil {
		return fail(err)
	}
	units0 = srv.GmailUnits(user)
	res, err = g.Sync(ctx, user, st, nil)
	if err != nil {
		return fail(err)
	}
	report(stdout, res, reg, srv.GmailUnits(user)-units0)
	if res.Full || len(res.Added) != 5 || len(res.Deleted) != 4 || len(res.Changed) != 2 || res.Messages != n+1 {
		return fail(errors.New("the incremental sync did not find exactly the changes made"))
	}
	st2 := g.BatchStats()
	fmt.Fprintf(stdout, "summary: both syncs succeeded; %d HTTP batches carried %d calls (%d retried, %d failed)\n",
		st2.Requests, st2.Parts, st2.Retried, st2.Failed)
	return 0
}

func demoMail(user string, i int) []byte {
	return fmt.Appendf(nil, "From: newsletter%d@example.org\r\nTo: %s\r\nSubject: Issue %d\r\n"+
		"Date: Mon, 2 Mar 2026 %02d:%02d:00 +0000\r\nMessage-ID: <issue%d@example.org>\r\n\r\nHello, issue %d.\r\n",
		i%7, user, i, (i/60)%24, i%60, i, i)
}
