// Package audit is a client for the Google Workspace Email Audit API:
// email monitors, the domain's OpenPGP public key, and mailbox exports from
// request to readable mbox files.
//
// The API is a legacy GData feed (Atom XML of apps:property elements); this
// package speaks it by hand over internal/gdata and hides it behind typed
// values.
//
//	c, err := workspace.NewClient(ctx, workspace.WithCredentialsFile("sa.json"),
//		workspace.WithSubject("admin@example.com"))
//	a := audit.New(c, "example.com")
//
// # Email monitors
//
// [MonitorsService.Create] copies a user's mail to an auditor between two
// dates, with a [Level] per kind of mail; [MonitorsService.List] and
// [MonitorsService.Delete] do the rest. Users are usernames; addresses in
// the domain are accepted and reduced to usernames, others refused. Dates
// are sent in UTC as "2006-01-02 15:04" ([DateLayout]).
//
// # Mailbox exports, end to end
//
//	kp, _ := audit.GenerateKey("example.com", nil)   // once, if the domain has no key
//	_ = kp.WritePrivateKey("audit-private.asc")      // 0600, never overwritten
//	_, err = a.PublicKey.Upload(ctx, kp.Public)      // validated before it is sent
//	x, err := a.Exports.Create(ctx, "alice", &audit.ExportRequest{})
//	x, err = a.Exports.Wait(ctx, "alice", x.RequestID, nil) // days; resumable from the id
//	files, err := a.Exports.Download(ctx, x, "out", nil)    // resumable, size-checked
//	keys, _ := audit.ReadPrivateKeyFile("audit-private.asc")
//	res, err := audit.DecryptFile(ctx, "out/alice-0.mbox", files[0].Path, keys, nil)
//
// [ExportsService.Wait] polls with growing pauses for as long as ctx (or
// the workspace.WaitOptions timeout) allows; [ExportsService.Download]
// streams each fileUrlN to disk, resumes broken transfers with Range
// requests and checks sizes; [Decrypt] streams the OpenPGP files through
// the private key in constant memory. Files are kept by Google for three
// weeks; [Export.Expires] and [Export.ExpiresWithin] tell how long is
// left. The pauses of Wait, Delete and Download go through the
// workspace.Client's retry Sleep when it was given one (workspace.WithRetry),
// so tests need not wait.
//
// [ExportsService.List] returns one workspace.Page of the domain's
// requests (at most 100; the API takes no page size, so
// workspace.ListOptions.PageSize must be 0); [ExportsService.All] iterates
// over all of them, following the feed's link rel='next' pages.
//
// # Authentication
//
// The default subject of the workspace.Client must be an administrator of
// the domain with the Email Audit privilege. Every call (monitors, public
// key, exports) asks for a token with the API's only scope; authorize it,
// for the service account's client id in Admin console › Security › API
// controls › Domain-wide delegation:
//
//	https://apps-apis.google.com/a/feeds/compliance/audit/
//
// There is no read-only variant. Export files are downloaded with the
// same token (on Google's hosts only). workspace.CheckDelegation tells
// whether the service account has the scope.
//
// # Errors
//
// Server answers come back as *workspace.Error (errors.As), with the
// categories of package workspace (errors.Is): on this API a 403 is bad
// input (workspace.ErrInvalidInput; with GData code 1301 EntityDoesNotExist
// it is also workspace.ErrNotFound) and a 503 a throttle or a spent quota
// (workspace.ErrRateLimited once retries are exhausted). Input checked
// before sending gives a *workspace.InputError (workspace.ErrInvalidInput).
// Beyond those:
//
//   - [*ExpiredError] ([ErrExpired]): the export's files are gone;
//
//   - *workspace.OperationError (API "audit", Operation "export"): the
//     export ended in ERROR, MARKED_DELETE or DELETED; Status says which;
//
//   - [*WrongKeyError] ([ErrWrongKey]): the file is encrypted to another key;
//
//   - [ErrWrongPassphrase], [ErrPassphraseRequired];
//
//   - [*IntegrityError] ([ErrIntegrity]): the file is damaged or altered;
//
//   - [ErrShortDownload]: a file stayed shorter than announced.
//
//     var we *workspace.Error
//     if errors.As(err, &we) { log.Print(we.StatusCode, we.GDataCode, we.Reasons) }
//
// # Quotas and retries
//
// Calls are described to the core's quota layer (API "audit"; methods
// monitor.create, monitor.list, monitor.delete, publickey.create,
// export.create, export.get, export.list, export.delete, export.download)
// with the domain and the user concerned, so the default rules apply: 100
// export requests and 1,000 monitor requests per domain per day (counted
// before sending; the day ends at midnight Pacific) and 1 request a second
// per user. The retry layer retries 503 answers with exponential backoff
// (5 s, 10 s, …) and never re-sends a POST after an ambiguous failure.
//
// # API reference
//
//   - https://developers.google.com/workspace/admin/email-audit/monitor-email
//   - https://developers.google.com/workspace/admin/email-audit/download-mailbox
//   - https://developers.google.com/workspace/admin/email-audit/limits
package audit
