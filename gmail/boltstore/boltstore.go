// Package boltstore keeps a Gmail sync's state (package gmail's Store and
// CheckpointStore) in a bbolt database file, so that a sync resumes after a
// crash or a restart. It is its own package so that programs that do not
// use it do not link bbolt.
//
//	st, err := boltstore.Open("alice.db")
//	if err != nil { ... }
//	defer st.Close()
//	res, err := g.Sync(ctx, "alice@example.com", st, nil)
package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gwsadmin/workspace/gmail"
)

// *Store implements gmail.CheckpointStore, and so gmail.Store.
var _ gmail.CheckpointStore = (*Store)(nil)

// Store is a gmail.Store in a bbolt database file: pure Go, no server, one
// transaction per write, so a sync resumes after a crash or a restart from
// the last history id written, and a full sync from its last checkpoint
// (it is a gmail.CheckpointStore). One process may open a file at a time.
type Store struct {
	db *bolt.DB
}

var (
	boltHistoryKey = []byte("historyId")
	boltMeta       = []byte("meta")
	boltMsgs       = []byte("msgs")
)

// Open opens (or creates) the database file at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("gmail/boltstore: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func userBucket(user string) []byte { return []byte("user:" + strings.ToLower(user)) }

// checkpointBucket holds user's full sync checkpoint: the state under
// boltStateKey, the listed ids in sub-bucket boltIDs (keyed by sequence
// number, in order) and the fetched messages in sub-bucket boltMsgs.
func checkpointBucket(user string) []byte { return []byte("fullsync:" + strings.ToLower(user)) }

var (
	boltStateKey = []byte("state")
	boltIDs      = []byte("ids")
)

// HistoryID implements gmail.Store.
func (s *Store) HistoryID(_ context.Context, user string) (uint64, error) {
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

// Message implements gmail.Store.
func (s *Store) Message(_ context.Context, user, id string) (*gmail.MessageMeta, error) {
	var out *gmail.MessageMeta
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(userBucket(user))
		if b == nil {
			return nil
		}
		v := b.Bucket(boltMsgs).Get([]byte(id))
		if v == nil {
			return nil
		}
		out = &gmail.MessageMeta{}
		return json.Unmarshal(v, out)
	})
	return out, err
}

// Messages implements gmail.Store.
func (s *Store) Messages(_ context.Context, user string) ([]*gmail.MessageMeta, error) {
	var out []*gmail.MessageMeta
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(userBucket(user))
		if b == nil {
			return nil
		}
		return b.Bucket(boltMsgs).ForEach(func(_, v []byte) error {
			m := &gmail.MessageMeta{}
			if err := json.Unmarshal(v, m); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

func (s *Store) write(user string, reset bool, hid uint64, put []*gmail.MessageMeta, del []string) error {
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

// Replace implements gmail.Store.
func (s *Store) Replace(_ context.Context, user string, hid uint64, msgs []*gmail.MessageMeta) error {
	return s.write(user, true, hid, msgs, nil)
}

// Apply implements gmail.Store.
func (s *Store) Apply(_ context.Context, user string, hid uint64, put []*gmail.MessageMeta, del []string) error {
	return s.write(user, false, hid, put, del)
}

func deleteCheckpoint(tx *bolt.Tx, user string) error {
	if tx.Bucket(checkpointBucket(user)) == nil {
		return nil
	}
	return tx.DeleteBucket(checkpointBucket(user))
}

// Checkpoint implements gmail.CheckpointStore.
func (s *Store) Checkpoint(_ context.Context, user string) (*gmail.Checkpoint, error) {
	var out *gmail.Checkpoint
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(checkpointBucket(user))
		if b == nil {
			return nil
		}
		out = &gmail.Checkpoint{State: slices.Clone(b.Get(boltStateKey))}
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
				m := &gmail.MessageMeta{}
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

// SaveCheckpoint implements gmail.CheckpointStore.
func (s *Store) SaveCheckpoint(_ context.Context, user string, cp *gmail.Checkpoint) error {
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

// ClearCheckpoint implements gmail.CheckpointStore.
func (s *Store) ClearCheckpoint(_ context.Context, user string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return deleteCheckpoint(tx, user) })
}
