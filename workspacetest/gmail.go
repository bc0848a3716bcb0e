package workspacetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Gmail API (gmail v1), under /gmail/v1/users/{userId}/...:
//
//	messages: list get insert import send modify trash untrash delete
//	          batchModify batchDelete attachments.get
//	          (insert, import and send also on /upload/gmail/v1/... with
//	          uploadType=media, multipart or resumable, and on
//	          /resumable/upload/gmail/v1/... for resumable uploads, the
//	          discovery document's mediaUpload.protocols.resumable.path;
//	          see gmail_upload.go)
//	labels:   list get create update patch delete
//	threads:  list get modify trash untrash delete
//	history.list, getProfile
//	POST /batch/gmail/v1 (see gmail_batch.go)
//
// userId is "me" or the token subject's address: Gmail serves only the
// mailbox of the user the token acts as (domain-wide delegation gives a
// token per user), so an admin token naming another user is refused with
// 403 "Delegation denied". Quotas follow Gmail (gmail_quota.go); the
// fields parameter trims replies (gmail_fields.go).

const (
	scopeGmailFull     = "https://mail.google.com/"
	scopeGmailModify   = "https://www.googleapis.com/auth/gmail.modify"
	scopeGmailReadonly = "https://www.googleapis.com/auth/gmail.readonly"
	scopeGmailMetadata = "https://www.googleapis.com/auth/gmail.metadata"
	scopeGmailLabels   = "https://www.googleapis.com/auth/gmail.labels"
	scopeGmailInsert   = "https://www.googleapis.com/auth/gmail.insert"
	scopeGmailSend     = "https://www.googleapis.com/auth/gmail.send"
	scopeGmailCompose  = "https://www.googleapis.com/auth/gmail.compose"
)

// Gmail message size limits (discovery mediaUpload.maxSize).
const (
	// GmailMaxImportSize is the largest message messages.insert and
	// messages.import accept: 150 MiB.
	GmailMaxImportSize = 157286400
	// GmailMaxSendSize is the largest message messages.send accepts:
	// 35 MiB.
	GmailMaxSendSize = 36700160
)

var (
	gmailRead   = []string{scopeGmailFull, scopeGmailModify, scopeGmailReadonly, scopeGmailMetadata}
	gmailModify = []string{scopeGmailFull, scopeGmailModify}
	gmailDelete = []string{scopeGmailFull}
	gmailInsert = []string{scopeGmailFull, scopeGmailModify, scopeGmailInsert}
	gmailSend   = []string{scopeGmailFull, scopeGmailModify, scopeGmailCompose, scopeGmailSend}
	gmailLabelW = []string{scopeGmailFull, scopeGmailModify, scopeGmailLabels}
	gmailLabelR = []string{scopeGmailFull, scopeGmailModify, scopeGmailReadonly, scopeGmailMetadata, scopeGmailLabels}
	// gmailProfileScopes: getProfile takes compose but not labels.
	gmailProfileScopes = []string{scopeGmailFull, scopeGmailModify, scopeGmailReadonly, scopeGmailMetadata, scopeGmailCompose}
	// gmailAttachment: attachments.get does not take metadata.
	gmailAttachment = []string{scopeGmailFull, scopeGmailModify, scopeGmailReadonly}
)

// gmailHandler serves one Gmail call for user (the lower-cased mailbox
// owner, already checked against the token).
type gmailHandler func(w http.ResponseWriter, r *http.Request, user string)

func (s *Server) registerGmail(mux *http.ServeMux) {
	const u = "/gmail/v1/users/{userId}"
	const up = "/upload/gmail/v1/users/{userId}"
	const rup = "/resumable/upload/gmail/v1/users/{userId}"
	route := func(pattern, method string, scopes []string, h gmailHandler) {
		s.handle(mux, pattern, endpoint{
			api: "gmail", method: method, scopes: scopes, style: styleJSON,
			h: func(w http.ResponseWriter, r *http.Request) {
				defer func() { _, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<30)) }()
				c := callerFrom(r)
				user, ok := s.gmailUser(w, r, c)
				if !ok {
					return
				}
				charged := method
				uploadID := r.URL.Query().Get("upload_id")
				if uploadID != "" {
					charged = "" // a resumable chunk: the session start paid
				}
				done, ok := s.gmailAdmit(w, r, c, user, charged)
				if !ok {
					return
				}
				defer done()
				if uploadID != "" {
					// Keep the reply that finishes the upload, for
					// later requests to the finished session.
					tee := &replyTee{ResponseWriter: w}
					defer s.gmailUploadReply(uploadID, r, tee)
					w = tee
				}
				h(w, r, user)
			},
		})
	}
	route("GET "+u+"/profile", "getProfile", gmailProfileScopes, s.gmailProfile)
	route("GET "+u+"/messages", "messages.list", gmailRead, s.gmailMessagesList)
	route("GET "+u+"/messages/{id}", "messages.get", gmailRead, s.gmailMessagesGet)
	route("GET "+u+"/messages/{messageId}/attachments/{id}", "messages.attachments.get", gmailAttachment, s.gmailAttachmentGet)
	for _, p := range []string{u, up, rup} {
		route("POST "+p+"/messages", "messages.insert", gmailInsert, s.gmailInsert("messages.insert"))
		route("POST "+p+"/messages/import", "messages.import", gmailInsert, s.gmailInsert("messages.import"))
		route("POST "+p+"/messages/send", "messages.send", gmailSend, s.gmailSend)
	}
	// Resumable chunks may also be PUT to the session URI.
	for _, p := range []string{up, rup} {
		route("PUT "+p+"/messages", "messages.insert", gmailInsert, s.gmailInsert("messages.insert"))
		route("PUT "+p+"/messages/import", "messages.import", gmailInsert, s.gmailInsert("messages.import"))
		route("PUT "+p+"/messages/send", "messages.send", gmailSend, s.gmailSend)
	}
	route("POST "+u+"/messages/{id}/modify", "messages.modify", gmailModify, s.gmailMessagesModify)
	route("POST "+u+"/messages/{id}/trash", "messages.trash", gmailModify, s.gmailMessagesTrash(true))
	route("POST "+u+"/messages/{id}/untrash", "messages.untrash", gmailModify, s.gmailMessagesTrash(false))
	route("DELETE "+u+"/messages/{id}", "messages.delete", gmailDelete, s.gmailMessagesDelete)
	route("POST "+u+"/messages/batchModify", "messages.batchModify", gmailModify, s.gmailBatchModify)
	route("POST "+u+"/messages/batchDelete", "messages.batchDelete", gmailDelete, s.gmailBatchDelete)

	route("GET "+u+"/labels", "labels.list", gmailLabelR, s.gmailLabelsList)
	route("GET "+u+"/labels/{id}", "labels.get", gmailLabelR, s.gmailLabelsGet)
	route("POST "+u+"/labels", "labels.create", gmailLabelW, s.gmailLabelsWrite("create"))
	route("PUT "+u+"/labels/{id}", "labels.update", gmailLabelW, s.gmailLabelsWrite("update"))
	route("PATCH "+u+"/labels/{id}", "labels.patch", gmailLabelW, s.gmailLabelsWrite("patch"))
	route("DELETE "+u+"/labels/{id}", "labels.delete", gmailLabelW, s.gmailLabelsDelete)

	route("GET "+u+"/threads", "threads.list", gmailRead, s.gmailThreadsList)
	route("GET "+u+"/threads/{id}", "threads.get", gmailRead, s.gmailThreadsGet)
	route("POST "+u+"/threads/{id}/modify", "threads.modify", gmailModify, s.gmailThreadsModify("modify"))
	route("POST "+u+"/threads/{id}/trash", "threads.trash", gmailModify, s.gmailThreadsModify("trash"))
	route("POST "+u+"/threads/{id}/untrash", "threads.untrash", gmailModify, s.gmailThreadsModify("untrash"))
	route("DELETE "+u+"/threads/{id}", "threads.delete", gmailDelete, s.gmailThreadsModify("delete"))

	route("GET "+u+"/history", "history.list", gmailRead, s.gmailHistoryList)

	// The outer batch request has its own key, "gmail.batch", for faults
	// and Stats: each part still counts as a "gmail" call. It needs no
	// token of its own (each part is checked). It is logged on arrival,
	// before any fault (GmailBatchLog).
	batch := http.NewServeMux()
	s.handle(batch, "POST /batch/gmail/v1", endpoint{
		api: gmailBatchAPI, method: "batch", noAuth: true, style: styleJSON,
		h: func(w http.ResponseWriter, r *http.Request) { s.gmailBatch(w, r, mux) },
	})
	mux.HandleFunc("POST /batch/gmail/v1", func(w http.ResponseWriter, r *http.Request) {
		batch.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), batchEntryKey{}, s.gmailBatchArrived())))
	})
}

// gmailUser resolves the userId path parameter against the token.
func (s *Server) gmailUser(w http.ResponseWriter, r *http.Request, c *caller) (string, bool) {
	s.mu.Lock()
	u := s.usersByEmail[c.Subject]
	s.mu.Unlock()
	if u == nil {
		writeError(w, http.StatusBadRequest, "failedPrecondition", "Precondition check failed.")
		return "", false
	}
	uid := r.PathValue("userId")
	if uid != "me" && !strings.EqualFold(uid, u.email) {
		writeError(w, http.StatusForbidden, "forbidden", "Delegation denied for "+u.email)
		return "", false
	}
	return u.email, true
}

// metadataOnly reports whether the token's only Gmail scope is
// gmail.metadata, which forbids bodies and searches.
func metadataOnly(r *http.Request) bool {
	t := callerFrom(r).token
	if t == nil || !t.scopes[scopeGmailMetadata] {
		return false
	}
	for _, sc := range []string{allScopes, scopeGmailFull, scopeGmailModify, scopeGmailReadonly} {
		if t.scopes[sc] {
			return false
		}
	}
	return true
}

func gmailNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
}

func gmailInvalid(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, "invalidArgument", msg)
}

// ---- JSON shapes ----

type gmailMessageJSON struct {
	ID           string         `json:"id"`
	ThreadID     string         `json:"threadId"`
	LabelIDs     []string       `json:"labelIds,omitempty"`
	Snippet      string         `json:"snippet,omitempty"`
	Payload      *gmailPartJSON `json:"payload,omitempty"`
	SizeEstimate int            `json:"sizeEstimate,omitempty"`
	HistoryID    uint64         `json:"historyId,omitempty,string"`
	InternalDate int64          `json:"internalDate,omitempty,string"`
	Raw          string         `json:"raw,omitempty"`
}

type gmailPartJSON struct {
	PartID   string           `json:"partId"`
	MimeType string           `json:"mimeType"`
	Filename string           `json:"filename"`
	Headers  []gmailHeader    `json:"headers"`
	Body     *gmailBodyJSON   `json:"body,omitempty"`
	Parts    []*gmailPartJSON `json:"parts,omitempty"`
}

type gmailBodyJSON struct {
	AttachmentID string `json:"attachmentId,omitempty"`
	Size         int    `json:"size"`
	Data         string `json:"data,omitempty"`
}

// gmailRef is a message reference: id and thread id only.
type gmailRef struct {
	ID       string `json:"id"`
	ThreadID string `json:"threadId"`
}

// gmailFormat reads the format parameter (default full).
func gmailFormat(w http.ResponseWriter, r *http.Request) (string, bool) {
	f := strings.ToLower(r.URL.Query().Get("format"))
	switch f {
	case "":
		f = "full"
	case "minimal", "full", "raw", "metadata":
	default:
		gmailInvalid(w, "Invalid value at 'format' ("+r.URL.Query().Get("format")+")")
		return "", false
	}
	if metadataOnly(r) && (f == "full" || f == "raw") {
		writeError(w, http.StatusForbidden, "forbidden", "Metadata scope doesn't allow format "+strings.ToUpper(f))
		return "", false
	}
	return f, true
}

// messageJSON renders gm in a format; metaHeaders filters the headers of
// the metadata format (none: all).
func messageJSON(gm *gmailMsg, format string, metaHeaders []string) gmailMessageJSON {
	m := gmailMessageJSON{
		ID: gm.m.id, ThreadID: gm.threadID, LabelIDs: slices.Clone(gm.labels),
		HistoryID: gm.historyID, InternalDate: gm.internal.UnixMilli(),
		SizeEstimate: len(gm.m.raw), Snippet: gm.parse().snippet,
	}
	root := gm.parse().root
	switch format {
	case "raw":
		m.Raw = b64url(gm.m.raw)
	case "metadata":
		hs := root.headers
		if len(metaHeaders) > 0 {
			hs = nil
			for _, h := range root.headers {
				if slices.ContainsFunc(metaHeaders, func(n string) bool { return strings.EqualFold(n, h.Name) }) {
					hs = append(hs, h)
				}
			}
		}
		m.Payload = &gmailPartJSON{MimeType: root.mimeType, Headers: nonNil(hs)}
	case "full":
		m.Payload = partJSON(gm.m.id, root)
	}
	return m
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func partJSON(msgID string, p *gmailPart) *gmailPartJSON {
	j := &gmailPartJSON{PartID: p.partID, MimeType: p.mimeType, Filename: p.filename, Headers: nonNil(p.headers), Body: &gmailBodyJSON{}}
	if len(p.parts) > 0 {
		for _, c := range p.parts {
			j.Parts = append(j.Parts, partJSON(msgID, c))
		}
		return j
	}
	j.Body.Size = len(p.data)
	if p.filename != "" {
		j.Body.AttachmentID = attachmentID(msgID, p.partID)
	} else if len(p.data) > 0 {
		j.Body.Data = b64url(p.data)
	}
	return j
}

// attachmentID is an opaque id naming a part of a message.
func attachmentID(msgID, partID string) string {
	return "ANGjdJ" + b64url([]byte("wst-att:"+msgID+":"+partID))
}

// ---- paging ----

// gmailPaging reads maxResults (default def, values above max are
// lowered to max, as Gmail does) and pageToken for a list of n items.
func gmailPaging(w http.ResponseWriter, r *http.Request, n, def, maxN int) (from, to int, next string, ok bool) {
	q := r.URL.Query()
	size := def
	if v := q.Get("maxResults"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 {
			gmailInvalid(w, "Invalid value for maxResults: "+v)
			return 0, 0, "", false
		}
		if k > 0 {
			size = min(k, maxN)
		}
	}
	if t := q.Get("pageToken"); t != "" {
		b, err := decodeB64(t)
		k, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "wst:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "wst:") || k < 0 {
			gmailInvalid(w, "Invalid pageToken")
			return 0, 0, "", false
		}
		from = min(k, n)
	}
	to = min(from+size, n)
	if to < n {
		next = pageToken(to)
	}
	return from, to, next, true
}

// ---- messages ----

// gmailFilter selects messages by labelIds, q and includeSpamTrash. It
// writes the refusal and returns nil, false on a bad parameter.
func (s *Server) gmailFilter(w http.ResponseWriter, r *http.Request, b *gmailBox) (func(*gmailMsg) bool, bool) {
	qv := r.URL.Query()
	labels := qv["labelIds"]
	for _, l := range labels {
		if b.labels[l] == nil {
			gmailInvalid(w, "Invalid label: "+l)
			return nil, false
		}
	}
	var q gmailQuery
	if raw := qv.Get("q"); raw != "" {
		if metadataOnly(r) {
			writeError(w, http.StatusForbidden, "forbidden", "Metadata scope does not support 'q' parameter")
			return nil, false
		}
		var problem string
		if q, problem = parseGmailQuery(raw); problem != "" {
			gmailInvalid(w, problem)
			return nil, false
		}
	}
	spamTrash := qv.Get("includeSpamTrash") == "true" || q.spamTrash ||
		slices.Contains(labels, "SPAM") || slices.Contains(labels, "TRASH")
	return func(gm *gmailMsg) bool {
		if !spamTrash && (gm.has("SPAM") || gm.has("TRASH")) {
			return false
		}
		for _, l := range labels {
			if !gm.has(l) {
				return false
			}
		}
		return q.matches(b, gm)
	}, true
}

func (s *Server) gmailMessagesList(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	b := s.gmailBoxLocked(user)
	keep, ok := s.gmailFilter(w, r, b)
	if !ok {
		s.mu.Unlock()
		return
	}
	var refs []gmailRef
	for _, gm := range b.visible() {
		if keep(gm) {
			refs = append(refs, gmailRef{gm.m.id, gm.threadID})
		}
	}
	s.mu.Unlock()
	from, to, next, ok := gmailPaging(w, r, len(refs), 100, 500)
	if !ok {
		return
	}
	gmailReply(w, r, http.StatusOK, struct {
		Messages           []gmailRef `json:"messages,omitempty"`
		NextPageToken      string     `json:"nextPageToken,omitempty"`
		ResultSizeEstimate int        `json:"resultSizeEstimate"`
	}{refs[from:to], next, len(refs)})
}

func (s *Server) gmailMessagesGet(w http.ResponseWriter, r *http.Request, user string) {
	format, ok := gmailFormat(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	gm := s.gmailBoxLocked(user).message(r.PathValue("id"))
	var m gmailMessageJSON
	if gm != nil {
		m = messageJSON(gm, format, r.URL.Query()["metadataHeaders"])
	}
	s.mu.Unlock()
	if gm == nil {
		gmailNotFound(w)
		return
	}
	gmailReply(w, r, http.StatusOK, m)
}

func (s *Server) gmailAttachmentGet(w http.ResponseWriter, r *http.Request, user string) {
	if metadataOnly(r) {
		writeError(w, http.StatusForbidden, "forbidden", "Metadata scope doesn't allow format FULL")
		return
	}
	msgID, attID := r.PathValue("messageId"), r.PathValue("id")
	s.mu.Lock()
	gm := s.gmailBoxLocked(user).message(msgID)
	var part *gmailPart
	if gm != nil {
		b, err := decodeB64(strings.TrimPrefix(attID, "ANGjdJ"))
		rest, found := strings.CutPrefix(string(b), "wst-att:"+msgID+":")
		if err == nil && found {
			part = gm.parse().root.findPart(rest)
		}
	}
	s.mu.Unlock()
	if part == nil {
		gmailNotFound(w)
		return
	}
	gmailReply(w, r, http.StatusOK, gmailBodyJSON{AttachmentID: attID, Size: len(part.data), Data: b64url(part.data)})
}

// gmailMessageIn is a message resource in a request.
type gmailMessageIn struct {
	Raw      string   `json:"raw"`
	LabelIDs []string `json:"labelIds"`
	ThreadID string   `json:"threadId"`
}

// gmailReadMessage reads the message of an insert, import or send: a
// JSON resource with raw, or an upload (media or multipart). On a problem
// it writes the refusal and returns ok false.
func (s *Server) gmailReadMessage(w http.ResponseWriter, r *http.Request, user string, limit int) (meta gmailMessageIn, raw []byte, ok bool) {
	tooBig := func() {
		writeError(w, http.StatusRequestEntityTooLarge, "uploadTooLarge",
			errorf("Media larger than the limit of %d bytes.", limit))
	}
	readAll := func(rd io.Reader, n int) ([]byte, bool) {
		b, err := io.ReadAll(io.LimitReader(rd, int64(n)+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "badRequest", "Could not read the request body: "+err.Error())
			return nil, false
		}
		return b, true
	}
	checkMedia := func(ct string) bool {
		mt, _, err := mime.ParseMediaType(ct)
		if ct == "" || (err == nil && strings.HasPrefix(mt, "message/")) {
			return true
		}
		writeError(w, http.StatusBadRequest, "badContent", "Media type '"+ct+"' is not supported. Valid media types: [message/*]")
		return false
	}
	if !isUploadPath(r.URL.Path) {
		body, ok := readAll(r.Body, limit/3*4+1<<20)
		if !ok {
			return meta, nil, false
		}
		if len(body) > limit/3*4+1<<20 {
			tooBig()
			return meta, nil, false
		}
		if err := json.Unmarshal(body, &meta); err != nil {
			gmailInvalid(w, "Invalid JSON payload received. "+err.Error())
			return meta, nil, false
		}
		if meta.Raw == "" {
			gmailInvalid(w, "'raw' RFC822 payload message string or uploading message via /upload/* URL required")
			return meta, nil, false
		}
		raw, err := decodeB64(meta.Raw)
		if err != nil {
			gmailInvalid(w, "Invalid value for ByteString: raw")
			return meta, nil, false
		}
		if len(raw) > limit {
			tooBig()
			return meta, nil, false
		}
		return meta, raw, true
	}
	ct := r.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	ut, utOK := uploadType(r)
	if !utOK {
		writeError(w, http.StatusBadRequest, "badRequest",
			"Invalid uploadType "+r.URL.Query().Get("uploadType")+" on a /resumable/upload URI; use resumable, or the /upload URI.")
		return meta, nil, false
	}
	var media io.Reader
	switch ut {
	case "resumable":
		return s.gmailResumable(w, r, user, limit)
	case "media":
		if !checkMedia(ct) {
			return meta, nil, false
		}
		media = r.Body
	case "multipart":
		if mt != "multipart/related" || params["boundary"] == "" {
			writeError(w, http.StatusBadRequest, "badContent", "uploadType=multipart needs a multipart/related body")
			return meta, nil, false
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		mp, err := mr.NextPart()
		if err != nil {
			writeError(w, http.StatusBadRequest, "badContent", "Missing metadata part in multipart upload")
			return meta, nil, false
		}
		mb, ok := readAll(mp, 1<<20)
		if !ok {
			return meta, nil, false
		}
		if len(bytes.TrimSpace(mb)) > 0 && json.Unmarshal(mb, &meta) != nil {
			gmailInvalid(w, "Invalid JSON payload received in the metadata part.")
			return meta, nil, false
		}
		part, err := mr.NextPart()
		if err != nil {
			writeError(w, http.StatusBadRequest, "badContent", "Missing media part in multipart upload")
			return meta, nil, false
		}
		if !checkMedia(part.Header.Get("Content-Type")) {
			return meta, nil, false
		}
		media = part
	default:
		writeError(w, http.StatusBadRequest, "badRequest", "Invalid uploadType "+ut+"; use media, multipart or resumable.")
		return meta, nil, false
	}
	raw, ok = readAll(media, limit)
	if !ok {
		return meta, nil, false
	}
	if len(raw) > limit {
		tooBig()
		return meta, nil, false
	}
	return meta, raw, true
}

// checkRaw applies Gmail's light checks to a message.
func checkRaw(w http.ResponseWriter, raw []byte) bool {
	if len(bytes.TrimSpace(raw)) == 0 {
		gmailInvalid(w, "'raw' RFC822 payload message string or uploading message via /upload/* URL required")
		return false
	}
	if _, err := mail.ReadMessage(bytes.NewReader(raw)); err != nil {
		gmailInvalid(w, "Invalid RFC 822 message: "+err.Error())
		return false
	}
	return true
}

// checkLabelsLocked refuses label ids the mailbox does not have.
func checkLabelsLocked(w http.ResponseWriter, b *gmailBox, ids ...[]string) bool {
	for _, list := range ids {
		for _, l := range list {
			if b.labels[l] == nil {
				gmailInvalid(w, "Invalid label: "+l)
				return false
			}
		}
	}
	return true
}

// gmailInsert serves messages.insert and messages.import.
func (s *Server) gmailInsert(method string) gmailHandler {
	return func(w http.ResponseWriter, r *http.Request, user string) {
		src := r.URL.Query().Get("internalDateSource")
		if src == "" {
			src = "receivedTime"
			if method == "messages.import" {
				src = "dateHeader"
			}
		}
		if src != "receivedTime" && src != "dateHeader" {
			gmailInvalid(w, "Invalid value at 'internal_date_source' ("+src+")")
			return
		}
		meta, raw, ok := s.gmailReadMessage(w, r, user, GmailMaxImportSize)
		if !ok || !checkRaw(w, raw) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		b := s.gmailBoxLocked(user)
		if !checkLabelsLocked(w, b, meta.LabelIDs) {
			return
		}
		var internal time.Time
		if src == "dateHeader" {
			internal = messageDate(raw, s.nowLocked())
		}
		gm := s.gmailAddLocked(user, raw, meta.LabelIDs, internal, meta.ThreadID)
		if r.URL.Query().Get("deleted") == "true" {
			// Only Vault sees it: gone from Gmail, kept (deleted) in the store.
			s.gmailDeleteLocked(b, gm, s.nowLocked())
		}
		gmailReply(w, r, http.StatusOK, gmailMessageJSON{ID: gm.m.id, ThreadID: gm.threadID, LabelIDs: slices.Clone(gm.labels)})
	}
}

func (s *Server) gmailSend(w http.ResponseWriter, r *http.Request, user string) {
	meta, raw, ok := s.gmailReadMessage(w, r, user, GmailMaxSendSize)
	if !ok || !checkRaw(w, raw) {
		return
	}
	msg, _ := mail.ReadMessage(bytes.NewReader(raw))
	var rcpts []*mail.Address
	for _, f := range []string{"To", "Cc", "Bcc"} {
		if v := msg.Header.Get(f); v != "" {
			list, _ := mail.ParseAddressList(v)
			rcpts = append(rcpts, list...)
		}
	}
	if len(rcpts) == 0 {
		gmailInvalid(w, "Recipient address required")
		return
	}
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	b := s.gmailBoxLocked(user)
	kept := b.sends[:0]
	for _, t := range b.sends {
		if now.Sub(t) < 24*time.Hour {
			kept = append(kept, t)
		}
	}
	b.sends = kept
	if limit := max(1, int(float64(g.cfg.DailySendLimit)*s.cfg.speed)); len(b.sends) >= limit {
		until := b.sends[0].Add(24 * time.Hour)
		msg := "User-rate limit exceeded.  Retry after " + until.UTC().Format("2006-01-02T15:04:05.000Z") + " (Mail sending)"
		writeGoogleError(w, googleError{
			Code:    http.StatusTooManyRequests,
			Message: msg,
			Header:  http.Header{"Retry-After": {retryAfterValue(until.Sub(now))}},
			Items:   []errorItem{{Domain: "usageLimits", Reason: "rateLimitExceeded", Message: msg}},
		})
		return
	}
	raw = completeHeaders(raw, msg.Header, user, now, len(b.sends)+len(b.msgs))
	labels := []string{"SENT"}
	delivered := map[string]bool{}
	for _, a := range rcpts {
		addr := strings.ToLower(a.Address)
		if addr == user {
			labels = append(labels, "INBOX", "UNREAD")
		}
	}
	gm := s.gmailAddLocked(user, raw, labels, now, meta.ThreadID)
	b.sends = append(b.sends, now)
	for _, a := range rcpts {
		addr := strings.ToLower(a.Address)
		if addr == user || delivered[addr] || s.usersByEmail[addr] == nil {
			continue
		}
		delivered[addr] = true
		s.gmailAddLocked(addr, raw, []string{"INBOX", "UNREAD"}, now, "")
	}
	gmailReply(w, r, http.StatusOK, gmailMessageJSON{ID: gm.m.id, ThreadID: gm.threadID, LabelIDs: slices.Clone(gm.labels)})
}

// completeHeaders adds the From, Date and Message-ID headers Gmail adds
// to a sent message that lacks them.
func completeHeaders(raw []byte, h mail.Header, user string, now time.Time, n int) []byte {
	eol := "\n"
	if bytes.Contains(raw, []byte("\r\n")) {
		eol = "\r\n"
	}
	var add strings.Builder
	if h.Get("From") == "" {
		add.WriteString("From: " + user + eol)
	}
	if h.Get("Date") == "" {
		add.WriteString("Date: " + now.Format(time.RFC1123Z) + eol)
	}
	if h.Get("Message-Id") == "" {
		add.WriteString(errorf("Message-ID: <wst.%d.%d.%s>%s", now.UnixNano(), n, strings.Replace(user, "@", ".mail@", 1), eol))
	}
	if add.Len() == 0 {
		return raw
	}
	return append([]byte(add.String()), raw...)
}

// gmailModifyIn is the body of modify and batchModify.
type gmailModifyIn struct {
	IDs            []string `json:"ids"`
	AddLabelIDs    []string `json:"addLabelIds"`
	RemoveLabelIDs []string `json:"removeLabelIds"`
}

func readJSONBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "Could not read the request body.")
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true
	}
	if err := json.Unmarshal(b, v); err != nil {
		gmailInvalid(w, "Invalid JSON payload received. "+err.Error())
		return false
	}
	return true
}

func msgRef(gm *gmailMsg) gmailMessageJSON {
	return gmailMessageJSON{ID: gm.m.id, ThreadID: gm.threadID, LabelIDs: slices.Clone(gm.labels)}
}

func (s *Server) gmailMessagesModify(w http.ResponseWriter, r *http.Request, user string) {
	var in gmailModifyIn
	if !readJSONBody(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.gmailBoxLocked(user)
	gm := b.message(r.PathValue("id"))
	if gm == nil {
		gmailNotFound(w)
		return
	}
	if !checkLabelsLocked(w, b, in.AddLabelIDs, in.RemoveLabelIDs) {
		return
	}
	s.gmailChangeLabelsLocked(b, gm, in.AddLabelIDs, in.RemoveLabelIDs, s.nowLocked())
	gmailReply(w, r, http.StatusOK, msgRef(gm))
}

// gmailMessagesTrash serves trash (to true) and untrash.
func (s *Server) gmailMessagesTrash(to bool) gmailHandler {
	return func(w http.ResponseWriter, r *http.Request, user string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		b := s.gmailBoxLocked(user)
		gm := b.message(r.PathValue("id"))
		if gm == nil {
			gmailNotFound(w)
			return
		}
		trashLocked(s, b, gm, to)
		gmailReply(w, r, http.StatusOK, msgRef(gm))
	}
}

func trashLocked(s *Server, b *gmailBox, gm *gmailMsg, to bool) {
	if to {
		s.gmailChangeLabelsLocked(b, gm, []string{"TRASH"}, []string{"SPAM"}, s.nowLocked())
	} else {
		s.gmailChangeLabelsLocked(b, gm, nil, []string{"TRASH"}, s.nowLocked())
	}
}

func (s *Server) gmailMessagesDelete(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.gmailBoxLocked(user)
	gm := b.message(r.PathValue("id"))
	if gm == nil {
		gmailNotFound(w)
		return
	}
	s.gmailDeleteLocked(b, gm, s.nowLocked())
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) gmailBatchModify(w http.ResponseWriter, r *http.Request, user string) {
	var in gmailModifyIn
	if !readJSONBody(w, r, &in) {
		return
	}
	if len(in.IDs) > 1000 {
		gmailInvalid(w, "Too many ids: at most 1000 messages per request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.gmailBoxLocked(user)
	if !checkLabelsLocked(w, b, in.AddLabelIDs, in.RemoveLabelIDs) {
		return
	}
	now := s.nowLocked()
	for _, id := range in.IDs {
		if gm := b.message(id); gm != nil {
			s.gmailChangeLabelsLocked(b, gm, in.AddLabelIDs, in.RemoveLabelIDs, now)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) gmailBatchDelete(w http.ResponseWriter, r *http.Request, user string) {
	var in gmailModifyIn
	if !readJSONBody(w, r, &in) {
		return
	}
	if len(in.IDs) > 1000 {
		gmailInvalid(w, "Too many ids: at most 1000 messages per request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.gmailBoxLocked(user)
	now := s.nowLocked()
	for _, id := range in.IDs {
		if gm := b.message(id); gm != nil {
			s.gmailDeleteLocked(b, gm, now)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- labels ----

type gmailLabelFull struct {
	gmailLabel
	MessagesTotal  int `json:"messagesTotal"`
	MessagesUnread int `json:"messagesUnread"`
	ThreadsTotal   int `json:"threadsTotal"`
	ThreadsUnread  int `json:"threadsUnread"`
}

// sortedLabels lists system labels in their usual order, then user labels
// by creation.
func (b *gmailBox) sortedLabels() []*gmailLabel {
	var out []*gmailLabel
	for _, id := range gmailSystemLabels {
		out = append(out, b.labels[id])
	}
	var user []*gmailLabel
	for _, l := range b.labels {
		if l.Type == "user" {
			user = append(user, l)
		}
	}
	slices.SortFunc(user, func(x, y *gmailLabel) int {
		a, _ := strconv.Atoi(strings.TrimPrefix(x.ID, "Label_"))
		c, _ := strconv.Atoi(strings.TrimPrefix(y.ID, "Label_"))
		return a - c
	})
	return append(out, user...)
}

func (s *Server) gmailLabelsList(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	var out []gmailLabel
	for _, l := range s.gmailBoxLocked(user).sortedLabels() {
		out = append(out, *l)
	}
	s.mu.Unlock()
	gmailReply(w, r, http.StatusOK, struct {
		Labels []gmailLabel `json:"labels"`
	}{out})
}

func (s *Server) gmailLabelsGet(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	b := s.gmailBoxLocked(user)
	l := b.labels[r.PathValue("id")]
	var full gmailLabelFull
	if l != nil {
		full.gmailLabel = *l
		threads, unread := map[string]bool{}, map[string]bool{}
		for _, gm := range b.visible() {
			if !gm.has(l.ID) {
				continue
			}
			full.MessagesTotal++
			threads[gm.threadID] = true
			if gm.has("UNREAD") {
				full.MessagesUnread++
				unread[gm.threadID] = true
			}
		}
		full.ThreadsTotal, full.ThreadsUnread = len(threads), len(unread)
	}
	s.mu.Unlock()
	if l == nil {
		gmailNotFound(w)
		return
	}
	gmailReply(w, r, http.StatusOK, full)
}

// gmailLabelsWrite serves labels.create, update and patch.
func (s *Server) gmailLabelsWrite(op string) gmailHandler {
	return func(w http.ResponseWriter, r *http.Request, user string) {
		var in gmailLabel
		if !readJSONBody(w, r, &in) {
			return
		}
		in.Name = strings.TrimSpace(in.Name)
		s.mu.Lock()
		defer s.mu.Unlock()
		b := s.gmailBoxLocked(user)
		var l *gmailLabel
		if op != "create" {
			if l = b.labels[r.PathValue("id")]; l == nil {
				gmailNotFound(w)
				return
			}
			if l.Type == "system" {
				gmailInvalid(w, "Invalid update request: system label "+l.ID+" cannot be changed")
				return
			}
		}
		if in.Name == "" && op != "patch" {
			gmailInvalid(w, "Invalid label name")
			return
		}
		if in.Name != "" {
			if slices.ContainsFunc(gmailSystemLabels, func(id string) bool { return strings.EqualFold(id, in.Name) }) {
				gmailInvalid(w, "Invalid label name")
				return
			}
			if other := b.labelByNameOrID(in.Name); other != nil && other != l {
				writeError(w, http.StatusConflict, "conflict", "Label name exists or conflicts")
				return
			}
		}
		switch op {
		case "create":
			b.labelSeq++
			l = &gmailLabel{ID: "Label_" + strconv.Itoa(b.labelSeq), Type: "user",
				MessageListVisibility: "show", LabelListVisibility: "labelShow"}
			b.labels[l.ID] = l
			fallthrough
		case "update":
			l.Name = in.Name
			if in.MessageListVisibility != "" || op == "update" {
				l.MessageListVisibility = in.MessageListVisibility
			}
			if in.LabelListVisibility != "" || op == "update" {
				l.LabelListVisibility = in.LabelListVisibility
			}
			if in.Color != nil || op == "update" {
				l.Color = in.Color
			}
		case "patch":
			if in.Name != "" {
				l.Name = in.Name
			}
			if in.MessageListVisibility != "" {
				l.MessageListVisibility = in.MessageListVisibility
			}
			if in.LabelListVisibility != "" {
				l.LabelListVisibility = in.LabelListVisibility
			}
			if in.Color != nil {
				l.Color = in.Color
			}
		}
		gmailReply(w, r, http.StatusOK, *l)
	}
}

func (s *Server) gmailLabelsDelete(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.gmailBoxLocked(user)
	l := b.labels[r.PathValue("id")]
	switch {
	case l == nil:
		gmailNotFound(w)
		return
	case l.Type == "system":
		gmailInvalid(w, "Invalid delete request")
		return
	}
	delete(b.labels, l.ID)
	now := s.nowLocked()
	for _, gm := range b.visible() {
		if gm.has(l.ID) {
			s.gmailChangeLabelsLocked(b, gm, nil, []string{l.ID}, now)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- threads ----

type gmailThreadJSON struct {
	ID        string             `json:"id"`
	Snippet   string             `json:"snippet,omitempty"`
	HistoryID uint64             `json:"historyId,omitempty,string"`
	Messages  []gmailMessageJSON `json:"messages,omitempty"`
}

// threadMessages returns the live messages of a thread, oldest first.
func (b *gmailBox) threadMessages(id string) []*gmailMsg {
	var out []*gmailMsg
	for _, gm := range b.visible() {
		if gm.threadID == id {
			out = append(out, gm)
		}
	}
	slices.Reverse(out)
	return out
}

func (s *Server) gmailThreadsList(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	b := s.gmailBoxLocked(user)
	keep, ok := s.gmailFilter(w, r, b)
	if !ok {
		s.mu.Unlock()
		return
	}
	all := b.visible() // newest first: a thread sorts by its newest match
	newest := map[string]*gmailMsg{}
	hist := map[string]uint64{}
	for _, gm := range all {
		if newest[gm.threadID] == nil {
			newest[gm.threadID] = gm
		}
		hist[gm.threadID] = max(hist[gm.threadID], gm.historyID)
	}
	var threads []gmailThreadJSON
	seen := map[string]bool{}
	for _, gm := range all {
		if seen[gm.threadID] || !keep(gm) {
			continue
		}
		seen[gm.threadID] = true
		threads = append(threads, gmailThreadJSON{ID: gm.threadID, Snippet: newest[gm.threadID].parse().snippet, HistoryID: hist[gm.threadID]})
	}
	s.mu.Unlock()
	from, to, next, ok := gmailPaging(w, r, len(threads), 100, 500)
	if !ok {
		return
	}
	gmailReply(w, r, http.StatusOK, struct {
		Threads            []gmailThreadJSON `json:"threads,omitempty"`
		NextPageToken      string            `json:"nextPageToken,omitempty"`
		ResultSizeEstimate int               `json:"resultSizeEstimate"`
	}{threads[from:to], next, len(threads)})
}

func (s *Server) gmailThreadsGet(w http.ResponseWriter, r *http.Request, user string) {
	format, ok := gmailFormat(w, r)
	if !ok {
		return
	}
	if format == "raw" {
		gmailInvalid(w, "Invalid value at 'format' (RAW): threads.get does not support the raw format")
		return
	}
	s.mu.Lock()
	msgs := s.gmailBoxLocked(user).threadMessages(r.PathValue("id"))
	t := gmailThreadJSON{ID: r.PathValue("id")}
	for _, gm := range msgs {
		t.Messages = append(t.Messages, messageJSON(gm, format, r.URL.Query()["metadataHeaders"]))
		t.HistoryID = max(t.HistoryID, gm.historyID)
	}
	s.mu.Unlock()
	if len(msgs) == 0 {
		gmailNotFound(w)
		return
	}
	gmailReply(w, r, http.StatusOK, t)
}

// gmailThreadsModify serves threads.modify, trash, untrash and delete by
// applying the change to each message of the thread.
func (s *Server) gmailThreadsModify(op string) gmailHandler {
	return func(w http.ResponseWriter, r *http.Request, user string) {
		var in gmailModifyIn
		if op == "modify" && !readJSONBody(w, r, &in) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		b := s.gmailBoxLocked(user)
		msgs := b.threadMessages(r.PathValue("id"))
		if len(msgs) == 0 {
			gmailNotFound(w)
			return
		}
		if !checkLabelsLocked(w, b, in.AddLabelIDs, in.RemoveLabelIDs) {
			return
		}
		now := s.nowLocked()
		t := gmailThreadJSON{ID: r.PathValue("id")}
		for _, gm := range msgs {
			switch op {
			case "modify":
				s.gmailChangeLabelsLocked(b, gm, in.AddLabelIDs, in.RemoveLabelIDs, now)
			case "trash", "untrash":
				trashLocked(s, b, gm, op == "trash")
			case "delete":
				s.gmailDeleteLocked(b, gm, now)
				continue
			}
			t.Messages = append(t.Messages, msgRef(gm))
			t.HistoryID = max(t.HistoryID, gm.historyID)
		}
		if op == "delete" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		gmailReply(w, r, http.StatusOK, t)
	}
}

// ---- history and profile ----

type gmailHistoryMsg struct {
	Message gmailMessageJSON `json:"message"`
}

type gmailHistoryLabels struct {
	Message  gmailMessageJSON `json:"message"`
	LabelIDs []string         `json:"labelIds"`
}

type gmailHistoryJSON struct {
	ID              uint64               `json:"id,string"`
	Messages        []gmailRef           `json:"messages,omitempty"`
	MessagesAdded   []gmailHistoryMsg    `json:"messagesAdded,omitempty"`
	MessagesDeleted []gmailHistoryMsg    `json:"messagesDeleted,omitempty"`
	LabelsAdded     []gmailHistoryLabels `json:"labelsAdded,omitempty"`
	LabelsRemoved   []gmailHistoryLabels `json:"labelsRemoved,omitempty"`
}

func (s *Server) gmailHistoryList(w http.ResponseWriter, r *http.Request, user string) {
	qv := r.URL.Query()
	startStr := qv.Get("startHistoryId")
	if startStr == "" {
		writeGoogleError(w, googleError{Code: http.StatusBadRequest, Message: "Required parameter: startHistoryId",
			Items: []errorItem{{Domain: "global", Reason: "required", Message: "Required parameter: startHistoryId",
				Location: "startHistoryId", LocationType: "parameter"}}})
		return
	}
	start, err := strconv.ParseUint(startStr, 10, 64)
	if err != nil {
		gmailInvalid(w, "Invalid value for startHistoryId: "+startStr)
		return
	}
	types := qv["historyTypes"]
	for _, t := range types {
		if !slices.Contains([]string{"messageAdded", "messageDeleted", "labelAdded", "labelRemoved"}, t) {
			gmailInvalid(w, "Invalid value at 'history_types' ("+t+")")
			return
		}
	}
	labelID := qv.Get("labelId")
	s.mu.Lock()
	b := s.gmailBoxLocked(user)
	s.gmailPruneLocked(b, s.nowLocked())
	if start < b.floor || start > b.historyID {
		s.mu.Unlock()
		gmailNotFound(w)
		return
	}
	current := b.historyID
	var recs []gmailRecord
	for _, h := range b.history {
		if h.id <= start || (len(types) > 0 && !slices.Contains(types, h.kind)) {
			continue
		}
		if labelID != "" && !slices.Contains(h.labels, labelID) && !slices.Contains(h.changed, labelID) {
			continue
		}
		recs = append(recs, h)
	}
	s.mu.Unlock()
	from, to, next, ok := gmailPaging(w, r, len(recs), 100, 500)
	if !ok {
		return
	}
	out := make([]gmailHistoryJSON, 0, to-from)
	for _, h := range recs[from:to] {
		j := gmailHistoryJSON{ID: h.id, Messages: []gmailRef{{h.msgID, h.threadID}}}
		m := gmailMessageJSON{ID: h.msgID, ThreadID: h.threadID, LabelIDs: h.labels}
		switch h.kind {
		case "messageAdded":
			j.MessagesAdded = []gmailHistoryMsg{{m}}
		case "messageDeleted":
			j.MessagesDeleted = []gmailHistoryMsg{{m}}
		case "labelAdded":
			j.LabelsAdded = []gmailHistoryLabels{{m, h.changed}}
		case "labelRemoved":
			j.LabelsRemoved = []gmailHistoryLabels{{m, h.changed}}
		}
		out = append(out, j)
	}
	gmailReply(w, r, http.StatusOK, struct {
		History       []gmailHistoryJSON `json:"history,omitempty"`
		NextPageToken string             `json:"nextPageToken,omitempty"`
		HistoryID     uint64             `json:"historyId,string"`
	}{out, next, current})
}

func (s *Server) gmailProfile(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	b := s.gmailBoxLocked(user)
	msgs := b.visible()
	threads := map[string]bool{}
	for _, gm := range msgs {
		threads[gm.threadID] = true
	}
	hid := b.historyID
	s.mu.Unlock()
	gmailReply(w, r, http.StatusOK, struct {
		EmailAddress  string `json:"emailAddress"`
		MessagesTotal int    `json:"messagesTotal"`
		ThreadsTotal  int    `json:"threadsTotal"`
		HistoryID     uint64 `json:"historyId,string"`
	}{user, len(msgs), len(threads), hid})
}
