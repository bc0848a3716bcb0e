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
// The exit status is 0 when every user's export was decrypted, 1 when any
// failed, 2 for bad flags.
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
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

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
		domain      = fs.String("domain", "", "the Workspace domain")
		users       = fs.String("users", "", "comma-separated usernames (or addresses in the domain) to export")
		requests    = fs.String("request", "", "resume existing requests instead of creating: USER:ID[,USER:ID...]")
		keyFile     = fs.String("key", "", "private key file (ASCII-armored) to decrypt with")
		generate    = fs.Bool("generate-key", false, "generate a key pair at -key (0600) and -key.pub, and upload the public key")
		uploadKey   = fs.String("upload-key", "", "upload this ASCII-armored public key before requesting")
		passEnv     = fs.String("passphrase-env", "", "environment variable holding the private key's passphrase")
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
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []workspace.Option
	wait := &audit.WaitOptions{}
	demo := *credentials == "" && *endpoint == ""
	if demo {
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.SetExportTiming(2*time.Second, time.Second)
		srv.SetExportFileSize(4 << 10) // several files per user
		*domain = srv.Domain()
		seedDemo(srv)
		*users = "alice,bob"
		dir, err := os.MkdirTemp("", "mailboxexport-demo")
		if err != nil {
			fmt.Fprintln(stderr, "mailboxexport:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		*keyFile, *generate, *outDir = filepath.Join(dir, "audit.key"), true, filepath.Join(dir, "out")
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
		wait.Initial, wait.Max = 500*time.Millisecond, time.Second
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s (files in %s, removed at exit)\n", srv.URL, dir)
	} else {
		opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
	}
	if *domain == "" || *keyFile == "" || (*users == "" && *requests == "") {
		fmt.Fprintln(stderr, "mailboxexport: -domain, -key and -users (or -request) are required")
		fs.Usage()
		return 2
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
			fmt.Fprintf(stderr, "mailboxexport: date %q: want 'YYYY-MM-DD HH:MM' (UTC)\n", d.v)
			return 2
		}
		*d.dst = t
	}

	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr)
	if err != nil {
		fmt.Fprintln(stderr, "mailboxexport:", err)
		return 1
	}
	defer closeRedis()
	opts = append(opts, workspace.WithQuota(lim))
	core, err := workspace.NewClient(ctx, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "mailboxexport:", err)
		return 2
	}
	a := audit.New(core, *domain)

	// The key: generate and upload, or upload a given public key.
	if *generate {
		if _, err := os.Stat(*keyFile); err == nil {
			fmt.Fprintf(stderr, "mailboxexport: %s exists; not generating a new key over it\n", *keyFile)
			return 2
		}
		kopts := &audit.KeyOptions{}
		if demo {
			kopts.Bits = 2048 // quick; real keys use the 3072-bit default
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
			fmt.Fprintln(stderr, "mailboxexport:", err)
			return 1
		}
		fmt.Fprintf(stdout, "Private key: %s (mode 0600; keep it: it is the only way to read the exports)\n", *keyFile)
		*uploadKey = *keyFile + ".pub"
	}
	if *uploadKey != "" {
		pub, err := os.ReadFile(*uploadKey)
		if err == nil {
			var up *audit.UploadedKey
			up, err = a.PublicKey.Upload(ctx, pub)
			if err == nil {
				fmt.Fprintf(stdout, "Public key %s uploaded for %s.\n", up.Fingerprint, *domain)
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "mailboxexport: public key:", err)
			return 1
		}
	}
	keys, err := audit.ReadPrivateKeyFile(*keyFile)
	if err != nil {
		fmt.Fprintln(stderr, "mailboxexport:", err)
		return 1
	}
	dopts := &audit.DecryptOptions{}
	if *passEnv != "" {
		pass := os.Getenv(*passEnv)
		dopts.Passphrase = func() ([]byte, error) { return []byte(pass), nil }
	}

	// The jobs: new requests, or existing ones to resume.
	var jobs []*job
	if *requests != "" {
		for _, r := range strings.Split(*requests, ",") {
			u, id, ok := strings.Cut(strings.TrimSpace(r), ":")
			if !ok || u == "" || id == "" {
				fmt.Fprintf(stderr, "mailboxexport: -request %q: want USER:ID\n", r)
				return 2
			}
			jobs = append(jobs, &job{user: u, requestID: id})
		}
	} else {
		for _, u := range strings.Split(*users, ",") {
			if u = strings.TrimSpace(u); u == "" {
				continue
			}
			j := &job{user: u}
			jobs = append(jobs, j)
			x, err := a.Exports.Create(ctx, u, req)
			if err != nil {
				j.err = err
				fmt.Fprintf(stdout, "%s: request refused: %v\n", u, err)
				continue
			}
			j.user, j.requestID = x.User, x.RequestID
			fmt.Fprintf(stdout, "%s: export requested, id %s (resume with -request %s:%s)\n", u, x.RequestID, x.User, x.RequestID)
		}
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
		return 1
	}
	fmt.Fprintf(stdout, "All %d exports decrypted.\n", len(jobs))
	return 0
}

func process(ctx context.Context, a *audit.Client, j *job, wait *audit.WaitOptions, dopts *audit.DecryptOptions, keys openpgp.EntityList, outDir string, deleteAfter, keepGPG bool, say func(string, ...any)) {
	w := *wait
	last := ""
	w.Progress = func(x *audit.Export, err error) {
		if err != nil {
			say("%s: status check failed, will try again: %v\n", j.user, err)
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
