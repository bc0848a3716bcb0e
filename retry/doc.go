// Package retry decides which failed calls to Google's APIs are tried again,
// and when.
//
// # Classification
//
// [Classify] sorts every attempt into a [Class] from the status code and the
// error body (Google's JSON errors with errors[].reason, status and details,
// and the AppsForYourDomainErrors XML of the GData feeds):
//
//   - Transient: 5xx, connection refused or reset, unexpected EOF, timeouts.
//   - Throttle: 429; 503 on the legacy admin APIs (Groups Migration, Data
//     Transfer, Email Audit, Admin Settings), whose docs say 503 means a quota
//     was exceeded; 403 with reason rateLimitExceeded or userRateLimitExceeded;
//     Groups Migration's UNSUPPORTED_PARALLEL_OPERATION.
//   - QuotaExhausted: dailyLimitExceeded or quotaExceeded (unless the message
//     names a per-minute or per-second window), and a local daily budget.
//     Never retried: waiting seconds cannot bring back a daily quota.
//   - Auth: 401, which the auth layer refreshes once before it gets here.
//   - Permanent: everything else, including 400 and the legacy APIs' 403
//     (documented as bad input), 404 and 409.
//
// # Defaults
//
// [Legacy] (Groups Migration, Data Transfer, Email Audit, Admin Settings):
// 7 attempts, waits of 5 s, 10 s, 20 s, 40 s, 80 s, 80 s, ±20% jitter, as
// those APIs' limits pages ask. [Modern] (Gmail, Directory, Cloud Identity):
// 6 attempts from 1 s doubling to at most 32 s, ±20% jitter. A Retry-After
// header (or a RetryInfo detail) replaces the computed wait; one longer than
// Policy.MaxRetryAfter (2 minutes) is not waited for and the error is
// returned, so a sending limit that lifts in hours fails fast.
//
// A [Budget] shared by the whole client limits retries: each costs 5 tokens
// (10 after a transport error) from 500, and each success gives one back.
//
// # Writes
//
// A request is replayed through Request.GetBody, or from an in-memory copy of
// its body (up to [MaxReplayBody]) when it has none. After a transport error
// that may have happened once the server had the request (a reset after the
// body was written, a timeout), only idempotent methods (GET, HEAD, PUT,
// DELETE) are retried, unless the Policy sets RetryAmbiguous. POST calls
// affected: Groups Migration archive.insert, Data Transfer transfers.insert,
// Email Audit monitor and export creation, Gmail send/insert/import. An
// answer from the server (429, 5xx) is always safe to retry: the server says
// it did not do the work.
package retry
