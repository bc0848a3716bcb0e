package mailsource_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gwsadmin/workspace/mailsource"
)

const env = "From alice@example.com Mon Jan  1 00:00:00 2024"

// got is the comparable part of a Message.
type got struct {
	Index    int
	Offset   int64
	Envelope string
	Size     int64
	Data     string
	TooLarge bool
	Preamble bool
	Fixes    mailsource.Fix
}

// readMbox reads in twice, from a seekable reader and from a plain stream
// (which check a Content-Length differently), and requires the same
// messages from both.
func readMbox(t *testing.T, in string, opts *mailsource.Options) []got {
	t.Helper()
	out := readMboxFrom(t, strings.NewReader(in), opts)
	if diff := cmp.Diff(out, readMboxFrom(t, struct{ io.Reader }{strings.NewReader(in)}, opts), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("seekable and stream readers differ (-seekable +stream):\n%s", diff)
	}
	return out
}

func readMboxFrom(t *testing.T, in io.Reader, opts *mailsource.Options) []got {
	t.Helper()
	r := mailsource.NewMbox(in, "test.mbox", opts)
	defer r.Close()
	var out []got
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if m.Source != "test.mbox" || m.Kind != mailsource.KindMbox {
			t.Errorf("Source/Kind = %q/%v", m.Source, m.Kind)
		}
		if !m.TooLarge && int64(len(m.Data)) != m.Size {
			t.Errorf("message %d: Size %d, len(Data) %d", m.Index, m.Size, len(m.Data))
		}
		out = append(out, got{m.Index, m.Offset, m.Envelope, m.Size, string(m.Data), m.TooLarge, m.Preamble, m.Fixes})
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after EOF = %v, want io.EOF", err)
	}
	return out
}

func msg(i int, off int64, data string) got {
	return got{Index: i, Offset: off, Envelope: env[5:], Size: int64(len(data)), Data: data}
}

func fixed(g got, f mailsource.Fix) got {
	g.Fixes = f
	return g
}

func TestMboxEdgeCases(t *testing.T) {
	e := env + "\n"
	ec := env + "\r\n"
	a := "Subject: a\n\nbody a\n"
	b := "Subject: b\n\nbody b\n"
	ac := "Subject: a\r\n\r\nbody a\r\n"
	bc := "Subject: b\r\n\r\nbody b\r\n"
	long := strings.Repeat("x", 200<<10) + "\n" // longer than the 64 KiB buffer
	tests := []struct {
		name string
		in   string
		opts *mailsource.Options
		want []got
	}{
		{"empty file", "", nil, nil},
		{"only blank lines", "\n\r\n\n", nil, nil},
		{"one message", e + a + "\n", nil, []got{msg(0, 0, a)}},
		{"two messages LF", e + a + "\n" + e + b + "\n", nil,
			[]got{msg(0, 0, a), msg(1, int64(len(e+a+"\n")), b)}},
		{"two messages CRLF", ec + ac + "\r\n" + ec + bc + "\r\n", nil,
			[]got{msg(0, 0, ac), msg(1, int64(len(ec+ac+"\r\n")), bc)}},
		{"no trailing newline", e + a + "\n" + e + "Subject: b\n\nno newline", nil,
			[]got{msg(0, 0, a), msg(1, int64(len(e+a+"\n")), "Subject: b\n\nno newline")}},
		{"no blank separator at end", e + a + e[:0], nil, []got{msg(0, 0, a)}},
		{"blank lines kept inside", e + "S: x\n\n\n\nbody\n\n\n", nil, []got{msg(0, 0, "S: x\n\n\n\nbody\n\n")}},
		{"empty message", e + "\n" + e + a + "\n", nil, []got{msg(0, 0, ""), msg(1, int64(len(e)+1), a)}},
		{"leading blank lines ignored", "\n\n" + e + a, nil, []got{msg(0, 2, a)}},
		{"byte order mark", "\xef\xbb\xbf" + e + a, nil, []got{fixed(msg(0, 3, a), mailsource.FixBOM)}},
		{"garbage before first From", "junk line\nmore junk\n\n" + e + a, nil, []got{
			{Index: -1, Size: 20, Data: "junk line\nmore junk\n", Preamble: true},
			msg(0, 21, a)}},
		{"garbage directly followed by From", "junk\n" + e + a, nil, []got{
			{Index: -1, Size: 5, Data: "junk\n", Preamble: true}, msg(0, 5, a)}},
		{"no From line at all, not a message", "S: x\n\nhello\n", nil, []got{
			{Index: -1, Size: 12, Data: "S: x\n\nhello\n", Preamble: true}}},
		{"no From line at all, a message", "Subject: x\n\nhello\n", nil, []got{
			{Index: 0, Size: 18, Data: "Subject: x\n\nhello\n"}}},
		{"envelope line without blank line before splits", e + "S: x\n\nline\n" + env + "\nmore\n", nil,
			[]got{msg(0, 0, "S: x\n\nline\n"), msg(1, int64(len(e+"S: x\n\nline\n")), "more\n")}},
		{"From line that is no envelope without blank line before is body", e + "S: x\n\nline\nFrom me, hi\nmore\n", nil,
			[]got{msg(0, 0, "S: x\n\nline\nFrom me, hi\nmore\n")}},
		{"unescaped prose From after blank stays in body", e + "S: x\n\nhi\n\nFrom here on we differ.\n", nil,
			[]got{msg(0, 0, "S: x\n\nhi\n\nFrom here on we differ.\n")}},
		{"unescaped prose From splits in lax mode", e + "S: x\n\nhi\n\nFrom here on\n", &mailsource.Options{LaxSeparator: true},
			[]got{msg(0, 0, "S: x\n\nhi\n"), {Index: 1, Offset: int64(len(e + "S: x\n\nhi\n\n")), Envelope: "here on", Data: ""}}},
		{"mboxrd unescape", e + "S: x\n\n>From a\n>>From b\n>>>From c\n>Fromage\n> From d\n", nil,
			[]got{fixed(msg(0, 0, "S: x\n\nFrom a\n>From b\n>>From c\n>Fromage\n> From d\n"), mailsource.FixUnescaped)}},
		{"mboxo unescape", e + "S: x\n\n>From a\n>>From b\n", &mailsource.Options{Format: mailsource.MboxO},
			[]got{fixed(msg(0, 0, "S: x\n\nFrom a\n>>From b\n"), mailsource.FixUnescaped)}},
		{"mboxcl2 no unescape", e + "S: x\n\n>From a\n>>From b\n", &mailsource.Options{Format: mailsource.MboxCL2},
			[]got{msg(0, 0, "S: x\n\n>From a\n>>From b\n")}},
		{"escape only at line start", e + "S: x\n\nsay >From x\n", nil, []got{msg(0, 0, "S: x\n\nsay >From x\n")}},
		{"long line", e + "S: x\n\n" + long + "\n" + e + b, nil,
			[]got{msg(0, 0, "S: x\n\n"+long), msg(1, int64(len(e+"S: x\n\n"+long+"\n")), b)}},
		{"long envelope line", env + " " + strings.Repeat("y", 100<<10) + "\n" + a, nil,
			[]got{{Index: 0, Envelope: (env + " " + strings.Repeat("y", 2000))[5 : 5+1024], Size: int64(len(a)), Data: a}}},
		{"thunderbird and gmail envelopes", "From - Thu Aug 11 10:27:01 2005\n" + a + "\nFrom 1781234@xxx Sat Feb 10 14:51:23 +0000 2024\n" + b, nil,
			[]got{{Index: 0, Envelope: "- Thu Aug 11 10:27:01 2005", Size: int64(len(a)), Data: a},
				{Index: 1, Offset: int64(len("From - Thu Aug 11 10:27:01 2005\n" + a + "\n")), Envelope: "1781234@xxx Sat Feb 10 14:51:23 +0000 2024", Size: int64(len(b)), Data: b}}},
		{"too large", e + a + "\n" + e + "S: big\n\n" + strings.Repeat("0123456789\n", 20) + "\n" + e + b, &mailsource.Options{MaxSize: 100},
			[]got{msg(0, 0, a), {Index: 1, Offset: int64(len(e + a + "\n")), Envelope: env[5:], Size: 8 + 220, TooLarge: true},
				msg(2, int64(len(e+a+"\n"+e+"S: big\n\n"+strings.Repeat("0123456789\n", 20)+"\n")), b)}},
		{"exactly max size", e + a, &mailsource.Options{MaxSize: int64(len(a))}, []got{msg(0, 0, a)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := readMbox(t, tc.in, tc.opts)
			if diff := cmp.Diff(tc.want, out, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMboxSkip(t *testing.T) {
	var in strings.Builder
	for i := range 5 {
		in.WriteString(env + "\nSubject: " + string(rune('a'+i)) + "\n\nbody\n\n")
	}
	var seen []int
	opts := &mailsource.Options{Skip: func(m *mailsource.Message) bool {
		seen = append(seen, m.Index)
		if m.Data != nil {
			t.Errorf("Skip saw Data for %d", m.Index)
		}
		return m.Index < 3
	}}
	out := readMboxFrom(t, strings.NewReader(in.String()), opts)
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, seen); diff != "" {
		t.Errorf("Skip calls (-want +got):\n%s", diff)
	}
	var idx []int
	for _, m := range out {
		idx = append(idx, m.Index)
	}
	if diff := cmp.Diff([]int{3, 4}, idx); diff != "" {
		t.Errorf("returned (-want +got):\n%s", diff)
	}
}

var bodyLine = []byte(strings.Repeat("a", 999) + "\n")

// countingReader produces a message of n body bytes without holding it and
// counts what was read.
type countingReader struct {
	head, tail []byte
	body       int64
	pos        int64
	read       int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	total := int64(len(c.head)) + c.body + int64(len(c.tail))
	if c.pos >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && c.pos < total {
		switch {
		case c.pos < int64(len(c.head)):
			k := copy(p[n:], c.head[c.pos:])
			n += k
			c.pos += int64(k)
		case c.pos < int64(len(c.head))+c.body:
			off := c.pos - int64(len(c.head))
			k := int64(len(p) - n)
			if rem := c.body - off; k > rem {
				k = rem
			}
			// Lines of 1000 bytes: 999 'a' and a newline.
			for done := int64(0); done < k; {
				o := (off + done) % 1000
				m := int64(copy(p[n:n+int(min(k-done, 1000-o))], bodyLine[o:]))
				n += int(m)
				done += m
			}
			c.pos += k
		default:
			off := c.pos - int64(len(c.head)) - c.body
			k := copy(p[n:], c.tail[off:])
			n += k
			c.pos += int64(k)
		}
	}
	c.read += int64(n)
	return n, nil
}

func TestMboxTooLargeNotBuffered(t *testing.T) {
	const body = 64 << 20 // 64 MiB message
	head := []byte(env + "\nSubject: big\n\n")
	tail := []byte("\n\n" + env + "\nSubject: small\n\nok\n")
	cr := &countingReader{head: head, tail: tail, body: body}
	r := mailsource.NewMbox(cr, "big.mbox", &mailsource.Options{MaxSize: 1 << 20})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := r.Next()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if !m.TooLarge || m.Data != nil {
		t.Fatalf("TooLarge=%v, Data len %d", m.TooLarge, len(m.Data))
	}
	if want := int64(len("Subject: big\n\n")) + body + 1; m.Size != want {
		t.Errorf("Size = %d, want %d", m.Size, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("reading a 64 MiB message with MaxSize 1 MiB allocated %d bytes", alloc)
	}
	m2, err := r.Next()
	if err != nil || string(m2.Data) != "Subject: small\n\nok\n" || m2.Index != 1 {
		t.Fatalf("second message = %+v, %v", m2, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	if total := int64(len(head)+len(tail)) + body; cr.read != total {
		t.Errorf("read %d bytes, want the whole stream %d", cr.read, total)
	}
}

func TestMboxAllocsPerMessage(t *testing.T) {
	var in bytes.Buffer
	for range 100 {
		in.WriteString(env + "\nSubject: x\n\n" + strings.Repeat("line of text\n", 40) + "\n")
	}
	data := in.Bytes()
	allocs := testing.AllocsPerRun(5, func() {
		r := mailsource.NewMbox(bytes.NewReader(data), "x", nil)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	})
	// Per message: the Message, its Data and the envelope string; plus a
	// few per reader.
	if perMsg := allocs / 100; perMsg > 4 {
		t.Errorf("%.1f allocations per message", perMsg)
	}
}

type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, errors.New("disk on fire")
	}
	e.n = 0
	return copy(p, env+"\nS: x\n\npartial"), nil
}

func TestMboxReadErrorIsSticky(t *testing.T) {
	r := mailsource.NewMbox(&errReader{n: 1}, "x", nil)
	_, err := r.Next()
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("second err = %v", err2)
	}
	if r.Close() != nil {
		t.Fatal("Close")
	}
}

func TestLooksLikeEnvelope(t *testing.T) {
	tests := map[string]bool{
		"alice@example.com Mon Jan  1 00:00:00 2024": true,
		"MAILER-DAEMON Fri Jul  8 12:08:34 2011":     true,
		"- Thu Aug 11 10:27:01 2005":                 true,
		"1781@xxx Sat Feb 10 14:51:23 +0000 2024":    true,
		"bob Jan 1 9:05 1999":                        true,
		"here on, we differ":                         false,
		"10:30 to 11:00 we met":                      false,
		"the desk of Jan Smith, 2024":                false,
		"":                                           false,
		"Mon Jan 1 00:00:00 2024":                    true,
	}
	for in, want := range tests {
		if got := mailsource.LooksLikeEnvelope([]byte(in)); got != want {
			t.Errorf("looksLikeEnvelope(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMboxReuseBuffer(t *testing.T) {
	msgs := [][]byte{
		[]byte("From: a@example.com\nTo: b@example.com\nDate: Mon, 2 Jan 2006 15:04:05 -0700\n\nfirst, longer body line\n"),
		[]byte("From: c@example.com\nTo: d@example.com\nDate: Mon, 2 Jan 2006 15:04:05 -0700\n\nsecond\n"),
		append([]byte("From: e@example.com\nTo: f@example.com\nDate: Mon, 2 Jan 2006 15:04:05 -0700\n\n"), bytes.Repeat([]byte("y\n"), 2000)...),
	}
	var mbox bytes.Buffer
	mw, _ := mailsource.NewMboxWriter(&mbox, mailsource.MboxRD)
	for _, m := range msgs {
		mw.WriteMessage(m)
	}
	mw.Flush()
	r := mailsource.NewMbox(bytes.NewReader(mbox.Bytes()), "reuse", &mailsource.Options{ReuseBuffer: true})
	var got [][]byte
	var firstData []byte
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if firstData == nil {
			firstData = m.Data
		}
		got = append(got, bytes.Clone(m.Data)) // Data is only valid until the next call
	}
	if diff := cmp.Diff(msgs, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	// The first message's Data was overwritten by later ones: the buffer
	// really is shared.
	if bytes.Equal(firstData, msgs[0]) {
		t.Error("Data of the first message still intact: the buffer was not reused")
	}
}
