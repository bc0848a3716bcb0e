package datatransfer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Journal record states.
const (
	stBegin   = "begin"   // the insert is about to be sent
	stOK      = "ok"      // inserted
	stDup     = "dup"     // skipped: same Message-ID (or content) already in the group
	stInvalid = "invalid" // refused locally or by the server as invalid
	stFailed  = "failed"  // failed after retries; retried on the next run
	stUnsent  = "unsent"  // a begin that was never sent (the run stopped first)
)

// record is one journal line.
type record struct {
	Group string `json:"g"`
	Key   string `json:"k"`           // mailsource.Message.Key()
	Off   int64  `json:"o,omitempty"` // mbox offset, a cross-check
	ID    string `json:"id,omitempty"`
	State string `json:"s"`
}

// journal is an append-only, fsync'd log of what happened to each message.
// Final states are synced before the next message of the group is sent;
// syncs of concurrent groups are shared (group commit).
type journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	seq  int64 // records written
	buf  bytes.Buffer

	syncMu sync.Mutex
	synced int64
}

// journalState is what a journal file says about earlier runs.
type journalState struct {
	final    map[string]string // group+"\x00"+key → final state
	inFlight map[string]record // group+"\x00"+key → begin without a final state
	seen     map[string]map[string]bool
}

func openJournal(path string) (*journal, *journalState, error) {
	st := &journalState{final: map[string]string{}, inFlight: map[string]record{}, seen: map[string]map[string]bool{}}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	// Read what is there; a torn last line (a crash mid-write) is dropped
	// by truncating the file back to the last complete record.
	r := bufio.NewReaderSize(f, 64<<10)
	var good int64
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var rec record
			if json.Unmarshal(line, &rec) != nil {
				break
			}
			good += int64(len(line))
			st.apply(rec)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	return &journal{path: path, f: f, w: bufio.NewWriterSize(f, 16<<10)}, st, nil
}

func (s *journalState) apply(rec record) {
	k := rec.Group + "\x00" + rec.Key
	switch rec.State {
	case stBegin:
		s.inFlight[k] = rec
	case stUnsent:
		delete(s.inFlight, k)
	case stFailed:
		delete(s.inFlight, k)
		delete(s.final, k) // try again next run
	default:
		delete(s.inFlight, k)
		s.final[k] = rec.State
		if rec.State == stOK && rec.ID != "" {
			g := s.seen[rec.Group]
			if g == nil {
				g = map[string]bool{}
				s.seen[rec.Group] = g
			}
			g[rec.ID] = true
		}
	}
}

// append writes rec and, when sync is set, returns only once it is on disk.
func (j *journal) append(rec record, sync bool) error {
	j.mu.Lock()
	j.buf.Reset()
	enc := json.NewEncoder(&j.buf)
	if err := enc.Encode(rec); err != nil {
		j.mu.Unlock()
		return err
	}
	if _, err := j.w.Write(j.buf.Bytes()); err != nil {
		j.mu.Unlock()
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	// Flush to the OS at once: a killed process loses nothing written.
	if err := j.w.Flush(); err != nil {
		j.mu.Unlock()
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.seq++
	seq := j.seq
	j.mu.Unlock()
	if !sync {
		return nil
	}
	return j.syncTo(seq)
}

// syncTo makes sure records up to seq are on disk, sharing one fsync among
// concurrent callers.
func (j *journal) syncTo(seq int64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= seq {
		return nil
	}
	j.mu.Lock()
	upto := j.seq
	j.mu.Unlock()
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: sync: %w", j.path, err)
	}
	j.synced = upto
	return nil
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.w.Flush()
	err = errors.Join(err, j.f.Sync(), j.f.Close())
	return err
}
