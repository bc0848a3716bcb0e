// Package workspacetest is an in-process fake Google Workspace server for
// tests, shaped like net/http/httptest.
//
//	srv := workspacetest.NewServer()
//	defer srv.Close()
//	srv.AddGroup("archive@example.com")
//	svc, _ := groupsmigration.NewService(ctx,
//		option.WithEndpoint(srv.URL+"/"),
//		option.WithHTTPClient(srv.Client()))
//
// It serves, under their normal paths, the Groups Migration API
// (archive.insert), the Data Transfer API and a minimal Directory API
// (users), plus an OAuth2 token endpoint that checks service-account JWTs
// signed with the key from [Server.ServiceAccountKey].
//
// # Authentication
//
// [Server.Client] sends a token acting as the default admin. Real OAuth2
// flows work too: golang.org/x/oauth2/google.JWTConfigFromJSON with
// ServiceAccountKey (set Subject for domain-wide delegation) or
// [Server.AuthorizedUserKey]. Unknown or expired tokens get Google's 401
// body; [Server.ExpireTokens] expires every token. [WithoutAuth] accepts
// requests without a token.
//
// # Quotas
//
// Each API enforces Google's documented quota per developer project
// (Groups Migration and Data Transfer: 10 requests a second and 500,000 a
// day), multiplied by [WithSpeed]. The legacy admin APIs refuse with 503
// and reason "rateLimitExceeded" (or "dailyLimitExceeded").
//
// # Faults
//
// [WithFaults] injects random faults reproducibly from a seed;
// [Server.InjectFault] queues exact ones. Kinds include 5xx replies, 429
// with Retry-After, connection resets before reading the body or after the
// request was processed, slow replies and token expiry. See [FaultKind].
// Three kinds are drawn only when named ([FaultPlan].Kinds or InjectFault):
// [FaultTransferFailed], [FaultStoredUnreadableReply] (processed, then
// a 200 whose body ends early) and [FaultRepeatPageToken] (a list page
// whose next page token is the one it was asked with). The outer request of a Gmail batch is
// faulted only when named: API "gmail.batch" (its parts are "gmail"
// calls, faulted like any other).
//
// # Setup failures
//
// [Server.DenyAPI] makes an API refuse every call the way Google does when
// the API is not enabled in the project (403 accessNotConfigured), the
// caller may not use it (403 forbidden) or the token lacks its scope (403
// insufficientPermissions); [Server.AllowAPI] undoes it.
//
// # Group archives
//
// archive.insert refuses only what Google documents (see migration.go):
// empty or oversized messages, bare LFs, no header section, a From, To or
// Date header missing or blank, a missing or read-only group
// ([Server.SetGroupReadOnly]), parallel inserts into one group. Addresses
// and dates are not parsed.
//
// # Time
//
// All delays are divided by the speed factor, and everything time-based
// reads the server clock ([WithClock], [Server.SetTimeNowFunc]).
package workspacetest
