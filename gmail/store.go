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
// MemoryStore and BoltStore implement it; with a Store that does not, a
// full sync starts over every time. FullSync writes the checkpoint and
// reads it back; a store only keeps it.
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

// BoltStore is a Store in a bbolt database file: pure Go, no server, one
// transaction per write, so a sync resumes after a crash or a restart from
// the last history id written, and a full sync from its last checkpoint
// (it is a CheckpointStore). One process may open a file at a time.
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

// checkpointBucket holds user's full sync checkpoint: the state under
// boltStateKey, the listed ids in sub-bucket boltIDs (keyed by sequence
// number, in order) and the fetched messages in sub-bucket boltMsgs.
func checkpointBucket(user string) []byte { return []byte("fullsync:" + strings.ToLower(user)) }

var (
	boltStateKey = []byte("state")
	boltIDs      = []byte("ids")
)

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
		if reset {
			if err := deleteCheckpoint(tx, user); err != nil {
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

func deleteCheckpoint(tx *bolt.Tx, user string) error {
	if tx.Bucket(checkpointBucket(user)) == nil {
		return nil
	}
	return tx.DeleteBucket(checkpointBucket(user))
}

// Checkpoint implements CheckpointStore.
func (s *BoltStore) Checkpoint(_ context.Context, user string) (*Checkpoint, error) {
	var out *Checkpoint
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(checkpointBucket(user))
		if b == nil {
			return nil
		}
		out = &Checkpoint{State: slices.Clone(b.Get(boltStateKey))}
		if ids := b.Bucket(boltIDs); ids != nil {
			if err := ids.ForEach(func(_, v []byte) error {
				out.IDs = append(out.IDs, string(v))
				return nil
			}); err != nil {
				return err
			}
		}
		if msgs := b.Bucket(boltMsgs); msgs != nil {
			return msgs.ForEach(func(_, v []byte) error {
				m := &MessageMeta{}
				if err := json.Unmarshal(v, m); err != nil {
					return err
				}
				out.Messages = append(out.Messages, m)
				return nil
			})
		}
		return nil
	})
	return out, err
}

// SaveCheckpoint implements CheckpointStore.
func (s *BoltStore) SaveCheckpoint(_ context.Context, user string, cp *Checkpoint) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(checkpointBucket(user))
		if err != nil {
			return err
		}
		ids, err := b.CreateBucketIfNotExists(boltIDs)
		if err != nil {
			return err
		}
		msgs, err := b.CreateBucketIfNotExists(boltMsgs)
		if err != nil {
			return err
		}
		for _, id := range cp.IDs {
			n, err := ids.NextSequence()
			if err != nil {
				return err
			}
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], n)
			if err := ids.Put(k[:], []byte(id)); err != nil {
				return err
			}
		}
		for _, m := range cp.Messages {
			v, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if err := msgs.Put([]byte(m.ID), v); err != nil {
				return err
			}
		}
		return b.Put(boltStateKey, slices.Clone(cp.State))
	})
}

// ClearCheckpoint implements CheckpointStore.
func (s *BoltStore) ClearCheckpoint(_ context.Context, user string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return deleteCheckpoint(tx, user) })
}
