package workspacetest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"

	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
)

func TestGmailResumableUpload(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	svc := gmailFor(t, s, bob)
	// 600 KB in 256 KiB chunks: one session start and three chunks.
	body := strings.Repeat("0123456789abcdef\r\n", 600000/18)
	raw := mailMsg("a@example.org", bob, "Big import", body)
	var progress []int64
	m, err := svc.Users.Messages.Import("me", &gmail.Message{LabelIds: []string{"INBOX"}}).
		Media(strings.NewReader(raw), googleapi.ContentType("message/rfc822"), googleapi.ChunkSize(256<<10)).
		ProgressUpdater(func(cur, _ int64) { progress = append(progress, cur) }).Do()
	if err != nil {
		t.Fatal(err)
	}
	got := s.GmailMessages(bob)
	if len(got) != 1 || got[0].ID != m.Id || !bytes.Equal(got[0].Raw, []byte(raw)) || strings.Join(got[0].LabelIDs, ",") != "INBOX" {
		t.Fatalf("stored %d messages; raw equal %v", len(got), len(got) == 1 && bytes.Equal(got[0].Raw, []byte(raw)))
	}
	if len(progress) < 3 {
		t.Errorf("progress = %v, want one report per chunk", progress)
	}
	if u := s.GmailUnits(bob); u != 25 {
		t.Errorf("units = %d, want 25 (the session start only)", u)
	}
	if st := s.Stats()["gmail"]; st.Accepted != 4 {
		t.Errorf("stats = %+v, want 4 accepted calls (start + 3 chunks)", st)
	}

	// By hand: a declared length over the send limit is refused up front,
	// a chunk that skips bytes is refused, an unknown session is 404.
	hc := userHTTPClient(t, s, bob)
	req, _ := http.NewRequest("POST", s.URL+"/upload/gmail/v1/users/me/messages/send?uploadType=resumable", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Upload-Content-Type", "message/rfc822")
	req.Header.Set("X-Upload-Content-Length", "36700161")
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != 413 {
		t.Errorf("oversized session: %v %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest("POST", s.URL+"/upload/gmail/v1/users/me/messages?uploadType=resumable", strings.NewReader("{}"))
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Location") == "" {
		t.Fatalf("session start: %v %v", resp.StatusCode, err)
	}
	loc := resp.Header.Get("Location")
	chunk := func(rng, data string) *http.Response {
		req, _ := http.NewRequest("PUT", loc, strings.NewReader(data))
		req.Header.Set("Content-Range", rng)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	msg := mailMsg("a@example.org", bob, "By hand", "x")
	if r := chunk("bytes 0-9/*", msg[:10]); r.StatusCode != 308 || r.Header.Get("Range") != "bytes=0-9" {
		t.Errorf("first chunk: %d %q", r.StatusCode, r.Header.Get("Range"))
	}
	if r := chunk("bytes 12-13/*", msg[12:14]); r.StatusCode != 400 {
		t.Errorf("gap: %d", r.StatusCode)
	}
	if r := chunk("bytes 5-"+strconv.Itoa(len(msg)-1)+"/"+strconv.Itoa(len(msg)), msg[5:]); r.StatusCode != 200 {
		t.Errorf("overlapping last chunk: %d", r.StatusCode)
	}
	// A finished session answers a status query, or the last chunk sent
	// again, with the reply that finished it: the message, stored once.
	total := strconv.Itoa(len(msg))
	for _, again := range []struct{ rng, data string }{{"bytes */" + total, ""}, {"bytes 5-" + strconv.Itoa(len(msg)-1) + "/" + total, msg[5:]}} {
		req, _ := http.NewRequest("PUT", loc, strings.NewReader(again.data))
		req.Header.Set("Content-Range", again.rng)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m gmail.Message
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || m.Id == "" {
			t.Errorf("%s on the finished session: %d %v %+v", again.rng, resp.StatusCode, err, m)
		}
	}
	if n := len(s.GmailMessages(bob)); n != 2 {
		t.Errorf("%d messages", n)
	}
	log := s.GmailUploadLog()
	last := log[len(log)-1]
	if !last.Finished || last.Received != int64(len(msg)) || last.Committed != int64(len(msg)) {
		t.Errorf("last log entry = %+v", last)
	}
}

// TestGmailResumableStatusAndExpiry: an empty PUT with "bytes */total"
// reports what the session holds, the log shows where each request
// started, and an expired session answers 404.
func TestGmailResumableStatusAndExpiry(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	hc := userHTTPClient(t, s, bob)
	start := func() string {
		req, _ := http.NewRequest("POST", s.URL+"/upload/gmail/v1/users/me/messages/import?uploadType=resumable", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("session start: %v %v", resp, err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	put := func(loc, rng, data string) *http.Response {
		req, _ := http.NewRequest("PUT", loc, strings.NewReader(data))
		req.Header.Set("Content-Range", rng)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	msg := mailMsg("a@example.org", bob, "Status", strings.Repeat("x", 100))
	total := strconv.Itoa(len(msg))
	loc := start()
	if r := put(loc, "bytes */"+total, ""); r.StatusCode != 308 || r.Header.Get("Range") != "" {
		t.Errorf("status of an empty session: %d %q, want 308 with no Range", r.StatusCode, r.Header.Get("Range"))
	}
	put(loc, "bytes 0-39/"+total, msg[:40])
	if r := put(loc, "bytes */"+total, ""); r.StatusCode != 308 || r.Header.Get("Range") != "bytes=0-39" {
		t.Errorf("status after 40 bytes: %d %q", r.StatusCode, r.Header.Get("Range"))
	}
	if r := put(loc, "bytes 40-"+strconv.Itoa(len(msg)-1)+"/"+total, msg[40:]); r.StatusCode != 200 {
		t.Errorf("last chunk: %d", r.StatusCode)
	}
	var got []string
	for _, e := range s.GmailUploadLog() {
		got = append(got, fmt.Sprintf("%d-%d %d>%d %v", e.First, e.Last, e.Received, e.Committed, e.Finished))
	}
	end := strconv.Itoa(len(msg) - 1)
	want := []string{"-1--1 0>0 false", "0-39 0>40 false", "-1--1 40>40 false", "40-" + end + " 40>" + total + " true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upload log (-want +got):\n%s", diff)
	}

	loc = start()
	put(loc, "bytes 0-39/"+total, msg[:40])
	s.ExpireGmailUploads()
	if r := put(loc, "bytes */"+total, ""); r.StatusCode != 404 {
		t.Errorf("status of an expired session: %d, want 404", r.StatusCode)
	}
	if n := len(s.GmailMessages(bob)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestGmailResumableUploadBothPaths shows that a resumable upload works
// under the /upload URI with uploadType=resumable and under the discovery
// document's mediaUpload.protocols.resumable.path, /resumable/upload/...
// (with or without uploadType=resumable), for messages.insert, import and
// send, with the same session rules; and that another uploadType on the
// /resumable/upload URI is refused.
func TestGmailResumableUploadBothPaths(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	hc := userHTTPClient(t, s, bob)
	type step struct {
		Status int
		Range  string
	}
	var n int
	for _, prefix := range []string{"/upload", "/resumable/upload"} {
		for _, query := range []string{"?uploadType=resumable", ""} {
			if prefix == "/upload" && query == "" {
				continue // a media upload there
			}
			for _, method := range []string{"messages", "messages/import", "messages/send"} {
				name := prefix + "/gmail/v1/users/me/" + method + query
				t.Run(name, func(t *testing.T) {
					req, _ := http.NewRequest("POST", s.URL+name, strings.NewReader("{}"))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Upload-Content-Type", "message/rfc822")
					resp, err := hc.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					loc := resp.Header.Get("Location")
					if resp.StatusCode != 200 || !strings.Contains(loc, prefix+"/gmail/v1/users/me/"+method+"?") {
						t.Fatalf("session start: %d, Location %q", resp.StatusCode, loc)
					}
					msg := mailMsg("a@example.org", bob, "Both paths "+name, strings.Repeat("y", 50))
					total := strconv.Itoa(len(msg))
					var got []step
					for _, c := range []struct{ method, rng, data string }{
						{"PUT", "bytes 0-19/" + total, msg[:20]},
						{"PUT", "bytes */" + total, ""},
						{"POST", "bytes 20-" + strconv.Itoa(len(msg)-1) + "/" + total, msg[20:]},
					} {
						req, _ := http.NewRequest(c.method, loc, strings.NewReader(c.data))
						req.Header.Set("Content-Range", c.rng)
						resp, err := hc.Do(req)
						if err != nil {
							t.Fatal(err)
						}
						resp.Body.Close()
						got = append(got, step{resp.StatusCode, resp.Header.Get("Range")})
					}
					want := []step{{308, "bytes=0-19"}, {308, "bytes=0-19"}, {200, ""}}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("session (-want +got):\n%s", diff)
					}
					n++
					stored := s.GmailMessages(bob)
					// send adds headers of its own; the subject is unique.
					found := slices.ContainsFunc(stored, func(m workspacetest.GmailMessage) bool {
						return strings.Contains(string(m.Raw), "Subject: Both paths "+name+"\r\n")
					})
					if len(stored) != n || !found {
						t.Errorf("stored %d messages, want %d; the upload among them: %v", len(stored), n, found)
					}
				})
			}
		}
	}
	for _, ut := range []string{"media", "multipart"} {
		req, _ := http.NewRequest("POST", s.URL+"/resumable/upload/gmail/v1/users/me/messages?uploadType="+ut,
			strings.NewReader(mailMsg("a@example.org", bob, "wrong protocol", "z")))
		req.Header.Set("Content-Type", "message/rfc822")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("uploadType=%s on /resumable/upload: %d, want 400", ut, resp.StatusCode)
		}
	}
	if got := len(s.GmailMessages(bob)); got != n {
		t.Errorf("%d messages stored, want %d", got, n)
	}
}
