package workspacetest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Gmail's HTTP batch endpoint, POST /batch/gmail/v1.
//
// The body is multipart/mixed; each part has Content-Type application/http
// and holds a whole HTTP request with a path-only URL (an absolute URL is
// cut to its path). Headers of the outer request, except Content-*, apply
// to every part that does not set them (so one Authorization serves all);
// outer query parameters likewise. At most 100 parts, else 400 for the
// whole batch.
//
// Each part runs through the server's normal pipeline, one after the other
// in order: token check, fault injection, Gmail quota units and the
// concurrency cap, then the handler; Stats count each part as a Gmail
// call. The reply is multipart/mixed with one application/http part per
// request, in the same order, each a whole HTTP response; a request part
// with Content-ID <X> gets Content-ID <response-X>.
//
// A connection-reset fault drawn for a part drops the whole batch
// connection, as it would for a real batch: the parts before it ran, the
// ones after it did not.
//
// The outer request goes through the fault pipeline too, under the API
// name "gmail.batch" (InjectFault("gmail.batch", ...), or FaultPlan.APIs
// naming it; a plan with no APIs leaves it alone). A 5xx, 429 or
// reset-before-body fault on it runs none of the parts;
// FaultResetAfterProcessing runs every part, then drops the connection;
// FaultStoredUnreadableReply runs every part, then sends the 200 with only
// the first half of the multipart reply. That is how a client meets a lost
// batch: it cannot tell which parts ran. Stats()["gmail.batch"] counts the
// outer requests (a fault that replaces the reply counts in Faults only);
// GmailBatchLog lists them with the calls each held, logged as they
// arrive, so a test can count them as soon as its client has an outcome
// (Stats are updated when a request's handling ends, which can be after
// the client saw a dropped connection).

// gmailMaxBatch is the most calls one batch may hold.
const gmailMaxBatch = 100

// gmailBatchAPI is the API name of the outer batch request, for faults and
// Stats.
const gmailBatchAPI = "gmail.batch"

// GmailBatchRequest is one request to the batch endpoint, as
// GmailBatchLog lists it.
type GmailBatchRequest struct {
	// Calls holds the request line of each call of the batch, in order
	// ("GET /gmail/v1/users/me/messages/18c2f"), without the query; nil
	// when a fault answered or dropped the request before it was read.
	Calls []string
}

// GmailBatchLog returns the requests to POST /batch/gmail/v1, in the order
// they arrived, faulted ones included.
func (s *Server) GmailBatchLog() []GmailBatchRequest {
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]GmailBatchRequest, len(g.batchLog))
	for i, b := range g.batchLog {
		out[i] = GmailBatchRequest{Calls: slices.Clone(b.Calls)}
	}
	return out
}

// batchEntryKey is the context key of a batch request's index in the log.
type batchEntryKey struct{}

// gmailBatchArrived logs a batch request and returns its index.
func (s *Server) gmailBatchArrived() int {
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	g.batchLog = append(g.batchLog, GmailBatchRequest{})
	return len(g.batchLog) - 1
}

type batchPart struct {
	contentID string
	req       *http.Request
	problem   string // set when the part could not be read as a request
}

func (s *Server) gmailBatch(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	bad := func(msg string) { writeError(w, http.StatusBadRequest, "badRequest", msg) }
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		bad("Batch requests must be multipart/mixed with a boundary.")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var parts []batchPart
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			bad("Malformed multipart body: " + err.Error())
			return
		}
		if len(parts) == gmailMaxBatch {
			bad(errorf("A batch request may contain at most %d calls.", gmailMaxBatch))
			return
		}
		body, err := io.ReadAll(io.LimitReader(p, 32<<20))
		if err != nil {
			bad("Malformed multipart body: " + err.Error())
			return
		}
		bp := batchPart{contentID: strings.TrimSpace(p.Header.Get("Content-ID"))}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct != "application/http" {
			bp.problem = "Each part of a batch request must have Content-Type application/http."
		} else if bp.req, err = readInnerRequest(body); err != nil {
			bp.problem = "Could not parse the request of this part: " + err.Error()
		}
		parts = append(parts, bp)
	}
	if len(parts) == 0 {
		bad("The batch request contains no calls.")
		return
	}
	if i, ok := r.Context().Value(batchEntryKey{}).(int); ok {
		calls := make([]string, len(parts))
		for k, bp := range parts {
			if bp.req != nil {
				calls[k] = bp.req.Method + " " + bp.req.URL.Path
			}
		}
		g := s.gmail()
		s.mu.Lock()
		g.batchLog[i].Calls = calls
		s.mu.Unlock()
	}

	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	_ = mw.SetBoundary("batch_" + hex.EncodeToString(rnd[:]))
	for _, bp := range parts {
		rec := httptest.NewRecorder()
		switch {
		case bp.problem != "":
			writeError(rec, http.StatusBadRequest, "badRequest", bp.problem)
		case !strings.HasPrefix(bp.req.URL.Path, "/gmail/v1/"):
			writeError(rec, http.StatusBadRequest, "badRequest",
				"All calls of a batch sent to /batch/gmail/v1 must be Gmail API calls (/gmail/v1/...), not "+bp.req.URL.Path)
		default:
			inner := bp.req.WithContext(r.Context())
			for k, vs := range r.Header {
				if strings.HasPrefix(k, "Content-") || k == "Transfer-Encoding" {
					continue
				}
				if _, set := inner.Header[k]; !set {
					inner.Header[k] = vs
				}
			}
			q := inner.URL.Query()
			for k, vs := range r.URL.Query() {
				if _, set := q[k]; !set {
					q[k] = vs
				}
			}
			inner.URL.RawQuery = q.Encode()
			inner.RemoteAddr, inner.Host = r.RemoteAddr, r.Host
			mux.ServeHTTP(rec, inner)
		}
		h := textproto.MIMEHeader{"Content-Type": {"application/http"}}
		if bp.contentID != "" {
			id := strings.TrimSuffix(strings.TrimPrefix(bp.contentID, "<"), ">")
			h.Set("Content-ID", "<response-"+id+">")
		}
		pw, _ := mw.CreatePart(h)
		res := rec.Result()
		body := rec.Body.Bytes()
		res.ContentLength = int64(len(body))
		res.Header.Set("Content-Length", strconv.Itoa(len(body)))
		res.Body = io.NopCloser(bytes.NewReader(body))
		_ = res.Write(pw)
	}
	_ = mw.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// readInnerRequest parses the HTTP request of a batch part. The protocol
// may be left out of the request line; the URL may be a path or absolute.
func readInnerRequest(b []byte) (*http.Request, error) {
	b = bytes.TrimLeft(b, "\r\n")
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	fields := strings.Fields(string(bytes.TrimRight(line, "\r")))
	if len(fields) == 2 {
		fields = append(fields, "HTTP/1.1")
	}
	if len(fields) != 3 {
		return nil, fmt.Errorf("bad request line %q", strings.TrimSpace(string(line)))
	}
	if u, err := url.Parse(fields[1]); err == nil && u.IsAbs() {
		fields[1] = u.RequestURI()
	}
	fixed := append([]byte(strings.Join(fields, " ")+"\r\n"), rest...)
	if !bytes.Contains(rest, []byte("\n\n")) && !bytes.Contains(rest, []byte("\r\n\r\n")) {
		fixed = append(fixed, "\r\n\r\n"...)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(fixed)))
	if err != nil {
		return nil, err
	}
	// Parts often omit Content-Length: the body is the rest of the part.
	if req.ContentLength <= 0 && req.Method != http.MethodGet {
		_, after, found := bytes.Cut(fixed, []byte("\r\n\r\n"))
		if !found {
			_, after, _ = bytes.Cut(fixed, []byte("\n\n"))
		}
		after = bytes.TrimRight(after, "\r\n")
		req.Body = io.NopCloser(bytes.NewReader(after))
		req.ContentLength = int64(len(after))
	}
	req.RequestURI = ""
	return req, nil
}
