// Package workspace is the core of a Go client library for the Google
// Workspace admin APIs: Groups Migration and Data Transfer
// ([github.com/gwsadmin/workspace/datatransfer]), the Email Audit API
// (audit), domain settings (settings) and Gmail (gmail).
//
// A [Client] holds credentials and the transport chain every API package
// sends its calls through, outermost first:
//
//  1. retry: classify each outcome, back off exponentially with jitter,
//     honour Retry-After, replay the body, stop at the attempt limit, the
//     retry budget or the context (package retry);
//  2. quota: wait for every rule that matches the call (rates, cost units,
//     daily budgets, per-key concurrency) and report throttles back
//     (package quota);
//  3. auth: add the bearer token of the impersonated user, refresh once on
//     401 (package auth);
//  4. the base transport: http.DefaultTransport or WithHTTPClient's.
//
// # Authentication
//
// A service account with domain-wide delegation acts as any user of the
// domain: WithCredentialsFile("sa.json") and WithSubject("admin@…") for the
// default user; API packages ask for per-user clients with
// [Client.HTTPClient]. Authorized-user JSON and WithTokenSource work for a
// single identity. Tokens are cached per (subject, scopes) and refreshed
// before they expire. Credentials are sent only to Google's hosts, or only
// to the WithEndpoint host when one is set, and never follow a redirect to
// another host.
//
// # Errors
//
// Every failed call returns an error that errors.As turns into a *[Error]
// (status, reasons, message, API, method, attempts) unless the input was
// refused locally (*[InputError]) or the context ended. Categories are
// checked with errors.Is:
//
//	var e *workspace.Error
//	switch {
//	case errors.Is(err, workspace.ErrQuotaExhausted): // daily quota: resume tomorrow
//	case errors.Is(err, workspace.ErrRateLimited):    // throttled despite retries
//	case errors.As(err, &e):
//		log.Printf("%s %s: %d %v", e.API, e.Method, e.StatusCode, e.Reasons)
//	}
//
// # Quotas and retries
//
// By default calls are paced to the limits Google documents (see package
// quota) and retried per package retry's policies. [Client.Stats] reports
// requests, attempts, retries by class and time spent waiting, per API.
package workspace
