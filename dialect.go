package workspace

import (
	"fmt"
	"time"
)

// ListOptions pages a list. Every paged List and All method of the API
// packages takes it, alone or embedded in an options struct that adds the
// method's filters; nil means the first page at the server's page size.
type ListOptions struct {
	// PageSize is the most items a page holds; 0 means the server's
	// default. A size Google certainly refuses (negative, or outside the
	// range the API's schema sets) is refused before any request is sent;
	// a larger one that Google reads as its maximum is sent as it is. Each
	// method's documentation says which.
	PageSize int64
	// PageToken selects the page: "" for the first, a Page's
	// NextPageToken for the next. All ignores it and starts at the first.
	PageToken string
}

// Page is one page of a list, as List methods return it. (Gmail's List
// methods return Google's generated list responses instead, which carry
// more than a page: a history id, a size estimate.)
type Page[T any] struct {
	// Items are the page's items, in the server's order.
	Items []T
	// NextPageToken fetches the next page through ListOptions.PageToken;
	// "" on the last page.
	NextPageToken string
}

// WaitOptions controls the Wait methods, which poll one long-running
// thing (a mailbox export, a Drive transfer, a domain's MX records) until
// it is done or ctx ends. nil means the method's defaults.
type WaitOptions struct {
	// Interval is the first wait between two polls; each later wait is
	// half as long again, up to MaxInterval. 0 means the method's default.
	Interval time.Duration
	// MaxInterval caps the wait between two polls; 0 means the method's
	// default.
	MaxInterval time.Duration
	// Timeout bounds the whole wait; 0 means until ctx ends. When the
	// timeout passes, Wait returns the last state it read and an error
	// matching context.DeadlineExceeded.
	Timeout time.Duration
}

// OperationError reports a long-running operation that finished in
// failure: an export Google marked ERROR, a transfer that ended with data
// left behind, a Cloud Identity operation that returned an error. The
// methods that start or wait for operations return it; reach it with
// errors.As. It matches the category sentinels (ErrInvalidInput,
// ErrNotFound, ...) by Code when Google gave one.
type OperationError struct {
	API       string // the API, e.g. APIAudit
	Operation string // what ran, e.g. "export", "transfer", "inboundSamlSsoProfiles.create"
	ID        string // the operation's id (request id, transfer id, operation name), when known
	Status    string // the final status Google reported, e.g. "ERROR", when it has one
	Code      int    // the google.rpc.Code Google gave, e.g. 3 for INVALID_ARGUMENT; 0 when none
	Message   string // what went wrong: Google's message, or the library's reading of Status
}

// Error names the operation and says how it ended.
func (e *OperationError) Error() string {
	s := fmt.Sprintf("workspace: %s %s", e.API, e.Operation)
	if e.ID != "" {
		s += " " + e.ID
	}
	s += " finished in failure"
	if e.Status != "" {
		s += ": status " + e.Status
	}
	if e.Code != 0 {
		s += fmt.Sprintf(": code %d", e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches the category sentinels by the google.rpc code.
func (e *OperationError) Is(target error) bool {
	switch target {
	case ErrInvalidInput:
		return e.Code == 3 || e.Code == 6 || e.Code == 9 || e.Code == 11
	case ErrNotFound:
		return e.Code == 5
	case ErrPermissionDenied:
		return e.Code == 7
	case ErrUnauthenticated:
		return e.Code == 16
	case ErrRateLimited:
		return e.Code == 8
	}
	return false
}
