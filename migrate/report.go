package migrate

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"
)

// Report says what a run did with every message it read. Each message read
// is counted once: Inserted, Duplicates, Resumed, RefusedLocally,
// RefusedByGoogle, Failed or Pending. Repaired, SameMessageID and
// PossibleDuplicates say more about messages already counted.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`

	Messages   int   `json:"messages"`   // messages read from the sources in this run
	Inserted   int   `json:"inserted"`   // stored in this run
	Duplicates int   `json:"duplicates"` // skipped: the same message is already in the target
	Resumed    int   `json:"resumed"`    // done by an earlier run, per the journal
	Bytes      int64 `json:"bytes"`      // bytes stored in this run

	// RefusedLocally lists messages refused before any request: empty,
	// over the size limit, no header section, a From, To or Date header
	// missing or blank (and, with the Strict policy, the deeper checks).
	RefusedLocally []Item `json:"refusedLocally,omitempty"`
	// RefusedByGoogle lists messages the server refused as invalid, with
	// its answer. Refusals before the target's first stored message are
	// not final (see Item.Reason): Google answers the same way for a
	// group that does not exist, so the next run sends them again.
	RefusedByGoogle []Item `json:"refusedByGoogle,omitempty"`
	// Failed lists messages that could not be stored (the last error);
	// the next run with the same journal sends them again.
	Failed []Item `json:"failed,omitempty"`
	// Pending lists messages read but not finished because the run or
	// their target stopped first; the next run sends them.
	Pending []Item `json:"pending,omitempty"`
	// SourceErrors lists sources that could not be opened or read to the
	// end (not messages: they are not counted in Messages). The next run
	// reads them again.
	SourceErrors []Item `json:"sourceErrors,omitempty"`
	// Repaired lists the stored messages that were changed on the way,
	// each with Item.Repairs. (RepairCounts counts over every message
	// read, refused ones included.)
	Repaired []Item `json:"repaired,omitempty"`
	// SameMessageID lists stored messages whose Message-ID was already
	// used in the target by a different message.
	SameMessageID []Item `json:"sameMessageId,omitempty"`
	// PossibleDuplicates lists messages sent again after an attempt that
	// may have stored them (the process died or the connection dropped
	// with the message sent): each may be in its target twice.
	PossibleDuplicates []Item `json:"possibleDuplicates,omitempty"`
	// RepairCounts counts the repairs by kind over every message read.
	RepairCounts map[string]int `json:"repairCounts,omitempty"`

	// Targets has the counts per target (group or mailbox).
	Targets map[string]*TargetCounts `json:"targets"`

	// Stopped is empty when every source was read to the end and every
	// message finished; otherwise it says why the run stopped and what to
	// do (a spent daily quota, refused credentials, cancellation).
	Stopped string `json:"stopped,omitempty"`
	// ResumeAfter, when set, is when the spent quota resets.
	ResumeAfter time.Time `json:"resumeAfter,omitzero"`
	// Journals are the journal files of this run.
	Journals []string `json:"journals"`
	// JournalProblems lists journal lines that could not be read; each
	// was skipped alone (its message is sent again if nothing else
	// records it).
	JournalProblems []string `json:"journalProblems,omitempty"`
}

// TargetCounts are one target's totals.
type TargetCounts struct {
	Inserted        int   `json:"inserted"`
	Duplicates      int   `json:"duplicates"`
	Resumed         int   `json:"resumed"`
	RefusedLocally  int   `json:"refusedLocally"`
	RefusedByGoogle int   `json:"refusedByGoogle"`
	Failed          int   `json:"failed"`
	Pending         int   `json:"pending"`
	Bytes           int64 `json:"bytes"`
	// Stopped says why this target stopped early (for example a group
	// that does not exist), when the rest of the run went on.
	Stopped string `json:"stopped,omitempty"`
}

// Item identifies one message and what happened to it.
type Item struct {
	Target    string   `json:"target"`
	Source    string   `json:"source"`
	Key       string   `json:"key"`              // source#index for mbox, the file otherwise
	Index     int      `json:"index"`            // ordinal in the source
	Offset    int64    `json:"offset,omitempty"` // byte offset in an mbox
	MessageID string   `json:"messageId,omitempty"`
	Size      int64    `json:"size"`
	Repairs   []string `json:"repairs,omitempty"` // what was changed before sending
	Field     string   `json:"field,omitempty"`   // for refusals: the offending part
	Reason    string   `json:"reason,omitempty"`
	// Tentative marks a refusal by Google that is not final: it came
	// before any message of the target was stored, and Google answers
	// the same way for a group that does not exist, so the next run
	// sends the message again.
	Tentative bool `json:"tentative,omitempty"`
}

// OK reports whether the run did all it could: it was not stopped, no
// target stopped, and no message failed. Refused messages do not count
// against it.
func (r *Report) OK() bool {
	if r.Stopped != "" || len(r.Failed) > 0 || len(r.Pending) > 0 || len(r.SourceErrors) > 0 {
		return false
	}
	for _, t := range r.Targets {
		if t.Stopped != "" {
			return false
		}
	}
	return true
}

// Rate returns the messages stored per second of this run.
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
	for _, l := range [][]Item{r.RefusedLocally, r.RefusedByGoogle, r.Failed, r.Pending, r.SourceErrors, r.Repaired, r.SameMessageID, r.PossibleDuplicates} {
		slices.SortStableFunc(l, func(a, b Item) int {
			if c := strings.Compare(a.Source, b.Source); c != 0 {
				return c
			}
			if c := strings.Compare(a.Target, b.Target); c != 0 {
				return c
			}
			return a.Index - b.Index
		})
	}
}
