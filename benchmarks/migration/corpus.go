package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// corpusSource is one source of the corpus and what this program makes of
// it.
type corpusSource struct {
	label  string // "bounces.mbox" or "eml/"
	path   string
	group  string // local part; the fake's domain is added
	own    []*ownMessage
	counts mboxCounts // mbox only
	reader int        // messages the mailsource reader returned
}

// corpusRun is one migration of the whole corpus with one policy.
type corpusRun struct {
	policy migrate.Policy
	srv    *workspacetest.Server
	rep    *migrate.Report
	err    error
	// final events by target and index
	events map[string]map[int]migrate.Event
}

func corpusMode(c *checks, dir string) error {
	dir, err := resolveCorpus(dir)
	if err != nil {
		return err
	}
	mbox := &corpusSource{label: "bounces.mbox", path: filepath.Join(dir, "bounces.mbox"), group: "bounces-mbox"}
	eml := &corpusSource{label: "eml/", path: filepath.Join(dir, "eml"), group: "bounces-eml"}
	fmt.Printf("corpus: %s\n", dir)

	// The program's own reading of the sources.
	data, err := os.ReadFile(mbox.path)
	if err != nil {
		return err
	}
	mbox.own, mbox.counts = splitMbox(data)
	if eml.own, err = readEMLFolder(eml.path); err != nil {
		return err
	}
	for _, s := range []*corpusSource{mbox, eml} {
		for _, m := range s.own {
			analyse(m)
		}
	}

	section("Reading the sources")
	readerMsgs := map[*corpusSource][]*mailsource.Message{}
	for _, s := range []*corpusSource{mbox, eml} {
		msgs, err := readAll(s.path)
		if err != nil {
			return err
		}
		readerMsgs[s] = msgs
		s.reader = len(msgs)
	}
	fmt.Printf("  bounces.mbox: mailsource reader %d messages; own count: %d by the POSIX rule (\"From \" after an empty line), "+
		"%d by mutt's (\"From \" + sender + date), %d by both (used to split)\n",
		mbox.reader, mbox.counts.posix, mbox.counts.mutt, mbox.counts.both)
	fmt.Printf("  eml/: mailsource reader %d messages; own count %d .eml files\n", eml.reader, len(eml.own))
	c.check(mbox.reader == mbox.counts.both && mbox.counts.posix == mbox.counts.both && mbox.counts.mutt == mbox.counts.both,
		"mbox message count", "reader %d, POSIX rule %d, mutt rule %d", mbox.reader, mbox.counts.posix, mbox.counts.mutt)
	c.check(eml.reader == len(eml.own), "eml message count", "reader %d, files %d", eml.reader, len(eml.own))
	for _, s := range []*corpusSource{mbox, eml} {
		var differ []string
		for i, rm := range readerMsgs[s] {
			if i >= len(s.own) {
				differ = append(differ, fmt.Sprintf("reader message %d has no counterpart", i))
				continue
			}
			theirs := &ownMessage{raw: rm.Data}
			normalize(theirs)
			if !bytes.Equal(theirs.norm, s.own[i].norm) {
				differ = append(differ, fmt.Sprintf("%s (%s)", s.own[i].name, firstDifference(s.own[i].norm, theirs.norm)))
			}
		}
		c.check(len(differ) == 0, s.label+": reader's messages equal the program's own split (after normalization)",
			"%d differ%s", len(differ), listSuffix(differ))
	}

	same, ids := map[[32]byte]bool{}, map[string]bool{}
	for _, m := range eml.own {
		same[sha256.Sum256(m.norm)] = true
		ids[m.msgID] = true
	}
	nSame, nID := 0, 0
	for _, m := range mbox.own {
		if same[sha256.Sum256(m.norm)] {
			nSame++
		}
		if ids[m.msgID] {
			nID++
		}
	}
	fmt.Printf("  of the %d mbox messages, %d have the Message-ID (or lack of one) of an .eml file and %d are byte-identical to one after normalization\n",
		len(mbox.own), nID, nSame)
	fmt.Println("  (the copies differ slightly: the .eml files end with one more empty line, and some have an encoded-word Subject where the mbox has raw UTF-8)")

	section("What Google's documents accept (own check, google-apis.md §3)")
	for _, s := range []*corpusSource{mbox, eml} {
		acc, reasons := 0, map[string]int{}
		crlf, env := 0, 0
		for _, m := range s.own {
			if m.accepted {
				acc++
			} else {
				reasons[m.refusal]++
			}
			if m.needsCRLF {
				crlf++
			}
			if m.strayEnvelope {
				env++
			}
		}
		fmt.Printf("  %-13s %d of %d accepted; refused: %s; need CRLF conversion: %d; stray envelope line: %d\n",
			s.label, acc, len(s.own), countsText(reasons), crlf, env)
	}

	// The migrations.
	ctx := context.Background()
	runs := map[migrate.Policy]*corpusRun{}
	for _, p := range []migrate.Policy{migrate.Standard, migrate.Repair, migrate.Strict} {
		r, err := migrateCorpus(ctx, p, mbox, eml)
		if err != nil {
			return err
		}
		defer r.srv.Close()
		runs[p] = r
	}
	std := runs[migrate.Standard]

	section("Default policy (standard): per source")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tread\tdocs accept\tstored (fake)\tinserted\tduplicates\trefused locally\trefused by Google\tfailed\tpending\trepaired\t")
	for _, s := range []*corpusSource{mbox, eml} {
		t := std.target(s)
		tc := std.rep.Targets[t]
		acc := 0
		for _, m := range s.own {
			if m.accepted {
				acc++
			}
		}
		repaired := 0
		for _, it := range std.rep.Repaired {
			if it.Target == t {
				repaired++
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", s.label, s.reader, acc,
			std.srv.GroupMessageCount(t), tc.Inserted, tc.Duplicates, tc.RefusedLocally, tc.RefusedByGoogle, tc.Failed, tc.Pending, repaired)
	}
	tw.Flush()
	fmt.Printf("  run error: %v; report OK(): %v\n", std.err, std.rep.OK())
	fmt.Println("  repairs (Report.RepairCounts):")
	for _, k := range slices.Sorted(maps.Keys(std.rep.RepairCounts)) {
		fmt.Printf("    %-40s %d\n", k, std.rep.RepairCounts[k])
	}
	printRefusals(std.rep)

	section("Default policy (standard): checks")
	for _, s := range []*corpusSource{mbox, eml} {
		checkStored(c, std, s)
	}
	checkSums(c, "standard", std.rep, len(mbox.own)+len(eml.own))
	checkRepairsListed(c, "standard", std, mbox, eml)

	section("The three policies on the same corpus")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tread\tstored (fake)\tinserted\tduplicates\trefused locally\trefused by Google\tfailed\tpending\trepaired\t")
	for _, p := range []migrate.Policy{migrate.Standard, migrate.Repair, migrate.Strict} {
		r := runs[p]
		stored := r.srv.GroupMessageCount(r.target(mbox)) + r.srv.GroupMessageCount(r.target(eml))
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", p, r.rep.Messages, stored, r.rep.Inserted, r.rep.Duplicates,
			len(r.rep.RefusedLocally), len(r.rep.RefusedByGoogle), len(r.rep.Failed), len(r.rep.Pending), len(r.rep.Repaired))
	}
	tw.Flush()
	for _, p := range []migrate.Policy{migrate.Repair, migrate.Strict} {
		r := runs[p]
		fmt.Printf("  %s: run error %v; repairs %s\n", p, r.err, countsText(r.rep.RepairCounts))
		if len(r.rep.RefusedLocally)+len(r.rep.RefusedByGoogle) > 0 {
			why := map[string]int{}
			for _, it := range slices.Concat(r.rep.RefusedLocally, r.rep.RefusedByGoogle) {
				why[it.Field+": "+it.Reason]++
			}
			fmt.Printf("  %s refusals by reason:\n", p)
			for _, k := range slices.Sorted(maps.Keys(why)) {
				fmt.Printf("    %3d × %s\n", why[k], k)
			}
		}
	}
	section("Per message (outcome under each policy)")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "source\tmessage\tbytes\tMessage-ID\tdocuments\tstandard\trepair\tstrict")
	for _, s := range []*corpusSource{mbox, eml} {
		for _, m := range s.own {
			verdict := "accept"
			if !m.accepted {
				verdict = "refuse: " + m.refusal
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s", s.label, m.name, len(m.raw), clipText(m.msgID, 34), verdict)
			for _, p := range []migrate.Policy{migrate.Standard, migrate.Repair, migrate.Strict} {
				fmt.Fprintf(tw, "\t%s", runs[p].short(runs[p].target(s), m))
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()

	section("Repair and strict: checks")
	for _, p := range []migrate.Policy{migrate.Repair, migrate.Strict} {
		r := runs[p]
		checkSums(c, r.policy.String(), r.rep, len(mbox.own)+len(eml.own))
		for _, s := range []*corpusSource{mbox, eml} {
			checkNoTwice(c, r, s)
		}
	}
	// Strict only ever refuses more; Repair only ever stores more.
	stdStored := std.rep.Inserted + std.rep.Duplicates
	c.check(runs[migrate.Strict].rep.Inserted+runs[migrate.Strict].rep.Duplicates <= stdStored,
		"strict stores no more than standard", "strict %d, standard %d (inserted + duplicates)",
		runs[migrate.Strict].rep.Inserted+runs[migrate.Strict].rep.Duplicates, stdStored)
	c.check(runs[migrate.Repair].rep.Inserted+runs[migrate.Repair].rep.Duplicates >= stdStored,
		"repair stores no fewer than standard", "repair %d, standard %d (inserted + duplicates)",
		runs[migrate.Repair].rep.Inserted+runs[migrate.Repair].rep.Duplicates, stdStored)
	return nil
}

func (r *corpusRun) target(s *corpusSource) string { return s.group + "@" + r.srv.Domain() }

// migrateCorpus migrates both sources with policy against a fresh fake at
// high speed, with a journal of its own.
func migrateCorpus(ctx context.Context, policy migrate.Policy, sources ...*corpusSource) (*corpusRun, error) {
	const speed = 1000
	srv := workspacetest.NewServer(workspacetest.WithSpeed(speed))
	r := &corpusRun{policy: policy, srv: srv, events: map[string]map[int]migrate.Event{}}
	lim, err := scaledLimiter(10 * speed)
	if err != nil {
		return nil, err
	}
	core, err := fakeClient(ctx, srv, lim)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "migration-corpus-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var jobs []migrate.Job
	for _, s := range sources {
		srv.AddGroup(r.target(s))
		jobs = append(jobs, migrate.Job{Source: s.path, Target: r.target(s)})
		r.events[r.target(s)] = map[int]migrate.Event{}
	}
	var mu sync.Mutex
	r.rep, r.err = datatransfer.New(core).Migrate(ctx, jobs, &migrate.Options{
		Journal: filepath.Join(tmp, "corpus.journal"),
		Policy:  policy,
		Progress: func(ev migrate.Event) {
			if ev.Status == migrate.Retrying {
				return
			}
			mu.Lock()
			if m := r.events[ev.Target]; m != nil {
				m[ev.Index] = ev
			}
			mu.Unlock()
		},
	})
	if r.rep == nil {
		return nil, fmt.Errorf("%s: %w", policy, r.err)
	}
	return r, nil
}

// readEMLFolder reads every .eml file under dir, in byte-wise order of the
// relative path.
func readEMLFolder(dir string) ([]*ownMessage, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".eml") {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*ownMessage
	for i, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return nil, err
		}
		out = append(out, &ownMessage{index: i, name: n, raw: raw})
	}
	return out, nil
}

// readAll reads a source with the library's reader, copying each message.
func readAll(path string) ([]*mailsource.Message, error) {
	rd, err := mailsource.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []*mailsource.Message
	for {
		m, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		cp := *m
		cp.Data = bytes.Clone(m.Data)
		out = append(out, &cp)
	}
}

// checkStored compares what the fake holds for a source with what the
// documents accept: every accepted message exactly once, nothing else.
func checkStored(c *checks, r *corpusRun, s *corpusSource) {
	t := r.target(s)
	stored := r.srv.GroupMessages(t)
	// What the source holds, by key.
	type want struct {
		msgs     []*ownMessage
		norms    map[[32]byte]bool
		accepted bool
	}
	byKey := map[string]*want{}
	normSet := map[[32]byte]bool{}
	for _, m := range s.own {
		w := byKey[m.key]
		if w == nil {
			w = &want{norms: map[[32]byte]bool{}}
			byKey[m.key] = w
		}
		w.msgs = append(w.msgs, m)
		sum := sha256.Sum256(m.norm)
		w.norms[sum] = true
		normSet[sum] = true
		w.accepted = w.accepted || m.accepted
	}
	perKey := map[string]int{}
	perSum := map[[32]byte]int{}
	var strangers, refusedButStored []string
	identical := 0
	for i, sm := range stored {
		_, key := identity(sm.Raw)
		perKey[key]++
		perSum[sm.SHA256]++
		if normSet[sha256.Sum256(sm.Raw)] {
			identical++
		}
		w := byKey[key]
		switch {
		case w == nil:
			strangers = append(strangers, fmt.Sprintf("stored #%d %s", i, clipText(key, 60)))
		case !w.accepted:
			refusedButStored = append(refusedButStored, fmt.Sprintf("%s (%s)", w.msgs[0].name, w.msgs[0].refusal))
		}
	}
	var missing, tooMany []string
	wanted := 0
	for key, w := range byKey {
		if !w.accepted {
			continue
		}
		wanted++
		n := perKey[key]
		switch {
		case n == 0:
			missing = append(missing, fmt.Sprintf("%s %s: %s", w.msgs[0].name, w.msgs[0].msgID, r.outcome(t, w.msgs[0])))
		case n > len(w.norms):
			tooMany = append(tooMany, fmt.Sprintf("%s %s stored %d times", w.msgs[0].name, w.msgs[0].msgID, n))
		}
	}
	var twice []string
	for sum, n := range perSum {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("sha256 %x… stored %d times", sum[:6], n))
		}
	}
	sort.Strings(missing)
	sort.Strings(tooMany)
	sort.Strings(twice)
	c.check(len(missing) == 0 && len(tooMany) == 0, s.label+": every message the documents accept arrives exactly once",
		"%d distinct accepted (Message-ID + body hash), %d stored; %d missing%s; %d more than once%s",
		wanted, len(stored), len(missing), listSuffix(missing), len(tooMany), listSuffix(tooMany))
	c.check(len(twice) == 0, s.label+": no message stored twice (byte-identical)", "%d%s", len(twice), listSuffix(twice))
	c.check(len(strangers) == 0 && len(refusedButStored) == 0, s.label+": nothing stored but the source's accepted messages",
		"%d unknown%s; %d the documents refuse%s", len(strangers), listSuffix(strangers), len(refusedButStored), listSuffix(refusedButStored))
	c.check(identical == len(stored), s.label+": stored bytes equal the source after CRLF normalization and envelope-line removal",
		"%d of %d", identical, len(stored))
	// Refusals: exactly the messages the documents refuse.
	var wrong []string
	for _, it := range slices.Concat(r.rep.RefusedLocally, r.rep.RefusedByGoogle) {
		if it.Target != t {
			continue
		}
		if it.Index >= 0 && it.Index < len(s.own) && s.own[it.Index].accepted {
			wrong = append(wrong, fmt.Sprintf("%s: %s %s", s.own[it.Index].name, it.Field, it.Reason))
		}
	}
	c.check(len(wrong) == 0, s.label+": no message the documents accept was refused", "%d%s", len(wrong), listSuffix(wrong))
}

// outcome says what the run reported for one source message.
func (r *corpusRun) outcome(target string, m *ownMessage) string {
	ev, ok := r.events[target][m.index]
	if !ok {
		return "no outcome reported"
	}
	s := ev.Status.String()
	if ev.Err != nil {
		s += " (" + ev.Err.Error() + ")"
	}
	return s
}

// short is a message's outcome in a few words, with the refused field.
func (r *corpusRun) short(target string, m *ownMessage) string {
	ev, ok := r.events[target][m.index]
	if !ok {
		return "?"
	}
	s := ev.Status.String()
	switch ev.Status {
	case migrate.RefusedLocally, migrate.RefusedByGoogle:
		var field string
		for _, it := range slices.Concat(r.rep.RefusedLocally, r.rep.RefusedByGoogle) {
			if it.Target == target && it.Index == m.index {
				field = it.Field
			}
		}
		s += " (" + field + ")"
	case migrate.Inserted:
		if len(ev.Repairs) > 0 {
			s += fmt.Sprintf(" +%d repair", len(ev.Repairs))
		}
	}
	return s
}

// checkNoTwice checks only that no message was stored twice.
func checkNoTwice(c *checks, r *corpusRun, s *corpusSource) {
	seen := map[[32]byte]int{}
	twice := 0
	stored := r.srv.GroupMessages(r.target(s))
	for _, sm := range stored {
		seen[sm.SHA256]++
		if seen[sm.SHA256] == 2 {
			twice++
		}
	}
	c.check(twice == 0, fmt.Sprintf("%s, %s: no message stored twice", r.policy, s.label), "%d of %d stored", twice, len(stored))
}

// checkSums checks that every message read is counted once.
func checkSums(c *checks, label string, rep *migrate.Report, read int) {
	sum := rep.Inserted + rep.Duplicates + rep.Resumed + len(rep.RefusedLocally) + len(rep.RefusedByGoogle) + len(rep.Failed) + len(rep.Pending)
	c.check(sum == rep.Messages && rep.Messages == read && len(rep.SourceErrors) == 0, label+": report adds up",
		"Messages %d = Inserted %d + Duplicates %d + Resumed %d + RefusedLocally %d + RefusedByGoogle %d + Failed %d + Pending %d = %d; "+
			"messages in the sources %d; source errors %d",
		rep.Messages, rep.Inserted, rep.Duplicates, rep.Resumed, len(rep.RefusedLocally), len(rep.RefusedByGoogle), len(rep.Failed),
		len(rep.Pending), sum, read, len(rep.SourceErrors))
}

// checkRepairsListed checks that every stored message the program had to
// normalize appears in Report.Repaired with the matching repairs.
func checkRepairsListed(c *checks, label string, r *corpusRun, sources ...*corpusSource) {
	repaired := map[string]map[int]migrate.Item{}
	for _, it := range r.rep.Repaired {
		if repaired[it.Target] == nil {
			repaired[it.Target] = map[int]migrate.Item{}
		}
		repaired[it.Target][it.Index] = it
	}
	var missing []string
	expected := 0
	for _, s := range sources {
		t := r.target(s)
		for _, m := range s.own {
			ev, ok := r.events[t][m.index]
			if !ok || ev.Status != migrate.Inserted {
				continue
			}
			var want []string
			if m.needsCRLF {
				want = append(want, migrate.RepairCRLF)
			}
			if m.strayEnvelope {
				want = append(want, migrate.RepairEnvelopeLine)
			}
			if m.bom {
				want = append(want, "byte order mark dropped")
			}
			if len(want) == 0 {
				continue
			}
			expected++
			it, listed := repaired[t][m.index]
			for _, w := range want {
				if !listed || !slices.Contains(it.Repairs, w) {
					missing = append(missing, fmt.Sprintf("%s %s: %q", s.label, m.name, w))
				}
			}
		}
	}
	c.check(len(missing) == 0, label+": the report lists the repairs of every stored message that needed one",
		"%d messages needed repairs; %d repairs not listed%s", expected, len(missing), listSuffix(missing))
}

func printRefusals(rep *migrate.Report) {
	for _, l := range []struct {
		name  string
		items []migrate.Item
	}{{"refused locally", rep.RefusedLocally}, {"refused by Google", rep.RefusedByGoogle}, {"failed", rep.Failed}} {
		fmt.Printf("  %s: %d\n", l.name, len(l.items))
		for _, it := range l.items {
			fmt.Printf("    %s [%s] %s\n", shortKey(it.Key), it.Field, it.Reason)
		}
	}
}

// shortKey drops the folder part of a report key.
func shortKey(k string) string {
	if i := strings.LastIndex(k, "/"); i >= 0 {
		return k[i+1:]
	}
	return k
}

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// labelled is listSuffix after a label, or "" for an empty list.
func labelled(label string, l []string) string {
	if len(l) == 0 {
		return ""
	}
	return label + listSuffix(l)
}

// listSuffix shows up to five entries of a list.
func listSuffix(l []string) string {
	if len(l) == 0 {
		return ""
	}
	shown := l[:min(len(l), 5)]
	s := " [" + strings.Join(shown, "; ")
	if len(l) > len(shown) {
		s += fmt.Sprintf("; … %d more", len(l)-len(shown))
	}
	return s + "]"
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// firstDifference describes where two byte slices first differ.
func firstDifference(a, b []byte) string {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return fmt.Sprintf("byte %d: %q vs %q", i, clipText(string(a[i:min(len(a), i+20)]), 20), clipText(string(b[i:min(len(b), i+20)]), 20))
		}
	}
	return fmt.Sprintf("lengths %d vs %d", len(a), len(b))
}
