package workspacetest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/workspacetest"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// newServer starts a fake server closed at the end of the test.
func newServer(t *testing.T, opts ...workspacetest.Option) *workspacetest.Server {
	t.Helper()
	s := workspacetest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// clientOptions point a generated Google client at s.
func clientOptions(s *workspacetest.Server) []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(s.URL + "/"), option.WithHTTPClient(s.Client())}
}

// apiError asserts that err is a *googleapi.Error and returns it.
func apiError(t *testing.T, err error) *googleapi.Error {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *googleapi.Error", err, err)
	}
	return ge
}

// reason returns the first error reason of ge.
func reason(ge *googleapi.Error) string {
	if len(ge.Errors) == 0 {
		return ""
	}
	return ge.Errors[0].Reason
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// crlf turns "\n" into "\r\n".
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// message builds a valid RFC 822 message with the given Message-ID.
func message(id string) string {
	return crlf("From: alice@example.com\nTo: archive@example.com\nDate: Mon, 2 Jan 2006 15:04:05 -0700\nMessage-ID: <" + id + ">\nSubject: test\n\nhello\n")
}
