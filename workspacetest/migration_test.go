package workspacetest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	"google.golang.org/api/googleapi"
	groupsmigration "google.golang.org/api/groupsmigration/v1"
)

func migrationService(t *testing.T, s *workspacetest.Server) *groupsmigration.Service {
	t.Helper()
	svc, err := groupsmigration.NewService(t.Context(), clientOptions(s)...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func insert(svc *groupsmigration.Service, group, msg string) (*groupsmigration.Groups, error) {
	return svc.Archive.Insert(group).
		Media(strings.NewReader(msg), googleapi.ContentType("message/rfc822"), googleapi.ChunkSize(0)).
		Do()
}

func TestMigrationInsertSuccess(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)

	got, err := insert(svc, "archive@example.com", message("m1@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("SUCCESS", got.ResponseCode); diff != "" {
		t.Errorf("responseCode (-want +got):\n%s", diff)
	}
	if got.Kind != "groupsmigration#groups" {
		t.Errorf("kind = %q", got.Kind)
	}
	msgs := s.GroupMessages("archive@example.com")
	if len(msgs) != 1 || msgs[0].MessageID != "<m1@example.com>" || string(msgs[0].Raw) != message("m1@example.com") {
		t.Errorf("stored = %+v", msgs)
	}
}

// hdr is a valid header section for the refusal and acceptance tables,
// with the fields named in drop left out.
func hdr(drop ...string) string {
	var b strings.Builder
	for _, f := range []struct{ name, line string }{
		{"From", "From: alice@example.com\n"},
		{"To", "To: archive@example.com\n"},
		{"Date", "Date: Mon, 2 Jan 2006 15:04:05 -0700\n"},
	} {
		if !slices.Contains(drop, f.name) {
			b.WriteString(f.line)
		}
	}
	return crlf(b.String())
}

// TestMigrationRefusals shows that each refusal Google documents for
// archive.insert is answered 400 with responseCode INVALID MESSAGE
// FAILURE, a reason, and a message that says what is wrong, and that
// nothing is stored.
func TestMigrationRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, workspacetest.WithSpeed(1000))
	s.AddGroup("archive@example.com")
	s.AddGroup("frozen@example.com")
	s.SetGroupReadOnly("frozen@example.com", true)
	svc := migrationService(t, s)

	const body = "\r\nhello\r\n"
	oversize := message("big@example.com")
	oversize += strings.Repeat("a", workspacetest.MaxMessageSize+1-len(oversize))
	tests := []struct {
		name, group, msg string
		wantReason       string
		wantMsg          string // in the error message
	}{
		{"empty", "archive@example.com", "", "invalid", "empty"},
		{"whitespace only", "archive@example.com", " \r\n\t\r\n", "invalid", "empty"},
		{"one byte over 25 MiB", "archive@example.com", oversize, "uploadTooLarge", "26214400"},
		{"bare LF in body", "archive@example.com", hdr() + "\r\nline\nnext\r\n", "invalid", "bare LF"},
		{"bare LF in header", "archive@example.com", "From: a@example.com\nTo: b@example.com\r\nDate: x\r\n\r\nx\r\n", "invalid", "line 1 ends with a bare LF"},
		{"LF line endings throughout", "archive@example.com", strings.ReplaceAll(message("lf@example.com"), "\r\n", "\n"), "invalid", "bare LF"},
		{"first line not a field", "archive@example.com", "Hello there\r\n" + hdr() + body, "invalid", "header section"},
		{"mbox From_ line first", "archive@example.com", "From alice@example.com Mon Jan  2 15:04:05 2006\r\n" + hdr() + body, "invalid", "header section"},
		{"starts with a blank line", "archive@example.com", "\r\n" + hdr() + body, "invalid", "header section"},
		{"starts with a continuation", "archive@example.com", " " + hdr() + body, "invalid", "header section"},
		{"name with 8-bit byte first", "archive@example.com", "Sub\xe9ject: x\r\n" + hdr() + body, "invalid", "header section"},
		{"no From", "archive@example.com", hdr("From") + body, "invalid", "missing From header"},
		{"blank From", "archive@example.com", "From:   \t\r\n" + hdr("From") + body, "invalid", "From header is empty"},
		{"From folded but blank", "archive@example.com", "From:\r\n \r\n\t\r\n" + hdr("From") + body, "invalid", "From header is empty"},
		{"From only in the body", "archive@example.com", hdr("From") + "\r\nFrom: alice@example.com\r\n", "invalid", "missing From header"},
		{"no To", "archive@example.com", hdr("To") + body, "invalid", "missing To header"},
		{"Cc instead of To", "archive@example.com", hdr("To") + "Cc: archive@example.com\r\n" + body, "invalid", "missing To header"},
		{"Bcc instead of To", "archive@example.com", hdr("To") + "Bcc: archive@example.com\r\n" + body, "invalid", "missing To header"},
		{"blank To", "archive@example.com", hdr("To") + "To: \r\n" + body, "invalid", "To header is empty"},
		{"To folded but blank", "archive@example.com", hdr("To") + "To:\r\n \r\n" + body, "invalid", "To header is empty"},
		{"Cc only, blank To", "archive@example.com", hdr("To") + "Cc: archive@example.com\r\nTo:\r\n" + body, "invalid", "To header is empty"},
		{"Cc only, To in the body", "archive@example.com", hdr("To") + "Cc: archive@example.com\r\n\r\nTo: archive@example.com\r\n", "invalid", "missing To header"},
		{"To only in a MIME part's header", "archive@example.com", hdr("To") + crlf("Cc: archive@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nTo: archive@example.com\nContent-Type: text/plain\n\nx\n--b--\n"), "invalid", "missing To header"},
		{"To only in an attached message", "archive@example.com", hdr("To") + crlf("Cc: archive@example.com\nContent-Type: message/rfc822\n\nFrom: b@example.com\nTo: archive@example.com\nDate: x\n\ninner\n"), "invalid", "missing To header"},
		{"Resent-To instead of To", "archive@example.com", hdr("To") + "Resent-To: archive@example.com\r\n" + body, "invalid", "missing To header"},
		{"no Date", "archive@example.com", hdr("Date") + body, "invalid", "missing Date header"},
		{"blank Date", "archive@example.com", hdr("Date") + "Date:\r\n" + body, "invalid", "Date header is empty"},
		{"unknown group", "nobody@example.com", message("x@example.com"), "notFound", "nobody@example.com"},
		{"read-only group", "frozen@example.com", message("x@example.com"), "invalid", "read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := insert(svc, tt.group, tt.msg)
			ge := apiError(t, err)
			if ge.Code != 400 || reason(ge) != tt.wantReason || !strings.Contains(ge.Message, tt.wantMsg) {
				t.Errorf("got %d %q %q, want 400 %q and a message containing %q", ge.Code, reason(ge), ge.Message, tt.wantReason, tt.wantMsg)
			}
			if !strings.Contains(ge.Body, `"responseCode":"INVALID MESSAGE FAILURE"`) {
				t.Errorf("body lacks responseCode: %s", ge.Body)
			}
		})
	}
	for _, g := range []string{"archive@example.com", "frozen@example.com"} {
		if n := s.GroupMessageCount(g); n != 0 {
			t.Errorf("%s: stored %d refused messages", g, n)
		}
	}

	// A read-only group takes messages again once writable.
	s.SetGroupReadOnly("frozen@example.com", false)
	if _, err := insert(svc, "frozen@example.com", message("thawed@example.com")); err != nil {
		t.Errorf("insert after SetGroupReadOnly(false): %v", err)
	}
}

// TestMigrationRefusesOtherMediaTypes shows the refusal of a media upload
// that is not declared message/rfc822.
func TestMigrationRefusesOtherMediaTypes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	resp, err := s.Client().Post(s.URL+"/upload/groups/v1/groups/archive@example.com/archive?uploadType=media",
		"text/plain", strings.NewReader(message("t@example.com")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"reason":"badContent"`) || !strings.Contains(string(b), `"responseCode":"INVALID MESSAGE FAILURE"`) {
		t.Errorf("status %d body %s", resp.StatusCode, b)
	}
	if n := s.GroupMessageCount("archive@example.com"); n != 0 {
		t.Errorf("stored %d", n)
	}
}

// TestMigrationAcceptsUntidyMail shows that mail real archives are full of,
// which Google's documents give no ground to refuse, is stored as sent,
// and that its Message-ID is still found.
func TestMigrationAcceptsUntidyMail(t *testing.T) {
	t.Parallel()
	s := newServer(t, workspacetest.WithSpeed(1000))
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)

	bounce := crlf("Return-Path: <>\n" +
		"From: Mail Delivery Subsystem <MAILER-DAEMON>\n" +
		"To: postmaster\n" +
		"Date: Tue, 29 Apr 2019 10:00:00 +0900\n" +
		"Subject: Undelivered Mail Returned to Sender\n" +
		"Message-ID: <bounce@mx.example.com>\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n" +
		"\n--b\nContent-Type: text/plain\n\nThis is the mail system.\n" +
		"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; nobody@example.org\nAction: failed\nStatus: 5.1.1\n--b--\n")
	// with builds a message from header lines (joined with CRLF), a
	// Message-ID and a body.
	with := func(id string, lines ...string) string {
		return strings.Join(lines, "\r\n") + "\r\nMessage-ID: <" + id + ">\r\n\r\nbody\r\n"
	}
	atLimit := message("limit@example.com")
	atLimit += strings.Repeat("a", workspacetest.MaxMessageSize-len(atLimit))

	tests := []struct {
		name, msg, wantID string
	}{
		{"bounce from MAILER-DAEMON to postmaster", bounce, "<bounce@mx.example.com>"},
		{"empty address", with("u1@x", "From: MAILER-DAEMON <>", "To: archive@example.com", "Date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u1@x>"},
		{"unquoted comma in display name", with("u2@x", "From: Doe, John <john@example.com>", "To: archive@example.com", "Date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u2@x>"},
		{"three-digit day", with("u3@x", "From: a@example.com", "To: archive@example.com", "Date: Tue, 029 Apr 2019 10:00:00 +0900"), "<u3@x>"},
		{"obsolete two-digit year and zone", with("u4@x", "From: a@example.com", "To: archive@example.com", "Date: 2 Jan 06 15:04 EST"), "<u4@x>"},
		{"date that is not a date", with("u5@x", "From: a@example.com", "To: archive@example.com", "Date: yesterday"), "<u5@x>"},
		{"8-bit header bytes", with("u6@x", "From: J\xfcrgen M\xfcller <j@example.com>", "To: archive@example.com", "Date: Mon, 2 Jan 2006 15:04:05 -0700", "Subject: caf\xc3\xa9 \xff"), "<u6@x>"},
		{"To value on a continuation line", with("u7@x", "From: a@example.com", "To:", "\tpostmaster", "Date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u7@x>"},
		{"whitespace-only continuation line", with("u8@x", "From: a@example.com", "Subject: one", " ", "  two", "To: archive@example.com", "Date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u8@x>"},
		{"header line without a colon", with("u9@x", "From: a@example.com", "this line is not a field", "To: archive@example.com", "Date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u9@x>"},
		{"space before the colon", with("u10@x", "From : a@example.com", "To\t: archive@example.com", "Date : Mon, 2 Jan 2006 15:04:05 -0700"), "<u10@x>"},
		{"lower-case names", with("u11@x", "from: a@example.com", "to: archive@example.com", "date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u11@x>"},
		{"a blank and a filled To", with("u12@x", "From: a@example.com", "To:", "To: archive@example.com", "Date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u12@x>"},
		{"group syntax, no addresses", with("u13@x", "From: a@example.com", "To: undisclosed-recipients:;", "Date: Mon, 2 Jan 2006 15:04:05 -0700"), "<u13@x>"},
		{"bare CR in body", with("u14@x", "From: a@example.com", "To: archive@example.com", "Date: Mon, 2 Jan 2006 15:04:05 -0700") + "a\rb\r\n", "<u14@x>"},
		{"no line ending at the end", strings.TrimSuffix(message("u15@x"), "\r\n"), "<u15@x>"},
		{"headers only, no body", crlf("From: a@example.com\nTo: archive@example.com\nDate: x\nMessage-ID: <u16@x>\n"), "<u16@x>"},
		{"folded Message-ID", crlf("From: a@example.com\nTo: archive@example.com\nDate: x\nMessage-ID:\n <u17@x>\n\nbody\n"), "<u17@x>"},
		{"no Message-ID", hdr() + "\r\nbody\r\n", ""},
		{"exactly 25 MiB", atLimit, "<limit@example.com>"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := insert(svc, "archive@example.com", tt.msg); err != nil {
				t.Fatalf("refused: %v", err)
			}
			msgs := s.GroupMessages("archive@example.com")
			if len(msgs) != i+1 {
				t.Fatalf("archive holds %d messages, want %d", len(msgs), i+1)
			}
			got := msgs[i]
			if got.MessageID != tt.wantID || string(got.Raw) != tt.msg || got.Size != len(tt.msg) {
				t.Errorf("stored Message-ID %q, size %d, same bytes %v; want %q, %d", got.MessageID, got.Size, string(got.Raw) == tt.msg, tt.wantID, len(tt.msg))
			}
		})
	}
}

func TestMigrationParallelInsert(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	s.AddGroup("other@example.com")
	svc := migrationService(t, s)

	release := s.HoldGroup("archive@example.com")
	_, err := insert(svc, "archive@example.com", message("p1@example.com"))
	ge := apiError(t, err)
	if ge.Code != 400 || reason(ge) != "unsupportedParallelOperation" || !strings.Contains(ge.Body, `"responseCode":"UNSUPPORTED_PARALLEL_OPERATION"`) {
		t.Errorf("got %d %q %s", ge.Code, reason(ge), ge.Body)
	}
	// Other groups are not blocked.
	if _, err := insert(svc, "other@example.com", message("p2@example.com")); err != nil {
		t.Errorf("insert into another group: %v", err)
	}
	release()
	if _, err := insert(svc, "archive@example.com", message("p1@example.com")); err != nil {
		t.Errorf("insert after release: %v", err)
	}
}

func TestMigrationMediaUploadAndPaths(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	for i, path := range []string{
		"/upload/groups/v1/groups/archive%40example.com/archive?uploadType=media",
		"/groups/v1/groups/archive@example.com/archive?uploadType=media",
	} {
		resp, err := s.Client().Post(s.URL+path, "message/rfc822", strings.NewReader(message("d@example.com")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
		if got := s.GroupMessageCount("archive@example.com"); got != i+1 {
			t.Errorf("count = %d, want %d", got, i+1)
		}
	}
	if diff := cmp.Diff([]string{"<d@example.com>"}, s.Duplicates("archive@example.com")); diff != "" {
		t.Errorf("Duplicates (-want +got):\n%s", diff)
	}
}

// TestMigrationForbiddenHasNoAuthorizationFailure shows that a 403 from
// archive.insert is a plain Google JSON error with its reason and no
// responseCode: the archive.insert reference documents "AUTHORIZATION
// FAILURE" for 401 only, and the limits page says a 403 reports bad input.
// A 401 keeps its responseCode.
func TestMigrationForbiddenHasNoAuthorizationFailure(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	s.AddUser("member@example.com")
	type reply struct {
		Code         int
		Reason       string
		ResponseCode string // "" when absent
		Kind         string // "" when absent
	}
	tests := []struct {
		name  string
		token string
		want  reply
	}{
		{"not an administrator", s.IssueToken("member@example.com"),
			reply{403, "forbidden", "", ""}},
		{"scope missing", s.IssueToken(s.AdminEmail(), "https://www.googleapis.com/auth/admin.directory.user"),
			reply{403, "insufficientPermissions", "", ""}},
		{"unknown token", "ya29.not-a-token",
			reply{401, "authError", "AUTHORIZATION FAILURE", "groupsmigration#groups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "POST",
				s.URL+"/upload/groups/v1/groups/archive@example.com/archive?uploadType=media", strings.NewReader(message("f@example.com")))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "message/rfc822")
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Kind         string `json:"kind"`
				ResponseCode string `json:"responseCode"`
				Error        struct {
					Code   int `json:"code"`
					Errors []struct {
						Reason string `json:"reason"`
					} `json:"errors"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			got := reply{Code: resp.StatusCode, ResponseCode: body.ResponseCode, Kind: body.Kind}
			if len(body.Error.Errors) > 0 {
				got.Reason = body.Error.Errors[0].Reason
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
			if body.Error.Code != resp.StatusCode {
				t.Errorf("error.code %d, HTTP status %d", body.Error.Code, resp.StatusCode)
			}
		})
	}
	if n := s.GroupMessageCount("archive@example.com"); n != 0 {
		t.Errorf("stored %d refused messages", n)
	}
}

// TestMigrationResumableUpload shows archive.insert's resumable uploads,
// which the archive.insert reference lists as an uploadType (the
// discovery document lists only the simple protocol, and no
// /resumable/upload path, which the fake therefore does not serve): the
// generated client's chunked upload of a message larger than one chunk is
// stored once; the session refuses a wrong media type or a declared size
// over 25 MiB, and a finished message that breaks the rules, as the media
// upload does; a finished session repeats its reply.
func TestMigrationResumableUpload(t *testing.T) {
	t.Parallel()
	s := newServer(t, workspacetest.WithSpeed(1000))
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)

	big := message("big@example.com") + strings.Repeat("0123456789abcdef\r\n", 40000) // ~700 KB
	got, err := svc.Archive.Insert("archive@example.com").
		Media(strings.NewReader(big), googleapi.ContentType("message/rfc822"), googleapi.ChunkSize(256<<10)).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.ResponseCode != "SUCCESS" {
		t.Errorf("responseCode %q", got.ResponseCode)
	}
	if msgs := s.GroupMessages("archive@example.com"); len(msgs) != 1 || string(msgs[0].Raw) != big {
		t.Fatalf("stored %d messages (same bytes: %v)", len(msgs), len(msgs) == 1 && string(msgs[0].Raw) == big)
	}

	type reply struct {
		Status       int
		Reason       string
		ResponseCode string
	}
	send := func(method, u string, hdr map[string]string, body string) (reply, http.Header) {
		t.Helper()
		if !strings.HasPrefix(u, "http") {
			u = s.URL + u
		}
		req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct {
			ResponseCode string `json:"responseCode"`
			Error        struct {
				Errors []struct {
					Reason string `json:"reason"`
				} `json:"errors"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&b)
		r := reply{Status: resp.StatusCode, ResponseCode: b.ResponseCode}
		if len(b.Error.Errors) > 0 {
			r.Reason = b.Error.Errors[0].Reason
		}
		return r, resp.Header
	}
	const start = "/upload/groups/v1/groups/archive@example.com/archive?uploadType=resumable"
	tests := []struct {
		name string
		hdr  map[string]string
		want reply
	}{
		{"wrong media type", map[string]string{"X-Upload-Content-Type": "text/plain"}, reply{400, "badContent", "INVALID MESSAGE FAILURE"}},
		{"over 25 MiB", map[string]string{"X-Upload-Content-Type": "message/rfc822", "X-Upload-Content-Length": "26214401"}, reply{400, "uploadTooLarge", "INVALID MESSAGE FAILURE"}},
	}
	for _, tt := range tests {
		if got, _ := send("POST", start, tt.hdr, ""); !cmp.Equal(tt.want, got) {
			t.Errorf("%s: (-want +got):\n%s", tt.name, cmp.Diff(tt.want, got))
		}
	}
	if got, _ := send("POST", "/resumable/upload/groups/v1/groups/archive@example.com/archive?uploadType=resumable",
		map[string]string{"X-Upload-Content-Type": "message/rfc822"}, ""); got.Status != 404 {
		t.Errorf("/resumable/upload path, which no document lists: %+v, want 404", got)
	}

	// A message without To, sent in two chunks: refused when it is whole,
	// and the finished session gives the same refusal again.
	noTo := hdr("To") + "Cc: archive@example.com\r\n\r\nbody\r\n"
	total := strconv.Itoa(len(noTo))
	r, h := send("POST", start, map[string]string{"X-Upload-Content-Type": "message/rfc822"}, "")
	loc := h.Get("Location")
	if r.Status != 200 || loc == "" {
		t.Fatalf("session start: %+v, Location %q", r, loc)
	}
	var steps []reply
	for _, c := range []struct{ method, rng, data string }{
		{"PUT", "bytes 0-9/" + total, noTo[:10]},
		{"POST", "bytes 10-" + strconv.Itoa(len(noTo)-1) + "/" + total, noTo[10:]},
		{"PUT", "bytes */" + total, ""},
	} {
		got, _ := send(c.method, loc, map[string]string{"Content-Range": c.rng}, c.data)
		steps = append(steps, got)
	}
	refused := reply{400, "invalid", "INVALID MESSAGE FAILURE"}
	if diff := cmp.Diff([]reply{{Status: 308}, refused, refused}, steps); diff != "" {
		t.Errorf("session of a message without To (-want +got):\n%s", diff)
	}
	if n := s.GroupMessageCount("archive@example.com"); n != 1 {
		t.Errorf("archive holds %d messages, want 1", n)
	}
}
