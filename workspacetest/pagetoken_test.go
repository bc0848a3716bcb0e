package workspacetest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/gwsadmin/workspace/workspacetest"
)

func TestRepeatPageToken(t *testing.T) {
	t.Parallel()
	s := newServer(t, workspacetest.WithSpeed(1000))
	page := func(token string) (next string, n int) {
		t.Helper()
		u := s.URL + "/admin/datatransfer/v1/applications?maxResults=1"
		if token != "" {
			u += "&pageToken=" + url.QueryEscape(token)
		}
		resp, err := s.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var body struct {
			Applications  []json.RawMessage `json:"applications"`
			NextPageToken string            `json:"nextPageToken"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.NextPageToken, len(body.Applications)
	}
	// The first page has no token to repeat: the fault waits.
	s.InjectFault("datatransfer", workspacetest.FaultRepeatPageToken, 1)
	first, _ := page("")
	if first == "" {
		t.Fatal("the fake needs two pages of applications for this test")
	}
	next, n := page(first)
	if next != first || n != 1 {
		t.Errorf("faulted page: next %q, %d items; want the token it was asked with, %q, and its item", next, n, first)
	}
	if log := s.FaultLog(); len(log) != 1 || log[0].Kind != workspacetest.FaultRepeatPageToken {
		t.Errorf("fault log %+v", log)
	}
}
