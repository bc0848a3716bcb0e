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
// (archive.insert), the Data Transfer API, part of the Directory API
// (users, customers, domains), the legacy Email Audit and Admin Settings
// feeds, Cloud Identity SSO profiles and assignments, the Gmail API, IAM
// Credentials signJwt, a Compute Engine metadata server, and an OAuth2
// token endpoint that checks service-account JWTs signed with the key
// from [Server.ServiceAccountKey].
//
// # Authentication
//
// [Server.Client] sends a token acting as the default admin with every
// scope. Real OAuth2 flows work too: golang.org/x/oauth2/google.JWTConfigFromJSON with
// ServiceAccountKey (set Subject for domain-wide delegation) or
// [Server.AuthorizedUserKey] ([Server.AuthorizedUserKeyFor] for another
// principal: ADC as a gcloud user). [Server.IssueToken] mints a token for
// a seeded user and chosen scopes. Unknown or expired tokens get Google's
// 401 body; [Server.ExpireTokens] expires every token. [WithoutAuth]
// accepts requests without a token.
//
// # Domain-wide delegation
//
// The token endpoint follows Google's rules for a JWT with "sub":
//
//   - [Server.SetDelegatedScopes] is the Admin console's list for a client
//     id ([Server.ServiceAccountClientID]); by default any scope is
//     allowed. A request for any scope outside the list, or by a client
//     with an empty list, or for a subject outside the domain, answers 401
//     {"error": "unauthorized_client", "error_description": "Client is
//     unauthorized to retrieve access tokens using this method, or client
//     not authorized for any of the scopes requested."}.
//   - A subject that is not a user of the domain, or one suspended with
//     [Server.SuspendUser], answers 400 invalid_grant "Invalid email or
//     User ID". A suspended user's existing tokens get 401.
//   - A JWT whose iat/exp are more than 5 minutes off the server clock, or
//     span more than an hour, answers 400 invalid_grant "Invalid JWT: Token
//     must be a short-lived token (60 minutes) and in a reasonable
//     timeframe. Check your iat and exp values and use a clock with skew to
//     account for clock differences between systems."
//   - After [Server.DeleteServiceAccountKey], JWTs signed with the key file
//     answer 400 invalid_grant "Invalid JWT Signature."
//
// A subject that is not an administrator ([Server.AddUser] rather than
// [Server.AddAdmin]) gets tokens, but the admin APIs (Directory, Data
// Transfer, Groups Migration, Email Audit, Admin Settings, Cloud Identity)
// answer 403 "Not Authorized to access this resource/api"; Gmail serves
// the user's own mailbox.
//
// # Scopes
//
// Every endpoint accepts exactly the scopes Google's discovery document
// lists for its method (read-only scopes for read methods included), and
// the single documented scope for the Email Audit and Admin Settings
// feeds; a token with none of them gets 403 insufficientPermissions
// ("Request had insufficient authentication scopes.").
//
// # Keyless delegation: IAM Credentials signJwt
//
// POST /v1/projects/-/serviceAccounts/{email or unique id}:signJwt signs
// a claim set with the service account's (system-managed) key; the token
// endpoint accepts the result, so domain-wide delegation works without a
// key file. The caller presents its own token with the cloud-platform
// scope ([Server.CallerToken], an [Server.AuthorizedUserKeyFor] refresh,
// or the metadata server's) and needs roles/iam.serviceAccountTokenCreator
// on the service account ([Server.GrantTokenCreator]); otherwise 403
// PERMISSION_DENIED "Permission 'iam.serviceAccounts.signJwt' denied on
// resource (or it may not exist).". Clients reach it in one of two ways:
//
//   - with the IAM Credentials base URL pointed at the fake, e.g.
//     iamcredentials.NewService(ctx, option.WithEndpoint(srv.IAMCredentialsURL()+"/"), ...),
//     and the JWT's "aud" set to [Server.TokenURL];
//   - through [Server.GoogleTransport], for Google libraries whose
//     endpoints are fixed (google.golang.org/api/impersonate with Subject,
//     cloud.google.com/go/auth/credentials/impersonate): it sends requests
//     for *.googleapis.com to the fake, whose token endpoint accepts
//     Google's token URIs as audiences and grant_type=assertion.
//
// DenyAPI("iamcredentials", ...) makes signJwt answer as when the IAM
// Credentials API is not enabled.
//
// # Application Default Credentials
//
// Point GOOGLE_APPLICATION_CREDENTIALS at [Server.WriteServiceAccountKey]
// or at a written [Server.AuthorizedUserKeyFor], or set GCE_METADATA_HOST
// to [Server.MetadataHost]: the metadata server's tokens act as
// [Server.MetadataServiceAccount].
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
// and dates are not parsed. A 403 (not an administrator, scope missing)
// is a plain Google JSON error: responseCode "AUTHORIZATION FAILURE" is
// for 401 only, as the archive.insert reference documents. Uploads may be
// media, multipart or resumable (uploadType=resumable, as the reference
// lists).
//
// # Resumable uploads
//
// Gmail's messages.insert, import and send take resumable uploads both
// under /upload/gmail/v1/...?uploadType=resumable and under the discovery
// document's resumable path, /resumable/upload/gmail/v1/..., with the
// same session rules (see gmail_upload.go).
//
// # Email Audit exports
//
// The public key upload (POST .../publickey/{domain}, the one Email Audit
// call Google's documents name an upload) is limited to one request a
// second per acting user, as the limits page says of uploads; over it the
// reply is 503 errorCode 1001 (ServerBusy). Email Audit quota refusals
// carry Retry-After when [WithRetryAfter] asks for it.
//
// The file URLs of a completed mailbox export serve the encrypted file
// with http.ServeContent: "Range: bytes=N-" and "bytes=N-M" get 206
// Partial Content with Content-Range, a range starting at or past the end
// 416 with "Content-Range: bytes */size", and a malformed Range or one in
// another unit is ignored (200, the whole file).
//
// # Multi-party approval
//
// [Server.SetMultiPartyApproval] turns on the customer's multi-party
// approval for sensitive actions: Admin Settings SSO writes are refused
// (errorCode 1811), and the Cloud Identity methods whose discovery
// descriptions say so (inboundSamlSsoProfiles.create and .patch,
// idpCredentials.add) answer an Operation with "done": false, no
// response and metadata "state": "awaiting-multi-party-approval", and
// change nothing.
//
// # Time
//
// All delays are divided by the speed factor, and everything time-based
// reads the server clock ([WithClock], [Server.SetTimeNowFunc]).
package workspacetest
