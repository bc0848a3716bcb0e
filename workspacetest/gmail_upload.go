package workspacetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Resumable uploads (uploadType=resumable) for messages.insert, import and
// send, as Google's upload servers run them and google.golang.org/api uses
// them for media larger than one chunk (16 MiB by default):
//
//  1. POST /upload/gmail/v1/users/{userId}/messages[/import|/send]
//     ?uploadType=resumable with the message resource (JSON, raw left
//     out) and X-Upload-Content-Type: message/rfc822. The reply is 200
//     with the session URI in Location. This call is the one charged to
//     the quota.
//  2. POST (or PUT) the session URI with chunks, each with Content-Range
//     "bytes first-last/total" (total "*" while unknown; "bytes */total"
//     to finish without data). Until the last byte arrives the reply is
//     308 with "Range: bytes=0-last", or 200 with
//     X-Http-Status-Code-Override: 308 when the request says
//     X-GUploader-No-308: yes. The last chunk gets the method's normal
//     reply. Chunks cost no quota units but go through auth, faults and
//     the concurrency cap; a chunk re-sent after a failure may overlap
//     what was received (the overlap is skipped).

// gmailUpload is an open resumable upload session.
type gmailUpload struct {
	user  string
	path  string
	meta  gmailMessageIn
	data  []byte
	limit int
}

// gmailResumable handles a resumable upload request. It returns the
// finished message (meta and raw, ok true) on the last chunk; otherwise it
// has answered the request itself.
func (s *Server) gmailResumable(w http.ResponseWriter, r *http.Request, user string, limit int) (gmailMessageIn, []byte, bool) {
	g := s.gmail()
	q := r.URL.Query()
	id := q.Get("upload_id")
	if id == "" {
		return s.gmailStartUpload(w, r, user, limit)
	}
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
		writeError(w, http.StatusRequestEntityTooLarge, "uploadTooLarge", errorf("Media larger than the limit of %d bytes.", limit))
		return gmailMessageIn{}, nil, false
	}
	up.data = append(up.data, chunk...)
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
	delete(g.uploads, id)
	return up.meta, up.data, true
}

// gmailStartUpload opens a session and answers with its URI.
func (s *Server) gmailStartUpload(w http.ResponseWriter, r *http.Request, user string, limit int) (gmailMessageIn, []byte, bool) {
	var meta gmailMessageIn
	if ct := r.Header.Get("X-Upload-Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.HasPrefix(mt, "message/") {
			writeError(w, http.StatusBadRequest, "badContent", "Media type '"+ct+"' is not supported. Valid media types: [message/*]")
			return meta, nil, false
		}
	}
	if n, err := strconv.ParseInt(r.Header.Get("X-Upload-Content-Length"), 10, 64); err == nil && n > int64(limit) {
		writeError(w, http.StatusRequestEntityTooLarge, "uploadTooLarge", errorf("Media larger than the limit of %d bytes.", limit))
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
	g.uploads[id] = &gmailUpload{user: user, path: r.URL.Path, meta: meta, limit: limit}
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
