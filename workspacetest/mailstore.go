package workspacetest

import (
	"bytes"
	"net/mail"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"
)

// The mail store: the seeded mailboxes of the domain's users, shared by the
// APIs that read or write mail (Email Audit exports, Gmail).
//
// Server has no field for it (server.go belongs to the skeleton), so the
// store hangs off the Server through a side table, serverLocal, keyed by a
// weak pointer: the state lives exactly as long as its Server. Like every
// other piece of server state, the mailbox itself is guarded by s.mu.

// serverLocal attaches one value of type T to each Server, created on
// first use by newT. Its own mutex guards only the table, never the value.
type serverLocal[T any] struct {
	mu   sync.Mutex
	m    map[weak.Pointer[Server]]*T
	newT func(*Server) *T
}

// get returns the value attached to s, creating it on first use. newT runs
// without s.mu held and without the table lock.
func (l *serverLocal[T]) get(s *Server) *T {
	key := weak.Make(s)
	l.mu.Lock()
	v := l.m[key]
	l.mu.Unlock()
	if v != nil {
		return v
	}
	nv := l.newT(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	if v := l.m[key]; v != nil {
		return v
	}
	if l.m == nil {
		l.m = map[weak.Pointer[Server]]*T{}
	}
	l.m[key] = nv
	runtime.AddCleanup(s, func(k weak.Pointer[Server]) {
		l.mu.Lock()
		delete(l.m, k)
		l.mu.Unlock()
	}, key)
	return nv
}

// mailbox holds the messages of every user, by lower-cased email address,
// in the order they arrived. Guarded by s.mu.
type mailbox struct {
	byUser map[string][]*mailMessage
	byID   map[string]*mailMessage
	seq    int
}

// mailMessage is one stored RFC 822 message.
type mailMessage struct {
	id   string // unique across the server, a hex string like Gmail ids
	user string // owner, lower-cased email
	raw  []byte // the message as seeded, CRLF or LF as given
	// date is the message's Date header in UTC, or the time it was stored
	// when the header is missing or unreadable.
	date time.Time
	// added is the server time the message was stored.
	added time.Time
	// deleted marks a message removed from the mailbox. It stays in the
	// store so that an audit export with includeDeleted=true still finds it.
	deleted bool
}

var mailboxes = serverLocal[mailbox]{newT: func(*Server) *mailbox {
	return &mailbox{byUser: map[string][]*mailMessage{}, byID: map[string]*mailMessage{}}
}}

// mail returns the server's mail store; it may be called with or without
// s.mu held. Hold s.mu while reading or changing the store.
func (s *Server) mail() *mailbox { return mailboxes.get(s) }

// AddMail stores raw, an RFC 822 message, in the mailbox of user (an email
// address of a seeded user, see AddUser) and returns the message's id. The
// message's date is its Date header, or the server time when it has none.
// AddMail panics if user is not a seeded user or raw is empty.
func (s *Server) AddMail(user string, raw []byte) (id string) {
	if len(raw) == 0 {
		panic("workspacetest: AddMail: empty message")
	}
	mb := s.mail()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookupUserLocked(user)
	if u == nil {
		panic("workspacetest: AddMail: " + user + " is not a seeded user (see AddUser)")
	}
	return mb.addLocked(u.email, raw, s.nowLocked()).id
}

// addLocked stores a copy of raw for user (lower-cased email); s.mu held.
func (mb *mailbox) addLocked(user string, raw []byte, now time.Time) *mailMessage {
	mb.seq++
	m := &mailMessage{
		id:    strconv.FormatInt(0x18c0000000000000+int64(mb.seq), 16),
		user:  user,
		raw:   bytes.Clone(raw),
		date:  messageDate(raw, now),
		added: now,
	}
	mb.byUser[user] = append(mb.byUser[user], m)
	mb.byID[m.id] = m
	return m
}

// messagesLocked returns user's messages in arrival order, leaving out
// deleted ones unless withDeleted; s.mu held. The slice is a fresh copy.
func (mb *mailbox) messagesLocked(user string, withDeleted bool) []*mailMessage {
	all := mb.byUser[strings.ToLower(user)]
	if withDeleted {
		return slices.Clone(all)
	}
	out := make([]*mailMessage, 0, len(all))
	for _, m := range all {
		if !m.deleted {
			out = append(out, m)
		}
	}
	return out
}

// deleteLocked marks a message deleted; it reports whether it was present
// and not already deleted. s.mu held.
func (mb *mailbox) deleteLocked(id string) bool {
	m := mb.byID[id]
	if m == nil || m.deleted {
		return false
	}
	m.deleted = true
	return true
}

// MailCount returns how many messages user's mailbox holds (deleted ones
// not counted).
func (s *Server) MailCount(user string) int {
	mb := s.mail()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(mb.messagesLocked(user, false))
}

// messageDate reads the Date header of raw, in UTC, or returns fallback.
func messageDate(raw []byte, fallback time.Time) time.Time {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return fallback.UTC()
	}
	d, err := msg.Header.Date()
	if err != nil {
		return fallback.UTC()
	}
	return d.UTC()
}
