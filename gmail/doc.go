// Package gmail is a client for the Gmail API at domain scale: every call
// acts as the mailbox owner (domain-wide delegation), is costed in Gmail's
// quota units and paced per user and per project, and the work Google's
// generated Go client cannot do is done here: HTTP batching with per-call
// retries, range-over-func iterators, full and incremental mailbox sync
// with a pluggable store, size-checked import, insert and send with
// resumable uploads, and mbox import through the migration engine.
//
//	c, err := workspace.NewClient(ctx,
//		workspace.WithCredentialsFile("sa.json"),
//		workspace.WithSubject("admin@example.com"))
//	g := gmail.New(c)
//	msgs, err := g.Messages.GetMany(ctx, "alice@example.com", ids, &gmail.GetOptions{Format: "metadata"})
//	res, err := g.Sync(ctx, "alice@example.com", store, nil)
//
// # Calls and services
//
//   - Messages: List and All (users.messages.list), Get, GetMany (batched
//     users.messages.get, any format), ModifyMany (batched
//     users.messages.modify, a different change per message), LabelMany
//     (users.messages.batchModify, 1,000 ids per call), Modify, Trash,
//     Delete, Insert, Import, Send.
//   - Threads: List, All, Get. Labels: List, All, Create, Delete. History:
//     List, All. Client.Profile (users.getProfile).
//   - Client.Batch sends any Gmail calls in HTTP batches; Client.Service
//     returns Google's generated client over the same transport, for the
//     methods not wrapped here (attach CallContext to each call).
//   - Client.Sync, Client.FullSync with a Store (MemoryStore, boltstore.Store);
//     a full sync resumes from its checkpoint in a CheckpointStore.
//   - Client.ImportMbox restores an mbox, .eml folder or Maildir into a
//     mailbox through migrate.Run (journal, resume, report); ImportSink
//     gives the sink for runs of your own.
//   - Compose builds an RFC 822 message (emersion/go-message).
//
// Lists page as in every package of the module: Messages.List,
// Threads.List and History.List take options that embed
// workspace.ListOptions (PageSize, sent as maxResults: Gmail gives at most
// 500 a page, 100 for 0; PageToken) and add the list's filters, and All iterates
// from the first page to the last. List returns Google's generated list
// response, which carries more than a page (a size estimate, the
// mailbox's history id) and NextPageToken. The messages, threads, labels
// and history records themselves are Google's generated types, passed
// through as Gmail sends them; the sync keeps its own MessageMeta.
//
// API reference: https://developers.google.com/workspace/gmail/api/reference/rest
//
// # Authentication
//
// Every call acts as the mailbox owner through domain-wide delegation and
// asks for a token holding only its method's scope, as listed below
// (workspace.APIScopes(workspace.APIGmail) gives the four of the default
// calls). Authorize, for the service account's client id in Admin console
// › Security › API controls › Domain-wide delegation, only the scopes of
// the calls you make:
//
//	Messages.List, All, Get, GetMany; Threads; History; Labels.List, All;
//	Client.Profile, Sync, FullSync; a Batch of GETs
//	    https://www.googleapis.com/auth/gmail.modify
//	    (with Client.ReadOnlyScopes: …/auth/gmail.readonly)
//	Messages.Modify, Trash, ModifyMany, LabelMany; Client.Service;
//	a Batch with any other call
//	    https://www.googleapis.com/auth/gmail.modify
//	Messages.Insert, Import; Client.ImportMbox
//	    https://www.googleapis.com/auth/gmail.insert
//	Messages.Send
//	    https://www.googleapis.com/auth/gmail.send
//	Labels.Create, Delete
//	    https://www.googleapis.com/auth/gmail.labels
//	Messages.Delete (permanent)
//	    https://mail.google.com/
//
// Client.ServiceWithScopes gives Google's generated client over a token
// with other scopes, for methods not wrapped here (settings, batchDelete).
// A mailbox owner's own token (WithTokenSource, user OAuth) must hold
// those scopes itself. The core client's CheckDelegation tells which
// scopes the service account has.
//
// # Quotas and retries
//
// Each call is described to the core's quota layer with its method
// ("users.messages.get", ...) and user; the limiter looks its cost up in
// Gmail's table (quota.GmailCost) and admits it when the per-user budget
// (15,000 units a minute, or 6,000) and the per-project budget (1,200,000
// a minute) allow, with at most quota.DefaultGmailUserConcurrency calls in
// flight per user so that Gmail never answers 429 "Too many concurrent
// requests for user".
//
// Gmail has two quota regimes. Projects that used the Gmail API before
// 2026-05-01 keep the older one: 15,000 units per user a minute and
// messages.get at 5 units. Projects created from 2026-05-01 get the new
// one: 6,000 units per user a minute, dearer reads (messages.get 20,
// threads.get 40, messages.trash 20, ...) and an 80,000,000 units a day
// billing threshold. The default is the older regime, because it is the
// one of every project that existed before May 2026 (most production
// projects) and because Google has no API that says which regime a
// project is in. If your project was created on or after 2026-05-01,
// choose the new regime when you build the limiter:
//
//	lim, err := quota.New(quota.WithGmailRegime(quota.Gmail2026))
//	c, err := workspace.NewClient(ctx, ..., workspace.WithQuota(lim))
//
// A project in the new regime paced as the old one would be throttled
// (403 userRateLimitExceeded) and slowed by retries; the reverse only
// leaves speed unused.
//
// Ordinary calls are retried by the core's transport by the one repeat
// table of package retry (retry.Table): reads and calls that are safe to
// repeat (modify, trash, labels patch...) after throttles (403
// rateLimitExceeded or userRateLimitExceeded, 429), 408 and 5xx; calls
// that add something (send, insert, import, drafts, labels create) only
// after answers that prove nothing was done (throttles, a connection
// never made); otherwise they end with workspace.ErrOutcomeUnknown. Waits
// back off exponentially from 1 second, honouring Retry-After up to 2
// minutes.
//
// HTTP batches (Client.Batch, POST /batch/gmail/v1) hold 50 calls by
// default, at most 100. Each call is charged to the limiter on its own,
// with its method's cost, before its batch is sent; the batch request
// itself is described to the core with no API, which the quota layer does
// not charge, so nothing is counted twice. A batch in flight holds one of
// the user's concurrency slots (it is one HTTP request; the parts' charge
// only passes through a slot).
//
// The batch request is sent once by the core's transport; Batch retries
// call by call, in a later batch after a backoff (1 s, 2 s, ... 32 s, or
// the part's Retry-After up to 2 minutes), at most 6 times, and calls
// that succeeded are kept and never sent again. Its waits, like the
// upload's below, go through the client's retry.Options.Sleep (set with
// workspace.WithRetry, as tests do), the one the transport waits with.
// Which calls are sent again depends on what they do:
//
//	                                    reads and     changes (send, insert, import,
//	                                    safe repeats  delete, labels create...)
//	                                    (modify, trash...)
//	its own 429 / 403 rate limit         again         again (proves it was not done)
//	429 / 403 rate limit on the batch    again         again
//	batch never sent (conn. refused)     again         again
//	its own 408 or 5xx                   again         *OutcomeUnknownError
//	batch lost: connection dropped,      again         *OutcomeUnknownError
//	  408 or 5xx on the batch, reply
//	  unreadable or missing the call
//	any other answer (400, 404, ...)     its error     its error
//
// A call that changes something and ends with an *OutcomeUnknownError
// may or may not have been carried out; Batch never sends it twice.
// A part's Retry-After longer than 2 minutes ends the call with its
// error.
//
// Send is not retried into a sending limit: Gmail's 429 "User-rate limit
// exceeded (Mail sending)" comes back at once as a *SendLimitError with
// the time sending may resume (from Gmail's Retry-After or its message),
// since the core refuses to wait for a Retry-After longer than 2 minutes.
//
// # Sizes and uploads
//
// Messages are checked before any request: MaxSendSize (35 MiB) for
// Send, MaxInsertSize (150 MiB) for Insert and Import. Messages up to
// 5 MiB (InsertOptions.ResumableThreshold) go in one request; larger ones
// use Google's resumable upload protocol: a request that opens a session,
// then the bytes in chunks of 8 MiB (InsertOptions.ChunkSize).
//
// A resumable upload is charged to the limiter once, with its method's
// cost (a 6 MiB import: 25 units, however many chunks), as Gmail charges
// only the session start; it holds one of the user's concurrency slots
// until it ends, waits included. Its requests are sent once by the core's
// transport: the upload has one retry loop of its own (InsertOptions.Retry,
// SendOptions.Retry: 6 tries of a step without progress, backoff from 1 s
// to 32 s, Retry-After up to 2 minutes: the defaults of Gmail's
// retry.DefaultPolicy, which the batch retries start from too). After a chunk fails (a throttle,
// 408, 5xx, a dropped connection), it asks the session where it stands
// (an empty PUT with "Content-Range: bytes */total") and resumes from the
// offset in the Range of the 308 answer, so no byte the server holds is
// sent again. If the session answers with the message, the upload had
// finished and its answer was lost: the message is returned, stored once.
// A session that expired (404) before the last byte is started over; if
// the last byte was sent and nothing says whether the message was stored,
// the upload ends with an *OutcomeUnknownError rather than risk storing
// (or sending) it twice. Under the migration engine (ImportMbox,
// ImportSink), which does its own retries, each step is tried once, but
// a lost answer to the last chunk is still resolved by one status query.
//
// # Sync
//
// Sync keeps a Store current with a mailbox: the first time (or when
// Gmail has forgotten the stored history id and answers 404) it does a
// full sync, messages.list then batched messages.get with
// format=metadata; afterwards it reads users.history.list from the stored
// history id and fetches only the messages added or relabelled. An
// incremental sync is written once, atomically, at its end; package
// gmail/boltstore keeps the store in a bbolt file so a program resumes
// incrementally after a restart. A full sync also saves a checkpoint in a
// CheckpointStore (MemoryStore, boltstore.Store), after each page listed and
// every 500 messages fetched, so that one stopped by an error, a
// cancelled context or a killed process resumes: the next full sync of
// the mailbox lists only the pages not listed yet and fetches only the
// messages not fetched yet, then stores the history id read at the start
// of the first attempt (see FullSync for what is checked and when it
// starts over).
//
// # Errors
//
// Server answers come back as *workspace.Error (errors.As) and match the
// categories of the workspace package with errors.Is:
//
//	_, err := g.Messages.Get(ctx, user, id, nil)
//	if errors.Is(err, workspace.ErrNotFound) { ... }
//
// Bad input is refused before any request with a *workspace.InputError
// (errors.Is(err, workspace.ErrInvalidInput)): a malformed user address,
// an oversized or empty message, an unknown format. Batch and GetMany
// return a *BatchError listing the calls that failed, each with its own
// error; its Unwrap lets errors.Is ask whether any call was, say, not
// found; a call that changes something and whose outcome is unknown has
// an *OutcomeUnknownError (errors.As). Send returns a *SendLimitError for
// Gmail's sending limits. A spent daily budget of the limiter (2026
// regime) matches workspace.ErrQuotaExhausted.
package gmail
