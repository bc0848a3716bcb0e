package audit

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/gdata"
)

// Level is how much of a message (or chat) a monitor copies to the
// auditor.
type Level string

// Monitor levels.
const (
	// FullMessage copies the whole message.
	FullMessage Level = "FULL_MESSAGE"
	// HeaderOnly copies the headers only.
	HeaderOnly Level = "HEADER_ONLY"
	// None copies nothing (drafts only; for chats leave the level empty).
	None Level = "NONE"
)

// Monitor is an email monitor: mail of a source user is copied to a
// destination user (the auditor) between Begin and End.
type Monitor struct {
	// Destination is the auditor's username (an address in the domain is
	// accepted and reduced to its username). Required.
	Destination string
	// Begin is when monitoring starts; zero means now. It must not be in
	// the past. Sent in UTC, to the minute.
	Begin time.Time
	// End is when monitoring stops; required, after Begin.
	End time.Time
	// Incoming and Outgoing mail: FullMessage (the default when empty) or
	// HeaderOnly.
	Incoming, Outgoing Level
	// Draft: FullMessage, HeaderOnly or None (the default when empty).
	Draft Level
	// Chat (classic Hangouts only): FullMessage or HeaderOnly; empty or
	// None means chats are not audited.
	Chat Level

	// Set by the server.
	Source    string    // the source user's username
	RequestID string    // in list results
	ID        string    // the entry id, a URL
	Updated   time.Time // the entry's update time
}

// MonitorsService creates, lists and deletes email monitors.
type MonitorsService struct{ a *Client }

// Create creates the monitor of source (a username, or an address in the
// domain) for m.Destination, or replaces the existing one for the same pair:
// the server keeps the last write, and levels left empty revert to their
// defaults. Input is checked before anything is sent: dates in order and
// not in the past, known levels, users in the domain.
//
// The monitor returned is the monitor as it now is: what the server
// answered, completed with what was sent where the answer is silent (a
// server may echo only the fields it was given), levels left empty shown
// as the defaults the server applies, and the begin date the server uses
// when none was given (now). It never has a zero date or an empty
// Incoming, Outgoing or Draft level.
//
// API: https://developers.google.com/workspace/admin/email-audit/reference/monitor
func (s *MonitorsService) Create(ctx context.Context, source string, m *Monitor) (*Monitor, error) {
	const op = "audit.Monitors.Create"
	src, err := s.a.username(op, "source", source)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, &workspace.InputError{Op: op, Field: "monitor", Reason: "nil"}
	}
	dest, err := s.a.username(op, "Destination", m.Destination)
	if err != nil {
		return nil, err
	}
	now := s.a.now().UTC().Truncate(time.Minute)
	begin := now
	e := gdata.NewEntry(gdata.Property{Name: "destUserName", Value: dest})
	if !m.Begin.IsZero() {
		begin = m.Begin.UTC().Truncate(time.Minute)
		if begin.Before(now) {
			return nil, &workspace.InputError{Op: op, Field: "Begin", Reason: fmt.Sprintf("%s is in the past (now is %s UTC)", formatDate(begin), formatDate(now))}
		}
		e.Set("beginDate", formatDate(begin))
	}
	if m.End.IsZero() {
		return nil, &workspace.InputError{Op: op, Field: "End", Reason: "an end date is required"}
	}
	end := m.End.UTC().Truncate(time.Minute)
	if !end.After(begin) {
		return nil, &workspace.InputError{Op: op, Field: "End", Reason: fmt.Sprintf("%s is not after the begin date %s (UTC, to the minute)", formatDate(end), formatDate(begin))}
	}
	e.Set("endDate", formatDate(end))
	for _, f := range []struct {
		prop, field string
		v           Level
		allowed     []Level
	}{
		{"incomingEmailMonitorLevel", "Incoming", m.Incoming, []Level{FullMessage, HeaderOnly}},
		{"outgoingEmailMonitorLevel", "Outgoing", m.Outgoing, []Level{FullMessage, HeaderOnly}},
		{"draftMonitorLevel", "Draft", m.Draft, []Level{FullMessage, HeaderOnly, None}},
		{"chatMonitorLevel", "Chat", m.Chat, []Level{FullMessage, HeaderOnly, None}},
	} {
		if f.v == "" || (f.prop == "chatMonitorLevel" && f.v == None) {
			continue
		}
		ok := false
		for _, l := range f.allowed {
			ok = ok || f.v == l
		}
		if !ok {
			return nil, &workspace.InputError{Op: op, Field: f.field, Reason: fmt.Sprintf("level %q is not one of %v", f.v, f.allowed)}
		}
		e.Set(f.prop, string(f.v))
	}
	got, err := s.a.entry(ctx, http.MethodPost, "monitor.create", src, s.a.feedURL("mail", "monitor", s.a.domain, src), e.Encode())
	if err != nil {
		return nil, err
	}
	return mergeMonitor(monitorFrom(got, src), &Monitor{Destination: dest, Begin: begin, End: end,
		Incoming: m.Incoming, Outgoing: m.Outgoing, Draft: m.Draft, Chat: m.Chat}), nil
}

// mergeMonitor completes the monitor a server answered with what was
// sent. An answer may echo only the fields it was given (google-apis.md
// §1.2; an update's answer does on Google's servers, and compatible
// servers do for creates too): a field the answer lacks is what the
// request set, and a level the request left empty is the level the
// server applies for it (FullMessage for incoming and outgoing mail, None
// for drafts, chats not audited). What the answer says wins. sent holds
// the values as sent: its Begin is the begin date the server uses (now,
// when none was given).
func mergeMonitor(out, sent *Monitor) *Monitor {
	if out.Destination == "" {
		out.Destination = sent.Destination
	}
	if out.Begin.IsZero() {
		out.Begin = sent.Begin
	}
	if out.End.IsZero() {
		out.End = sent.End
	}
	level := func(echoed *Level, sent, def Level) {
		switch {
		case *echoed != "":
		case sent != "":
			*echoed = sent
		default:
			*echoed = def
		}
	}
	level(&out.Incoming, sent.Incoming, FullMessage)
	level(&out.Outgoing, sent.Outgoing, FullMessage)
	level(&out.Draft, sent.Draft, None)
	if out.Chat == "" && sent.Chat != None {
		out.Chat = sent.Chat // empty: chats not audited
	}
	return out
}

// List returns the monitors of source (a username or an address in the
// domain).
//
// API: https://developers.google.com/workspace/admin/email-audit/reference/monitor
func (s *MonitorsService) List(ctx context.Context, source string) ([]*Monitor, error) {
	src, err := s.a.username("audit.Monitors.List", "source", source)
	if err != nil {
		return nil, err
	}
	f, err := s.a.feed(ctx, "monitor.list", src, s.a.feedURL("mail", "monitor", s.a.domain, src))
	if err != nil {
		return nil, err
	}
	out := make([]*Monitor, 0, len(f.Entries))
	for _, e := range f.Entries {
		out = append(out, monitorFrom(e, src))
	}
	return out, nil
}

// Delete deletes the monitor of source for destination (usernames or
// addresses in the domain). Each delete counts against the daily monitor
// budget.
//
// API: https://developers.google.com/workspace/admin/email-audit/reference/monitor
func (s *MonitorsService) Delete(ctx context.Context, source, destination string) error {
	const op = "audit.Monitors.Delete"
	src, err := s.a.username(op, "source", source)
	if err != nil {
		return err
	}
	dest, err := s.a.username(op, "destination", destination)
	if err != nil {
		return err
	}
	return s.a.del(ctx, "monitor.delete", src, s.a.feedURL("mail", "monitor", s.a.domain, src, dest))
}

func monitorFrom(e *gdata.Entry, src string) *Monitor {
	return &Monitor{
		Source:      src,
		Destination: e.Value("destUserName"),
		Begin:       parseDate(e.Value("beginDate")),
		End:         parseDate(e.Value("endDate")),
		Incoming:    Level(e.Value("incomingEmailMonitorLevel")),
		Outgoing:    Level(e.Value("outgoingEmailMonitorLevel")),
		Draft:       Level(e.Value("draftMonitorLevel")),
		Chat:        Level(e.Value("chatMonitorLevel")),
		RequestID:   e.Value("requestId"),
		ID:          e.ID,
		Updated:     e.Updated,
	}
}
