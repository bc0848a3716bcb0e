package migrate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace/mailsource"
)

func TestPrepare(t *testing.T) {
	const good = "From: Alice <alice@example.com>\nTo: list@example.com\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nSubject: hi\n\nbody\n"
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tests := []struct {
		name     string
		raw      string
		envelope string
		fixes    mailsource.Fix
		policy   Policy
		want     string // the message sent; "" when refused
		repairs  []string
		field    string // refused: the field
	}{
		{name: "LF to CRLF", raw: good, want: crlf(good), repairs: []string{RepairCRLF}},
		{name: "already CRLF", raw: crlf(good), want: crlf(good)},
		{name: "CR only", raw: strings.ReplaceAll(good, "\n", "\r"), want: crlf(good), repairs: []string{RepairCRLF}},
		{name: "envelope line at the top", raw: "From MAILER-DAEMON Tue Apr 29 10:00:00 2019\n" + good, want: crlf(good),
			repairs: []string{RepairEnvelopeLine, RepairCRLF}},
		{name: "quoted envelope line at the top", raw: ">From x Tue Apr 29 10:00:00 2019\r\n" + crlf(good), want: crlf(good),
			repairs: []string{RepairEnvelopeLine}},
		{name: "reader fixes listed", raw: crlf(good), fixes: mailsource.FixBOM | mailsource.FixUnescaped, want: crlf(good),
			repairs: (mailsource.FixBOM | mailsource.FixUnescaped).Strings()},
		{name: "bounce sender and odd date are sent", raw: "From: MAILER-DAEMON <>\r\nTo: postmaster\r\nDate: Tue, 029 Apr 2019 10:00:00 +0900\r\n\r\nx\r\n",
			want: "From: MAILER-DAEMON <>\r\nTo: postmaster\r\nDate: Tue, 029 Apr 2019 10:00:00 +0900\r\n\r\nx\r\n"},
		{name: "header line without colon passed over", raw: "From: a@b\r\nTo: c@d\r\nbogus line\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nx\r\n",
			want: "From: a@b\r\nTo: c@d\r\nbogus line\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nx\r\n"},
		{name: "white space before the colon", raw: "From : a@b\r\nTo\t: c@d\r\nDate : Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nx\r\n",
			want: "From : a@b\r\nTo\t: c@d\r\nDate : Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nx\r\n"},
		{name: "empty", raw: " \r\n\r\n", field: "message"},
		{name: "no header section", raw: "hello there\r\n\r\nbody\r\n", field: "header"},
		{name: "starts with a blank line", raw: "\r\nFrom: a@b\r\n", field: "header"},
		{name: "no From", raw: strings.Replace(good, "From: Alice <alice@example.com>\n", "", 1), field: "From"},
		{name: "blank To", raw: strings.Replace(good, "To: list@example.com", "To:   ", 1), field: "To"},
		{name: "no Date", raw: strings.Replace(good, "Date: Mon, 2 Mar 2026 09:00:00 +0000\n", "", 1), field: "Date"},
		{name: "too large after CRLF", raw: "From: a@b\nTo: c@d\nDate: x\n\n" + strings.Repeat("\n", 990), field: "size"},
		{name: "strict refuses an odd date", raw: strings.Replace(good, "Mon, 2 Mar 2026", "Tue, 029 Apr 2019", 1), policy: Strict, field: "Date"},
		{name: "strict accepts a good message", raw: good, policy: Strict, want: crlf(good), repairs: []string{RepairCRLF}},
		{name: "repair: Date from the envelope", policy: Repair, envelope: "MAILER-DAEMON Mon Apr 29 10:00:00 2019",
			raw:     "From: a@b\r\nTo: c@d\r\n\r\nx\r\n",
			want:    "Date: Mon, 29 Apr 2019 10:00:00 -0000\r\nFrom: a@b\r\nTo: c@d\r\n\r\nx\r\n",
			repairs: []string{RepairDateEnvelope}},
		{name: "repair: Date from the newest Received", policy: Repair,
			raw: "Received: from b by c; Tue, 30 Apr 2019 01:02:03 +0200\r\nReceived: from a by b; Mon, 29 Apr 2019 01:02:03 +0200\r\nFrom: a@b\r\nTo: c@d\r\nDate: \r\n\r\nx\r\n",
			want: "Date: Tue, 30 Apr 2019 01:02:03 +0200\r\nReceived: from b by c; Tue, 30 Apr 2019 01:02:03 +0200\r\n" +
				"Received: from a by b; Mon, 29 Apr 2019 01:02:03 +0200\r\nFrom: a@b\r\nTo: c@d\r\n\r\nx\r\n",
			repairs: []string{RepairDateReceived}},
		{name: "repair: To from the target", policy: Repair,
			raw:     "From: a@b\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nx\r\n",
			want:    "To: list@example.com\r\nFrom: a@b\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nx\r\n",
			repairs: []string{RepairToTarget}},
		{name: "repair: no date to be found", policy: Repair, raw: "From: a@b\r\nTo: c@d\r\n\r\nx\r\n", field: "Date"},
		{name: "repair never invents a From", policy: Repair, raw: "To: c@d\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nx\r\n", field: "From"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &mailsource.Message{Data: []byte(tt.raw), Envelope: tt.envelope, Fixes: tt.fixes}
			p := prepare(m, "list@example.com", 1000, tt.policy)
			if tt.field != "" {
				if p.refusal == nil || p.refusal.Field != tt.field {
					t.Fatalf("refusal %v, want field %q", p.refusal, tt.field)
				}
				return
			}
			if p.refusal != nil {
				t.Fatalf("refused: %v", p.refusal)
			}
			if diff := cmp.Diff(tt.want, string(p.data)); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.repairs, p.repairs); diff != "" {
				t.Errorf("repairs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDedupeRules: identical content is a duplicate; the same Message-ID
// with different content is stored and listed, unless ByMessageID.
func TestDedupeRules(t *testing.T) {
	a := msg("a", "Message-ID: <same@x>")
	aAgain := a
	b := msg("b", "Message-ID: <same@x>")
	c := msg("c")
	tests := []struct {
		dedupe     Dedupe
		stored     []string
		duplicates int
		sameID     int
	}{
		{ByContent, []string{"a", "b", "c"}, 1, 1},
		{ByMessageID, []string{"a", "c"}, 2, 0},
		{KeepAll, []string{"a", "a", "b", "c"}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.dedupe.String(), func(t *testing.T) {
			dir := t.TempDir()
			src := writeMbox(t, dir, "a.mbox", a, aAgain, b, c)
			sink := newSink()
			o := testOpts(newClock())
			o.Dedupe = tt.dedupe
			r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.stored, sink.storedIn("list@example.com")); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if r.Duplicates != tt.duplicates || len(r.SameMessageID) != tt.sameID {
				t.Errorf("duplicates %d, same Message-ID %+v", r.Duplicates, r.SameMessageID)
			}
			checkAccounted(t, r)
		})
	}
}

// TestSameMessageIDWhileTheFirstWaitsForRetry: the Message-ID rules hold
// when the first message with an id is still waiting for its retry.
func TestSameMessageIDWhileTheFirstWaitsForRetry(t *testing.T) {
	a := msg("a", "Message-ID: <same@x>")
	b := msg("b", "Message-ID: <same@x>")
	for _, tt := range []struct {
		dedupe Dedupe
		stored []string
		sameID int
	}{
		{ByContent, []string{"b", "a"}, 1},
		{ByMessageID, []string{"a"}, 0},
	} {
		t.Run(tt.dedupe.String(), func(t *testing.T) {
			src := writeMbox(t, t.TempDir(), "a.mbox", a, b)
			sink := newSink()
			sink.errs["a"] = []error{backend()}
			o := testOpts(newClock())
			o.Dedupe = tt.dedupe
			r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.stored, sink.storedIn("list@example.com")); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if len(r.SameMessageID) != tt.sameID {
				t.Errorf("same Message-ID %+v, want %d", r.SameMessageID, tt.sameID)
			}
			checkAccounted(t, r)
		})
	}
}

// TestDuplicateOfAMessageWaitingForRetry waits for that message's outcome.
func TestDuplicateOfAMessageWaitingForRetry(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("a"), msg("a"), msg("b"))
	sink := newSink()
	sink.errs["a"] = []error{backend()}
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "a"}, sink.storedIn("list@example.com")); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if r.Duplicates != 1 || r.Inserted != 2 {
		t.Errorf("report %+v", r)
	}
	checkAccounted(t, r)
}
