// Package auth obtains and attaches OAuth 2.0 tokens for the Workspace admin
// client: it parses credentials, keeps one cached token source per
// impersonated user, adds bearer tokens to requests, runs the installed-app
// consent flow, and keeps user tokens in an encrypted file cache.
//
// Most programs never use this package directly: workspace.NewClient with
// WithCredentialsFile and WithSubject does it for them. It is exported for
// programs that build their own HTTP clients, and for the installed-app flow.
//
// # Credentials
//
// [ParseCredentials] reads a service-account key file or authorized-user
// credentials. A service account can impersonate any user of its Workspace
// domain (domain-wide delegation): the user is the subject of the signed
// JWT it sends to the token endpoint. Impersonation is always an explicit
// argument, never read from the environment. [Credentials.ClientID] is the
// client id to authorize in the Admin console.
//
// # Keyless domain-wide delegation
//
// Organizations that forbid service-account keys
// (iam.disableServiceAccountKeyCreation) can still delegate: with a
// [Keyless] in [Pool.Keyless], the delegation JWT (iss the service
// account, sub the user, scope, aud the token URL, one hour) is signed by
// the IAM Credentials API's signJwt (google.golang.org/api/iamcredentials/v1)
// with the caller's own token, then exchanged at the token endpoint. The
// caller needs roles/iam.serviceAccountTokenCreator on the service account.
// Tokens are cached per (subject, scope set) as for a key file.
//
// # Application Default Credentials
//
// [FindDefaultCredentials] looks where Google's libraries look: the
// GOOGLE_APPLICATION_CREDENTIALS file, gcloud's
// application_default_credentials.json, then the metadata server. A
// service-account key found there delegates like a key file; user and
// metadata-server credentials act as themselves, or as the caller of a
// [Keyless].
//
// # Errors that name the fix
//
// A refused token is a [*TokenError] that keeps Google's "error" and
// "error_description" (errors.As with *oauth2.RetrieveError; a signJwt
// refusal is a [*SignJWTError]) and whose Remedy says what to do:
// scopes not authorized for the client id in the Admin console
// (unauthorized_client), an unknown or suspended subject, clock skew, a
// deleted key (invalid_grant), a caller without the Token Creator role
// (signJwt 403).
//
// # Token sources per subject
//
// A [Pool] caches one [Source] per (subject, scope set). A Source reuses its
// token until shortly before expiry ([DefaultEarlyExpiry]), lets only one
// caller fetch at a time, and can be told with [Source.Invalidate] that the
// server refused a token:
//
//	pool := &auth.Pool{Credentials: creds, HTTPClient: baseClient}
//	src, err := pool.Source("admin@example.com", []string{auth.ScopeGroupsMigration})
//	...
//	client := &http.Client{
//		Transport:     &auth.Transport{Base: baseClient.Transport, Source: src, AllowHost: auth.AllowHosts(endpointHost)},
//		CheckRedirect: auth.RedirectPolicy,
//	}
//
// # Transport
//
// [Transport] adds "Authorization: Bearer" to requests for allowed hosts
// only, and on a 401 refreshes the token and retries once when the body can
// be replayed. [RedirectPolicy] also strips the header from redirects that
// leave the original host.
//
// # Installed applications
//
// [InstalledAppFlow] gets a user's consent through the browser with a
// loopback redirect, PKCE (S256) and a random state, for people who have an
// OAuth client but no service account. Keep the resulting refresh token in
// a [FileCache] and refresh it with [CachedTokenSource].
//
// # Token cache
//
// [FileCache] stores a token encrypted with AES-256-GCM under a 32-byte key
// the caller provides (or [KeyFromEnv]). The file is written atomically with
// mode 0600, bound to its path, and refused when group or others may access
// it ([*InsecureFileError]) or when it fails authentication
// ([ErrCacheInvalid]).
//
// # Secrets
//
// Errors and log records from this package never contain access tokens,
// refresh tokens, client secrets or private keys.
package auth
