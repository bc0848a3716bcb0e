// Command checkdelegation checks, like GAM's "check serviceaccount", that
// a service account may act for a user of the domain with the scopes the
// library's API packages ask for: it asks Google's token endpoint for one
// token per scope, each scope on its own, and prints a PASS/FAIL table.
// When a scope is missing it prints the service account's client id and
// the comma-separated scope list to paste into Admin console › Security ›
// API controls › Domain-wide delegation.
//
// With no flags it runs a demo against the built-in fake server, whose
// service account is delegated every scope but one; it then applies the
// printed remedy in the fake and checks again. Against Google Workspace,
// with a key file:
//
//	go run ./examples/checkdelegation -credentials sa.json -subject admin@example.com
//
// or keyless (your Application Default Credentials sign for the service
// account, which needs roles/iam.serviceAccountTokenCreator for you):
//
//	go run ./examples/checkdelegation -service-account sa@project.iam.gserviceaccount.com \
//		-subject admin@example.com -apis gmail,datatransfer
//
// The flags, the endpoint and the credentials file are checked before the
// first request. -v logs the client's retries, waits and token requests
// (never a token); a wait of more than a few seconds is always announced
// on stderr.
//
// Exit status: 0 every scope granted, 1 some refused (or the check could
// not run), 2 bad usage: flags, or credentials that cannot delegate.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/workspacetest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("checkdelegation", flag.ContinueOnError)
	fs.SetOutput(stderr)
	credentials := fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
	serviceAccount := fs.String("service-account", "", "keyless: the service account e-mail, signed for with your Application Default Credentials (or -credentials)")
	subject := fs.String("subject", "", "user to act as (an administrator)")
	endpoint := fs.String("endpoint", "", "base URL of a compatible server instead of Google")
	apis := fs.String("apis", "", "comma-separated APIs to check ("+strings.Join(workspace.APIs(), ",")+"); empty means all")
	scopes := fs.String("scopes", "", "comma-separated scopes to check instead of -apis (e.g. the read-only ones)")
	verbose := fs.Bool("v", false, "log the client's retries, waits and token requests")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int { return cli.Usage(stderr, "checkdelegation", format, a...) }
	if fs.NArg() > 0 {
		return usage("unexpected arguments %q", fs.Args())
	}
	if *apis != "" && *scopes != "" {
		return usage("-scopes replaces -apis: give one")
	}
	var apiList, scopeList []string
	for _, a := range strings.Split(*apis, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if workspace.APIScopes(a) == nil {
				return usage("unknown API %q (known: %s)", a, strings.Join(workspace.APIs(), ","))
			}
			apiList = append(apiList, a)
		}
	}
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if u, err := url.Parse(s); err != nil || u.Scheme != "https" || u.Host == "" {
				return usage("-scopes: %q is not an OAuth scope (an https URL)", s)
			}
			scopeList = append(scopeList, s)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []workspace.Option
	var srv *workspacetest.Server
	demo := *credentials == "" && *serviceAccount == "" && *endpoint == ""
	if !demo {
		if err := cli.CheckConnection(*credentials, *subject, *endpoint); err != nil {
			return usage("%v", err)
		}
	}
	switch {
	case demo:
		// Demo: every scope of the checked APIs is delegated but
		// gmail.send.
		srv = workspacetest.NewServer()
		defer srv.Close()
		var granted []string
		for _, s := range wanted(apiList, scopeList) {
			if s != auth.ScopeGmailSend {
				granted = append(granted, s)
			}
		}
		srv.SetDelegatedScopes(srv.ServiceAccountClientID(), granted...)
		*subject = srv.AdminEmail()
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(*subject))
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s; its service account lacks %s\n\n", srv.URL, auth.ScopeGmailSend)
	case *subject == "":
		return usage("-subject is required")
	case *serviceAccount != "":
		opts = append(opts, workspace.WithServiceAccount(*serviceAccount), workspace.WithSubject(*subject))
		if *credentials != "" {
			opts = append(opts, workspace.WithCredentialsFile(*credentials))
		}
		if *endpoint != "" {
			opts = append(opts, workspace.WithEndpoint(*endpoint))
		}
	default:
		opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
	}
	core, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, nil), opts...)...)
	if err != nil {
		return usage("%v", err)
	}
	report, code := check(ctx, core, *subject, apiList, scopeList, stdout, stderr)
	if demo && report != nil && !report.OK() {
		// Do what the remedy says, in the fake's Admin console.
		fmt.Fprintf(stdout, "\nDemo: authorizing client ID %s for the listed scopes, then checking again.\n\n", report.ClientID)
		srv.SetDelegatedScopes(srv.ServiceAccountClientID(), strings.Split(report.ScopeList(), ",")...)
		_, code = check(ctx, core, *subject, apiList, scopeList, stdout, stderr)
	}
	return code
}

// wanted returns the scopes a check covers.
func wanted(apis, scopes []string) []string {
	if len(scopes) > 0 {
		return scopes
	}
	if len(apis) == 0 {
		apis = workspace.APIs()
	}
	var out []string
	for _, a := range apis {
		for _, s := range workspace.APIScopes(a) {
			if !contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// check runs one delegation check and prints its table and remedy.
func check(ctx context.Context, core *workspace.Client, subject string, apis, scopes []string, stdout, stderr io.Writer) (*workspace.DelegationReport, int) {
	var r *workspace.DelegationReport
	var err error
	if len(scopes) > 0 {
		r, err = core.CheckScopes(ctx, subject, scopes...)
	} else {
		r, err = core.CheckDelegation(ctx, subject, apis...)
	}
	switch {
	case errors.Is(err, workspace.ErrNoDelegation), errors.Is(err, workspace.ErrInvalidInput):
		fmt.Fprintln(stderr, "checkdelegation:", err)
		return nil, cli.ExitUsage
	case err != nil:
		return nil, cli.Failed(stderr, "checkdelegation", err)
	}
	fmt.Fprintf(stdout, "Service account %s (client ID %s) acting as %s\n\n", orUnknown(r.ServiceAccount), orUnknown(r.ClientID), r.Subject)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tSCOPE\tGOOGLE SAID")
	var unchecked []string
	for _, s := range r.Scopes {
		res, said := "PASS", ""
		switch {
		case s.Granted:
		case s.Unchecked:
			res, said = "UNKNOWN", "no answer: "+googleSaid(s.Err)
			unchecked = append(unchecked, s.Scope)
		default:
			res, said = "FAIL", googleSaid(s.Err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", res, s.Scope, said)
	}
	tw.Flush()
	if r.OK() {
		fmt.Fprintf(stdout, "\nAll %d scopes are delegated.\n", len(r.Scopes))
		return r, cli.ExitOK
	}
	if len(unchecked) > 0 {
		// Not a refusal: the token endpoint could not be reached or
		// failed. The Admin console is not the way out.
		fmt.Fprintf(stderr, "checkdelegation: %d of %d scopes could not be checked: the token endpoint did not answer (%s)\n",
			len(unchecked), len(r.Scopes), googleSaid(firstErr(r)))
		return nil, cli.ExitFailed
	}
	fmt.Fprintf(stdout, "\n%d of %d scopes refused (%s).\n", len(r.Missing()), len(r.Scopes), strings.Join(r.Missing(), ", "))
	fmt.Fprintln(stdout, "Fix: in Admin console › Security › API controls › Domain-wide delegation, add (or edit) this client ID with these OAuth scopes; changes can take minutes, sometimes hours, to apply.")
	fmt.Fprintf(stdout, "\n  Client ID:    %s\n  OAuth scopes: %s\n", orUnknown(r.ClientID), r.ScopeList())
	if r.ClientID == "" {
		fmt.Fprintf(stdout, "\n  (The client ID is the unique ID of %s in Google Cloud console › IAM › Service accounts.)\n", r.ServiceAccount)
	}
	return r, cli.ExitFailed
}

// firstErr returns the error of the first scope that was not granted.
func firstErr(r *workspace.DelegationReport) error {
	for _, s := range r.Scopes {
		if !s.Granted {
			return s.Err
		}
	}
	return nil
}

// googleSaid shortens a token refusal to Google's error code and text.
func googleSaid(err error) string {
	if err == nil {
		return "refused"
	}
	msg := err.Error()
	if i := strings.Index(msg, "oauth2: "); i >= 0 {
		msg = msg[i+len("oauth2: "):]
	}
	if i := strings.Index(msg, "; cause:"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
