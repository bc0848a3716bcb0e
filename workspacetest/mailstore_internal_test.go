package workspacetest

import (
	"strings"
	"testing"
	"time"
)

func TestMailstoreAddAndList(t *testing.T) {
	s := NewUnstartedServer(WithClock(func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }))
	defer s.Close()
	s.AddUser("bob@example.com")
	msg := "From: a@example.com\r\nDate: Mon, 2 Jan 2006 15:04:05 -0700\r\nSubject: x\r\n\r\nhi\r\n"
	id1 := s.AddMail("Bob@example.com", []byte(msg))
	id2 := s.AddMail("bob@example.com", []byte("Subject: no date\r\n\r\nbody\r\n"))
	if id1 == id2 || id1 == "" {
		t.Fatalf("ids %q %q", id1, id2)
	}
	if n := s.MailCount("bob@example.com"); n != 2 {
		t.Fatalf("MailCount = %d, want 2", n)
	}
	mb := s.mail()
	if mb != s.mail() {
		t.Fatal("mail() not stable")
	}
	s.mu.Lock()
	msgs := mb.messagesLocked("bob@example.com", false)
	if got := msgs[0].date; !got.Equal(time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC)) {
		t.Errorf("date from header = %v", got)
	}
	if got := msgs[1].date; !got.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("fallback date = %v", got)
	}
	if !mb.deleteLocked(id1) || mb.deleteLocked(id1) {
		t.Error("deleteLocked: want true then false")
	}
	live, all := len(mb.messagesLocked("bob@example.com", false)), len(mb.messagesLocked("bob@example.com", true))
	s.mu.Unlock()
	if live != 1 || all != 2 {
		t.Errorf("live %d all %d, want 1 2", live, all)
	}
	// A second server has its own store.
	s2 := NewUnstartedServer()
	defer s2.Close()
	if s2.mail() == mb {
		t.Error("servers share a mail store")
	}
}

func TestMailstoreAddMailPanics(t *testing.T) {
	s := NewUnstartedServer()
	defer s.Close()
	for _, tc := range []struct {
		user string
		raw  []byte
		want string
	}{
		{"nobody@example.com", []byte("x"), "not a seeded user"},
		{"admin@example.com", nil, "empty message"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), tc.want) {
					t.Errorf("AddMail(%q) panic = %v, want %q", tc.user, r, tc.want)
				}
			}()
			s.AddMail(tc.user, tc.raw)
		}()
	}
}
