package gmail

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// MessageMeta is what a sync keeps of each message: ids, labels, dates and
// the main header fields, not the body.
type MessageMeta struct {
	ID           string    `json:"id"`
	ThreadID     string    `json:"threadId"`
	LabelIDs     []string  `json:"labelIds,omitempty"`
	HistoryID    uint64    `json:"historyId,omitempty"`
	InternalDate time.Time `json:"internalDate,omitzero"`
	SizeEstimate int64     `json:"sizeEstimate,omitempty"`
	Snippet      string    `json:"snippet,omitempty"`
	// Headers holds the header fields asked for (SyncOptions.Headers),
	// keyed by their canonical name ("From", "Subject", "Message-Id").
	Headers map[string]string `json:"headers,omitempty"`
}

// Store keeps the state of a mailbox sync: the history id it is current
// to and the metadata of every message. Sync calls it from one goroutine
// per user; implementations must be safe for concurrent use across users.
// Writes must be atomic: a sync killed mid-write must leave the previous
// state, so that the next sync resumes from it.
type Store interface {
	// HistoryID returns the history id user's messages are current to, or
	// 0 when user was never synced.
	HistoryID(ctx context.Context, user string) (uint64, error)
	// Message returns the stored metadata of one message, or nil.
	Message(ctx context.Context, user, id string) (*MessageMeta, error)
	// Messages returns every stored message of user, in no set order.
	Messages(ctx context.Context, user string) ([]*MessageMeta, error)
	// Replace stores the result of a full sync: msgs replace whatever was
	// held for user, and the history id becomes historyID. A
	// CheckpointStore's Replace should also drop user's checkpoint in the
	// same write (FullSync clears it right after in any case).
	Replace(ctx context.Context, user string, historyID uint64, msgs []*MessageMeta) error
	// Apply stores the result of an incremental sync: put are added or
	// replaced, del removed, and the history id becomes historyID.
	Apply(ctx context.Context, user string, historyID uint64, put []*MessageMeta, del []string) error
}

// CheckpointStore is a Store that also keeps the progress of a full sync,
// so that a full sync that stopped (an error, a cancelled context, a
// killed process) resumes where it stopped instead of starting over.
// MemoryStore and boltstore.Store (package gmail/boltstore) implement it;
// with a Store that does not, a full sync starts over every time.
// FullSync writes the checkpoint and reads it back; a store only keeps
// it.
type CheckpointStore interface {
	Store
	// Checkpoint returns user's checkpoint (IDs in the order they were
	// saved, Messages in no set order), or nil when there is none.
	Checkpoint(ctx context.Context, user string) (*Checkpoint, error)
	// SaveCheckpoint adds cp to user's checkpoint in one atomic write:
	// State replaces the one held, IDs are appended to those held, and
	// Messages are added (replacing any held with the same ID). It
	// creates the checkpoint when there is none. It must not change what
	// HistoryID, Message and Messages return.
	SaveCheckpoint(ctx context.Context, user string, cp *Checkpoint) error
	// ClearCheckpoint drops user's checkpoint, if any.
	ClearCheckpoint(ctx context.Context, user string) error
}

// Checkpoint is the progress of a full sync, as a CheckpointStore keeps
// it. Its content is written by FullSync; a store holds it as it is.
type Checkpoint struct {
	// State is the sync's own record (its options, the history id it
	// started at, the listing's page token), opaque to the store.
	State []byte
	// IDs are the message ids listed so far.
	IDs []string
	// Messages are the messages fetched so far.
	Messages []*MessageMeta
}

// MemoryStore is a Store in memory, lost when the process ends.
type MemoryStore struct {
	mu    sync.Mutex
	users map[string]*memUser
}

type memUser struct {
	hid  uint64
	msgs map[string]*MessageMeta
	cp   *memCheckpoint
}

type memCheckpoint struct {
	state []byte
	ids   []string
	msgs  map[string]*MessageMeta
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{users: map[string]*memUser{}} }

func (s *MemoryStore) user(u string) *memUser {
	k := strings.ToLower(u)
	mu := s.users[k]
	if mu == nil {
		mu = &memUser{msgs: map[string]*MessageMeta{}}
		s.users[k] = mu
	}
	return mu
}

func cloneMeta(m *MessageMeta) *MessageMeta {
	c := *m
	c.LabelIDs = slices.Clone(m.LabelIDs)
	if m.Headers != nil {
		c.Headers = make(map[string]string, len(m.Headers))
		for k, v := range m.Headers {
			c.Headers[k] = v
		}
	}
	return &c
}

// HistoryID implements Store.
func (s *MemoryStore) HistoryID(_ context.Context, user string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user(user).hid, nil
}

// Message implements Store.
func (s *MemoryStore) Message(_ context.Context, user, id string) (*MessageMeta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.user(user).msgs[id]; m != nil {
		return cloneMeta(m), nil
	}
	return nil, nil
}

// Messages implements Store.
func (s *MemoryStore) Messages(_ context.Context, user string) ([]*MessageMeta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*MessageMeta
	for _, m := range s.user(user).msgs {
		out = append(out, cloneMeta(m))
	}
	return out, nil
}

// Replace implements Store.
func (s *MemoryStore) Replace(_ context.Context, user string, hid uint64, msgs []*MessageMeta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(user)
	u.hid = hid
	u.cp = nil
	u.msgs = make(map[string]*MessageMeta, len(msgs))
	for _, m := range msgs {
		u.msgs[m.ID] = cloneMeta(m)
	}
	return nil
}

// Apply implements Store.
func (s *MemoryStore) Apply(_ context.Context, user string, hid uint64, put []*MessageMeta, del []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(user)
	u.hid = hid
	for _, m := range put {
		u.msgs[m.ID] = cloneMeta(m)
	}
	for _, id := range del {
		delete(u.msgs, id)
	}
	return nil
}

// Checkpoint implements CheckpointStore.
func (s *MemoryStore) Checkpoint(_ context.Context, user string) (*Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := s.user(user).cp
	if cp == nil {
		return nil, nil
	}
	out := &Checkpoint{State: slices.Clone(cp.state), IDs: slices.Clone(cp.ids)}
	for _, m := range cp.msgs {
		out.Messages = append(out.Messages, cloneMeta(m))
	}
	return out, nil
}

// SaveCheckpoint implements CheckpointStore.
func (s *MemoryStore) SaveCheckpoint(_ context.Context, user string, cp *Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(user)
	if u.cp == nil {
		u.cp = &memCheckpoint{msgs: map[string]*MessageMeta{}}
	}
	u.cp.state = slices.Clone(cp.State)
	u.cp.ids = append(u.cp.ids, cp.IDs...)
	for _, m := range cp.Messages {
		u.cp.msgs[m.ID] = cloneMeta(m)
	}
	return nil
}

// ClearCheckpoint implements CheckpointStore.
func (s *MemoryStore) ClearCheckpoint(_ context.Context, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(user).cp = nil
	return nil
}
