package datatransfer

import (
	"encoding/json"
	"io"
	"sort"
	"time"
)

// Report says what a migration did with every message. It is the whole
// truth: a message the source held appears in exactly one of Inserted,
// Duplicates, Invalid, Failed or Resumed (done in an earlier run), or the
// report says the run stopped early.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`

	Inserted   int   `json:"inserted"`   // messages stored in a group archive in this run
	Duplicates int   `json:"duplicates"` // skipped: the Message-ID (or content) was already in the group
	Resumed    int   `json:"resumed"`    // already done according to the journal
	Bytes      int64 `json:"bytes"`      // bytes inserted in this run

	// Invalid lists messages refused as invalid, locally (before any
	// request) or by the server, each with its reason and position.
	Invalid []Item `json:"invalid,omitempty"`
	// Failed lists valid messages that could not be inserted, each with the
	// last error. They are retried by the next run with the same journal.
	Failed []Item `json:"failed,omitempty"`
	// PossibleDuplicates lists messages that were sent again because an
	// earlier attempt may have reached Google (the process died while the
	// insert was in flight, or the connection dropped after the message was
	// sent). Each may now be in its group archive twice.
	PossibleDuplicates []Item `json:"possibleDuplicates,omitempty"`

	// Groups has the counts per group.
	Groups map[string]*GroupCounts `json:"groups"`

	// Stopped is empty when every source was read to the end; otherwise it
	// says why the run stopped early (a spent daily quota, cancellation).
	Stopped string `json:"stopped,omitempty"`
	// ResumeAfter, when set, is when the spent quota resets.
	ResumeAfter time.Time `json:"resumeAfter,omitzero"`
	// Journals are the journal files of this run.
	Journals []string `json:"journals"`
}

// GroupCounts are one group's totals.
type GroupCounts struct {
	Inserted   int   `json:"inserted"`
	Duplicates int   `json:"duplicates"`
	Resumed    int   `json:"resumed"`
	Invalid    int   `json:"invalid"`
	Failed     int   `json:"failed"`
	Bytes      int64 `json:"bytes"`
}

// Item identifies one message and what happened to it.
type Item struct {
	Group     string `json:"group"`
	Source    string `json:"source"`
	Key       string `json:"key"`              // stable identity: source#index, or the file
	Index     int    `json:"index"`            // ordinal in the source (-1: bytes before the first message)
	Offset    int64  `json:"offset,omitempty"` // byte offset in an mbox
	MessageID string `json:"messageId,omitempty"`
	Size      int64  `json:"size"`
	Field     string `json:"field,omitempty"` // for invalid messages: the offending part
	Reason    string `json:"reason"`
}

// OK reports whether the run did everything it could: it was not stopped
// and no valid message failed. Invalid messages do not count against it.
func (r *Report) OK() bool { return r.Stopped == "" && len(r.Failed) == 0 }

// Rate returns the messages inserted per second of this run.
func (r *Report) Rate() float64 {
	d := r.Finished.Sub(r.Started).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(r.Inserted) / d
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) sort() {
	for _, l := range [][]Item{r.Invalid, r.Failed, r.PossibleDuplicates} {
		sort.SliceStable(l, func(i, j int) bool {
			if l[i].Source != l[j].Source {
				return l[i].Source < l[j].Source
			}
			return l[i].Index < l[j].Index
		})
	}
}
