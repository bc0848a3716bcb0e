// Package apierr parses the error bodies Google's APIs send: the JSON error
// object of the REST APIs (v1 "errors[]" and v2 "status"/"details" shapes)
// and the AppsForYourDomainErrors XML of the legacy GData feeds. The body is
// read once, capped, and kept with the response so that every layer of the
// transport chain can look at it without reading it again.
package apierr

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxBody is how much of an error body is read and kept.
const MaxBody = 64 << 10

// ReasonParallel is Groups Migration's refusal of a second insert into a
// group while one is in progress.
const ReasonParallel = "UNSUPPORTED_PARALLEL_OPERATION"

// Info is what an error response says.
type Info struct {
	StatusCode int           // HTTP status
	Status     string        // canonical status name, e.g. RESOURCE_EXHAUSTED
	Message    string        // human-readable message
	Reasons    []string      // errors[].reason, ErrorInfo.reason, responseCode or GData reason
	Domains    []string      // errors[].domain
	GDataCode  int           // AppsForYourDomainErrors errorCode, 0 when absent
	Invalid    string        // AppsForYourDomainErrors invalidInput
	RetryAfter time.Duration // Retry-After header or RetryInfo.retryDelay
	RequestID  string        // a request id header when the server sent one
	Body       []byte        // the (capped) body
}

// HasReason reports whether any reason equals r (case-insensitive).
func (i *Info) HasReason(r string) bool {
	for _, x := range i.Reasons {
		if strings.EqualFold(x, r) {
			return true
		}
	}
	return false
}

// Body is a response body that has been read into memory and parsed. It
// replaces resp.Body so later readers see the same bytes.
type Body struct {
	*bytes.Reader
	Info *Info
}

// Close implements io.Closer.
func (*Body) Close() error { return nil }

// Inspect returns the parsed error information of resp, reading and
// replacing its body the first time. It returns nil for responses below 400.
func Inspect(resp *http.Response) *Info {
	if resp == nil || resp.StatusCode < 400 {
		return nil
	}
	if b, ok := resp.Body.(*Body); ok {
		return b.Info
	}
	var data []byte
	if resp.Body != nil {
		data, _ = io.ReadAll(io.LimitReader(resp.Body, MaxBody))
		// Drain a little more so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
	}
	info := Parse(resp.StatusCode, resp.Header, data)
	resp.Body = &Body{Reader: bytes.NewReader(data), Info: info}
	resp.ContentLength = int64(len(data))
	return info
}

// Parse builds Info from a status, headers and body.
func Parse(status int, h http.Header, body []byte) *Info {
	info := &Info{StatusCode: status, Body: body}
	if h != nil {
		info.RetryAfter = parseRetryAfter(h.Get("Retry-After"), time.Now)
		for _, k := range []string{"X-Goog-Request-Id", "X-Request-Id", "X-Guploader-Uploadid"} {
			if v := h.Get(k); v != "" {
				info.RequestID = v
				break
			}
		}
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		parseJSON(info, trimmed)
	case len(trimmed) > 0 && trimmed[0] == '<':
		parseXML(info, trimmed)
	default:
		info.Message = strings.TrimSpace(string(firstLine(trimmed, 300)))
	}
	// Groups Migration's parallel-insert refusal is a throttle whatever
	// layout carries it (a reason, a responseCode at any depth, a message,
	// plain text, XML): it is found by its name anywhere in the body.
	if bytes.Contains(bytes.ToUpper(body), []byte(ReasonParallel)) && !info.HasReason(ReasonParallel) {
		info.Reasons = append(info.Reasons, ReasonParallel)
	}
	if info.Message == "" {
		info.Message = http.StatusText(status)
	}
	if info.RetryAfter == 0 {
		info.RetryAfter = retryAfterInText(info.Message, time.Now)
	}
	return info
}

// retryAfterInText reads the time Gmail writes into a sending-limit error's
// message ("... Retry after 2026-11-24T18:00:00.000Z"), when there is no
// Retry-After header. It returns 0 when there is none or it has passed.
func retryAfterInText(msg string, now func() time.Time) time.Duration {
	i := strings.Index(strings.ToLower(msg), "retry after ")
	if i < 0 {
		return 0
	}
	rest := msg[i+len("retry after "):]
	if j := strings.IndexAny(rest, " \t\n,;)"); j >= 0 {
		rest = rest[:j]
	}
	rest = strings.TrimRight(rest, ".")
	t, err := time.Parse(time.RFC3339Nano, rest)
	if err != nil {
		return 0
	}
	if d := t.Sub(now()); d > 0 {
		return d
	}
	return 0
}

type jsonBody struct {
	Error json.RawMessage `json:"error"`
	// Groups Migration puts its result code at the top level.
	ResponseCode string `json:"responseCode"`
	// OAuth2 token endpoint errors.
	ErrorDescription string `json:"error_description"`
}

type jsonError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Errors  []struct {
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"errors"`
	Details []struct {
		Type       string `json:"@type"`
		Reason     string `json:"reason"`
		Domain     string `json:"domain"`
		RetryDelay string `json:"retryDelay"`
	} `json:"details"`
	ResponseCode string `json:"responseCode"`
}

func parseJSON(info *Info, b []byte) {
	var top jsonBody
	if json.Unmarshal(b, &top) != nil {
		info.Message = string(firstLine(b, 300))
		return
	}
	if top.ResponseCode != "" {
		info.Reasons = append(info.Reasons, top.ResponseCode)
	}
	if len(top.Error) == 0 {
		return
	}
	if top.Error[0] == '"' { // OAuth2: {"error":"invalid_grant","error_description":...}
		var s string
		_ = json.Unmarshal(top.Error, &s)
		info.Reasons = append(info.Reasons, s)
		info.Message = top.ErrorDescription
		return
	}
	var e jsonError
	if json.Unmarshal(top.Error, &e) != nil {
		return
	}
	info.Message = e.Message
	info.Status = e.Status
	if e.ResponseCode != "" {
		info.Reasons = append(info.Reasons, e.ResponseCode)
	}
	for _, it := range e.Errors {
		if it.Reason != "" {
			info.Reasons = append(info.Reasons, it.Reason)
		}
		if it.Domain != "" {
			info.Domains = append(info.Domains, it.Domain)
		}
	}
	for _, d := range e.Details {
		if d.Reason != "" {
			info.Reasons = append(info.Reasons, d.Reason)
		}
		if d.RetryDelay != "" && info.RetryAfter == 0 {
			if dur, err := time.ParseDuration(d.RetryDelay); err == nil && dur > 0 {
				info.RetryAfter = dur
			}
		}
	}
}

type gdataErrors struct {
	XMLName xml.Name `xml:"AppsForYourDomainErrors"`
	Errors  []struct {
		Code    string `xml:"errorCode,attr"`
		Invalid string `xml:"invalidInput,attr"`
		Reason  string `xml:"reason,attr"`
	} `xml:"error"`
}

func parseXML(info *Info, b []byte) {
	var g gdataErrors
	if xml.Unmarshal(b, &g) != nil || len(g.Errors) == 0 {
		// An HTML page (Google's front end answers 502 with one) says
		// no more than its status: Parse falls back on the status text.
		if l := bytes.ToLower(firstLine(b, 300)); !bytes.HasPrefix(l, []byte("<!doctype html")) && !bytes.HasPrefix(l, []byte("<html")) {
			info.Message = string(firstLine(b, 300))
		}
		return
	}
	for i, e := range g.Errors {
		if e.Reason != "" {
			info.Reasons = append(info.Reasons, e.Reason)
		}
		if i == 0 {
			info.GDataCode, _ = strconv.Atoi(e.Code)
			info.Invalid = e.Invalid
			info.Message = e.Reason
			if e.Invalid != "" {
				info.Message += " (invalid input: " + e.Invalid + ")"
			}
		}
	}
}

func parseRetryAfter(v string, now func() time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now()); d > 0 {
			return d
		}
	}
	return 0
}

func firstLine(b []byte, max int) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > max {
		b = b[:max]
	}
	return b
}

// StripURL returns the API error inside the *url.Error that net/http wraps
// around a transport's error, so messages do not repeat the request URL.
// Other errors (network failures, where the URL helps) are returned as is.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if _, ok := ue.Err.(interface{ HTTPStatusCode() int }); ok {
			return ue.Err
		}
	}
	return err
}
