package gmail

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
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
	// held for user, and the history id becomes historyID.
	Replace(ctx context.Context, user string, historyID uint64, msgs []*MessageMeta) error
	// Apply stores the result of an incremental sync: put are added or
	// replaced, del removed, and the history id becomes historyID.
	Apply(ctx context.Context, user string, historyID uint64, put []*MessageMeta, del []string) error
}

// MemoryStore is a Store in memory, lost when the process ends.
type MemoryStore struct {
	mu    sync.Mutex
	users map[string]*memUser
}

type memUser struct {
	hid  uint64
	msgs map[string]*MessageMeta
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

// BoltStore is a Store in a bbolt database file: pure Go, no server, one
// transaction per write, so a sync resumes after a crash or a restart from
// the last history id written. One process may open a file at a time.
type BoltStore struct {
	db *bolt.DB
}

var (
	boltHistoryKey = []byte("historyId")
	boltMeta       = []byte("meta")
	boltMsgs       = []byte("msgs")
)

// OpenBoltStore opens (or creates) the database file at path.
func OpenBoltStore(path string) (*BoltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("gmail: open store %s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

// Close closes the database.
func (s *BoltStore) Close() error { return s.db.Close() }

func userBucket(user string) []byte { return []byte("user:" + strings.ToLower(user)) }

// HistoryID implements Store.
func (s *BoltStore) HistoryID(_ context.Context, user string) (uint64, error) {
	var hid uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(userBucket(user))
		if b == nil {
			return nil
		}
		if v := b.Bucket(boltMeta).Get(boltHistoryKey); len(v) == 8 {
			hid = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return hid, err
}

// Message implements Store.
func (s *BoltStore) Message(_ context.Context, user, id string) (*MessageMeta, error) {
	var out *MessageMeta
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(userBucket(user))
		if b == nil {
			return nil
		}
		v := b.Bucket(boltMsgs).Get([]byte(id))
		if v == nil {
			return nil
		}
		out = &MessageMeta{}
		return json.Unmarshal(v, out)
	})
	return out, err
}

// Messages implements Store.
func (s *BoltStore) Messages(_ context.Context, user string) ([]*MessageMeta, error) {
	var out []*MessageMeta
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(userBucket(user))
		if b == nil {
			return nil
		}
		return b.Bucket(boltMsgs).ForEach(func(_, v []byte) error {
			m := &MessageMeta{}
			if err := json.Unmarshal(v, m); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

func (s *BoltStore) write(user string, reset bool, hid uint64, put []*MessageMeta, del []string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		name := userBucket(user)
		if reset && tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		meta, err := b.CreateBucketIfNotExists(boltMeta)
		if err != nil {
			return err
		}
		msgs, err := b.CreateBucketIfNotExists(boltMsgs)
		if err != nil {
			return err
		}
		for _, m := range put {
			v, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if err := msgs.Put([]byte(m.ID), v); err != nil {
				return err
			}
		}
		for _, id := range del {
			if err := msgs.Delete([]byte(id)); err != nil {
				return err
			}
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], hid)
		return meta.Put(boltHistoryKey, v[:])
	})
}

// Replace implements Store.
func (s *BoltStore) Replace(_ context.Context, user string, hid uint64, msgs []*MessageMeta) error {
	return s.write(user, true, hid, msgs, nil)
}

// Apply implements Store.
func (s *BoltStore) Apply(_ context.Context, user string, hid uint64, put []*MessageMeta, del []string) error {
	return s.write(user, false, hid, put, del)
}
