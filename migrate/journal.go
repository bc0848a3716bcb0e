package migrate

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/gwsadmin/workspace/mailsource"
)

// Journal record states.
const (
	stBegin    = "begin"    // the message is about to be sent (again)
	stOK       = "ok"       // stored
	stRejected = "rejected" // refused by Google as invalid: final
	// stTentative is a refusal by Google before the target's first
	// success: Google answers the same way when the group does not exist
	// or is read-only, so it is not final; the message is sent again by
	// the next run unless a later stRejected confirms it.
	stTentative = "rejected?"
	stUnsent    = "unsent" // an attempt ended without the message being stored
)

// journalMagic is the first line of every journal this version writes.
const journalMagic = `{"journal":"gwsadmin/workspace migrate","version":2}`

// record is one journal line.
type record struct {
	Target string `json:"t"`
	Source string `json:"s"`           // absolute path of the source
	Key    string `json:"k"`           // human position: source#index or the file
	Off    int64  `json:"o,omitempty"` // byte offset in an mbox
	Size   int64  `json:"n"`           // bytes as read
	Hash   string `json:"h"`           // content hash of the bytes as read
	Occ    int    `json:"x,omitempty"` // earlier messages of Source with the same Hash
	Norm   string `json:"c,omitempty"` // content hash as sent (dedupe)
	MsgID  string `json:"m,omitempty"` // Message-ID
	State  string `json:"st"`
}

// ident is a message's identity across runs: its content and its place
// among identical messages of the same source, not its position, so a
// source that was changed or appended to never hides a new message.
type ident struct {
	target, source, hash string
	occ                  int
}

func (r *record) ident() ident { return ident{r.Target, r.Source, r.Hash, r.Occ} }

// journal is an append-only, fsync'd log of what happened to each message,
// held under an exclusive lock for the whole run. Final states are synced
// before the target's next message is sent; concurrent targets share syncs.
type journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	seq  int64
	buf  bytes.Buffer

	syncMu sync.Mutex
	synced int64
	unlock func() error
}

// journalState is what a journal says about earlier runs.
type journalState struct {
	final    map[ident]string // stOK or stRejected
	inFlight map[ident]bool   // begin without an outcome: may have been stored
	// tentative: refused by Google before the target took any message.
	tentative map[ident]bool
	// stored: per target, content hashes (as sent) known to be stored.
	stored map[string]map[string]bool
	// ids: per target, Message-ID → content hash of a stored message.
	ids map[string]map[string]string
	// damaged lists lines that could not be read, each skipped.
	damaged []string
	// v1 is what journals of the previous version say, per target.
	v1 map[string]*v1State
}

// v1State is a target's record in a journal of the previous version,
// whose records name a message by its position and a dedupe key (see
// v1Key).
type v1State struct {
	done     map[string]bool // stored, or skipped as a duplicate
	inFlight map[string]bool // sent, outcome not recorded
}

func newJournalState() *journalState {
	return &journalState{final: map[ident]string{}, inFlight: map[ident]bool{}, tentative: map[ident]bool{}, v1: map[string]*v1State{},
		stored: map[string]map[string]bool{}, ids: map[string]map[string]string{}}
}

// ErrJournalLocked is returned (wrapped) when another process holds a
// journal.
var ErrJournalLocked = errors.New("migrate: journal in use by another migration")

// openJournal opens (or creates) the journal at path, takes its lock, and
// reads it into st.
func openJournal(path string, st *journalState) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	unlock, err := lockFile(f)
	if err != nil {
		f.Close()
		if errors.Is(err, ErrJournalLocked) {
			return nil, fmt.Errorf("%w: %s (wait for it to finish, or give this run another journal)", ErrJournalLocked, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	j := &journal{path: path, f: f, w: bufio.NewWriterSize(f, 16<<10), unlock: unlock}
	torn, empty, err := j.load(st)
	if errors.Is(err, errV1) {
		// A journal of the previous version: keep it beside the new one
		// (path.v1), read it for resuming, and start a new journal.
		j.unlock()
		f.Close()
		if _, serr := os.Stat(path + ".v1"); serr == nil {
			return nil, fmt.Errorf("%s is a journal of the previous version and %s.v1 exists too: move one of them away", path, path)
		}
		if err := os.Rename(path, path+".v1"); err != nil {
			return nil, err
		}
		return openJournal(path, st)
	}
	if err == nil {
		err = loadV1(path+".v1", st)
	}
	if err == nil && empty {
		_, err = j.w.WriteString(journalMagic + "\n")
		if err == nil {
			err = j.w.Flush()
		}
	} else if err == nil && torn {
		// A crash cut the last line: end it so the next record starts
		// on a line of its own. Nothing is ever overwritten.
		_, err = j.w.WriteString("\n")
		if err == nil {
			err = j.w.Flush()
		}
	}
	if err != nil {
		j.unlock()
		f.Close()
		return nil, err
	}
	return j, nil
}

func (j *journal) load(st *journalState) (torn, empty bool, err error) {
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		return false, false, err
	}
	r := bufio.NewReaderSize(j.f, 64<<10)
	lineNo := 0
	for {
		line, rerr := r.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			complete := line[len(line)-1] == '\n'
			text := bytes.TrimSpace(line)
			switch {
			case lineNo == 1:
				if isV1Record(text) {
					return false, false, errV1
				}
				if string(text) != journalMagic {
					return false, false, fmt.Errorf("%s is not a journal of this version (first line %.60q); "+
						"finish it with the version that wrote it, or start a new journal", j.path, text)
				}
			case len(text) == 0:
			case !complete:
				torn = true
				st.damaged = append(st.damaged, fmt.Sprintf("%s line %d: cut short (a crash while writing); skipped", j.path, lineNo))
			default:
				var rec record
				if json.Unmarshal(text, &rec) != nil || rec.Target == "" || rec.State == "" {
					st.damaged = append(st.damaged, fmt.Sprintf("%s line %d: damaged record skipped", j.path, lineNo))
					continue
				}
				st.apply(rec)
			}
		}
		if rerr == io.EOF {
			return torn, lineNo == 0, nil
		}
		if rerr != nil {
			return false, false, fmt.Errorf("reading %s: %w", j.path, rerr)
		}
	}
}

var errV1 = errors.New("journal of the previous version")

// v1Record is a line of the previous version's journal.
type v1Record struct {
	Group string `json:"g"`
	Key   string `json:"k"`
	ID    string `json:"id"`
	State string `json:"s"`
}

func isV1Record(line []byte) bool {
	var r v1Record
	return json.Unmarshal(line, &r) == nil && r.Group != "" && r.Key != "" && r.State != "" && !bytes.Contains(line, []byte(`"t":`))
}

// loadV1 reads a journal of the previous version, if there is one at path.
func loadV1(path string, st *journalState) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	type pos struct{ group, key string }
	last := map[pos]v1Record{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r v1Record
		if json.Unmarshal(line, &r) != nil || r.Group == "" {
			st.damaged = append(st.damaged, fmt.Sprintf("%s line %d: damaged record skipped", path, i+1))
			continue
		}
		p := pos{r.Group, r.Key}
		if r.ID == "" {
			r.ID = last[p].ID
		}
		last[p] = r
	}
	for p, r := range last {
		v := st.v1[p.group]
		if v == nil {
			v = &v1State{done: map[string]bool{}, inFlight: map[string]bool{}}
			st.v1[p.group] = v
		}
		switch r.State {
		case "ok", "dup":
			if r.ID != "" {
				v.done[r.ID] = true
			}
		case "begin":
			if r.ID != "" {
				v.inFlight[r.ID] = true
			}
		}
	}
	return nil
}

// v1Key is the previous version's dedupe key of a prepared message: its
// Message-ID's hash, or its content hash when it has none.
func v1Key(msgID string, data []byte) string {
	return v1KeyHash(msgID, mailsource.ContentHash(data))
}

// v1KeyHash is v1Key given the hex SHA-256 of the prepared message (which
// has CRLF line ends, so that it is its mailsource.ContentHash).
func v1KeyHash(msgID, full string) string {
	if msgID != "" {
		sum := sha256.Sum256([]byte(msgID))
		return "m" + hex.EncodeToString(sum[:12])
	}
	return "c" + full[:24]
}

func (s *journalState) apply(rec record) {
	id := rec.ident()
	switch rec.State {
	case stBegin:
		s.inFlight[id] = true
	case stUnsent:
		delete(s.inFlight, id)
	case stTentative:
		delete(s.inFlight, id)
		s.tentative[id] = true
	case stOK, stRejected:
		delete(s.inFlight, id)
		delete(s.tentative, id)
		s.final[id] = rec.State
		if rec.State == stOK {
			s.markStored(rec.Target, rec.Norm, rec.MsgID)
		}
	}
}

func (s *journalState) markStored(target, norm, msgID string) {
	if norm == "" {
		return
	}
	if s.stored[target] == nil {
		s.stored[target] = map[string]bool{}
		s.ids[target] = map[string]string{}
	}
	s.stored[target][norm] = true
	if msgID != "" {
		if _, ok := s.ids[target][msgID]; !ok {
			s.ids[target][msgID] = norm
		}
	}
}

// append writes rec and, when sync is set, returns once it is on disk.
func (j *journal) append(rec record, sync bool) error {
	j.mu.Lock()
	j.buf.Reset()
	if err := json.NewEncoder(&j.buf).Encode(rec); err != nil {
		j.mu.Unlock()
		return err
	}
	_, err := j.w.Write(j.buf.Bytes())
	if err == nil {
		// To the OS at once: a killed process loses nothing written.
		err = j.w.Flush()
	}
	if err != nil {
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
	err = errors.Join(err, j.f.Sync(), j.unlock(), j.f.Close())
	return err
}
