package mailsource_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
)

func dataOf(t *testing.T, r mailsource.Reader) [][]byte {
	t.Helper()
	msgs, fileErrs, err := mailsource.ReadAll(r)
	if err != nil || len(fileErrs) > 0 {
		t.Fatalf("ReadAll: %v %v", err, fileErrs)
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		if m.Index != i || m.TooLarge || m.Preamble {
			t.Fatalf("message %d: Index %d TooLarge %v Preamble %v", i, m.Index, m.TooLarge, m.Preamble)
		}
		out[i] = m.Data
	}
	return out
}

var quotedFrom = regexp.MustCompile(`(?m)^>From `)

func TestMboxRoundTrip(t *testing.T) {
	crlfMsgs := mailgen.Messages(7, 400)
	lfMsgs := make([][]byte, len(crlfMsgs))
	for i, m := range crlfMsgs {
		lfMsgs[i] = mailgen.ToLF(m)
	}
	// mboxo cannot keep a body line that began with ">From ": it comes
	// back as "From ".
	mboxoLoss := func(msgs [][]byte) [][]byte {
		out := make([][]byte, len(msgs))
		for i, m := range msgs {
			out[i] = quotedFrom.ReplaceAll(m, []byte("From "))
		}
		return out
	}
	tests := []struct {
		name   string
		format mailsource.Format
		msgs   [][]byte
		want   [][]byte
	}{
		{"mboxrd CRLF", mailsource.MboxRD, crlfMsgs, crlfMsgs},
		{"mboxrd LF", mailsource.MboxRD, lfMsgs, lfMsgs},
		{"mboxo CRLF", mailsource.MboxO, crlfMsgs, mboxoLoss(crlfMsgs)},
		{"mboxo LF", mailsource.MboxO, lfMsgs, mboxoLoss(lfMsgs)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := mailgen.WriteMbox(&buf, tc.msgs, tc.format); err != nil {
				t.Fatal(err)
			}
			if !quotedFrom.Match(buf.Bytes()) {
				t.Fatal("the generated mbox has no escaped From lines; the test proves nothing")
			}
			got := dataOf(t, mailsource.NewMbox(&buf, "rt", &mailsource.Options{Format: tc.format}))
			if len(got) != len(tc.want) {
				t.Fatalf("%d messages, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if diff := cmp.Diff(string(tc.want[i]), string(got[i])); diff != "" {
					t.Fatalf("message %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
	// Reading an mboxrd file as mboxo garbles the doubly escaped lines,
	// which shows the two dialects really differ on this data.
	var buf bytes.Buffer
	mailgen.WriteMbox(&buf, crlfMsgs, mailsource.MboxRD)
	got := dataOf(t, mailsource.NewMbox(&buf, "rt", &mailsource.Options{Format: mailsource.MboxO}))
	if cmp.Equal(got, crlfMsgs) {
		t.Error("mboxrd data read as mboxo came back intact")
	}
}

func TestEMLDirAndMaildirRoundTrip(t *testing.T) {
	msgs := mailgen.Messages(3, 50)
	emlDir := filepath.Join(t.TempDir(), "eml")
	if err := mailgen.WriteEMLDir(emlDir, msgs); err != nil {
		t.Fatal(err)
	}
	r, err := mailsource.Open(emlDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(msgs, dataOf(t, r)); diff != "" {
		t.Errorf("EML dir (-want +got):\n%s", diff)
	}

	md := filepath.Join(t.TempDir(), "Maildir")
	if err := mailgen.WriteMaildir(md, msgs); err != nil {
		t.Fatal(err)
	}
	// A message still being delivered must be ignored.
	os.WriteFile(filepath.Join(md, "tmp", "0.partial"), []byte("half a message"), 0o644)
	r, err = mailsource.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _, _ := mailsource.ReadAll(r)
	var got [][]byte
	for i, m := range all {
		if m.Kind != mailsource.KindMaildir || m.Name != mailgen.MaildirName(i) {
			t.Fatalf("message %d: Kind %v Name %q, want %q", i, m.Kind, m.Name, mailgen.MaildirName(i))
		}
		got = append(got, m.Data)
	}
	if diff := cmp.Diff(msgs, got); diff != "" {
		t.Errorf("Maildir (-want +got):\n%s", diff)
	}
}

func TestGeneratedMessagesAreValid(t *testing.T) {
	g := mailgen.New(11)
	ids := map[string]bool{}
	kinds := map[mailgen.Structure]int{}
	var from, raw, enc, replies int
	for i := 0; i < 2000; i++ {
		m := g.Next()
		if err := mailsource.Validate(m.Data, 0); err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, m.Data)
		}
		id := mailsource.MessageID(m.Data)
		if id != m.MessageID || ids[id] {
			t.Fatalf("message %d: Message-ID %q (want %q, seen before %v)", i, id, m.MessageID, ids[id])
		}
		ids[id] = true
		kinds[m.Structure]++
		if m.FromLines > 0 {
			from++
		}
		if m.RawUTF8 {
			raw++
		}
		if m.EncodedWords {
			enc++
		}
		if m.Reply {
			replies++
			if _, ok := mailsource.Header(m.Data, "In-Reply-To"); !ok {
				t.Fatalf("reply %d has no In-Reply-To", i)
			}
		}
	}
	if kinds[mailgen.Plain] == 0 || kinds[mailgen.Alternative] == 0 || kinds[mailgen.Mixed] == 0 || from == 0 || raw == 0 || enc == 0 || replies == 0 {
		t.Errorf("variety missing: kinds %v, From lines %d, raw UTF-8 %d, encoded words %d, replies %d", kinds, from, raw, enc, replies)
	}
	// Deterministic.
	if !cmp.Equal(mailgen.Messages(11, 20), mailgen.Messages(11, 20)) {
		t.Error("Messages is not deterministic")
	}
	if cmp.Equal(mailgen.Messages(11, 5), mailgen.Messages(12, 5)) {
		t.Error("different seeds give the same messages")
	}
}

func TestLargeMessage(t *testing.T) {
	for _, size := range []int64{mailgen.MinLargeSize(), mailgen.MinLargeSize() + 1, 100000, 1<<20 + 77} {
		m := mailgen.LargeMessage(size)
		if int64(len(m)) != size {
			t.Fatalf("LargeMessage(%d) has %d bytes", size, len(m))
		}
		if err := mailsource.Validate(m, 0); err != nil {
			t.Fatalf("LargeMessage(%d): %v", size, err)
		}
	}
	over := mailsource.DefaultMaxSize + 1
	var n countingDiscard
	if err := mailgen.WriteLargeMessage(&n, over); err != nil || int64(n) != over {
		t.Fatalf("WriteLargeMessage(%d) wrote %d, %v", over, n, err)
	}
}

type countingDiscard int64

func (c *countingDiscard) Write(p []byte) (int, error) {
	*c += countingDiscard(len(p))
	return len(p), nil
}

func TestLargeMboxOverLimit(t *testing.T) {
	// 40 MiB with messages up to 30 MiB: some are over the 25 MiB limit
	// and must come back TooLarge, the others intact.
	pr, pw := io.Pipe()
	go func() {
		_, err := mailgen.WriteLargeMbox(pw, 40<<20, 30<<20)
		pw.CloseWithError(err)
	}()
	r := mailsource.NewMbox(pr, "large", nil)
	var n, tooLarge int
	var total int64
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		total += m.Size
		if m.TooLarge {
			tooLarge++
			if m.Size <= mailsource.DefaultMaxSize || m.Data != nil {
				t.Errorf("message %d: TooLarge with Size %d, Data %d", m.Index, m.Size, len(m.Data))
			}
			continue
		}
		if err := mailsource.Validate(mailsource.NormalizeCRLF(m.Data), 0); err != nil {
			t.Errorf("message %d: %v", m.Index, err)
		}
	}
	if n < 100 || total < 40<<20-(1<<20) {
		t.Errorf("%d messages, %d bytes", n, total)
	}
	t.Logf("%d messages, %d too large, %d bytes", n, tooLarge, total)
}

// The numbers documented in testdata/README.md.
var sampleWant = mailgen.SampleInfo{
	Messages:         3000,
	UniqueMessageIDs: 2994,
	Duplicates:       []int{103, 645, 1218, 1782, 2354, 2908},
	DuplicateOf:      []int{100, 641, 1212, 1780, 2349, 2905},
	MalformedIndex:   1500,
	Plain:            1783,
	Alternative:      667,
	Mixed:            550,
	Replies:          1245,
	List:             1639,
	EncodedWords:     2149,
	RawUTF8:          295,
	WithFromLines:    659,
	FromLines:        727,
	WithQuotedFrom:   79,
	QuotedFromLines:  158,
}

func TestSampleMbox(t *testing.T) {
	file, err := os.ReadFile("testdata/sample.mbox")
	if err != nil {
		t.Fatal(err)
	}
	// The committed file is what the generator produces.
	var regen bytes.Buffer
	info, err := mailgen.WriteSample(&regen, 1, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(regen.Bytes(), file) {
		t.Error("testdata/sample.mbox differs from mailgen.WriteSample(1, 3000); run go generate")
	}
	if diff := cmp.Diff(sampleWant, info); diff != "" {
		t.Errorf("SampleInfo differs from the documented counts (-doc +gen):\n%s", diff)
	}

	// Count independently from what the reader returns.
	r, err := mailsource.Open("testdata/sample.mbox", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := mailsource.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var got mailgen.SampleInfo
	got.Messages = len(msgs)
	firstSeen := map[string]int{}
	for i, m := range msgs {
		id := mailsource.MessageID(m.Data)
		if j, ok := firstSeen[id]; ok {
			got.Duplicates = append(got.Duplicates, i)
			got.DuplicateOf = append(got.DuplicateOf, j)
			if !bytes.Equal(msgs[j].Data, m.Data) {
				t.Errorf("duplicate %d differs from %d", i, j)
			}
		} else {
			firstSeen[id] = i
		}
		if err := mailsource.Validate(mailsource.NormalizeCRLF(m.Data), 0); err != nil {
			p := err.(*mailsource.Problem)
			if p.Field != "Date" || p.Reason != "missing" {
				t.Errorf("message %d: %v", i, err)
			}
			got.MalformedIndex = i
		}
		ct, _ := mailsource.Header(m.Data, "Content-Type")
		switch {
		case strings.HasPrefix(ct, "multipart/alternative"):
			got.Alternative++
		case strings.HasPrefix(ct, "multipart/mixed"):
			got.Mixed++
		default:
			got.Plain++
		}
		if _, ok := mailsource.Header(m.Data, "In-Reply-To"); ok {
			got.Replies++
		}
		if _, ok := mailsource.Header(m.Data, "List-Id"); ok {
			got.List++
		}
		head := m.Data
		if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
			head = head[:i]
		}
		if bytes.Contains(head, []byte("=?UTF-8?")) {
			got.EncodedWords++
		}
		if bytes.IndexFunc(head, func(r rune) bool { return r > 127 }) >= 0 {
			got.RawUTF8++
		}
		body := m.Data[len(head):]
		if n := len(regexp.MustCompile(`(?m)^From `).FindAll(body, -1)); n > 0 {
			got.WithFromLines++
			got.FromLines += n
		}
		if n := len(quotedFrom.FindAll(body, -1)); n > 0 {
			got.WithQuotedFrom++
			got.QuotedFromLines += n
		}
	}
	got.UniqueMessageIDs = len(firstSeen)
	envelopeCopies := 0
	for _, m := range msgs {
		if regexp.MustCompile(`\n\nFrom \S+@\S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n`).Match(m.Data) {
			envelopeCopies++
		}
	}
	if envelopeCopies != 78 {
		t.Errorf("%d messages with a copied envelope line after an empty line, want 78", envelopeCopies)
	}
	if diff := cmp.Diff(sampleWant, got); diff != "" {
		t.Errorf("sample.mbox as read (-doc +read):\n%s", diff)
	}
}
