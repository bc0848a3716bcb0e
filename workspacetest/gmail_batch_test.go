package workspacetest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
)

// batchCall is one request of a hand-built batch.
type batchCall struct {
	id      string // Content-ID, without brackets; "" for none
	request string // the inner HTTP request, LF line ends
}

// batchReply is one decoded part of a batch reply.
type batchReply struct {
	contentID string
	status    int
	header    http.Header
	body      []byte
}

// sendBatch posts calls to /batch/gmail/v1 with hc and decodes the reply.
func sendBatch(t *testing.T, s *workspacetest.Server, hc *http.Client, calls []batchCall) (int, []batchReply, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, c := range calls {
		h := textproto.MIMEHeader{"Content-Type": {"application/http"}}
		if c.id != "" {
			h.Set("Content-ID", "<"+c.id+">")
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, crlf(c.request))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", s.URL+"/batch/gmail/v1", &buf)
	req.Header.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, nil, b
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("reply content type %q", resp.Header.Get("Content-Type"))
	}
	var out []batchReply
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Type") != "application/http" {
			t.Errorf("part content type %q", p.Header.Get("Content-Type"))
		}
		r, err := http.ReadResponse(bufio.NewReader(p), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		out = append(out, batchReply{p.Header.Get("Content-ID"), r.StatusCode, r.Header, b})
	}
	return resp.StatusCode, out, nil
}

// batchError decodes a part's error body as Google's client would.
func batchError(t *testing.T, br batchReply) *googleapi.Error {
	t.Helper()
	err := googleapi.CheckResponse(&http.Response{StatusCode: br.status, Header: br.header, Body: io.NopCloser(bytes.NewReader(br.body))})
	return apiError(t, err)
}

func TestGmailBatch(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	id := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "Batch me", "x")), "INBOX", "UNREAD")
	hc := userHTTPClient(t, s, bob)
	modify := `{"removeLabelIds":["UNREAD"]}`
	status, parts, _ := sendBatch(t, s, hc, []batchCall{
		{"item1", "GET /gmail/v1/users/me/messages/" + id + "?format=minimal"},
		{"item2", "GET /gmail/v1/users/me/messages/ffffffffffffffff HTTP/1.1\n"},
		{"item3", "POST /gmail/v1/users/me/messages/" + id + "/modify HTTP/1.1\nContent-Type: application/json\nContent-Length: " +
			fmt.Sprint(len(modify)) + "\n\n" + modify},
		{"", "GET https://gmail.googleapis.com/gmail/v1/users/me/profile?fields=emailAddress HTTP/1.1\n"},
		{"item5", "GET /gmail/v1/users/me/labels/INBOX\nAuthorization: Bearer not-a-token\n"},
		{"item6", "GET /admin/directory/v1/users?customer=my_customer\n"},
	})
	if status != 200 || len(parts) != 6 {
		t.Fatalf("batch status %d, %d parts", status, len(parts))
	}
	var got []string
	for _, p := range parts {
		got = append(got, fmt.Sprintf("%s %d", p.contentID, p.status))
	}
	want := []string{"<response-item1> 200", "<response-item2> 404", "<response-item3> 200", " 200", "<response-item5> 401", "<response-item6> 400"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	var m gmail.Message
	if err := json.Unmarshal(parts[0].body, &m); err != nil || m.Id != id || m.Payload != nil {
		t.Errorf("part 1 = %s, %v", parts[0].body, err)
	}
	if ge := batchError(t, parts[1]); reason(ge) != "notFound" {
		t.Errorf("part 2 = %v", ge)
	}
	if err := json.Unmarshal(parts[2].body, &m); err != nil || strings.Join(m.LabelIds, ",") != "INBOX" {
		t.Errorf("part 3 = %s, %v", parts[2].body, err)
	}
	if string(parts[3].body) != `{"emailAddress":"bob@example.com"}` || parts[3].header.Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Errorf("part 4 = %s %v", parts[3].body, parts[3].header)
	}
	if ge := batchError(t, parts[4]); reason(ge) != "authError" {
		t.Errorf("part 5 = %v", ge)
	}
	// Each part counts as one Gmail call.
	st := s.Stats()["gmail"]
	if st.Accepted != 3 || st.Rejected["notFound"] != 1 || st.Rejected["authError"] != 1 {
		t.Errorf("stats = %+v", st)
	}
	if got, want := s.GmailUnits(bob), int64(5+5+5+1); got != want {
		t.Errorf("units = %d, want %d", got, want)
	}

	// More than 100 calls: the whole batch is refused.
	var many []batchCall
	for i := range 101 {
		many = append(many, batchCall{fmt.Sprint(i), "GET /gmail/v1/users/me/profile"})
	}
	status, _, body := sendBatch(t, s, hc, many)
	if status != 400 || !strings.Contains(string(body), "at most 100") {
		t.Errorf("101 calls: %d %s", status, body)
	}
	status, parts, _ = sendBatch(t, s, hc, many[:100])
	if status != 200 || len(parts) != 100 || parts[99].contentID != "<response-99>" {
		t.Errorf("100 calls: %d, %d parts", status, len(parts))
	}
	// Not multipart.
	resp, err := hc.Post(s.URL+"/batch/gmail/v1", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("non-multipart batch: %d", resp.StatusCode)
	}
}

func TestGmailBatchPerPartQuota(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now))
	const bob = "bob@example.com"
	id := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "q", "x")), "INBOX")
	s.SetGmailConfig(workspacetest.GmailConfig{UserUnitsPerMinute: 12})
	var calls []batchCall
	for i := range 4 {
		calls = append(calls, batchCall{fmt.Sprint(i), "GET /gmail/v1/users/me/messages/" + id})
	}
	_, parts, _ := sendBatch(t, s, userHTTPClient(t, s, bob), calls)
	var statuses []int
	for _, p := range parts {
		statuses = append(statuses, p.status)
	}
	if diff := cmp.Diff([]int{200, 200, 403, 403}, statuses); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if ge := batchError(t, parts[2]); reason(ge) != "userRateLimitExceeded" || ge.Errors[0].Message == "" {
		t.Errorf("part 3 = %v", ge)
	}
	if u := s.GmailUnits(bob); u != 10 {
		t.Errorf("units = %d, want 10", u)
	}
}

func TestGmailBatchFaultsPerPart(t *testing.T) {
	t.Parallel()
	run := func() ([]int, []workspacetest.FaultEvent) {
		s := newGmailServer(t, workspacetest.WithFaults(workspacetest.FaultPlan{
			Seed: 42, Rate: 0.4, Kinds: []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP503},
			APIs: []string{"gmail"},
		}))
		var calls []batchCall
		for i := range 20 {
			calls = append(calls, batchCall{fmt.Sprint(i), "GET /gmail/v1/users/me/profile"})
		}
		_, parts, _ := sendBatch(t, s, userHTTPClient(t, s, "bob@example.com"), calls)
		var st []int
		for _, p := range parts {
			st = append(st, p.status)
		}
		return st, s.FaultLog()
	}
	st1, log1 := run()
	st2, log2 := run()
	if diff := cmp.Diff(st1, st2); diff != "" {
		t.Errorf("same seed, different part statuses (-1 +2):\n%s", diff)
	}
	if diff := cmp.Diff(log1, log2); diff != "" {
		t.Errorf("same seed, different fault logs (-1 +2):\n%s", diff)
	}
	// Every fault hit exactly one part, with the status of its kind.
	var faulted []int
	for i, c := range st1 {
		if c != 200 {
			faulted = append(faulted, c)
		}
		_ = i
	}
	var fromLog []int
	for _, ev := range log1 {
		if ev.API != "gmail" || ev.Method != "getProfile" {
			t.Errorf("fault event %+v", ev)
		}
		fromLog = append(fromLog, map[workspacetest.FaultKind]int{workspacetest.FaultHTTP500: 500, workspacetest.FaultHTTP503: 503}[ev.Kind])
	}
	if len(faulted) == 0 || len(faulted) == len(st1) {
		t.Fatalf("rate 0.4 gave %d faults of %d", len(faulted), len(st1))
	}
	if diff := cmp.Diff(fromLog, faulted); diff != "" {
		t.Errorf("fault log vs part statuses (-log +parts):\n%s", diff)
	}
}

// TestGmailBatchOuterFaults: faults aimed at the outer batch request
// ("gmail.batch") run none of the parts (503) or all of them before the
// reply is lost (reset after processing, truncated reply); a plan that
// names no API leaves the outer request alone.
func TestGmailBatchOuterFaults(t *testing.T) {
	t.Parallel()
	const bob = "bob@example.com"
	modify := `{"addLabelIds":["STARRED"]}`
	post := func(s *workspacetest.Server, id string) (*http.Response, error) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for i, req := range []string{
			"GET /gmail/v1/users/me/messages/" + id,
			"POST /gmail/v1/users/me/messages/" + id + "/modify\r\nContent-Type: application/json\r\n\r\n" + modify,
		} {
			pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-ID": {fmt.Sprintf("<p%d>", i)}})
			io.WriteString(pw, req+"\r\n")
		}
		mw.Close()
		req, _ := http.NewRequest("POST", s.URL+"/batch/gmail/v1", &buf)
		req.Header.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
		return userHTTPClient(t, s, bob).Do(req)
	}
	starred := func(s *workspacetest.Server) bool {
		for _, m := range s.GmailMessages(bob) {
			if slices.Contains(m.LabelIDs, "STARRED") {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		kind    workspacetest.FaultKind
		ran     bool // the parts ran
		status  int  // 0: no reply
		readErr bool // the reply body ends early
	}{
		{workspacetest.FaultHTTP503, false, 503, false},
		{workspacetest.FaultResetBeforeBody, false, 0, false},
		{workspacetest.FaultResetAfterProcessing, true, 0, false},
		{workspacetest.FaultStoredUnreadableReply, true, 200, true},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			s := newGmailServer(t)
			id := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "Outer", "x")), "INBOX")
			s.InjectFault("gmail.batch", tc.kind, 1)
			resp, err := post(s, id)
			status, readErr := 0, false
			if err == nil {
				status = resp.StatusCode
				_, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				readErr = rerr != nil
			}
			if status != tc.status || readErr != tc.readErr {
				t.Errorf("status %d (read error %v), want %d (%v); err %v", status, readErr, tc.status, tc.readErr, err)
			}
			if got := starred(s); got != tc.ran {
				t.Errorf("modify ran = %v, want %v", got, tc.ran)
			}
			// Stats of the outer request may lag behind a dropped
			// connection; the fault log and the batch log do not.
			if fl := s.FaultLog(); len(fl) != 1 || fl[0].API != "gmail.batch" || fl[0].Kind != tc.kind {
				t.Errorf("fault log = %+v", fl)
			}
			if want := map[bool]int{true: 2, false: 0}[tc.ran]; s.Stats()["gmail"].Accepted != want {
				t.Errorf("gmail parts accepted = %d, want %d", s.Stats()["gmail"].Accepted, want)
			}
			// The next batch goes through.
			resp, err = post(s, id)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("next batch: %v %v", resp, err)
			}
			resp.Body.Close()
			var got []string
			for _, b := range s.GmailBatchLog() {
				got = append(got, strings.Join(b.Calls, ", "))
			}
			calls := "GET /gmail/v1/users/me/messages/" + id + ", POST /gmail/v1/users/me/messages/" + id + "/modify"
			want := []string{calls, calls}
			if !tc.ran {
				want[0] = "" // answered or dropped before it was read
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("batch log (-want +got):\n%s", diff)
			}
		})
	}

	// A plan with no APIs faults every part, never the outer request.
	s := newGmailServer(t, workspacetest.WithFaults(workspacetest.FaultPlan{Seed: 1, Rate: 1, Kinds: []workspacetest.FaultKind{workspacetest.FaultHTTP503}}))
	id := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "Outer", "x")), "INBOX")
	resp, err := post(s, id)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("batch under a plan: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, ev := range s.FaultLog() {
		if ev.API != "gmail" {
			t.Errorf("fault %+v, want only Gmail parts faulted", ev)
		}
	}
	if n := len(s.FaultLog()); n != 2 {
		t.Errorf("%d faults, want one per part", n)
	}
}
