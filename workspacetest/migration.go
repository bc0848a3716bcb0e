package workspacetest

import (
	"bytes"
	"crypto/sha256"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Groups Migration API (groupsmigration v1): archive.insert.
//
// Replies follow the documented responseCode values. Errors are Google
// JSON errors (so googleapi.CheckResponse yields a *googleapi.Error) with
// "kind" and "responseCode" added beside "error":
//
//	200 SUCCESS
//	400 INVALID MESSAGE FAILURE  reason "invalid" (bad message, read-only group),
//	                             "notFound" (group not seeded),
//	                             "uploadTooLarge" (over 25 MiB),
//	                             "badContent" (not message/rfc822)
//	400 UNSUPPORTED_PARALLEL_OPERATION  reason "unsupportedParallelOperation"
//	401 AUTHORIZATION FAILURE    reason "authError"
//	403 (no responseCode)        reason "forbidden" (not an administrator),
//	                             "insufficientPermissions" (scope missing),
//	                             "accessNotConfigured" (API not enabled)
//	503 BACKEND FAILURE          reason "rateLimitExceeded" or
//	                             "dailyLimitExceeded" (quota), "backendError"
//
// # What a message must be
//
// The fake refuses only what Google's documents certainly refuse, and
// stores everything else. Sources: [REF] the archive.insert reference,
// https://developers.google.com/workspace/admin/groups-migration/v1/reference/archive/insert
// (its responseCode list: "INVALID MESSAGE FAILURE ... missing From, To or
// Date field; a line not terminated by CR+LF; empty email content; the
// target group does not exist or is read-only"); [GUIDE] the
// manage-email-migrations guide (RFC 822 format, Content-type
// message/rfc822, "Confirm that the email message's To:, From:, and Date:
// fields are properly formed"; groups that are suspended, missing or
// read-only are refused); [DISCO] the discovery document
// (mediaUpload.accept ["message/rfc822"], maxSize 26214400).
//
// Refused, each with 400 INVALID MESSAGE FAILURE and a message naming the
// problem:
//
//   - an empty message, or one of whitespace only [REF];
//   - more than [MaxMessageSize] bytes, headers and attachments included
//     [DISCO, REF] (reason "uploadTooLarge");
//   - a media type other than message/rfc822 [DISCO, GUIDE] (reason
//     "badContent");
//   - any LF not preceded by CR, anywhere in the message [REF: lines end
//     with CR+LF];
//   - no header section: the first line is not a header field, i.e. not
//     a name of printable ASCII other than ':' (RFC 822 section 3.1.2),
//     optionally followed by spaces or tabs (RFC 822's linear white space,
//     RFC 5322's obs-optional), then ':' [GUIDE: RFC 822 format];
//   - a From, To or Date field that is absent from the header section, or
//     present only with a blank (whitespace-only) value after unfolding
//     [REF, GUIDE]. To means To: the documents name To, so Cc, Bcc or
//     Resent-To do not stand in for it, even though RFC 822 would accept
//     any of them as the destination;
//   - a target group that does not exist (reason "notFound") or is
//     read-only ([Server.SetGroupReadOnly]) [REF, GUIDE]. Suspended
//     groups are not modelled.
//
// Accepted, because no document gives ground to refuse them: field values
// are not parsed, so any address syntax ("MAILER-DAEMON <>", "Mail
// Delivery Subsystem <MAILER-DAEMON>", a bare "postmaster", an unquoted
// "Doe, John <john@example.com>") and any date text ("Tue, 029 Apr 2019
// 10:00:00 +0900", obsolete zones, no weekday) pass; 8-bit bytes in
// headers or body; odd folding (a field whose value starts on a
// continuation line, whitespace-only continuation lines); later header
// lines that are not fields (no colon, a name with spaces or 8-bit
// bytes), which are skipped; bare CRs; a last line without a line ending;
// several From, To or Date fields (one non-blank occurrence suffices).
// Whether Google's own parser refuses some of these is not documented.
//
// # Uploads
//
// The message comes as a media upload (uploadType=media, the reference's
// "Simple upload"), a multipart upload (the discovery document's simple
// protocol has multipart: true), or a resumable upload
// (uploadType=resumable, which the reference lists beside media and the
// generated Go client uses for media larger than one chunk), all under
// /upload/groups/v1/groups/{groupId}/archive (and, leniently, without
// /upload). Resumable sessions run as Gmail's do (gmail_upload.go), with
// this API's media type, 25 MiB limit and refusals; each request of a
// session goes through auth and quota and holds the group while it is
// answered, and the request that brings the last byte gets the insert's
// reply. The discovery document lists no resumable protocol, so no
// /resumable/upload/groups/... path is served.
//
// Parallel inserts into one group get 400 UNSUPPORTED_PARALLEL_OPERATION
// [REF]; quota exhaustion 503 BACKEND FAILURE [REF, limits page]. Google
// documents no deduplication by Message-ID, so the fake stores duplicates
// ([Server.Duplicates] lists them).

const scopeGroupsMigration = "https://www.googleapis.com/auth/apps.groups.migration"

// MaxMessageSize is the largest message archive.insert accepts: 25 MiB,
// headers, body and attachments included.
const MaxMessageSize = 26214400

// Groups Migration responseCode values, as Google spells them.
const (
	ResponseSuccess               = "SUCCESS"
	ResponseAuthorizationFailure  = "AUTHORIZATION FAILURE"
	ResponseBackendFailure        = "BACKEND FAILURE"
	ResponseInvalidMessage        = "INVALID MESSAGE FAILURE"
	ResponseUnsupportedParallelOp = "UNSUPPORTED_PARALLEL_OPERATION"
)

const migrationKind = "groupsmigration#groups"

// StoredMessage is a message accepted into a group archive.
type StoredMessage struct {
	MessageID string    // the Message-ID header, "" when absent
	Size      int       // bytes
	SHA256    [32]byte  // digest of Raw
	Received  time.Time // server clock at acceptance
	Raw       []byte    // the message as sent
}

type group struct {
	email    string
	busy     bool
	readOnly bool
	messages []StoredMessage
}

// AddGroup seeds a group archive that archive.insert accepts messages for.
// Adding an existing group does nothing. It panics if email is not an
// address in the server's domain.
func (s *Server) AddGroup(email string) {
	email = strings.ToLower(email)
	if !validEmail(email) || domainOf(email) != s.cfg.domain {
		panic("workspacetest: AddGroup: " + email + " is not an address in " + s.cfg.domain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[email] == nil {
		s.groups[email] = &group{email: email}
	}
}

// GroupMessages returns copies of the messages stored in a group's
// archive, in arrival order (nil for an unknown group).
func (s *Server) GroupMessages(group string) []StoredMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[strings.ToLower(group)]
	if g == nil {
		return nil
	}
	out := make([]StoredMessage, len(g.messages))
	for i, m := range g.messages {
		m.Raw = slices.Clone(m.Raw)
		out[i] = m
	}
	return out
}

// GroupMessageCount returns how many messages a group's archive holds.
func (s *Server) GroupMessageCount(group string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[strings.ToLower(group)]; g != nil {
		return len(g.messages)
	}
	return 0
}

// Duplicates returns the Message-IDs stored more than once in a group's
// archive, sorted. Google does not deduplicate; this shows whether a
// client's retries did.
func (s *Server) Duplicates(group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[strings.ToLower(group)]
	if g == nil {
		return nil
	}
	seen := map[string]int{}
	var dups []string
	for _, m := range g.messages {
		if m.MessageID == "" {
			continue
		}
		seen[m.MessageID]++
		if seen[m.MessageID] == 2 {
			dups = append(dups, m.MessageID)
		}
	}
	slices.Sort(dups)
	return dups
}

// SetGroupReadOnly makes a group's archive read-only, or writable again.
// archive.insert refuses to add to a read-only archive with 400 INVALID
// MESSAGE FAILURE, as Google documents for groups in read-only mode. It
// panics for an unknown group.
func (s *Server) SetGroupReadOnly(group string, readOnly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[strings.ToLower(group)]
	if g == nil {
		panic("workspacetest: SetGroupReadOnly: unknown group " + group)
	}
	g.readOnly = readOnly
}

// HoldGroup marks a group as having an insert in progress until release
// is called, so that tests can provoke UNSUPPORTED_PARALLEL_OPERATION
// deterministically. It panics for an unknown group.
func (s *Server) HoldGroup(group string) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[strings.ToLower(group)]
	if g == nil {
		panic("workspacetest: HoldGroup: unknown group " + group)
	}
	g.busy = true
	return func() {
		s.mu.Lock()
		g.busy = false
		s.mu.Unlock()
	}
}

func (s *Server) registerMigration(mux *http.ServeMux) {
	s.setQuota("groupsmigration", quotaRule{PerSecond: 10, PerDay: 500000, Status: http.StatusServiceUnavailable})
	ep := endpoint{
		api: "groupsmigration", method: "archive.insert",
		scopes: []string{scopeGroupsMigration},
		// Only administrators may insert into group archives.
		adminOnly: true,
		decorate:  decorateMigration,
		h:         s.migrationInsert,
	}
	s.handle(mux, "POST /upload/groups/v1/groups/{groupId}/archive", ep)
	s.handle(mux, "POST /groups/v1/groups/{groupId}/archive", ep)
	// Resumable chunks may also be PUT to the session URI.
	s.handle(mux, "PUT /upload/groups/v1/groups/{groupId}/archive", ep)
}

// migrationUploadRules are the rules of archive.insert's resumable
// sessions: the same media type, size limit and refusals as its media
// and multipart uploads.
var migrationUploadRules = uploadRules{
	limit: MaxMessageSize,
	mediaType: func(ct string) string {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "message/rfc822" {
			return "Media type '" + ct + "' is not supported. Valid media types: [message/rfc822]"
		}
		return ""
	},
	badMedia: func(w http.ResponseWriter, msg string) {
		migrationError(w, ResponseInvalidMessage, "badContent", msg)
	},
	tooBig: func(w http.ResponseWriter) {
		migrationError(w, ResponseInvalidMessage, "uploadTooLarge",
			errorf("Media larger than the limit of %d bytes (25 MiB, headers and attachments included).", MaxMessageSize))
	},
}

// decorateMigration adds kind and responseCode to the error replies the
// archive.insert reference gives a responseCode for: 401 AUTHORIZATION
// FAILURE, 400 INVALID MESSAGE FAILURE (and other refusals of the
// request), 5xx BACKEND FAILURE. A 403 is left as the plain Google JSON
// error it is: the reference ties AUTHORIZATION FAILURE to 401 only, and
// the limits page says a 403 reports bad input, so a non-administrator's
// 403 "forbidden" (and the front end's insufficientPermissions and
// accessNotConfigured) carries its reason and no responseCode.
func decorateMigration(ge *googleError) {
	if ge.Code == http.StatusForbidden {
		return
	}
	if ge.Extra == nil {
		ge.Extra = map[string]any{}
	}
	if _, ok := ge.Extra["responseCode"]; ok {
		return
	}
	code := ResponseBackendFailure
	switch {
	case ge.Code == http.StatusUnauthorized:
		code = ResponseAuthorizationFailure
	case ge.Code >= 400 && ge.Code < 500 && ge.Code != http.StatusTooManyRequests:
		code = ResponseInvalidMessage
	}
	ge.Extra["kind"] = migrationKind
	ge.Extra["responseCode"] = code
}

// migrationError writes a 400 with the given responseCode.
func migrationError(w http.ResponseWriter, responseCode, reason, msg string) {
	writeGoogleError(w, googleError{
		Code:    http.StatusBadRequest,
		Message: msg,
		Items:   []errorItem{{Domain: "global", Reason: reason, Message: msg}},
		Extra:   map[string]any{"kind": migrationKind, "responseCode": responseCode},
	})
}

func (s *Server) migrationInsert(w http.ResponseWriter, r *http.Request) {
	defer func() { _, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 256<<20)) }()
	groupID := strings.ToLower(r.PathValue("groupId"))

	// The group is busy from the moment an insert arrives until it is
	// answered, upload included, so overlapping uploads are refused as
	// Google refuses parallel inserts into one archive.
	s.mu.Lock()
	g := s.groups[groupID]
	if g == nil {
		s.mu.Unlock()
		migrationError(w, ResponseInvalidMessage, "notFound", "Unable to lookup group "+groupID+": it does not exist or is read-only.")
		return
	}
	if g.readOnly {
		s.mu.Unlock()
		migrationError(w, ResponseInvalidMessage, "invalid", "The archive of group "+groupID+" is read-only; no messages can be added to it.")
		return
	}
	if g.busy {
		s.mu.Unlock()
		migrationError(w, ResponseUnsupportedParallelOp, "unsupportedParallelOperation",
			"Another insert into the archive of "+groupID+" is in progress; parallel inserts into one group are not supported.")
		return
	}
	g.busy = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		g.busy = false
		s.mu.Unlock()
	}()

	var raw []byte
	uploadID := r.URL.Query().Get("upload_id")
	switch ut, _ := uploadType(r); {
	case ut == "resumable":
		if uploadID != "" {
			// Keep the reply that finishes the upload, for later
			// requests to the finished session.
			tee := &replyTee{ResponseWriter: w}
			defer s.gmailUploadReply(uploadID, r, tee)
			w = tee
		}
		var done bool
		if _, raw, done = s.resumableUpload(w, r, "group:"+groupID, migrationUploadRules); !done {
			return
		}
	case r.Method == http.MethodPut:
		writeError(w, http.StatusNotFound, "notFound", "PUT is for the session URIs of resumable uploads.")
		return
	default:
		var tooBig bool
		var herr string
		raw, tooBig, herr = readMigrationUpload(r)
		if herr != "" {
			migrationUploadRules.badMedia(w, herr)
			return
		}
		if tooBig {
			migrationUploadRules.tooBig(w)
			return
		}
	}
	msgID, verr := validateRFC822(raw)
	if verr != "" {
		migrationError(w, ResponseInvalidMessage, "invalid", "Invalid message: "+verr)
		return
	}

	s.sleep(r.Context(), s.scaled(s.cfg.processingDelay))

	s.mu.Lock()
	g.messages = append(g.messages, StoredMessage{
		MessageID: msgID, Size: len(raw), SHA256: sha256.Sum256(raw),
		Received: s.nowLocked(), Raw: raw,
	})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"kind": migrationKind, "responseCode": ResponseSuccess})
}

// readMigrationUpload extracts the message from a media or multipart
// upload (resumable ones go through resumableUpload). tooBig reports a message over MaxMessageSize (raw is then
// truncated); a non-empty problem describes a malformed upload.
func readMigrationUpload(r *http.Request) (raw []byte, tooBig bool, problem string) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		return nil, false, "Malformed Content-Type " + ct
	}
	ut, _ := uploadType(r)
	readLimited := func(rd io.Reader) ([]byte, bool, string) {
		b, err := io.ReadAll(io.LimitReader(rd, MaxMessageSize+1))
		if err != nil {
			return nil, false, "Could not read the upload: " + err.Error()
		}
		return b, len(b) > MaxMessageSize, ""
	}
	checkType := func(t string) string {
		mt, _, _ := mime.ParseMediaType(t)
		if t != "" && mt != "message/rfc822" {
			return "Media type '" + t + "' is not supported. Valid media types: [message/rfc822]"
		}
		return ""
	}
	switch ut {
	case "media":
		if p := checkType(ct); p != "" {
			return nil, false, p
		}
		return readLimited(r.Body)
	case "multipart":
		if mt != "multipart/related" || params["boundary"] == "" {
			return nil, false, "uploadType=multipart needs a multipart/related body"
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		meta, err := mr.NextPart()
		if err != nil {
			return nil, false, "Missing metadata part in multipart upload"
		}
		if _, err := io.Copy(io.Discard, io.LimitReader(meta, 1<<20)); err != nil {
			return nil, false, "Malformed metadata part"
		}
		media, err := mr.NextPart()
		if err != nil {
			return nil, false, "Missing media part in multipart upload"
		}
		if p := checkType(media.Header.Get("Content-Type")); p != "" {
			return nil, false, p
		}
		return readLimited(media)
	default:
		return nil, false, "Invalid uploadType " + ut
	}
}

// validateRFC822 applies the documented message rules (see the top of
// this file) and returns the Message-ID, or a description of what is
// wrong. It never parses addresses or dates.
func validateRFC822(raw []byte) (msgID, problem string) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", "the message is empty"
	}
	for i, b := range raw {
		if b == '\n' && (i == 0 || raw[i-1] != '\r') {
			line := 1 + bytes.Count(raw[:i], []byte{'\n'})
			return "", errorf("line %d ends with a bare LF (byte offset %d); every line must end with CRLF", line, i)
		}
	}
	first, _, _ := bytes.Cut(raw, []byte("\r\n"))
	if _, ok := fieldName(first); !ok {
		return "", errorf("the message does not start with a header section: the first line %q is not a header field (Name: value)", clip(first, 60))
	}
	fields := headerFields(raw)
	for _, name := range []string{"From", "To", "Date"} {
		values, present := fields[strings.ToLower(name)]
		switch {
		case !present:
			return "", "missing " + name + " header"
		case !slices.ContainsFunc(values, func(v string) bool { return strings.TrimSpace(v) != "" }):
			return "", "the " + name + " header is empty"
		}
	}
	if ids := fields["message-id"]; len(ids) > 0 {
		msgID = strings.TrimSpace(ids[0])
	}
	return msgID, ""
}

// fieldName returns the name of a header field line: one or more printable
// ASCII characters other than ':' (RFC 822 section 3.1.2), then optional
// spaces or tabs, then ':'. ok is false when line is not a field.
func fieldName(line []byte) (name string, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return "", false
	}
	n := bytes.TrimRight(line[:colon], " \t")
	if len(n) == 0 {
		return "", false
	}
	for _, c := range n {
		if c < 33 || c > 126 {
			return "", false
		}
	}
	return string(n), true
}

// headerFields reads the header section of a CRLF message leniently: it
// ends at the first empty line (or the end of the message); lines that
// begin with a space or tab continue the previous field; other lines that
// are not fields are skipped. The result maps lower-cased field names to
// their unfolded values (continuation lines trimmed and joined with one
// space), in order.
func headerFields(raw []byte) map[string][]string {
	fields := map[string][]string{}
	var name string // field being read, "" after a non-field line
	for len(raw) > 0 {
		var line []byte
		line, raw, _ = bytes.Cut(raw, []byte("\r\n"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if name != "" {
				vs := fields[name]
				if cont := strings.TrimSpace(string(line)); cont != "" {
					if last := strings.TrimSpace(vs[len(vs)-1]); last == "" {
						vs[len(vs)-1] = cont
					} else {
						vs[len(vs)-1] = last + " " + cont
					}
				}
			}
			continue
		}
		n, ok := fieldName(line)
		if !ok {
			name = ""
			continue
		}
		name = strings.ToLower(n)
		_, value, _ := bytes.Cut(line, []byte{':'})
		fields[name] = append(fields[name], strings.TrimSpace(string(value)))
	}
	return fields
}

// clip shortens b to at most n bytes for an error message.
func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
