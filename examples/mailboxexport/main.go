// Command mailboxexport exports users' mailboxes with the Email Audit API
// and turns them into mbox files you can open: it uploads the domain's
// public key (or generates a key pair), requests an export per user, waits
// (Google can take days), downloads every file before it expires, decrypts
// them with the private key, and prints per-user message counts.
//
// With no flags it runs a demo against the built-in fake server: it
// generates a key pair, uploads the public key, exports two seeded users,
// and decrypts their mail.
//
// Against Google Workspace (the private key stays on your machine):
//
//	go run ./examples/mailboxexport -credentials sa.json -subject admin@example.com \
//		-domain example.com -users alice,bob -key audit.key -generate-key -out exports
//
// A long wait can be interrupted and resumed from the request ids it
// printed:
//
//	go run ./examples/mailboxexport -credentials sa.json -subject admin@example.com \
//		-domain example.com -key audit.key -request alice:70001,bob:70002 -out exports
//
// Before the first request it checks every flag, reads the private key
// and unlocks it (its passphrase from the variable -passphrase-env names,
// or asked on the terminal), and checks that -upload-key is its public
// half: a wrong passphrase is found before an export is spent, not days
// later. -v logs the client's retries, waits and token refreshes; a wait
// of more than a few seconds is always announced on stderr.
//
// The exit status is 0 when every user's export was decrypted, 1 when any
// failed, 2 for bad usage (flags, credentials, a key that cannot be read
// or unlocked), with nothing requested.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/term"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/audit"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/workspacetest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type job struct {
	user, requestID string

	files    int
	bytes    int64
	messages int
	mboxes   []string
	err      error
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mailboxexport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		credentials = fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
		subject     = fs.String("subject", "", "administrator to act as")
		endpoint    = fs.String("endpoint", "", "base URL of a compatible server instead of Google")
		redisAddr   = fs.String("redis", "", "share quotas with other processes through this Redis (host:port)")
		verbose     = fs.Bool("v", false, "log the client's retries, waits and token refreshes")
		domain      = fs.String("domain", "", "the Workspace domain")
		users       = fs.String("users", "", "comma-separated usernames (or addresses in the domain) to export")
		requests    = fs.String("request", "", "resume existing requests instead of creating: USER:ID[,USER:ID...]")
		keyFile     = fs.String("key", "", "private key file (ASCII-armored) to decrypt with")
		generate    = fs.Bool("generate-key", false, "generate a key pair at -key (0600) and -key.pub, and upload the public key")
		uploadKey   = fs.String("upload-key", "", "upload this ASCII-armored public key (the public half of -key) before requesting")
		passEnv     = fs.String("passphrase-env", "", "environment variable holding the private key's passphrase (default: asked on the terminal when the key has one)")
		outDir      = fs.String("out", "mailbox-exports", "directory for the encrypted and decrypted files")
		begin       = fs.String("begin", "", "first mail date, UTC 'YYYY-MM-DD HH:MM' (default: since the account was created)")
		end         = fs.String("end", "", "last mail date, UTC 'YYYY-MM-DD HH:MM' (default: now)")
		query       = fs.String("query", "", "Gmail search query (not with -include-deleted)")
		deleted     = fs.Bool("include-deleted", false, "include deleted mail")
		headersOnly = fs.Bool("headers-only", false, "export headers only")
		deleteAfter = fs.Bool("delete", false, "delete each request (and Google's copy) after decrypting it")
		keepGPG     = fs.Bool("keep-encrypted", true, "keep the encrypted .mbox.gpg files")
	)
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int { return cli.Usage(stderr, "mailboxexport", format, a...) }
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []workspace.Option
	wait := &audit.WaitOptions{} // the pauses go through the client (cli.Sleep in tests)
	demo := *credentials == "" && *endpoint == ""
	if demo {
		var given []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "v" && f.Name != "redis" {
				given = append(given, "-"+f.Name)
			}
		})
		if len(given) > 0 {
			return usage("%s: demo mode (no -credentials or -endpoint) exports its own sample users; give -credentials or -endpoint to export yours", strings.Join(given, ", "))
		}
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.SetExportTiming(2*time.Second, time.Second)
		srv.SetExportFileSize(4 << 10) // several files per user
		*domain = srv.Domain()
		seedDemo(srv)
		*users = "alice,bob"
		dir, err := os.MkdirTemp("", "mailboxexport-demo")
		if err != nil {
			return cli.Failed(stderr, "mailboxexport", err)
		}
		defer os.RemoveAll(dir)
		*keyFile, *generate, *outDir = filepath.Join(dir, "audit.key"), true, filepath.Join(dir, "out")
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
		wait.Interval, wait.MaxInterval = 500*time.Millisecond, time.Second
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s (files in %s, removed at exit)\n", srv.URL, dir)
	} else {
		if err := cli.CheckConnection(*credentials, *subject, *endpoint); err != nil {
			return usage("%v", err)
		}
		opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
	}

	// Everything is checked before the first call: an export request
	// spends one of the domain's daily exports and can take days.
	switch {
	case *domain == "" || *keyFile == "" || (*users == "" && *requests == ""):
		fs.Usage()
		return usage("-domain, -key and -users (or -request) are required")
	case *users != "" && *requests != "":
		return usage("-users requests new exports, -request resumes existing ones: give one")
	case *generate && *uploadKey != "":
		return usage("-generate-key uploads the key it generates; -upload-key means nothing with it")
	case *query != "" && *deleted:
		return usage("-query and -include-deleted cannot be combined (Google refuses it)")
	}
	req := &audit.ExportRequest{SearchQuery: *query, IncludeDeleted: *deleted}
	if *headersOnly {
		req.PackageContent = audit.PackageHeaderOnly
	}
	for _, d := range []struct {
		v   string
		dst *time.Time
	}{{*begin, &req.Begin}, {*end, &req.End}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(audit.DateLayout, d.v)
		if err != nil {
			return usage("date %q: want 'YYYY-MM-DD HH:MM' (UTC)", d.v)
		}
		*d.dst = t
	}
	if !req.Begin.IsZero() && !req.End.IsZero() && !req.End.After(req.Begin) {
		return usage("-end %s is not after -begin %s", *end, *begin)
	}
	var jobs []*job
	if *requests != "" {
		for _, r := range strings.Split(*requests, ",") {
			u, id, ok := strings.Cut(strings.TrimSpace(r), ":")
			if !ok || u == "" || id == "" {
				return usage("-request %q: want USER:ID", r)
			}
			jobs = append(jobs, &job{user: u, requestID: id})
		}
	} else {
		for _, u := range strings.Split(*users, ",") {
			if u = strings.TrimSpace(u); u != "" {
				jobs = append(jobs, &job{user: u})
			}
		}
		if len(jobs) == 0 {
			return usage("-users %q names no user", *users)
		}
	}
	// Each user is checked before the first request: a bad name further
	// down the list must not stop the run after exports were spent.
	for _, j := range jobs {
		name, dom, hasDomain := strings.Cut(strings.ToLower(j.user), "@")
		switch {
		case hasDomain && dom != strings.ToLower(*domain):
			return usage("user %q is not in the domain %s: the Email Audit API exports only its own domain's users", j.user, *domain)
		case name == "" || strings.ContainsAny(name, "@/?#%\\ \t"):
			return usage("user %q is not a username or an address in %s", j.user, *domain)
		}
	}
	pass, err := passphraseSource(*passEnv, stderr)
	if err != nil {
		return usage("%v", err)
	}

	// The key: generate it, or read and unlock it now, not after the
	// export is done.
	var keys openpgp.EntityList
	if *generate {
		if _, err := os.Stat(*keyFile); err == nil {
			return usage("%s exists; not generating a new key over it", *keyFile)
		}
		kopts := &audit.KeyOptions{}
		if demo {
			kopts.Bits = 2048 // quick; real keys use the 3072-bit default
		}
		if *passEnv != "" {
			if kopts.Passphrase, err = pass(); err != nil {
				return usage("%v", err)
			}
		}
		fmt.Fprintln(stdout, "Generating an RSA key pair…")
		kp, err := audit.GenerateKey(*domain, kopts)
		if err == nil {
			err = kp.WritePrivateKey(*keyFile)
		}
		if err == nil {
			err = kp.WritePublicKey(*keyFile + ".pub")
		}
		if err != nil {
			return cli.Failed(stderr, "mailboxexport", err)
		}
		fmt.Fprintf(stdout, "Private key: %s (mode 0600; keep it: it is the only way to read the exports)\n", *keyFile)
		*uploadKey = *keyFile + ".pub"
	}
	keys, err = audit.ReadPrivateKeyFile(*keyFile)
	if err != nil {
		return usage("-key: %v", err)
	}
	if err := unlock(keys, pass); err != nil {
		return usage("-key %s: %v; nothing was requested", *keyFile, err)
	}
	var pub []byte
	if *uploadKey != "" {
		if pub, err = os.ReadFile(*uploadKey); err == nil {
			err = samePair(pub, keys)
		}
		if err != nil {
			return usage("-upload-key: %v", err)
		}
	}

	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr)
	if err != nil {
		return cli.Failed(stderr, "mailboxexport", err)
	}
	defer closeRedis()
	core, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, lim), opts...)...)
	if err != nil {
		return usage("%v", err)
	}
	a := audit.New(core, *domain)
	if pub != nil {
		up, err := a.PublicKey.Upload(ctx, pub)
		if err != nil {
			fmt.Fprintln(stderr, "mailboxexport: public key:", err)
			return cli.ExitFailed
		}
		fmt.Fprintf(stdout, "Public key %s uploaded for %s.\n", up.Fingerprint, *domain)
	}
	// The key is unlocked: decryption needs no passphrase.
	dopts := &audit.DecryptOptions{}

	// New requests (resumed ones already have their ids).
	for _, j := range jobs {
		if j.requestID != "" {
			continue
		}
		x, err := a.Exports.Create(ctx, j.user, req)
		if err != nil {
			j.err = err
			fmt.Fprintf(stdout, "%s: request refused: %v\n", j.user, err)
			continue
		}
		u := j.user
		j.user, j.requestID = x.User, x.RequestID
		fmt.Fprintf(stdout, "%s: export requested, id %s (resume with -request %s:%s)\n", u, x.RequestID, x.User, x.RequestID)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, format, args...)
	}
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			process(ctx, a, j, wait, dopts, keys, *outDir, *deleteAfter, *keepGPG, say)
		}()
	}
	wg.Wait()

	fmt.Fprintln(stdout, "\nSummary:")
	failed := 0
	for _, j := range jobs {
		if j.err != nil {
			failed++
			fmt.Fprintf(stdout, "  %-10s FAILED  request %s: %v\n", j.user, orDash(j.requestID), j.err)
			continue
		}
		fmt.Fprintf(stdout, "  %-10s %d messages in %d file(s), %d bytes of mbox: %s\n", j.user, j.messages, j.files, j.bytes, strings.Join(j.mboxes, ", "))
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d exports failed.\n", failed, len(jobs))
		return cli.ExitFailed
	}
	fmt.Fprintf(stdout, "All %d exports decrypted.\n", len(jobs))
	return cli.ExitOK
}

// Tests replace these: whether stdin is a terminal, and how a passphrase
// is read from it.
var (
	stdinIsTerminal = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
	readPassword    = func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) }
)

// passphraseSource returns how the private key's passphrase is had: from
// the environment variable env (which must then be set), or asked on the
// terminal. Without either, it returns a source that fails with the way
// out, which matters only for a protected key.
func passphraseSource(env string, stderr io.Writer) (func() ([]byte, error), error) {
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok {
			return nil, fmt.Errorf("-passphrase-env %s: the environment variable is not set", env)
		}
		return func() ([]byte, error) { return []byte(v), nil }, nil
	}
	if !stdinIsTerminal() {
		return func() ([]byte, error) {
			return nil, errors.New("the private key is protected by a passphrase: give it in an environment variable named by -passphrase-env, or run on a terminal to be asked")
		}, nil
	}
	return func() ([]byte, error) {
		fmt.Fprint(stderr, "Passphrase of the private key: ")
		p, err := readPassword()
		fmt.Fprintln(stderr)
		return p, err
	}, nil
}

// unlock decrypts the protected private keys of keys with the passphrase
// of pass (asked up to three times), so that decrypting the exports needs
// nothing more. A key without a passphrase needs none.
func unlock(keys openpgp.EntityList, pass func() ([]byte, error)) error {
	locked := false
	for _, e := range keys {
		if e.PrivateKey != nil && e.PrivateKey.Encrypted {
			locked = true
		}
		for _, s := range e.Subkeys {
			if s.PrivateKey != nil && s.PrivateKey.Encrypted {
				locked = true
			}
		}
	}
	if !locked {
		return nil
	}
	for try := 0; try < 3; try++ {
		p, err := pass()
		if err != nil {
			return err
		}
		ok := true
		for _, e := range keys {
			if err := e.DecryptPrivateKeys(p); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		if !stdinIsTerminal() {
			break // the same passphrase again would fail again
		}
	}
	return audit.ErrWrongPassphrase
}

// samePair checks that the armored public key pub is the public half of
// the private key ring keys: exports encrypted to another key could not
// be read.
func samePair(pub []byte, keys openpgp.EntityList) error {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		return fmt.Errorf("not an ASCII-armored OpenPGP public key: %w", err)
	}
	have := map[string]bool{}
	for _, e := range keys {
		have[hex.EncodeToString(e.PrimaryKey.Fingerprint)] = true
	}
	for _, e := range ring {
		if have[hex.EncodeToString(e.PrimaryKey.Fingerprint)] {
			return nil
		}
	}
	return errors.New("this public key is not the public half of -key: exports encrypted to it could not be decrypted")
}

func process(ctx context.Context, a *audit.Client, j *job, wait *audit.WaitOptions, dopts *audit.DecryptOptions, keys openpgp.EntityList, outDir string, deleteAfter, keepGPG bool, say func(string, ...any)) {
	w := *wait
	last := ""
	w.Progress = func(x *audit.Export, err error) {
		if err != nil {
			say("%s: status check failed: %v\n", j.user, err)
			return
		}
		if string(x.Status) != last {
			last = string(x.Status)
			say("%s: %s\n", j.user, x.Status)
		}
	}
	x, err := a.Exports.Wait(ctx, j.user, j.requestID, &w)
	if err != nil {
		j.err = err
		return
	}
	if x.ExpiresWithin(time.Now(), 72*time.Hour) {
		say("%s: WARNING: the files expire at %s UTC; downloading now\n", j.user, x.Expires.UTC().Format(audit.DateLayout))
	}
	files, err := a.Exports.Download(ctx, x, outDir, nil)
	if err != nil {
		j.err = err
		return
	}
	j.files = len(files)
	for _, f := range files {
		mbox := strings.TrimSuffix(f.Path, ".gpg")
		res, err := audit.DecryptFile(ctx, mbox, f.Path, keys, dopts)
		if err != nil {
			j.err = fmt.Errorf("%s: %w", filepath.Base(f.Path), err)
			return
		}
		j.messages += res.Messages
		j.bytes += res.Bytes
		j.mboxes = append(j.mboxes, mbox)
		if !keepGPG {
			os.Remove(f.Path)
		}
	}
	say("%s: %d file(s) downloaded and decrypted, %d messages\n", j.user, len(files), j.messages)
	if deleteAfter {
		if _, err := a.Exports.Delete(ctx, j.user, j.requestID, &audit.DeleteOptions{NoWait: true}); err != nil && !errors.Is(err, context.Canceled) {
			say("%s: could not delete the request: %v\n", j.user, err)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// seedDemo adds two users with some mail.
func seedDemo(srv *workspacetest.Server) {
	d := srv.Domain()
	now := time.Now().UTC()
	for u, n := range map[string]int{"alice": 12, "bob": 7} {
		addr := u + "@" + d
		srv.AddUser(addr)
		for i := range n {
			date := now.Add(-time.Duration(n-i) * 24 * time.Hour)
			body := strings.Repeat(fmt.Sprintf("Line %d of message %d for %s.\r\n", i, i, u), 20)
			raw := fmt.Sprintf("From: partner%d@example.net\r\nTo: %s\r\nSubject: Quarterly report %d\r\nDate: %s\r\nMessage-ID: <%s-%d@example.net>\r\n\r\n%s",
				i, addr, i, date.Format(time.RFC1123Z), u, i, body)
			srv.AddMail(addr, []byte(raw))
		}
	}
}
