package workspacetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Resumable uploads (uploadType=resumable) for messages.insert, import and
// send, as Google's upload servers run them and google.golang.org/api uses
// them for media larger than one chunk (16 MiB by default):
//
//  1. POST /upload/gmail/v1/users/{userId}/messages[/import|/send]
//     ?uploadType=resumable, or the same under /resumable/upload/...
//     (the discovery document's mediaUpload.protocols.resumable.path;
//     uploadType may be left out there and must be resumable if given),
//     with the message resource (JSON, raw left out) and
//     X-Upload-Content-Type: message/rfc822. The reply is 200 with the
//     session URI in Location (under the path the session was started
//     on). This call is the one charged to the quota.
//  2. POST (or PUT) the session URI with chunks, each with Content-Range
//     "bytes first-last/total" (total "*" while unknown; "bytes */total"
//     to finish without data). Until the last byte arrives the reply is
//     308 with "Range: bytes=0-last", or 200 with
//     X-Http-Status-Code-Override: 308 when the request says
//     X-GUploader-No-308: yes. The last chunk gets the method's normal
//     reply. Chunks cost no quota units but go through auth, faults and
//     the concurrency cap; a chunk re-sent after a failure may overlap
//     what was received (the overlap is skipped).
//  3. After an interruption, a client asks how far the upload got with an
//     empty PUT and "Content-Range: bytes */total": 308 with the Range
//     received (no Range when nothing was), and resumes from there. Once
//     the last byte has arrived, every request to the session (a status
//     query, a chunk sent again) gets the reply that finished the upload
//     again, so a client whose last chunk's reply was lost learns that
//     the message was stored, without storing it twice. A session that
//     ExpireGmailUploads dropped answers 404, as Google does once a
//     session has expired: the upload must start over.
//
// GmailUploadLog lists the requests each session received, with the
// bytes held before and after each, so tests can see where a client
// resumed.
//
// The Groups Migration API runs the same sessions for archive.insert
// with uploadType=resumable (migration.go), with its own media type,
// size limit and refusals; its sessions are not in GmailUploadLog.

// uploadRules are what a resumable session enforces for its API.
type uploadRules struct {
	gmail bool // requests are listed in GmailUploadLog
	limit int  // the largest upload, in bytes
	// mediaType returns the refusal text for an X-Upload-Content-Type
	// the API does not accept, "" when it accepts it.
	mediaType func(ct string) string
	// badMedia and tooBig write the API's refusals of a wrong media type
	// and of an upload over limit.
	badMedia func(w http.ResponseWriter, msg string)
	tooBig   func(w http.ResponseWriter)
}

// gmailUploadRules are the rules of Gmail's message uploads.
func gmailUploadRules(limit int) uploadRules {
	return uploadRules{
		gmail: true,
		limit: limit,
		mediaType: func(ct string) string {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.HasPrefix(mt, "message/") {
				return "Media type '" + ct + "' is not supported. Valid media types: [message/*]"
			}
			return ""
		},
		badMedia: func(w http.ResponseWriter, msg string) { writeError(w, http.StatusBadRequest, "badContent", msg) },
		tooBig: func(w http.ResponseWriter) {
			writeError(w, http.StatusRequestEntityTooLarge, "uploadTooLarge", errorf("Media larger than the limit of %d bytes.", limit))
		},
	}
}

// resumablePrefix starts the paths of the discovery documents'
// resumable protocol (mediaUpload.protocols.resumable.path).
const resumablePrefix = "/resumable/upload/"

// isUploadPath reports whether path is an upload URI: /upload/... or
// /resumable/upload/....
func isUploadPath(path string) bool {
	return strings.HasPrefix(path, "/upload/") || strings.HasPrefix(path, resumablePrefix)
}

// uploadType returns the request's upload protocol: the uploadType
// parameter, or when it is absent "resumable" under /resumable/upload/,
// "multipart" for a multipart body and "media" otherwise. ok is false
// for a protocol other than resumable under /resumable/upload/.
func uploadType(r *http.Request) (ut string, ok bool) {
	ut = r.URL.Query().Get("uploadType")
	if strings.HasPrefix(r.URL.Path, resumablePrefix) {
		return "resumable", ut == "" || ut == "resumable"
	}
	if ut == "" {
		ut = "media"
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.HasPrefix(mt, "multipart/") {
			ut = "multipart"
		}
	}
	return ut, true
}

// gmailUpload is a resumable upload session.
type gmailUpload struct {
	user  string // the mailbox owner, or "group:" and the group's address
	path  string
	meta  gmailMessageIn
	data  []byte
	rules uploadRules
	// finishedBy is the request that brought the last byte, size the
	// upload's length; reply is the answer that request got, kept for
	// later requests to the session.
	finishedBy *http.Request
	size       int64
	reply      *storedReply
}

// storedReply is the reply that finished an upload.
type storedReply struct {
	code   int
	header http.Header
	body   []byte
}

// GmailUploadRequest is one request to a resumable upload session, as
// GmailUploadLog lists it.
type GmailUploadRequest struct {
	UploadID string // the session (upload_id)
	User     string // the mailbox owner
	// First and Last are the byte range the request carried
	// (Content-Range), both -1 for a status query ("bytes */total").
	First, Last int64
	// Total is the upload's size as the request gave it, -1 for "*".
	Total int64
	// Received is how many bytes the session held when the request came;
	// Committed how many it held after it. A client that resumes from the
	// committed offset sends First == Received.
	Received, Committed int64
	// Finished is true once the session has every byte (the message was
	// stored, or refused, by the request that brought the last one).
	Finished bool
}

// GmailUploadLog returns the requests that reached resumable upload
// sessions (after auth, faults and quota), in order. Session starts are
// not listed.
func (s *Server) GmailUploadLog() []GmailUploadRequest {
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(g.uploadLog)
}

// ExpireGmailUploads drops every resumable upload session that has not
// received its last byte, as Google does after a week: the next request
// to one gets 404 and the client must start the upload over.
func (s *Server) ExpireGmailUploads() {
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, up := range g.uploads {
		if up.finishedBy == nil && up.rules.gmail {
			delete(g.uploads, id)
		}
	}
}

// gmailResumable handles a resumable upload request. It returns the
// finished message (meta and raw, ok true) on the last chunk; otherwise it
// has answered the request itself.
func (s *Server) gmailResumable(w http.ResponseWriter, r *http.Request, user string, limit int) (gmailMessageIn, []byte, bool) {
	return s.resumableUpload(w, r, user, gmailUploadRules(limit))
}

// resumableUpload handles a resumable upload request for owner (a
// mailbox, or a group archive) under rules. It returns the finished
// upload (meta and raw, ok true) on the last chunk; otherwise it has
// answered the request itself.
func (s *Server) resumableUpload(w http.ResponseWriter, r *http.Request, user string, rules uploadRules) (gmailMessageIn, []byte, bool) {
	g := s.gmail()
	q := r.URL.Query()
	id := q.Get("upload_id")
	if id == "" {
		return s.startUpload(w, r, user, rules)
	}
	limit := rules.limit
	s.mu.Lock()
	up := g.uploads[id]
	s.mu.Unlock()
	if up == nil || up.user != user || up.path != r.URL.Path {
		writeError(w, http.StatusNotFound, "notFound", "No upload session "+id+".")
		return gmailMessageIn{}, nil, false
	}
	first, last, total, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		writeError(w, http.StatusBadRequest, "badRequest", "Invalid Content-Range header: "+r.Header.Get("Content-Range"))
		return gmailMessageIn{}, nil, false
	}
	chunk, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "Could not read the chunk: "+err.Error())
		return gmailMessageIn{}, nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.uploads[id] != up {
		writeError(w, http.StatusNotFound, "notFound", "No upload session "+id+".")
		return gmailMessageIn{}, nil, false
	}
	have := int64(len(up.data))
	if up.finishedBy != nil {
		have = up.size
	}
	entry := GmailUploadRequest{UploadID: id, User: user, First: first, Last: last, Total: total, Received: have, Committed: have}
	logEntry := func() {
		if up.rules.gmail {
			g.uploadLog = append(g.uploadLog, entry)
		}
	}
	if up.finishedBy != nil {
		// Finished: whatever is asked, the reply that finished it.
		entry.Finished = true
		logEntry()
		if up.reply == nil { // the finishing request is still being answered
			writeError(w, http.StatusServiceUnavailable, "backendError", "The upload is being finalized; try again.")
			return gmailMessageIn{}, nil, false
		}
		maps.Copy(w.Header(), up.reply.header)
		w.WriteHeader(up.reply.code)
		_, _ = w.Write(up.reply.body)
		return gmailMessageIn{}, nil, false
	}
	defer logEntry()
	if first >= 0 {
		if first > have || last-first+1 != int64(len(chunk)) {
			writeError(w, http.StatusBadRequest, "badRequest",
				errorf("Chunk range %d-%d does not follow the %d bytes received (or does not match the %d bytes sent).", first, last, have, len(chunk)))
			return gmailMessageIn{}, nil, false
		}
		chunk = chunk[have-first:]
	}
	if int64(len(up.data))+int64(len(chunk)) > int64(limit) || (total > int64(limit)) {
		delete(g.uploads, id)
		rules.tooBig(w)
		return gmailMessageIn{}, nil, false
	}
	up.data = append(up.data, chunk...)
	entry.Committed = int64(len(up.data))
	if total < 0 || int64(len(up.data)) < total {
		if len(up.data) > 0 {
			w.Header().Set("Range", "bytes=0-"+strconv.Itoa(len(up.data)-1))
		}
		if strings.EqualFold(r.Header.Get("X-GUploader-No-308"), "yes") {
			w.Header().Set("X-Http-Status-Code-Override", "308")
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
		} else {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusPermanentRedirect)
		}
		return gmailMessageIn{}, nil, false
	}
	up.finishedBy, up.size = r, int64(len(up.data))
	entry.Finished = true
	return up.meta, up.data, true
}

// replyTee passes a reply through and keeps a copy of it.
type replyTee struct {
	http.ResponseWriter
	code   int
	header http.Header
	body   bytes.Buffer
}

func (t *replyTee) WriteHeader(code int) {
	if t.code == 0 {
		t.code, t.header = code, t.Header().Clone()
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *replyTee) Write(b []byte) (int, error) {
	if t.code == 0 {
		t.WriteHeader(http.StatusOK)
	}
	t.body.Write(b)
	return t.ResponseWriter.Write(b)
}

// gmailUploadReply keeps the reply of the request that finished upload
// id, if r was that request.
func (s *Server) gmailUploadReply(id string, r *http.Request, t *replyTee) {
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	up := g.uploads[id]
	if up == nil || up.finishedBy != r || up.reply != nil {
		return
	}
	code := t.code
	if code == 0 {
		code = http.StatusOK
	}
	h := t.header
	if h == nil {
		h = http.Header{}
	}
	up.reply = &storedReply{code: code, header: h, body: bytes.Clone(t.body.Bytes())}
	up.data = nil // handed over; size keeps its length
}

// startUpload opens a session and answers with its URI.
func (s *Server) startUpload(w http.ResponseWriter, r *http.Request, user string, rules uploadRules) (gmailMessageIn, []byte, bool) {
	var meta gmailMessageIn
	if ct := r.Header.Get("X-Upload-Content-Type"); ct != "" {
		if msg := rules.mediaType(ct); msg != "" {
			rules.badMedia(w, msg)
			return meta, nil, false
		}
	}
	if n, err := strconv.ParseInt(r.Header.Get("X-Upload-Content-Length"), 10, 64); err == nil && n > int64(rules.limit) {
		rules.tooBig(w)
		return meta, nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "Could not read the request body.")
		return meta, nil, false
	}
	if len(bytes.TrimSpace(b)) > 0 && json.Unmarshal(b, &meta) != nil {
		gmailInvalid(w, "Invalid JSON payload received.")
		return meta, nil, false
	}
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	id := "ABPtcP" + hex.EncodeToString(rnd[:])
	g := s.gmail()
	s.mu.Lock()
	g.uploads[id] = &gmailUpload{user: user, path: r.URL.Path, meta: meta, rules: rules}
	s.mu.Unlock()
	q := r.URL.Query()
	q.Set("upload_id", id)
	q.Set("uploadType", "resumable")
	loc := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Location", loc.String())
	w.Header().Set("X-GUploader-UploadID", id)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return meta, nil, false
}

// parseContentRange reads "bytes a-b/total", "bytes a-b/*" or
// "bytes */total"; first is -1 for the last form, total -1 when unknown.
func parseContentRange(v string) (first, last, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	total = -1
	if tot != "*" {
		n, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, 0, false
		}
		total = n
	}
	if rng == "*" {
		return -1, -1, total, total >= 0
	}
	a, b, found := strings.Cut(rng, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil || first < 0 || last < first || (total >= 0 && last >= total) {
		return 0, 0, 0, false
	}
	return first, last, total, true
}
