package workspacetest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
)

func TestGmailListAndGetFormats(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	idA := s.AddGmailMessage(bob, []byte(mailMsg("alice@example.org", bob, "Lunch", "see you at noon")), "INBOX", "UNREAD")
	idB := s.AddGmailMessage(bob, []byte(multipartMsg()), "INBOX", "STARRED")
	idC := s.AddGmailMessage(bob, []byte(mailMsg("spammer@bad.example", bob, "Win", "money")), "SPAM")
	idD := s.AddMail(bob, []byte(mailMsg("eve@example.net", bob, "Seeded by AddMail", "hi", "Date: Wed, 4 Feb 2026 09:00:00 +0000")))
	svc := gmailFor(t, s, bob)

	list := func(call *gmail.UsersMessagesListCall) string {
		t.Helper()
		res, err := call.Do()
		if err != nil {
			t.Fatal(err)
		}
		return ids(res.Messages)
	}
	// Newest first (internal date = Date header for seeded mail); spam
	// left out unless asked for.
	if got, want := list(svc.Users.Messages.List("me")), strings.Join([]string{idD, idB, idA}, ","); got != want {
		t.Errorf("list = %s, want %s", got, want)
	}
	if got := list(svc.Users.Messages.List("me").IncludeSpamTrash(true)); !strings.Contains(got, idC) {
		t.Errorf("includeSpamTrash list %s lacks %s", got, idC)
	}
	for q, want := range map[string]string{
		"from:alice":                       idA,
		"subject:report":                   idB,
		"is:unread":                        idD + "," + idA,
		"label:starred":                    idB,
		"has:attachment":                   idB,
		"figures -from:alice":              idB,
		"after:2026/02/04":                 idD,
		"before:2026/02/01":                idA,
		"to:bob@example.com is:read":       idB,
		"in:spam":                          idC,
		`"at noon"`:                        idA,
		"rfc822msgid:report-1@example.org": idB,
	} {
		if got := list(svc.Users.Messages.List("me").Q(q)); got != want {
			t.Errorf("q=%q: got %s, want %s", q, got, want)
		}
	}
	if got := list(svc.Users.Messages.List("me").LabelIds("INBOX", "UNREAD")); got != idD+","+idA {
		t.Errorf("labelIds INBOX,UNREAD = %s", got)
	}
	// Paging.
	p1, err := svc.Users.Messages.List("me").MaxResults(2).Do()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := svc.Users.Messages.List("me").MaxResults(2).PageToken(p1.NextPageToken).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Messages) != 2 || len(p2.Messages) != 1 || p2.NextPageToken != "" || p1.ResultSizeEstimate != 3 {
		t.Errorf("pages: %d %d next=%q est=%d", len(p1.Messages), len(p2.Messages), p2.NextPageToken, p1.ResultSizeEstimate)
	}
	_, err = svc.Users.Messages.List("me").LabelIds("Label_404").Do()
	if ge := apiError(t, err); ge.Code != 400 || reason(ge) != "invalidArgument" {
		t.Errorf("unknown label: %v", ge)
	}

	// full: payload tree, decoded bodies, attachment id, snippet.
	full, err := svc.Users.Messages.Get("me", idB).Format("full").Do()
	if err != nil {
		t.Fatal(err)
	}
	if full.Payload.MimeType != "multipart/mixed" || len(full.Payload.Parts) != 2 || full.Payload.Parts[0].Parts[0].PartId != "0.0" {
		t.Fatalf("payload = %+v", full.Payload)
	}
	text, err := base64.URLEncoding.DecodeString(full.Payload.Parts[0].Parts[0].Body.Data)
	if err != nil || string(text) != "Hello Bob, the figures are attached — see you." {
		t.Errorf("text part = %q, %v", text, err)
	}
	if full.Snippet != "Hello Bob, the figures are attached — see you." || full.SizeEstimate != int64(len(multipartMsg())) ||
		full.ThreadId != idB || full.HistoryId == 0 || full.InternalDate != time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("full = snippet %q size %d thread %s hist %d date %d", full.Snippet, full.SizeEstimate, full.ThreadId, full.HistoryId, full.InternalDate)
	}
	att := full.Payload.Parts[1]
	if att.Filename != "figures.pdf" || att.Body.AttachmentId == "" || att.Body.Size != 19 {
		t.Fatalf("attachment part = %+v %+v", att, att.Body)
	}
	body, err := svc.Users.Messages.Attachments.Get("me", idB, att.Body.AttachmentId).Do()
	if err != nil {
		t.Fatal(err)
	}
	if pdf, _ := base64.URLEncoding.DecodeString(body.Data); !bytes.HasPrefix(pdf, []byte("%PDF-1.4")) {
		t.Errorf("attachment data = %q", pdf)
	}
	// metadata with metadataHeaders, minimal, raw.
	meta, err := svc.Users.Messages.Get("me", idB).Format("metadata").MetadataHeaders("subject", "From").Do()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range meta.Payload.Headers {
		names = append(names, h.Name+"="+h.Value)
	}
	if diff := cmp.Diff([]string{"From=carol@example.org", "Subject=Report & figures"}, names); diff != "" || meta.Payload.Parts != nil {
		t.Errorf("metadata headers (-want +got):\n%s", diff)
	}
	minimal, err := svc.Users.Messages.Get("me", idA).Format("minimal").Do()
	if err != nil {
		t.Fatal(err)
	}
	if minimal.Payload != nil || minimal.Raw != "" || !slices.Equal(minimal.LabelIds, []string{"INBOX", "UNREAD"}) {
		t.Errorf("minimal = %+v", minimal)
	}
	raw, err := svc.Users.Messages.Get("me", idD).Format("raw").Do()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := base64.URLEncoding.DecodeString(raw.Raw); !strings.Contains(string(b), "Seeded by AddMail") {
		t.Errorf("raw = %q", b)
	}
	if !slices.Equal(raw.LabelIds, []string{"INBOX", "UNREAD"}) {
		t.Errorf("AddMail message labels = %v", raw.LabelIds)
	}

	_, err = svc.Users.Messages.Get("me", "ffff000000000000").Do()
	if ge := apiError(t, err); ge.Code != 404 || reason(ge) != "notFound" || ge.Message != "Requested entity was not found." {
		t.Errorf("missing message: %v", ge)
	}
	_, err = svc.Users.Messages.Get("me", idA).Format("weird").Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("bad format: %v", ge)
	}

	// The admin's token cannot read bob's mailbox: Gmail needs a token
	// per user.
	admin, err := gmail.NewService(t.Context(), clientOptions(s)...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.Users.Messages.List(bob).Do()
	if ge := apiError(t, err); ge.Code != 403 || reason(ge) != "forbidden" || !strings.Contains(ge.Message, "Delegation denied") {
		t.Errorf("admin on bob: %v", ge)
	}
	// Naming oneself by address works; the admin's own mailbox is empty.
	if _, err := svc.Users.Messages.List(bob).Do(); err != nil {
		t.Errorf("bob by address: %v", err)
	}
	if p, err := admin.Users.GetProfile("me").Do(); err != nil || p.EmailAddress != s.AdminEmail() || p.MessagesTotal != 0 {
		t.Errorf("admin profile %+v, %v", p, err)
	}
	// Profile of bob.
	prof, err := svc.Users.GetProfile("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	if prof.EmailAddress != bob || prof.MessagesTotal != 4 || prof.ThreadsTotal != 4 || prof.HistoryId != s.GmailHistoryID(bob) {
		t.Errorf("profile = %+v", prof)
	}
}

func TestGmailMetadataScope(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	id := s.AddGmailMessage("bob@example.com", []byte(mailMsg("a@example.org", "bob@example.com", "s", "b")), "INBOX")
	svc := gmailFor(t, s, "bob@example.com", "https://www.googleapis.com/auth/gmail.metadata")
	if _, err := svc.Users.Messages.Get("me", id).Format("metadata").Do(); err != nil {
		t.Errorf("metadata get: %v", err)
	}
	_, err := svc.Users.Messages.Get("me", id).Format("full").Do()
	if ge := apiError(t, err); ge.Code != 403 {
		t.Errorf("full with metadata scope: %v", ge)
	}
	_, err = svc.Users.Messages.List("me").Q("from:a").Do()
	if ge := apiError(t, err); ge.Code != 403 {
		t.Errorf("q with metadata scope: %v", ge)
	}
	_, err = svc.Users.Messages.Trash("me", id).Do()
	if ge := apiError(t, err); ge.Code != 403 || reason(ge) != "insufficientPermissions" {
		t.Errorf("trash with metadata scope: %v", ge)
	}
}

func TestGmailPartialResponses(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	id := s.AddGmailMessage("bob@example.com", []byte(mailMsg("a@example.org", "bob@example.com", "Hello", "body")), "INBOX")
	s.AddGmailMessage("bob@example.com", []byte(mailMsg("a@example.org", "bob@example.com", "Two", "body")), "INBOX")
	svc := gmailFor(t, s, "bob@example.com")
	res, err := svc.Users.Messages.List("me").MaxResults(1).Fields("messages(id)", "nextPageToken").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 1 || res.Messages[0].Id == "" || res.Messages[0].ThreadId != "" || res.NextPageToken == "" || res.ResultSizeEstimate != 0 {
		t.Errorf("partial list = %+v %+v", res, res.Messages[0])
	}
	m, err := svc.Users.Messages.Get("me", id).Fields("id,payload/headers,labelIds").Do()
	if err != nil {
		t.Fatal(err)
	}
	if m.Id != id || m.ThreadId != "" || m.Snippet != "" || m.Payload.MimeType != "" || len(m.Payload.Headers) != 4 || len(m.LabelIds) != 1 {
		t.Errorf("partial get = %+v payload %+v", m, m.Payload)
	}
	// Raw HTTP to see the exact bytes.
	hc := userHTTPClient(t, s, "bob@example.com")
	resp, err := hc.Get(s.URL + "/gmail/v1/users/me/profile?fields=emailAddress")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"emailAddress":"bob@example.com"}` {
		t.Errorf("profile fields = %s", b)
	}
	_, err = svc.Users.GetProfile("me").Fields("emailAddress(").Do()
	if ge := apiError(t, err); ge.Code != 400 || reason(ge) != "invalidParameter" {
		t.Errorf("bad fields: %v", ge)
	}
}

func TestGmailInsertImportSend(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now))
	const bob, dave = "bob@example.com", "dave@example.com"
	svc := gmailFor(t, s, bob)
	rfc822 := googleapi.ContentType("message/rfc822")

	// insert through a multipart upload, with labels in the metadata part.
	ins, err := svc.Users.Messages.Insert("me", &gmail.Message{LabelIds: []string{"INBOX", "UNREAD"}}).
		Media(strings.NewReader(mailMsg("x@example.org", bob, "Inserted", "one")), rfc822).Do()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ins.LabelIds, []string{"INBOX", "UNREAD"}) || ins.ThreadId != ins.Id {
		t.Errorf("insert reply = %+v", ins)
	}
	// insert with a raw JSON body: internal date is the receive time.
	raw := base64.URLEncoding.EncodeToString([]byte(mailMsg("y@example.org", bob, "Raw insert", "two")))
	ins2, err := svc.Users.Messages.Insert("me", &gmail.Message{Raw: raw}).Do()
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Users.Messages.Get("me", ins2.Id).Format("minimal").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.InternalDate != clock.t.UnixMilli() || got.LabelIds != nil {
		t.Errorf("raw insert: date %d labels %v", got.InternalDate, got.LabelIds)
	}
	// import: internal date from the Date header by default.
	imp, err := svc.Users.Messages.Import("me", &gmail.Message{LabelIds: []string{"INBOX"}}).
		Media(strings.NewReader(mailMsg("z@example.org", bob, "Imported", "three")), rfc822).Do()
	if err != nil {
		t.Fatal(err)
	}
	got, err = svc.Users.Messages.Get("me", imp.Id).Format("minimal").Do()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 2, 22, 4, 5, 0, time.UTC).UnixMilli(); got.InternalDate != want {
		t.Errorf("import internalDate = %d, want %d", got.InternalDate, want)
	}
	imp2, err := svc.Users.Messages.Import("me", &gmail.Message{Raw: raw}).InternalDateSource("receivedTime").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Users.Messages.Get("me", imp2.Id).Do(); got.InternalDate != clock.t.UnixMilli() {
		t.Errorf("receivedTime import date = %d", got.InternalDate)
	}
	// deleted=true: kept out of Gmail, only in the store (Vault).
	del, err := svc.Users.Messages.Import("me", &gmail.Message{Raw: raw}).Deleted(true).Do()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Users.Messages.Get("me", del.Id).Do(); apiError(t, err).Code != 404 {
		t.Errorf("deleted import visible")
	}
	// uploadType=media, by hand.
	hc := userHTTPClient(t, s, bob)
	resp, err := hc.Post(s.URL+"/upload/gmail/v1/users/me/messages/import?uploadType=media", "message/rfc822",
		strings.NewReader(mailMsg("m@example.org", bob, "Media import", "four")))
	if err != nil {
		t.Fatal(err)
	}
	var mediaMsg gmail.Message
	if err := json.NewDecoder(resp.Body).Decode(&mediaMsg); err != nil || resp.StatusCode != 200 || mediaMsg.Id == "" {
		t.Errorf("media import: %d %+v %v", resp.StatusCode, mediaMsg, err)
	}
	resp.Body.Close()

	// Refusals: wrong media type, no raw, unknown label.
	_, err = svc.Users.Messages.Insert("me", &gmail.Message{}).
		Media(strings.NewReader("From: a@b.c\r\n\r\nx\r\n"), googleapi.ContentType("text/plain")).Do()
	if ge := apiError(t, err); ge.Code != 400 || reason(ge) != "badContent" || !strings.Contains(ge.Message, "message/*") {
		t.Errorf("text/plain upload: %v", ge)
	}
	_, err = svc.Users.Messages.Insert("me", &gmail.Message{}).Do()
	if ge := apiError(t, err); ge.Code != 400 || !strings.Contains(ge.Message, "'raw' RFC822 payload") {
		t.Errorf("no raw: %v", ge)
	}
	_, err = svc.Users.Messages.Insert("me", &gmail.Message{Raw: raw, LabelIds: []string{"Label_9"}}).Do()
	if ge := apiError(t, err); ge.Code != 400 || ge.Message != "Invalid label: Label_9" {
		t.Errorf("bad label: %v", ge)
	}

	// send: SENT for bob, delivered to dave's inbox, headers completed.
	sent, err := svc.Users.Messages.Send("me", &gmail.Message{}).
		Media(strings.NewReader(crlf("To: dave@example.com, outside@example.org\nSubject: Hi Dave\n\nhello\n")), rfc822).Do()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sent.LabelIds, []string{"SENT"}) {
		t.Errorf("sent labels = %v", sent.LabelIds)
	}
	dmsgs := s.GmailMessages(dave)
	if len(dmsgs) != 1 || !slices.Equal(dmsgs[0].LabelIDs, []string{"INBOX", "UNREAD"}) ||
		!bytes.HasPrefix(dmsgs[0].Raw, []byte("From: bob@example.com\r\nDate: ")) || !bytes.Contains(dmsgs[0].Raw, []byte("Message-ID: <")) {
		t.Errorf("dave's mailbox = %+v", dmsgs)
	}
	if n := s.MailCount(dave); n != 1 {
		t.Errorf("mail store count for dave = %d", n)
	}
	sraw := base64.URLEncoding.EncodeToString([]byte(crlf("To: bob@example.com\nSubject: note to self\n\nx\n")))
	self, err := svc.Users.Messages.Send("me", &gmail.Message{Raw: sraw}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(self.LabelIds, []string{"SENT", "INBOX", "UNREAD"}) {
		t.Errorf("send to self labels = %v", self.LabelIds)
	}
	_, err = svc.Users.Messages.Send("me", &gmail.Message{Raw: base64.URLEncoding.EncodeToString([]byte("Subject: x\r\n\r\nx\r\n"))}).Do()
	if ge := apiError(t, err); ge.Code != 400 || ge.Message != "Recipient address required" {
		t.Errorf("no recipients: %v", ge)
	}
	// 35 MiB send limit, single-request upload.
	big := io.MultiReader(strings.NewReader("To: dave@example.com\r\nSubject: big\r\n\r\n"), io.LimitReader(zeros{}, workspacetest.GmailMaxSendSize))
	_, err = svc.Users.Messages.Send("me", &gmail.Message{}).Media(big, rfc822, googleapi.ChunkSize(0)).Do()
	if ge := apiError(t, err); ge.Code != 413 || reason(ge) != "uploadTooLarge" {
		t.Errorf("oversized send: %v", ge)
	}
	if n := len(s.GmailMessages(dave)); n != 1 {
		t.Errorf("oversized send delivered: %d", n)
	}
}

// zeros reads as an endless run of 'a'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestGmailModifyTrashDelete(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	var idsSeeded []string
	for i := range 4 {
		idsSeeded = append(idsSeeded, s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "n"+string(rune('0'+i)), "b")), "INBOX", "UNREAD"))
	}
	svc := gmailFor(t, s, bob)
	m, err := svc.Users.Messages.Modify("me", idsSeeded[0], &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}, RemoveLabelIds: []string{"UNREAD"}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.LabelIds, []string{"INBOX", "STARRED"}) {
		t.Errorf("modify labels = %v", m.LabelIds)
	}
	_, err = svc.Users.Messages.Modify("me", idsSeeded[0], &gmail.ModifyMessageRequest{AddLabelIds: []string{"NOPE"}}).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("modify unknown label: %v", ge)
	}
	_, err = svc.Users.Messages.Modify("me", "0000000000000001", &gmail.ModifyMessageRequest{}).Do()
	if ge := apiError(t, err); ge.Code != 404 {
		t.Errorf("modify unknown message: %v", ge)
	}
	tr, err := svc.Users.Messages.Trash("me", idsSeeded[1]).Do()
	if err != nil || !slices.Contains(tr.LabelIds, "TRASH") {
		t.Fatalf("trash: %+v %v", tr, err)
	}
	if res, _ := svc.Users.Messages.List("me").Do(); len(res.Messages) != 3 {
		t.Errorf("trashed message still listed: %d", len(res.Messages))
	}
	if res, _ := svc.Users.Messages.List("me").Q("in:trash").Do(); len(res.Messages) != 1 {
		t.Errorf("in:trash: %d", len(res.Messages))
	}
	if ut, err := svc.Users.Messages.Untrash("me", idsSeeded[1]).Do(); err != nil || slices.Contains(ut.LabelIds, "TRASH") {
		t.Errorf("untrash: %+v %v", ut, err)
	}
	if err := svc.Users.Messages.Delete("me", idsSeeded[2]).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Users.Messages.Get("me", idsSeeded[2]).Do(); apiError(t, err).Code != 404 {
		t.Error("deleted message still there")
	}
	if err := svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
		Ids: []string{idsSeeded[0], idsSeeded[1], idsSeeded[3]}, AddLabelIds: []string{"IMPORTANT"}, RemoveLabelIds: []string{"INBOX"},
	}).Do(); err != nil {
		t.Fatal(err)
	}
	for _, gm := range s.GmailMessages(bob) {
		if !slices.Contains(gm.LabelIDs, "IMPORTANT") || slices.Contains(gm.LabelIDs, "INBOX") {
			t.Errorf("after batchModify %s has %v", gm.ID, gm.LabelIDs)
		}
	}
	if err := svc.Users.Messages.BatchDelete("me", &gmail.BatchDeleteMessagesRequest{Ids: []string{idsSeeded[0], idsSeeded[3]}}).Do(); err != nil {
		t.Fatal(err)
	}
	if got := s.GmailMessages(bob); len(got) != 1 || got[0].ID != idsSeeded[1] {
		t.Errorf("after batchDelete: %+v", got)
	}
	// delete needs the full mail scope.
	ro := gmailFor(t, s, bob, "https://www.googleapis.com/auth/gmail.modify")
	if err := ro.Users.Messages.Delete("me", idsSeeded[1]).Do(); apiError(t, err).Code != 403 {
		t.Errorf("delete with gmail.modify: %v", err)
	}
}

func TestGmailLabelsCRUD(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	svc := gmailFor(t, s, bob)
	ls, err := svc.Users.Labels.List("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	var sys []string
	for _, l := range ls.Labels {
		if l.Type == "system" {
			sys = append(sys, l.Id)
		}
	}
	for _, want := range []string{"INBOX", "SENT", "TRASH", "SPAM", "UNREAD", "STARRED", "IMPORTANT", "DRAFT", "CATEGORY_SOCIAL"} {
		if !slices.Contains(sys, want) {
			t.Errorf("system label %s missing from %v", want, sys)
		}
	}
	l, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "Projects/Alpha"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if l.Id != "Label_1" || l.Type != "user" || l.LabelListVisibility != "labelShow" {
		t.Errorf("created = %+v", l)
	}
	_, err = svc.Users.Labels.Create("me", &gmail.Label{Name: "projects/alpha"}).Do()
	if ge := apiError(t, err); ge.Code != 409 {
		t.Errorf("duplicate name: %v", ge)
	}
	_, err = svc.Users.Labels.Create("me", &gmail.Label{Name: "Inbox"}).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("reserved name: %v", ge)
	}
	id := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "x", "y")), "INBOX", "UNREAD", l.Id)
	got, err := svc.Users.Labels.Get("me", l.Id).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.MessagesTotal != 1 || got.MessagesUnread != 1 || got.ThreadsTotal != 1 || got.ThreadsUnread != 1 {
		t.Errorf("counts = %+v", got)
	}
	if res, _ := svc.Users.Messages.List("me").Q("label:projects-alpha").Do(); len(res.Messages) != 1 {
		t.Errorf("label: query found %d", len(res.Messages))
	}
	p, err := svc.Users.Labels.Patch("me", l.Id, &gmail.Label{Color: &gmail.LabelColor{TextColor: "#000000", BackgroundColor: "#ffffff"}}).Do()
	if err != nil || p.Name != "Projects/Alpha" || p.Color == nil || p.Color.TextColor != "#000000" {
		t.Errorf("patch = %+v %v", p, err)
	}
	u, err := svc.Users.Labels.Update("me", l.Id, &gmail.Label{Name: "Beta", LabelListVisibility: "labelHide"}).Do()
	if err != nil || u.Name != "Beta" || u.Color != nil || u.LabelListVisibility != "labelHide" {
		t.Errorf("update = %+v %v", u, err)
	}
	_, err = svc.Users.Labels.Update("me", "INBOX", &gmail.Label{Name: "Mine"}).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("update system label: %v", ge)
	}
	if err := svc.Users.Labels.Delete("me", "INBOX").Do(); apiError(t, err).Code != 400 {
		t.Errorf("delete system label: %v", err)
	}
	if err := svc.Users.Labels.Delete("me", l.Id).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Users.Labels.Get("me", l.Id).Do(); apiError(t, err).Code != 404 {
		t.Errorf("deleted label still there")
	}
	if m, _ := svc.Users.Messages.Get("me", id).Do(); slices.Contains(m.LabelIds, l.Id) {
		t.Errorf("message keeps deleted label: %v", m.LabelIds)
	}
}

func TestGmailThreads(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	first := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "Plans", "first", "Message-ID: <p1@example.org>")), "INBOX")
	reply := s.AddGmailMessage(bob, []byte(mailMsg("c@example.org", bob, "Re: Plans", "second",
		"Message-ID: <p2@example.org>", "In-Reply-To: <p1@example.org>", "References: <p1@example.org>", "Date: Tue, 3 Jan 2026 15:04:05 -0700")), "INBOX")
	// Same references, another subject: a new thread, as Gmail does.
	other := s.AddGmailMessage(bob, []byte(mailMsg("c@example.org", bob, "Something else", "third", "References: <p1@example.org>")), "INBOX")
	svc := gmailFor(t, s, bob)
	// Explicit threadId on insert.
	ins, err := svc.Users.Messages.Insert("me", &gmail.Message{ThreadId: first,
		Raw: base64.URLEncoding.EncodeToString([]byte(mailMsg("d@example.org", bob, "Plans", "fourth", "Date: Wed, 4 Jan 2026 15:04:05 -0700")))}).Do()
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]string{}
	for _, gm := range s.GmailMessages(bob) {
		msgs[gm.ID] = gm.ThreadID
	}
	if msgs[reply] != first || msgs[other] != other || ins.ThreadId != first {
		t.Errorf("threads: reply %s other %s inserted %s (first %s)", msgs[reply], msgs[other], ins.ThreadId, first)
	}
	tl, err := svc.Users.Threads.List("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Threads) != 2 || tl.Threads[0].Id != first || tl.Threads[0].Snippet != "fourth" || tl.ResultSizeEstimate != 2 {
		t.Errorf("threads.list = %+v", tl.Threads)
	}
	th, err := svc.Users.Threads.Get("me", first).Format("metadata").MetadataHeaders("Subject").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 3 || th.Messages[0].Id != first || th.Messages[1].Id != reply || th.Messages[2].Id != ins.Id {
		t.Errorf("threads.get = %s", ids(th.Messages))
	}
	if tq, _ := svc.Users.Threads.List("me").Q("from:c@example.org").Do(); len(tq.Threads) != 2 {
		t.Errorf("threads q = %d", len(tq.Threads))
	}
	if _, err := svc.Users.Threads.Trash("me", first).Do(); err != nil {
		t.Fatal(err)
	}
	if tl, _ := svc.Users.Threads.List("me").Do(); len(tl.Threads) != 1 {
		t.Errorf("after thread trash: %d threads", len(tl.Threads))
	}
	if _, err := svc.Users.Threads.Modify("me", other, &gmail.ModifyThreadRequest{AddLabelIds: []string{"STARRED"}}).Do(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Users.Threads.Delete("me", first).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Users.Threads.Get("me", first).Do(); apiError(t, err).Code != 404 {
		t.Error("deleted thread still there")
	}
}

func TestGmailHistory(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	const bob = "bob@example.com"
	svc := gmailFor(t, s, bob)
	prof, err := svc.Users.GetProfile("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	start := prof.HistoryId
	a := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "one", "x")), "INBOX", "UNREAD")
	b := s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "two", "x")), "INBOX")
	if _, err := svc.Users.Messages.Modify("me", a, &gmail.ModifyMessageRequest{RemoveLabelIds: []string{"UNREAD"}, AddLabelIds: []string{"STARRED"}}).Do(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Users.Messages.Delete("me", b).Do(); err != nil {
		t.Fatal(err)
	}
	h, err := svc.Users.History.List("me").StartHistoryId(start).Do()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	last := start
	for _, rec := range h.History {
		if rec.Id <= last {
			t.Errorf("history ids not increasing: %d after %d", rec.Id, last)
		}
		last = rec.Id
		switch {
		case len(rec.MessagesAdded) == 1:
			kinds = append(kinds, "added:"+rec.MessagesAdded[0].Message.Id)
		case len(rec.MessagesDeleted) == 1:
			kinds = append(kinds, "deleted:"+rec.MessagesDeleted[0].Message.Id)
		case len(rec.LabelsAdded) == 1:
			kinds = append(kinds, "labelAdded:"+strings.Join(rec.LabelsAdded[0].LabelIds, "+"))
		case len(rec.LabelsRemoved) == 1:
			kinds = append(kinds, "labelRemoved:"+strings.Join(rec.LabelsRemoved[0].LabelIds, "+"))
		}
	}
	want := []string{"added:" + a, "added:" + b, "labelAdded:STARRED", "labelRemoved:UNREAD", "deleted:" + b}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if h.HistoryId != s.GmailHistoryID(bob) || h.HistoryId != last {
		t.Errorf("historyId %d, server %d, last record %d", h.HistoryId, s.GmailHistoryID(bob), last)
	}
	// Filters and paging.
	only, err := svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("messageAdded").LabelId("UNREAD").Do()
	if err != nil || len(only.History) != 1 || only.History[0].MessagesAdded[0].Message.Id != a {
		t.Errorf("filtered history = %+v, %v", only, err)
	}
	var pages, recs int
	tok := ""
	for {
		call := svc.Users.History.List("me").StartHistoryId(start).MaxResults(2)
		if tok != "" {
			call.PageToken(tok)
		}
		p, err := call.Do()
		if err != nil {
			t.Fatal(err)
		}
		pages++
		recs += len(p.History)
		if tok = p.NextPageToken; tok == "" {
			break
		}
	}
	if pages != 3 || recs != 5 {
		t.Errorf("paging: %d pages, %d records", pages, recs)
	}
	// Missing start id, then an expired one: 404 means a full sync.
	hc := userHTTPClient(t, s, bob)
	resp, err := hc.Get(s.URL + "/gmail/v1/users/me/history")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("missing startHistoryId: %d", resp.StatusCode)
	}
	s.ExpireGmailHistory(bob)
	_, err = svc.Users.History.List("me").StartHistoryId(start).Do()
	if ge := apiError(t, err); ge.Code != http.StatusNotFound || reason(ge) != "notFound" || ge.Message != "Requested entity was not found." {
		t.Errorf("expired start: %v", ge)
	}
	cur := s.GmailHistoryID(bob)
	if h, err := svc.Users.History.List("me").StartHistoryId(cur).Do(); err != nil || len(h.History) != 0 || h.HistoryId != cur {
		t.Errorf("current start after expiry: %+v %v", h, err)
	}
	// Retention by count.
	s.SetGmailConfig(workspacetest.GmailConfig{HistoryRecords: 2})
	for range 3 {
		s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "more", "x")), "INBOX")
	}
	if _, err := svc.Users.History.List("me").StartHistoryId(cur).Do(); apiError(t, err).Code != 404 {
		t.Errorf("start before the kept records: %v", err)
	}
}
