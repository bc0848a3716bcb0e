// Package retry decides which failed calls to Google's APIs are sent
// again, and when.
//
// # Classification
//
// [Classify] sorts every attempt into a [Class] from the status code and the
// error body (Google's JSON errors with errors[].reason, status and details,
// and the AppsForYourDomainErrors XML of the GData feeds):
//
//   - Transient: 5xx, 408, connection refused or reset, unexpected EOF,
//     timeouts, a token endpoint that failed (5xx) or could not be reached.
//   - Throttle: 429; 503 on the legacy admin APIs (Groups Migration, Data
//     Transfer, Email Audit, Admin Settings), whose docs say 503 means a quota
//     was exceeded; 403 with reason rateLimitExceeded or userRateLimitExceeded;
//     Groups Migration's UNSUPPORTED_PARALLEL_OPERATION; GData ServerBusy.
//   - QuotaExhausted: dailyLimitExceeded or quotaExceeded (unless the message
//     names a per-minute or per-second window), Gmail's sending limit, and a
//     local daily budget. Never retried: waiting seconds cannot bring back a
//     daily quota.
//   - Auth: 401, which the auth layer refreshes once before it gets here,
//     and credentials the token endpoint refused.
//   - Permanent: everything else, including 400 and the legacy APIs' 403
//     (documented as bad input), 404 and 409.
//
// A [Decision] also says whether the outcome proves that the server did
// nothing (NothingDone): a throttle answer that names a rate limit (429, the
// reasons above, a legacy 503 that is not a backend failure), a connection
// that was never made (refused, DNS failure), a token that could not be had,
// or a request that failed before it was written in full (seen through
// net/http/httptrace). A 5xx does not prove it: Google does not promise that
// a 500, 502 or 504 means the work was not done, and a connection lost after
// the request was sent leaves it just as open.
//
// # Which calls are repeated
//
// Every method the library sends has a rule in one table (printed by
// [Table], read with [RuleFor]), looked up by the API and method of the
// request:
//
//   - [Safe]: reads, and writes idempotent by contract (PUT, DELETE, calls
//     that set fields to given values). Repeated after any Transient or
//     Throttle outcome.
//   - [OnProof]: calls that change something (send mail, store a message,
//     start a transfer or an export, create a monitor...). Repeated only
//     after an outcome that proves nothing was done. After any other failure
//     the call may have taken effect: it is not repeated, and the core's
//     error says so (workspace.ErrOutcomeUnknown).
//   - [Never]: sent once; the caller decides.
//
// What each rule does with each answer:
//
//	answer                                   Safe          OnProof            Never
//	429, rate-limit reasons, parallel-       repeated      repeated           no
//	insert refusal, legacy 503, ServerBusy
//	refused, DNS failure, not fully          repeated      repeated           no
//	written, token endpoint failure
//	500, 502, 504, other 503, 408            repeated      no: outcome        no
//	                                                       unknown (*)
//	connection lost after the request        repeated      no: outcome        no
//	was sent, timeout                                      unknown (*)
//	400, 401 after a refresh, 403, 404,      no            no                 no
//	409, a daily quota
//
// (*) A caller may allow these repeats for one call with
// [AllowAmbiguousRepeats], or for a whole API with Policy.RetryAmbiguous;
// the call may then happen twice, and [MayHaveHappenedTwice] and the error
// say so. A method missing from the table is Safe when its HTTP method is
// idempotent (GET, HEAD, OPTIONS, PUT, DELETE) and OnProof otherwise.
// Requests the core marks as sent once (the migration engine's, whose
// engine keeps its own policy) get one attempt through Transport.MaxAttempts.
//
// The table, as [Table] prints it:
//
//	Repeated only after an outcome that proves nothing was done (OnProof):
//	  groupsmigration  archive.insert (stores a copy per request; the migration engine sends once and keeps its own policy)
//	  datatransfer     transfers.insert (starts a transfer per request)
//	  directory        domains.insert
//	  audit            export.create (starts an export per request)
//	  audit            monitor.create
//	  settings         emailrouting.create (adds a routing rule per request)
//	  cloudidentity    inboundSamlSsoProfiles.create
//	  cloudidentity    inboundSamlSsoProfiles.idpCredentials.add (adds a credential per request)
//	  cloudidentity    inboundSsoAssignments.create
//	  gmail            users.drafts.create
//	  gmail            users.drafts.send (sends mail)
//	  gmail            users.labels.create
//	  gmail            users.messages.import (stores a copy per request)
//	  gmail            users.messages.insert (stores a copy per request)
//	  gmail            users.messages.send (sends mail)
//	  gmail            users.settings.delegates.create
//	  gmail            users.settings.filters.create (adds a filter per request)
//	  gmail            users.settings.forwardingAddresses.create (sends a verification mail)
//	  gmail            users.settings.sendAs.create (may send a verification mail)
//	  gmail            users.settings.sendAs.verify (sends a verification mail)
//	Never repeated (Never):
//	  (none)           gmail.batch (the outer batch request: the batch engine retries its parts)
//	Writes idempotent by contract, repeated after any retryable failure (Safe):
//	  directory        customers.patch (sets the given fields)
//	  directory        domains.delete (DELETE)
//	  audit            export.delete (DELETE)
//	  audit            monitor.delete (DELETE)
//	  audit            publickey.create (replaces the domain's key with the same key)
//	  settings         email.gateway.update (PUT)
//	  settings         sso.general.update (PUT)
//	  settings         sso.signingkey.update (PUT)
//	  cloudidentity    inboundSamlSsoProfiles.delete (DELETE)
//	  cloudidentity    inboundSamlSsoProfiles.idpCredentials.delete (DELETE)
//	  cloudidentity    inboundSamlSsoProfiles.patch (sets the given fields)
//	  cloudidentity    inboundSsoAssignments.delete (DELETE)
//	  cloudidentity    inboundSsoAssignments.patch (sets the given fields)
//	  gmail            users.drafts.delete (DELETE)
//	  gmail            users.drafts.update (PUT)
//	  gmail            users.labels.delete (DELETE)
//	  gmail            users.labels.patch (sets the given fields)
//	  gmail            users.labels.update (PUT)
//	  gmail            users.messages.batchDelete (deletes the listed messages)
//	  gmail            users.messages.batchModify (adds and removes the listed labels)
//	  gmail            users.messages.delete (DELETE)
//	  gmail            users.messages.modify (adds and removes the listed labels)
//	  gmail            users.messages.trash (moves to or from the trash)
//	  gmail            users.messages.untrash (moves to or from the trash)
//	  gmail            users.settings.delegates.delete (DELETE)
//	  gmail            users.settings.filters.delete (DELETE)
//	  gmail            users.settings.forwardingAddresses.delete (DELETE)
//	  gmail            users.settings.sendAs.delete (DELETE)
//	  gmail            users.settings.sendAs.patch (sets the given fields)
//	  gmail            users.settings.sendAs.update (PUT)
//	  gmail            users.settings.updateAutoForwarding (PUT)
//	  gmail            users.settings.updateImap (PUT)
//	  gmail            users.settings.updateLanguage (PUT)
//	  gmail            users.settings.updatePop (PUT)
//	  gmail            users.settings.updateVacation (PUT)
//	  gmail            users.stop (stops the mailbox's watch)
//	  gmail            users.threads.delete (DELETE)
//	  gmail            users.threads.modify (adds and removes the listed labels)
//	  gmail            users.threads.trash (moves to or from the trash)
//	  gmail            users.threads.untrash (moves to or from the trash)
//	  gmail            users.watch (replaces the mailbox's watch)
//	Reads, repeated after any retryable failure (Safe):
//	  datatransfer     applications.get, applications.list, transfers.get,
//	                   transfers.list
//	  directory        customers.get, domains.get, domains.list, users.get
//	  audit            export.download, export.get, export.list,
//	                   monitor.list
//	  settings         email.gateway.get, sso.general.get,
//	                   sso.signingkey.get
//	  cloudidentity    inboundSamlSsoProfiles.get,
//	                   inboundSamlSsoProfiles.idpCredentials.get,
//	                   inboundSamlSsoProfiles.idpCredentials.list,
//	                   inboundSamlSsoProfiles.list,
//	                   inboundSsoAssignments.get, inboundSsoAssignments.list,
//	                   operations.get
//	  gmail            users.drafts.get, users.drafts.list, users.getProfile,
//	                   users.history.list, users.labels.get,
//	                   users.labels.list, users.messages.attachments.get,
//	                   users.messages.get, users.messages.list,
//	                   users.settings.delegates.get,
//	                   users.settings.delegates.list,
//	                   users.settings.filters.get,
//	                   users.settings.filters.list,
//	                   users.settings.forwardingAddresses.get,
//	                   users.settings.forwardingAddresses.list,
//	                   users.settings.getAutoForwarding,
//	                   users.settings.getImap, users.settings.getLanguage,
//	                   users.settings.getPop, users.settings.getVacation,
//	                   users.settings.sendAs.get, users.settings.sendAs.list,
//	                   users.threads.get, users.threads.list
//
// # Waiting
//
// The legacy policy (Groups Migration, Data Transfer, Email Audit, Admin
// Settings): 7 attempts, waits of 5 s, 10 s, 20 s, 40 s, 80 s, 80 s, ±20%
// jitter, as those APIs' limits pages ask. The modern policy (Gmail,
// Directory, Cloud Identity): 6 attempts from 1 s doubling to at most 32 s, ±20% jitter. A Retry-After
// header (or a RetryInfo detail) replaces the computed wait; one longer than
// Policy.MaxRetryAfter (2 minutes) is not waited for and the error is
// returned, so a sending limit that lifts in hours fails fast.
//
// A [Budget] shared by the whole client limits retries after server and
// network errors, so that a storm of them does not multiply the load: each
// costs 5 tokens (10 after a network error) from 500, and each success gives
// one back. Throttle answers wait (Retry-After, backoff) without spending
// it: they are the server asking to slow down, and slowing down is the
// answer.
//
// When no connection can be made (refused, DNS failure) and nothing has
// answered the client yet ([Contact]), which is what a wrong endpoint looks
// like, a request gets [FastFailAttempts] tries in all, [FastFailWait] and
// then twice that apart, and fails in seconds with an error that names the
// host.
//
// Every retry is logged at Info through Transport.Logger, with its wait,
// before the wait starts.
//
// # Bodies
//
// A request is replayed through Request.GetBody. A body without GetBody that
// may be sent more than once is read whole into memory (up to
// [MaxReplayBody]) before the first attempt; a larger one is sent once.
// Nothing reads a body while net/http is writing it.
package retry
