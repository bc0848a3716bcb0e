package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// listLimit is how many items of each list the summary prints; the -report
// file has them all.
const listLimit = 20

// exampleRepairs is how many repaired messages the summary shows.
const exampleRepairs = 5

// summary prints a run's report for a person.
type summary struct {
	w          io.Writer
	r          *migrate.Report
	names      paths
	policy     migrate.Policy
	dedupe     migrate.Dedupe
	limit      float64             // inserts per second allowed
	retries    map[string]int      // retries by cause, from the events
	stats      *workspace.APIStats // Groups Migration traffic, nil when none
	reportPath string

	// demo only
	demoSpeed   float64
	faults      []workspacetest.FaultEvent
	storedTwice int  // extra copies in the fake's archives
	tempSources bool // the sources and journals are removed at the end
}

func dedupeName(d migrate.Dedupe) string {
	switch d {
	case migrate.ByContent:
		return "content"
	case migrate.ByMessageID:
		return "message-id"
	case migrate.KeepAll:
		return "none"
	}
	return fmt.Sprint(int(d))
}

func (s *summary) printf(format string, a ...any) { fmt.Fprintf(s.w, format, a...) }

// print writes the summary and reports whether every message read is
// accounted for by exactly one outcome.
func (s *summary) print() bool {
	r := s.r
	s.printf("\nMigration report (%s; policy %s, dedupe %s)\n",
		r.Finished.Sub(r.Started).Round(time.Millisecond), s.policy, dedupeName(s.dedupe))

	failedMsgs, failedSources := r.Failed, r.SourceErrors
	parts := []struct {
		n    int
		what string
	}{
		{r.Inserted, "stored"}, {r.Duplicates, "duplicates"}, {r.Resumed, "done before"},
		{len(r.RefusedLocally), "refused locally"}, {len(r.RefusedByGoogle), "refused by Google"},
		{len(failedMsgs), "failed"}, {len(r.Pending), "pending"},
	}
	sum := 0
	var terms []string
	for _, p := range parts {
		sum += p.n
		terms = append(terms, fmt.Sprintf("%d %s", p.n, p.what))
	}
	s.printf("  %d messages read = %s\n", r.Messages, strings.Join(terms, " + "))
	balanced := sum == r.Messages
	if !balanced {
		s.printf("  !!! WARNING: these outcomes add up to %d, not to the %d messages read: %d message(s) unaccounted for.\n"+
			"  !!! This is a bug in the migration engine. Keep the journals and the -report file, and run again with the\n"+
			"  !!! same journal: messages not recorded as stored are sent again.\n", sum, r.Messages, r.Messages-sum)
	}

	s.printf("  stored:                          %d (%.1f MB)\n", r.Inserted, float64(r.Bytes)/1e6)
	s.printf("  skipped as duplicates:           %d (%s)\n", r.Duplicates, dedupeRule(s.dedupe))
	s.printf("  skipped, done before (journal):  %d\n", r.Resumed)
	s.repaired()

	s.printf("  refused locally, not sent:       %d\n", len(r.RefusedLocally))
	s.items(r.RefusedLocally, func(it migrate.Item) string {
		if it.Field != "" {
			return fmt.Sprintf("%s: %s: %s", s.where(it), it.Field, it.Reason)
		}
		return fmt.Sprintf("%s: %s", s.where(it), it.Reason)
	})
	s.printf("  refused by Google:               %d\n", len(r.RefusedByGoogle))
	s.items(r.RefusedByGoogle, func(it migrate.Item) string {
		tag := ""
		if it.Tentative {
			tag = " [NOT FINAL: the group never took a message, so it may not exist; sent again by the next run]"
		}
		return fmt.Sprintf("%s in %s: %s%s", s.where(it), it.Target, it.Reason, tag)
	})
	s.printf("  failed:                          %d", len(failedMsgs))
	if len(failedMsgs) > 0 {
		s.printf(" (the next run with the same journal sends them again)")
	}
	s.printf("\n")
	s.items(failedMsgs, func(it migrate.Item) string {
		return fmt.Sprintf("%s in %s: %s", s.where(it), it.Target, it.Reason)
	})
	if len(failedSources) > 0 {
		s.printf("  sources not read to the end:     %d (their unread messages are not counted above)\n", len(failedSources))
		s.items(failedSources, func(it migrate.Item) string { return fmt.Sprintf("%s: %s", s.where(it), it.Reason) })
	}
	s.printf("  pending, not finished:           %d", len(r.Pending))
	if len(r.Pending) > 0 {
		s.printf(" (the run or their group stopped first; the next run sends them)")
	}
	s.printf("\n")
	s.items(r.Pending, func(it migrate.Item) string {
		return fmt.Sprintf("%s in %s: %s", s.where(it), it.Target, it.Reason)
	})

	s.printf("  possible duplicates:             %d (sent again after an attempt that may have stored them: a dropped connection or a server error; each may be stored twice)\n",
		len(r.PossibleDuplicates))
	s.items(r.PossibleDuplicates, func(it migrate.Item) string {
		return fmt.Sprintf("%s in %s (%s)", messageID(it), it.Target, s.where(it))
	})
	s.printf("  same Message-ID, different content: %d (stored: Google does not deduplicate by Message-ID)\n", len(r.SameMessageID))
	s.items(r.SameMessageID, func(it migrate.Item) string {
		return fmt.Sprintf("%s in %s (%s)", messageID(it), it.Target, s.where(it))
	})

	s.printf("  per group:\n")
	for _, g := range sortedKeys(r.Targets) {
		c := r.Targets[g]
		s.printf("    %s: %d stored (%.1f MB), %d duplicates, %d done before, %d refused locally, %d refused by Google, %d failed, %d pending\n",
			g, c.Inserted, float64(c.Bytes)/1e6, c.Duplicates, c.Resumed, c.RefusedLocally, c.RefusedByGoogle, c.Failed, c.Pending)
		if c.Stopped != "" {
			s.printf("      STOPPED: %s\n", c.Stopped)
		}
	}

	var journals []string
	for _, j := range r.Journals {
		journals = append(journals, s.names.short(j))
	}
	s.printf("  journals: %s\n", strings.Join(journals, ", "))
	if len(r.JournalProblems) == 0 {
		s.printf("  journal problems: none\n")
	} else {
		s.printf("  journal problems: %d line(s) could not be read and were skipped (their messages are sent again unless recorded elsewhere)\n", len(r.JournalProblems))
		s.strings(r.JournalProblems)
	}

	if r.Inserted == 0 {
		s.printf("  rate: no message stored in this run (limit %g/s)\n", s.limit)
	} else {
		rate := r.Rate()
		s.printf("  rate: %.1f inserts/s against a limit of %g/s (%.0f%%)", rate, s.limit, 100*rate/s.limit)
		if s.demoSpeed > 0 {
			s.printf(", the fake's limit: Google's %d/s scaled ×%g", googleRate, s.demoSpeed)
		}
		s.printf("\n")
	}
	s.requests()

	if r.Stopped != "" {
		s.printf("\nSTOPPED EARLY: %s\n", r.Stopped)
		if !r.ResumeAfter.IsZero() {
			s.printf("The daily quota is spent; run again after %s with the same journal.\n", r.ResumeAfter.Local().Format(time.RFC1123))
		} else {
			s.printf("Run again with the same journal to go on where this run stopped.\n")
		}
		if s.tempSources {
			s.printf("(The demo's sources and journals were in a temporary folder: give -demo-dir DIR to keep them and resume.)\n")
		}
	}
	stopped := 0
	for _, c := range r.Targets {
		if c.Stopped != "" {
			stopped++
		}
	}
	if stopped > 0 {
		s.printf("\n%d group(s) stopped early (see above); after the fix, run again with the same journal.\n", stopped)
	}
	return balanced
}

func dedupeRule(d migrate.Dedupe) string {
	switch d {
	case migrate.ByMessageID:
		return "a message with the same Message-ID is in the group"
	case migrate.KeepAll:
		return "-dedupe none: identical messages are all sent"
	}
	return "an identical message is in the group"
}

func messageID(it migrate.Item) string {
	if it.MessageID == "" {
		return "(no Message-ID)"
	}
	return it.MessageID
}

func (s *summary) where(it migrate.Item) string {
	return s.names.where(it.Source, it.Key, it.Index, it.Offset)
}

// items prints up to listLimit items of l.
func (s *summary) items(l []migrate.Item, line func(migrate.Item) string) {
	for i, it := range l {
		if i == listLimit {
			s.more(len(l) - i)
			return
		}
		s.printf("      - %s\n", line(it))
	}
}

func (s *summary) strings(l []string) {
	for i, v := range l {
		if i == listLimit {
			s.more(len(l) - i)
			return
		}
		s.printf("      - %s\n", v)
	}
}

func (s *summary) more(n int) {
	where := "give -report FILE for the full list"
	if s.reportPath != "" {
		where = "all are in " + s.reportPath
	}
	s.printf("      ... and %d more (%s)\n", n, where)
}

// repaired prints the repair counts and the stored messages with the
// rarest repairs, which say more than the thousands of line-end changes.
func (s *summary) repaired() {
	r := s.r
	s.printf("  repaired, then stored:           %d\n", len(r.Repaired))
	if len(r.RepairCounts) == 0 {
		return
	}
	s.printf("      repairs by kind, over every message read (refused ones included):\n")
	kinds := sortedKeys(r.RepairCounts)
	slices.SortStableFunc(kinds, func(a, b string) int { return r.RepairCounts[b] - r.RepairCounts[a] })
	for _, k := range kinds {
		s.printf("      %7d  %s\n", r.RepairCounts[k], k)
	}
	rarity := func(it migrate.Item) int {
		m := r.Messages + 1
		for _, k := range it.Repairs {
			m = min(m, r.RepairCounts[k])
		}
		return m
	}
	examples := slices.Clone(r.Repaired)
	slices.SortStableFunc(examples, func(a, b migrate.Item) int { return rarity(a) - rarity(b) })
	if len(examples) > exampleRepairs {
		examples = examples[:exampleRepairs]
	}
	if len(examples) > 0 {
		s.printf("      for example:\n")
	}
	for _, it := range examples {
		s.printf("      - %s in %s: %s\n", s.where(it), it.Target, strings.Join(it.Repairs, "; "))
	}
}

// requests prints the Groups Migration traffic, the migration's retries
// and, in the demo, the faults the fake injected.
func (s *summary) requests() {
	if st := s.stats; st != nil {
		s.printf("  requests: %d archive.insert sent, %d without a success (error or no answer), %s waited for quota\n",
			st.Attempts, st.Failures, st.QuotaWait.Round(time.Millisecond))
	} else {
		s.printf("  requests: none sent\n")
	}
	total := 0
	var causes []string
	for _, c := range sortedKeys(s.retries) {
		total += s.retries[c]
		causes = append(causes, fmt.Sprintf("%d after %s", s.retries[c], c))
	}
	if total == 0 {
		s.printf("  retries: none\n")
	} else {
		s.printf("  retries: %d (%s)\n", total, strings.Join(causes, ", "))
	}
	if s.demoSpeed > 0 {
		byKind := map[string]int{}
		for _, f := range s.faults {
			byKind[string(f.Kind)]++
		}
		var kinds []string
		for _, k := range sortedKeys(byKind) {
			kinds = append(kinds, fmt.Sprintf("%d %s", byKind[k], k))
		}
		if len(kinds) == 0 {
			kinds = []string{"none"}
		}
		s.printf("  faults the fake injected: %d (%s)\n", len(s.faults), strings.Join(kinds, ", "))
		s.printf("  the fake's archives hold %d extra copies of messages (byte for byte)\n", s.storedTwice)
	}
}
