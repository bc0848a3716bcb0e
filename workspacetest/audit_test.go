package workspacetest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
)

// safeClock is a settable clock safe for use by server goroutines.
type safeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *safeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *safeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// gdFeed and gdEntry parse the documented Atom shapes (google-apis.md §1).
type gdFeed struct {
	XMLName    xml.Name  `xml:"http://www.w3.org/2005/Atom feed"`
	StartIndex string    `xml:"http://a9.com/-/spec/opensearchrss/1.0/ startIndex"`
	Links      []gdLink  `xml:"http://www.w3.org/2005/Atom link"`
	Entries    []gdEntry `xml:"http://www.w3.org/2005/Atom entry"`
}

type gdLink struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
}

type gdEntry struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom entry"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Links   []gdLink `xml:"http://www.w3.org/2005/Atom link"`
	Props   []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"http://schemas.google.com/apps/2006 property"`
}

func (e gdEntry) prop(name string) (string, bool) {
	for _, p := range e.Props {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

func (f gdFeed) link(rel string) string {
	for _, l := range f.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

type gdErrors struct {
	XMLName xml.Name `xml:"AppsForYourDomainErrors"`
	Errors  []struct {
		Code   string `xml:"errorCode,attr"`
		Input  string `xml:"invalidInput,attr"`
		Reason string `xml:"reason,attr"`
	} `xml:"error"`
}

// atomBody builds a request entry the way the docs show it (atom: prefix).
func atomBody(props ...string) string {
	var b strings.Builder
	b.WriteString("<atom:entry xmlns:atom='http://www.w3.org/2005/Atom' xmlns:apps='http://schemas.google.com/apps/2006'>")
	for i := 0; i+1 < len(props); i += 2 {
		fmt.Fprintf(&b, "<apps:property name='%s' value='%s'/>", props[i], props[i+1])
	}
	b.WriteString("</atom:entry>")
	return b.String()
}

// do sends a request with the server's authenticated client.
func do(t *testing.T, s *workspacetest.Server, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = s.URL + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/atom+xml")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func parseEntry(t *testing.T, b []byte) gdEntry {
	t.Helper()
	var e gdEntry
	if err := xml.Unmarshal(b, &e); err != nil {
		t.Fatalf("not an Atom entry: %v\n%s", err, b)
	}
	return e
}

func parseFeed(t *testing.T, b []byte) gdFeed {
	t.Helper()
	var f gdFeed
	if err := xml.Unmarshal(b, &f); err != nil {
		t.Fatalf("not an Atom feed: %v\n%s", err, b)
	}
	return f
}

// wantGDataError checks status and the AppsForYourDomainErrors body.
func wantGDataError(t *testing.T, status int, b []byte, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, b)
	}
	var e gdErrors
	if err := xml.Unmarshal(b, &e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("not an AppsForYourDomainErrors body (%v): %s", err, b)
	}
	if e.Errors[0].Code != code || e.Errors[0].Reason == "" {
		t.Fatalf("errorCode %s reason %q, want %s", e.Errors[0].Code, e.Errors[0].Reason, code)
	}
}

const auditPath = "/a/feeds/compliance/audit/"

func newAuditServer(t *testing.T) (*workspacetest.Server, *safeClock) {
	t.Helper()
	clk := &safeClock{t: time.Date(2030, 3, 10, 12, 0, 30, 0, time.UTC)}
	s := newServer(t, workspacetest.WithClock(clk.now))
	s.AddUser("amal@example.com")
	s.AddUser("izumi@example.com")
	return s, clk
}

func TestAuditMonitorCreateListDelete(t *testing.T) {
	s, _ := newAuditServer(t)
	// The documented sample request.
	body := atomBody("destUserName", "izumi", "beginDate", "2030-06-15 00:00", "endDate", "2030-06-30 23:20",
		"incomingEmailMonitorLevel", "FULL_MESSAGE", "outgoingEmailMonitorLevel", "HEADER_ONLY",
		"draftMonitorLevel", "FULL_MESSAGE", "chatMonitorLevel", "FULL_MESSAGE")
	st, h, b := do(t, s, "POST", auditPath+"mail/monitor/example.com/amal", body)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, b)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.Contains(b, []byte("xmlns='http://www.w3.org/2005/Atom'")) || !bytes.Contains(b, []byte("xmlns:apps='http://schemas.google.com/apps/2006'")) {
		t.Errorf("namespaces missing: %s", b)
	}
	e := parseEntry(t, b)
	if !strings.HasSuffix(e.ID, "/a/feeds/compliance/audit/mail/monitor/example.com/amal/izumi") {
		t.Errorf("id %q", e.ID)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", e.Updated); err != nil {
		t.Errorf("updated %q: %v", e.Updated, err)
	}
	for k, want := range map[string]string{"destUserName": "izumi", "beginDate": "2030-06-15 00:00", "endDate": "2030-06-30 23:20",
		"outgoingEmailMonitorLevel": "HEADER_ONLY", "chatMonitorLevel": "FULL_MESSAGE"} {
		if v, _ := e.prop(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}

	// Update: omitted properties revert to defaults; no beginDate = now.
	st, _, b = do(t, s, "POST", auditPath+"mail/monitor/example.com/amal", atomBody("destUserName", "izumi", "endDate", "2030-07-01 00:00"))
	if st != http.StatusCreated {
		t.Fatalf("update: %d %s", st, b)
	}
	e = parseEntry(t, b)
	for k, want := range map[string]string{"beginDate": "2030-03-10 12:00", "incomingEmailMonitorLevel": "FULL_MESSAGE",
		"outgoingEmailMonitorLevel": "FULL_MESSAGE", "draftMonitorLevel": "NONE"} {
		if v, _ := e.prop(k); v != want {
			t.Errorf("after update %s = %q, want %q", k, v, want)
		}
	}
	if _, ok := e.prop("chatMonitorLevel"); ok {
		t.Error("chatMonitorLevel should be absent by default")
	}

	st, _, b = do(t, s, "GET", auditPath+"mail/monitor/example.com/amal", "")
	if st != http.StatusOK {
		t.Fatalf("list: %d %s", st, b)
	}
	f := parseFeed(t, b)
	if len(f.Entries) != 1 || f.StartIndex != "1" || f.link("http://schemas.google.com/g/2005#feed") == "" {
		t.Fatalf("feed: %+v", f)
	}
	if id, _ := f.Entries[0].prop("requestId"); id == "" {
		t.Error("list entry without requestId")
	}
	if ms := s.AuditMonitors("amal"); len(ms) != 1 || ms[0].Destination != "izumi" || ms[0].Draft != "NONE" {
		t.Errorf("AuditMonitors = %+v", ms)
	}

	st, _, b = do(t, s, "DELETE", auditPath+"mail/monitor/example.com/amal/izumi", "")
	if st != http.StatusOK {
		t.Fatalf("delete: %d %s", st, b)
	}
	st, _, b = do(t, s, "DELETE", auditPath+"mail/monitor/example.com/amal/izumi", "")
	wantGDataError(t, st, b, http.StatusForbidden, "1301")
	if ms := s.AuditMonitors("amal"); len(ms) != 0 {
		t.Errorf("monitors left: %+v", ms)
	}
}

func TestAuditMonitorValidation(t *testing.T) {
	s, _ := newAuditServer(t)
	s.AddUser("noone@example.com")
	for _, tc := range []struct {
		name, user, body, code string
		status                 int
	}{
		{"no dest", "amal", atomBody("endDate", "2030-07-01 00:00"), "1801", 403},
		{"unknown dest", "amal", atomBody("destUserName", "ghost", "endDate", "2030-07-01 00:00"), "1301", 403},
		{"other domain", "amal", atomBody("destUserName", "izumi@other.com", "endDate", "2030-07-01 00:00"), "1801", 403},
		{"unknown source", "ghost", atomBody("destUserName", "izumi", "endDate", "2030-07-01 00:00"), "1301", 403},
		{"no end", "amal", atomBody("destUserName", "izumi"), "1801", 403},
		{"end before begin", "amal", atomBody("destUserName", "izumi", "beginDate", "2030-07-01 00:00", "endDate", "2030-06-01 00:00"), "1801", 403},
		{"begin in past", "amal", atomBody("destUserName", "izumi", "beginDate", "2030-03-10 11:00", "endDate", "2030-07-01 00:00"), "1801", 403},
		{"ISO date", "amal", atomBody("destUserName", "izumi", "endDate", "2030-07-01T00:00:00Z"), "1801", 403},
		{"bad level", "amal", atomBody("destUserName", "izumi", "endDate", "2030-07-01 00:00", "incomingEmailMonitorLevel", "NONE"), "1801", 403},
		{"not atom", "amal", "<entry><property/></entry>", "1801", 400},
	} {
		st, _, b := do(t, s, "POST", auditPath+"mail/monitor/example.com/"+tc.user, tc.body)
		t.Run(tc.name, func(t *testing.T) { wantGDataError(t, st, b, tc.status, tc.code) })
	}
	// The wrong domain in the path.
	st, _, b := do(t, s, "GET", auditPath+"mail/monitor/other.com/amal", "")
	wantGDataError(t, st, b, 403, "1301")
}

func TestAuditMonitorQuota(t *testing.T) {
	s, _ := newAuditServer(t)
	s.SetAuditQuota(2, 0)
	body := atomBody("destUserName", "izumi", "endDate", "2030-07-01 00:00")
	for i := range 2 {
		if st, _, b := do(t, s, "POST", auditPath+"mail/monitor/example.com/amal", body); st != 201 {
			t.Fatalf("request %d: %d %s", i, st, b)
		}
	}
	st, _, b := do(t, s, "DELETE", auditPath+"mail/monitor/example.com/amal/izumi", "")
	wantGDataError(t, st, b, http.StatusServiceUnavailable, "1001")
}

// pgpKey makes an RSA OpenPGP key pair and returns the entity and the
// base64 of its armored public key, as the docs ask to upload it.
func pgpKey(t *testing.T, name string, cfg *packet.Config) (*openpgp.Entity, string) {
	t.Helper()
	if cfg == nil {
		cfg = &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048}
	}
	ent, err := openpgp.NewEntity(name, "", name+"@example.com", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ent.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return ent, base64.StdEncoding.EncodeToString(buf.Bytes())
}

var rsaKey = sync.OnceValues(func() (*openpgp.Entity, string) {
	ent, err := openpgp.NewEntity("Audit", "", "audit@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048})
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	w, _ := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	_ = ent.Serialize(w)
	w.Close()
	return ent, base64.StdEncoding.EncodeToString(buf.Bytes())
})

func TestAuditPublicKey(t *testing.T) {
	s, clk := newAuditServer(t)
	_, good := rsaKey()
	st, _, b := do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", good))
	if st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, b)
	}
	e := parseEntry(t, b)
	if v, _ := e.prop("publicKey"); v != good || !strings.Contains(e.ID, "/publickey/example.com/") {
		t.Errorf("entry %+v", e)
	}
	if s.AuditPublicKey() != good {
		t.Error("AuditPublicKey differs")
	}
	// A second upload within the second: 1 upload request/second/user.
	st, _, b = do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", good))
	wantGDataError(t, st, b, http.StatusServiceUnavailable, "1001")

	_, ecc := pgpKey(t, "Ecc", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	twoIDs := func() string {
		e2, _ := pgpKey(t, "Two", nil)
		if err := e2.AddUserId("Second", "", "second@example.com", nil); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, _ := armor.Encode(&buf, openpgp.PublicKeyType, nil)
		_ = e2.Serialize(w)
		w.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}()
	for _, tc := range []struct{ name, value, code string }{
		{"not base64", "%%%", "1411"},
		{"not armored", base64.StdEncoding.EncodeToString([]byte("hello")), "1411"},
		{"not rsa", ecc, "1412"},
		{"two user ids", twoIDs, "1413"},
	} {
		clk.advance(2 * time.Second)
		st, _, b := do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", tc.value))
		t.Run(tc.name, func(t *testing.T) { wantGDataError(t, st, b, http.StatusForbidden, tc.code) })
	}
	// A new valid key replaces the old one.
	_, other := pgpKey(t, "Other", nil)
	clk.advance(2 * time.Second)
	if st, _, b := do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", other)); st != 201 {
		t.Fatalf("replace: %d %s", st, b)
	}
	if s.AuditPublicKey() != other {
		t.Error("key not replaced")
	}
}

// testMail builds a message for user dated at d.
func testMail(n int, d time.Time, extra string) []byte {
	return []byte(crlf(fmt.Sprintf("From: sender%d@example.org\nTo: amal@example.com\nDate: %s\nSubject: note %d\nMessage-ID: <m%d@example.org>\n\nline one %d\nFrom the start, a quoted line\n%s\n",
		n, d.Format(time.RFC1123Z), n, n, n, extra)))
}

// parseMbox splits an mboxrd file back into messages with CRLF lines.
func parseMbox(t *testing.T, b []byte) []string {
	t.Helper()
	var msgs []string
	var cur []string
	flush := func() {
		if cur != nil {
			// drop the separator blank line
			if len(cur) > 0 && cur[len(cur)-1] == "" {
				cur = cur[:len(cur)-1]
			}
			msgs = append(msgs, strings.Join(cur, "\r\n")+"\r\n")
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "From ") {
			flush()
			cur = []string{}
			continue
		}
		if cur == nil {
			t.Fatalf("mbox does not start with a From line: %q", b[:min(len(b), 80)])
		}
		if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
			line = line[1:]
		}
		cur = append(cur, line)
	}
	flush()
	return msgs
}

func exportEntryFor(t *testing.T, s *workspacetest.Server, id string) gdEntry {
	t.Helper()
	st, _, b := do(t, s, "GET", auditPath+"mail/export/example.com/amal/"+id, "")
	if st != http.StatusOK {
		t.Fatalf("get export: %d %s", st, b)
	}
	return parseEntry(t, b)
}

func TestAuditExportEncryptedEndToEnd(t *testing.T) {
	s, clk := newAuditServer(t)
	s.SetExportFileSize(600) // force several files
	priv, pub := rsaKey()
	if st, _, b := do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", pub)); st != 201 {
		t.Fatalf("upload: %d %s", st, b)
	}
	var want []string
	for i := range 5 {
		m := testMail(i, clk.now().Add(-time.Duration(5-i)*time.Hour), strings.Repeat("x", 100))
		s.AddMail("amal@example.com", m)
		want = append(want, string(m))
	}
	s.AddMail("izumi@example.com", testMail(99, clk.now(), "not amal's"))

	st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/amal", atomBody("packageContent", "FULL_MESSAGE"))
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, b)
	}
	e := parseEntry(t, b)
	id, _ := e.prop("requestId")
	if v, _ := e.prop("status"); v != "PENDING" || id == "" {
		t.Fatalf("status %q id %q", v, id)
	}
	if v, _ := e.prop("requestDate"); v != "2030-03-10 12:00" {
		t.Errorf("requestDate %q", v)
	}
	if v, _ := e.prop("userEmailAddress"); v != "amal@example.com" {
		t.Errorf("userEmailAddress %q", v)
	}
	if _, ok := e.prop("fileUrl0"); ok {
		t.Error("PENDING export lists files")
	}

	clk.advance(2 * time.Minute)
	e = exportEntryFor(t, s, id)
	if v, _ := e.prop("status"); v != "COMPLETED" {
		t.Fatalf("status after delay %q", v)
	}
	nv, _ := e.prop("numberOfFiles")
	n, _ := strconv.Atoi(nv)
	if n < 2 {
		t.Fatalf("numberOfFiles = %q, want several", nv)
	}
	var got []string
	for i := range n {
		fu, ok := e.prop("fileUrl" + strconv.Itoa(i))
		if !ok {
			t.Fatalf("fileUrl%d missing", i)
		}
		// Without the token the file is refused.
		resp, err := http.Get(fu)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("file without token: %d", resp.StatusCode)
		}
		st, _, enc := do(t, s, "GET", fu, "")
		if st != http.StatusOK {
			t.Fatalf("download %s: %d %s", fu, st, enc)
		}
		md, err := openpgp.ReadMessage(bytes.NewReader(enc), openpgp.EntityList{priv}, nil, nil)
		if err != nil {
			t.Fatalf("file %d does not decrypt: %v", i, err)
		}
		plain, err := io.ReadAll(md.UnverifiedBody)
		if err != nil {
			t.Fatal(err)
		}
		if !md.IsEncrypted || len(plain) > 600 && strings.Count(string(plain), "\nFrom ") > 0 {
			t.Errorf("file %d: encrypted %v, %d bytes", i, md.IsEncrypted, len(plain))
		}
		got = append(got, parseMbox(t, plain)...)
	}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("mbox round trip differs:\n got %q\nwant %q", got, want)
	}
}

func TestAuditExportOptionsAndErrors(t *testing.T) {
	s, clk := newAuditServer(t)
	priv, pub := rsaKey()
	do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", pub))
	base := clk.now()
	s.AddMail("amal@example.com", testMail(1, base.Add(-48*time.Hour), "old"))
	keep := testMail(2, base.Add(-2*time.Hour), "budget report")
	s.AddMail("amal@example.com", keep)

	for _, tc := range []struct {
		name, body, code string
	}{
		{"query with deleted", atomBody("searchQuery", "budget", "includeDeleted", "true"), "1801"},
		{"headersOnly", atomBody("headersOnly", "true"), "1801"},
		{"bad package", atomBody("packageContent", "ALL"), "1801"},
		{"bad date", atomBody("beginDate", "2030/01/01"), "1801"},
		{"end before begin", atomBody("beginDate", "2030-03-01 00:00", "endDate", "2030-02-01 00:00"), "1801"},
	} {
		st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/amal", tc.body)
		t.Run(tc.name, func(t *testing.T) { wantGDataError(t, st, b, http.StatusForbidden, tc.code) })
	}

	// Header-only export with a search query and a begin date.
	st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/amal",
		atomBody("beginDate", base.Add(-24*time.Hour).Format("2006-01-02 15:04"), "searchQuery", "subject:note budget", "packageContent", "HEADER_ONLY"))
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	id, _ := parseEntry(t, b).prop("requestId")
	clk.advance(time.Minute)
	e := exportEntryFor(t, s, id)
	if v, _ := e.prop("numberOfFiles"); v != "1" {
		t.Fatalf("numberOfFiles %q", v)
	}
	fu, _ := e.prop("fileUrl0")
	_, _, enc := do(t, s, "GET", fu, "")
	md, err := openpgp.ReadMessage(bytes.NewReader(enc), openpgp.EntityList{priv}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(md.UnverifiedBody)
	msgs := parseMbox(t, plain)
	wantHdr, _, _ := strings.Cut(string(keep), "\r\n\r\n")
	if len(msgs) != 1 || msgs[0] != wantHdr+"\r\n" {
		t.Errorf("header-only export = %q, want %q", msgs, wantHdr+"\r\n")
	}

	// No key when requested: ERROR.
	s2, clk2 := newAuditServer(t)
	st, _, b = do(t, s2, "POST", auditPath+"mail/export/example.com/amal", atomBody())
	if st != 201 {
		t.Fatalf("create without key: %d %s", st, b)
	}
	id2, _ := parseEntry(t, b).prop("requestId")
	clk2.advance(time.Hour)
	if got := s2.ExportStatus(id2); got != "ERROR" {
		t.Errorf("status without key = %q", got)
	}
	// Unknown request and another user's request.
	st, _, b = do(t, s, "GET", auditPath+"mail/export/example.com/izumi/"+id, "")
	wantGDataError(t, st, b, 403, "1301")
}

func TestAuditExportDeleteAndExpire(t *testing.T) {
	s, clk := newAuditServer(t)
	s.SetExportTiming(time.Minute, 10*time.Minute)
	_, pub := rsaKey()
	do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", pub))
	s.AddMail("amal@example.com", testMail(1, clk.now().Add(-time.Hour), ""))
	create := func() string {
		st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/amal", atomBody())
		if st != 201 {
			t.Fatalf("create: %d %s", st, b)
		}
		id, _ := parseEntry(t, b).prop("requestId")
		return id
	}
	id, id2 := create(), create()
	del := "mail/export/example.com/amal/" + id
	// A PENDING request cannot be deleted.
	st, _, b := do(t, s, "DELETE", auditPath+del, "")
	wantGDataError(t, st, b, 403, "1801")
	clk.advance(time.Minute)
	fu, _ := exportEntryFor(t, s, id).prop("fileUrl0")
	if st, _, _ := do(t, s, "DELETE", auditPath+del, ""); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	if v, _ := exportEntryFor(t, s, id).prop("status"); v != "MARKED_DELETE" {
		t.Fatalf("status after delete %q", v)
	}
	if st, _, _ := do(t, s, "GET", fu, ""); st != http.StatusGone {
		t.Errorf("file of deleted export: %d", st)
	}
	clk.advance(5 * time.Minute)
	// Retrying the delete while MARKED_DELETE is accepted and does not
	// restart the cleanup.
	if st, _, _ := do(t, s, "DELETE", auditPath+del, ""); st != 200 {
		t.Fatalf("retry delete: %d", st)
	}
	clk.advance(5 * time.Minute)
	if got := s.ExportStatus(id); got != "DELETED" {
		t.Fatalf("status after lag %q", got)
	}
	st, _, b = do(t, s, "DELETE", auditPath+del, "")
	wantGDataError(t, st, b, 403, "1301")

	// Retention: three weeks after completion the request is EXPIRED.
	clk.advance(21*24*time.Hour - 11*time.Minute)
	if got := s.ExportStatus(id2); got != "COMPLETED" {
		t.Fatalf("before retention: %q", got)
	}
	clk.advance(time.Minute)
	e := exportEntryFor(t, s, id2)
	if v, _ := e.prop("status"); v != "EXPIRED" {
		t.Fatalf("after retention: %q", v)
	}
	if _, ok := e.prop("fileUrl0"); ok {
		t.Error("expired export lists files")
	}
}

func TestAuditExportListPagingAndQuota(t *testing.T) {
	s, clk := newAuditServer(t)
	start := clk.now()
	// The 101st export request of a day is refused with 503.
	for i := range 100 {
		if st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/amal", atomBody()); st != 201 {
			t.Fatalf("export %d: %d %s", i, st, b)
		}
	}
	st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/izumi", atomBody())
	wantGDataError(t, st, b, http.StatusServiceUnavailable, "1001")
	// The next day (Pacific midnight) the budget is back.
	clk.advance(24 * time.Hour)
	for i := range 30 {
		if st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/izumi", atomBody()); st != 201 {
			t.Fatalf("day 2 export %d: %d %s", i, st, b)
		}
	}

	from := url.QueryEscape(start.Add(-time.Minute).Format("2006-01-02 15:04"))
	next := auditPath + "mail/export/example.com?fromDate=" + from
	var pages []int
	seen := map[string]bool{}
	for next != "" {
		st, _, b := do(t, s, "GET", next, "")
		if st != 200 {
			t.Fatalf("list: %d %s", st, b)
		}
		f := parseFeed(t, b)
		pages = append(pages, len(f.Entries))
		for _, e := range f.Entries {
			id, _ := e.prop("requestId")
			seen[id] = true
		}
		next = f.link("next")
	}
	if fmt.Sprint(pages) != "[100 30]" || len(seen) != 130 {
		t.Errorf("pages %v, %d distinct entries", pages, len(seen))
	}
	// Without fromDate, only the last 3 weeks are listed.
	clk.advance(21*24*time.Hour - time.Hour)
	st, _, b = do(t, s, "GET", auditPath+"mail/export/example.com", "")
	if f := parseFeed(t, b); st != 200 || len(f.Entries) != 30 || f.link("next") != "" {
		t.Errorf("default window: %d, %d entries", st, len(f.Entries))
	}
	st, _, b = do(t, s, "GET", auditPath+"mail/export/example.com?fromDate=yesterday", "")
	wantGDataError(t, st, b, 403, "1407")
}

func TestAuditScopeAndRemovedAccountInfo(t *testing.T) {
	s, _ := newAuditServer(t)
	tok := s.IssueToken(s.AdminEmail(), "https://www.googleapis.com/auth/admin.directory.user")
	req, _ := http.NewRequest("GET", s.URL+auditPath+"mail/monitor/example.com/amal", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("AppsForYourDomainErrors")) {
		t.Errorf("wrong scope: %d %s", resp.StatusCode, b)
	}
	st, h, b := do(t, s, "POST", auditPath+"account/example.com/amal", atomBody())
	if st != 404 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(b, []byte("Reports API")) {
		t.Errorf("account info: %d %s", st, b)
	}
}

// TestAuditExportDownloadRange shows that an export file honours byte
// Range requests as RFC 9110 describes (206 with Content-Range, 416 with
// "bytes */size" for a range past the end) and ignores forms it does not
// honour, serving the whole file with 200.
func TestAuditExportDownloadRange(t *testing.T) {
	s, clk := newAuditServer(t)
	_, pub := rsaKey()
	if st, _, b := do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", pub)); st != 201 {
		t.Fatalf("key: %d %s", st, b)
	}
	s.AddMail("amal@example.com", testMail(1, clk.now().Add(-time.Hour), strings.Repeat("range ", 200)))
	st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/amal", atomBody())
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	id, _ := parseEntry(t, b).prop("requestId")
	clk.advance(time.Hour)
	fu, _ := exportEntryFor(t, s, id).prop("fileUrl0")
	st, _, whole := do(t, s, "GET", fu, "")
	if st != 200 || len(whole) < 100 {
		t.Fatalf("whole file: %d, %d bytes", st, len(whole))
	}
	size := len(whole)
	type reply struct {
		Status       int
		ContentRange string
		Body         []byte
	}
	tests := []struct {
		name, rng string
		want      reply
	}{
		{"open-ended", "bytes=10-", reply{206, fmt.Sprintf("bytes 10-%d/%d", size-1, size), whole[10:]}},
		{"closed", "bytes=0-9", reply{206, fmt.Sprintf("bytes 0-9/%d", size), whole[:10]}},
		{"middle", "bytes=20-29", reply{206, fmt.Sprintf("bytes 20-29/%d", size), whole[20:30]}},
		{"last past the end", fmt.Sprintf("bytes=%d-%d", size-5, size+100), reply{206, fmt.Sprintf("bytes %d-%d/%d", size-5, size-1, size), whole[size-5:]}},
		{"resume at the last byte", fmt.Sprintf("bytes=%d-", size-1), reply{206, fmt.Sprintf("bytes %d-%d/%d", size-1, size-1, size), whole[size-1:]}},
		{"start at the end", fmt.Sprintf("bytes=%d-", size), reply{416, fmt.Sprintf("bytes */%d", size), nil}},
		{"start past the end", fmt.Sprintf("bytes=%d-%d", size+10, size+20), reply{416, fmt.Sprintf("bytes */%d", size), nil}},
		{"unknown unit", "items=0-5", reply{200, "", whole}},
		{"malformed", "bytes=abc", reply{200, "", whole}},
		{"last before first", "bytes=9-3", reply{200, "", whole}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", fu, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Range", tt.rng)
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			got := reply{resp.StatusCode, resp.Header.Get("Content-Range"), body}
			if got.Status == 416 {
				got.Body = nil // net/http's short text explanation
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Range %q (-want +got):\n%s", tt.rng, diff)
			}
			if got.Status == 206 && resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q for %d bytes", resp.Header.Get("Content-Length"), len(body))
			}
		})
	}
}

// TestAuditUploadRate shows the limits page's "one API request per second
// per user" upload rate: it applies to the public key upload (the one call
// the Email Audit documents call an upload), per acting user, on the
// server clock, and is refused as the legacy feeds refuse a spent quota
// (503, errorCode 1001, Retry-After when asked for); monitor and export
// requests in the same second are not limited by it.
func TestAuditUploadRate(t *testing.T) {
	clk := &safeClock{t: time.Date(2030, 3, 10, 12, 0, 30, 0, time.UTC)}
	s := newServer(t, workspacetest.WithClock(clk.now), workspacetest.WithRetryAfter(5*time.Second))
	s.AddUser("amal@example.com")
	s.AddUser("izumi@example.com")
	s.AddAdmin("second@example.com")
	_, pub := rsaKey()
	tokens := map[string]string{"admin": s.IssueToken(s.AdminEmail()), "second": s.IssueToken("second@example.com")}
	type reply struct {
		Status     int
		RetryAfter string
	}
	send := func(as, method, path, body string) reply {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL+auditPath+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/atom+xml")
		}
		req.Header.Set("Authorization", "Bearer "+tokens[as])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusServiceUnavailable {
			wantGDataError(t, resp.StatusCode, b, http.StatusServiceUnavailable, "1001")
		}
		return reply{resp.StatusCode, resp.Header.Get("Retry-After")}
	}
	key := atomBody("publicKey", pub)
	monitor := atomBody("destUserName", "izumi", "endDate", "2030-07-01 00:00")
	steps := []struct {
		name                 string
		advance              time.Duration
		as, method, path, in string
		want                 reply
	}{
		{"first upload", 0, "admin", "POST", "publickey/example.com", key, reply{201, ""}},
		{"second upload in the same second", 0, "admin", "POST", "publickey/example.com", key, reply{503, "5"}},
		{"another admin's upload", 0, "second", "POST", "publickey/example.com", key, reply{201, ""}},
		{"half a second later", 500 * time.Millisecond, "admin", "POST", "publickey/example.com", key, reply{503, "5"}},
		{"a second after the first", 500 * time.Millisecond, "admin", "POST", "publickey/example.com", key, reply{201, ""}},
		{"monitor create 1", 0, "admin", "POST", "mail/monitor/example.com/amal", monitor, reply{201, ""}},
		{"monitor create 2", 0, "admin", "POST", "mail/monitor/example.com/amal", monitor, reply{201, ""}},
		{"monitor list", 0, "admin", "GET", "mail/monitor/example.com/amal", "", reply{200, ""}},
		{"export create 1", 0, "admin", "POST", "mail/export/example.com/amal", atomBody(), reply{201, ""}},
		{"export create 2", 0, "admin", "POST", "mail/export/example.com/amal", atomBody(), reply{201, ""}},
		{"export list", 0, "admin", "GET", "mail/export/example.com", "", reply{200, ""}},
		{"monitor delete", 0, "admin", "DELETE", "mail/monitor/example.com/amal/izumi", "", reply{200, ""}},
	}
	for _, st := range steps {
		clk.advance(st.advance)
		got := send(st.as, st.method, st.path, st.in)
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: %s %s (-want +got):\n%s", st.name, st.method, st.path, diff)
		}
	}
}

// TestAuditExportEmptyMailbox: the export of a user with no mail completes
// with one file, which downloads (an encrypted empty mbox), not 404.
func TestAuditExportEmptyMailbox(t *testing.T) {
	s, clk := newAuditServer(t)
	_, pub := rsaKey()
	if st, _, b := do(t, s, "POST", auditPath+"publickey/example.com", atomBody("publicKey", pub)); st != 201 {
		t.Fatalf("key: %d %s", st, b)
	}
	s.AddUser("nomail@example.com")
	st, _, b := do(t, s, "POST", auditPath+"mail/export/example.com/nomail", atomBody())
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	id, _ := parseEntry(t, b).prop("requestId")
	clk.advance(time.Hour)
	st, _, b = do(t, s, "GET", auditPath+"mail/export/example.com/nomail/"+id, "")
	if st != http.StatusOK {
		t.Fatalf("get export: %d %s", st, b)
	}
	fu, ok := parseEntry(t, b).prop("fileUrl0")
	if !ok {
		t.Fatal("no fileUrl0 for a completed export")
	}
	if st, _, body := do(t, s, "GET", fu, ""); st != 200 || len(body) == 0 {
		t.Fatalf("download: %d, %d bytes; want 200 and an OpenPGP file", st, len(body))
	}
}
