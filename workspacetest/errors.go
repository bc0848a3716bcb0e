package workspacetest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
)

// This file holds the reply helpers every API file uses: Google JSON errors,
// GData XML errors and OAuth2 token errors. They also record the refusal
// reason for Stats.

// googleError is a Google JSON error reply:
//
//	{"error":{"code":..,"message":..,"errors":[{..}],"status":..}}
//
// Extra holds top-level fields written beside "error" (the Groups Migration
// API adds "kind" and "responseCode" there).
type googleError struct {
	Code    int
	Message string
	Status  string // canonical code name; derived from Code when empty
	Items   []errorItem
	Header  http.Header // extra response headers (Retry-After, WWW-Authenticate)
	Extra   map[string]any
	// Details is the "details" array of newer Google errors
	// (google.rpc.ErrorInfo and friends, each with an "@type").
	Details []any
	// FrontEnd marks a refusal made by Google's API front end before the
	// API saw the request (API not enabled, scope not granted): the
	// endpoint's decorate hook is skipped, so for instance Groups
	// Migration adds no responseCode.
	FrontEnd bool
}

// errorItem is one entry of the "errors" array of a Google JSON error.
type errorItem struct {
	Message      string `json:"message,omitempty"`
	Domain       string `json:"domain,omitempty"`
	Reason       string `json:"reason,omitempty"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
	ExtendedHelp string `json:"extendedHelp,omitempty"`
}

// reason returns the first item's reason, or "" when there is none.
func (ge *googleError) reason() string {
	if len(ge.Items) == 0 {
		return ""
	}
	return ge.Items[0].Reason
}

// statusName maps an HTTP status to the canonical google.rpc code name that
// newer Google APIs put in the "status" field.
func statusName(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ALREADY_EXISTS"
	case http.StatusRequestEntityTooLarge:
		return "OUT_OF_RANGE"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	default:
		if code >= 500 {
			return "INTERNAL"
		}
		return "UNKNOWN"
	}
}

// writeGoogleError writes ge as a Google JSON error. When w belongs to an
// endpoint with a decorate hook, the hook may add fields first.
func writeGoogleError(w http.ResponseWriter, ge googleError) {
	rw, _ := w.(*respWriter)
	if rw != nil && rw.ep != nil && rw.ep.decorate != nil && !ge.FrontEnd {
		rw.ep.decorate(&ge)
	}
	if ge.Status == "" {
		ge.Status = statusName(ge.Code)
	}
	if ge.Message == "" && len(ge.Items) > 0 {
		ge.Message = ge.Items[0].Message
	}
	if rw != nil {
		rw.reason = ge.reason()
	}
	body := map[string]any{}
	for k, v := range ge.Extra {
		body[k] = v
	}
	inner := map[string]any{
		"code":    ge.Code,
		"message": ge.Message,
		"status":  ge.Status,
	}
	if len(ge.Items) > 0 {
		inner["errors"] = ge.Items
	}
	if len(ge.Details) > 0 {
		inner["details"] = ge.Details
	}
	body["error"] = inner
	for k, vs := range ge.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, ge.Code, body)
}

// writeError writes a Google JSON error with one item in domain "global".
// It covers most handler refusals: writeError(w, 404, "notFound", "...").
func writeError(w http.ResponseWriter, code int, reason, message string) {
	writeGoogleError(w, googleError{
		Code:    code,
		Message: message,
		Items:   []errorItem{{Domain: "global", Reason: reason, Message: message}},
	})
}

// writeJSON writes v as a JSON reply with the given status.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// GData error codes (AppsForYourDomainErrorCode) used by the legacy feeds.
const (
	gdataUnknownError             = 1000
	gdataServerBusy               = 1001
	gdataEntityExists             = 1300
	gdataEntityDoesNotExist       = 1301
	gdataInvalidQueryParameterVal = 1407
	gdataInvalidValue             = 1801
)

// gdataReasons names the GData error codes above.
var gdataReasons = map[int]string{
	gdataUnknownError:             "UnknownError",
	gdataServerBusy:               "ServerBusy",
	gdataEntityExists:             "EntityExists",
	gdataEntityDoesNotExist:       "EntityDoesNotExist",
	gdataInvalidQueryParameterVal: "InvalidQueryParameterValue",
	gdataInvalidValue:             "InvalidValue",
}

// writeGDataError writes a legacy Apps for Your Domain error document with
// content type text/xml:
//
//	<AppsForYourDomainErrors><error errorCode=".." invalidInput=".." reason=".."/></AppsForYourDomainErrors>
//
// An empty reason is filled from the error code when it is a known one.
func writeGDataError(w http.ResponseWriter, status, errorCode int, invalidInput, reason string) {
	if reason == "" {
		reason = gdataReasons[errorCode]
	}
	if rw, ok := w.(*respWriter); ok {
		rw.reason = reason
	}
	type gdError struct {
		ErrorCode    int    `xml:"errorCode,attr"`
		InvalidInput string `xml:"invalidInput,attr"`
		Reason       string `xml:"reason,attr"`
	}
	doc := struct {
		XMLName xml.Name  `xml:"AppsForYourDomainErrors"`
		Errors  []gdError `xml:"error"`
	}{Errors: []gdError{{ErrorCode: errorCode, InvalidInput: invalidInput, Reason: reason}}}
	b, _ := xml.Marshal(doc)
	b = append([]byte(xml.Header), b...)
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeOAuthError writes an OAuth2 token endpoint error (RFC 6749 §5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	if rw, ok := w.(*respWriter); ok {
		rw.reason = code
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// writeStyled writes a refusal in the endpoint's error style: Google JSON for
// REST APIs, GData XML for legacy feeds. The wrapper uses it for quota and
// fault replies so every API answers in its own dialect.
func writeStyled(w http.ResponseWriter, ep *endpoint, ge googleError) {
	if ep != nil && ep.style == styleGData {
		for k, vs := range ge.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		code := gdataUnknownError
		if ge.Code == http.StatusServiceUnavailable || ge.Code == http.StatusTooManyRequests {
			code = gdataServerBusy
		}
		reason := gdataReasons[code]
		if rw, ok := w.(*respWriter); ok {
			defer func() { rw.reason = ge.reason() }()
		}
		writeGDataError(w, ge.Code, code, "", reason)
		return
	}
	writeGoogleError(w, ge)
}

// errorf is fmt.Sprintf, named for readability at call sites.
func errorf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
