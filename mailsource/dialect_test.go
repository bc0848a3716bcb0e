package mailsource_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gwsadmin/workspace/mailsource"
)

// at returns the offset of sub in s, which must occur exactly once.
func at(t *testing.T, s, sub string) int64 {
	t.Helper()
	i := strings.Index(s, sub)
	if i < 0 || strings.Count(s, sub) != 1 {
		t.Fatalf("%q occurs %d times in the input", sub, strings.Count(s, sub))
	}
	return int64(i)
}

// mboxCase is an input and the messages expected from it.
type mboxCase struct {
	name string
	in   string
	opts *mailsource.Options
	want func(in string) []got // offsets are found in in
}

func runMboxCases(t *testing.T, tests []mboxCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := readMbox(t, tc.in, tc.opts)
			want := tc.want(tc.in)
			for i := range want {
				if want[i].Size == 0 && !want[i].TooLarge {
					want[i].Size = int64(len(want[i].Data))
				}
			}
			if diff := cmp.Diff(want, out, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// g builds an expected message; Size is filled in from Data.
func g(i int, off int64, envelope, data string, fixes mailsource.Fix) got {
	return got{Index: i, Offset: off, Envelope: envelope, Data: data, Fixes: fixes}
}

const (
	envA = "From alice@example.com Mon Jan  1 00:00:00 2024"
	envB = "From bob@example.com Mon Jan  1 01:00:00 2024"
	envC = "From carol@example.com Mon Jan  1 02:00:00 2024"
)

func TestMboxSeparatorRules(t *testing.T) {
	lax := &mailsource.Options{LaxSeparator: true}
	tests := []mboxCase{
		{"envelope line right after a body line", envA + "\nS: a\n\nbody\n" + envB + "\nS: b\n\nb\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\nbody\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\n\nb\n", 0)}
			}},
		{"envelope line right after a header line", envA + "\nS: a\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"CRLF envelope line right after a body line", envA + "\r\nS: a\r\n\r\nbody\r\n" + envB + "\r\nS: b\r\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\r\n\r\nbody\r\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\r\n", 0)}
			}},
		{"envelope with two spaces and a zone", envA + "\nS: a\n\nFrom MAILER-DAEMON  Wed Sep 17 22:25:40 +0900 2008\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n", 0), g(1, at(t, in, "From MAILER"), "MAILER-DAEMON  Wed Sep 17 22:25:40 +0900 2008", "S: b\n", 0)}
			}},
		{"prose From lines stay, blank line or not", envA + "\nS: a\n\nFrom here on.\nFrom me to you\n\nFrom 10:00 to 11:00\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\nFrom here on.\nFrom me to you\n\nFrom 10:00 to 11:00\n", 0)}
			}},
		{"escaped envelope line stays, unescaped", envA + "\nS: a\n\n>" + envB + "\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\n"+envB+"\n", mailsource.FixUnescaped)}
			}},
		{"From - with a date, no blank line", "From - Thu Aug 11 10:27:01 2005\nS: a\n\nbody\nFrom - Thu Aug 11 10:28:00 2005\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, "- Thu Aug 11 10:27:01 2005", "S: a\n\nbody\n", 0),
					g(1, at(t, in, "From - Thu Aug 11 10:28"), "- Thu Aug 11 10:28:00 2005", "S: b\n", 0)}
			}},
		{"From - without a date", "From - \nS: a\n\nbody\nFrom -\nS: b\n\nFrom -x\nS: c\n", nil,
			func(in string) []got {
				return []got{g(0, 0, "- ", "S: a\n\nbody\n", 0),
					g(1, at(t, in, "From -\n"), "-", "S: b\n", 0),
					g(2, at(t, in, "From -x"), "-x", "S: c\n", 0)}
			}},
		{"From - at the end without a line end", envA + "\nS: a\n\nFrom -", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n", 0), g(1, at(t, in, "From -"), "-", "", 0)}
			}},
		{"lax: any From line after a blank line", envA + "\nS: a\n\nx\n\nFrom here\nS: b\nFrom there\n", lax,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\nx\n", 0), g(1, at(t, in, "From here"), "here", "S: b\nFrom there\n", 0)}
			}},
		{"lax: From line first in the file", "From me\nS: a\n", lax,
			func(in string) []got { return []got{g(0, 0, "me", "S: a\n", 0)} }},
		{"one blank line before a separator is dropped, not two", envA + "\nS: a\n\nbody\n\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\nbody\n\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
	}
	runMboxCases(t, tests)
}

func TestMboxContentLength(t *testing.T) {
	const inner = "From someone@x Mon Jan  1 00:00:00 2024\n"
	cl2 := &mailsource.Options{Format: mailsource.MboxCL2}
	body := "Fwd:\n\n" + inner + "text\n>From x\n"
	bodyCRLF := "Fwd:\r\n\r\n" + strings.TrimSuffix(inner, "\n") + "\r\nok\r\n"
	n := strconv.Itoa(len(body))
	nCRLF := strconv.Itoa(len(bodyCRLF))
	short := strconv.Itoa(len("Fwd:\n\n" + inner)) // ends on a line that no separator follows
	tests := []mboxCase{
		{"right, blank line and separator after", envA + "\nContent-Length: " + n + "\n\n" + body + "\n" + envB + "\nS: b\n", cl2,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+n+"\n\n"+body, mailsource.FixContentLength),
					g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"right, mboxcl unescapes the counted lines", envA + "\nContent-Length: " + n + "\n\n" + body + "\n" + envB + "\nS: b\n", &mailsource.Options{Format: mailsource.MboxCL},
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+n+"\n\nFwd:\n\n"+inner+"text\nFrom x\n", mailsource.FixContentLength|mailsource.FixUnescaped),
					g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"right, CRLF", envA + "\r\nContent-Length: " + nCRLF + "\r\n\r\n" + bodyCRLF + "\r\n" + envB + "\r\nS: b\r\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+nCRLF+"\r\n\r\n"+bodyCRLF, mailsource.FixContentLength),
					g(1, at(t, in, envB), envB[5:], "S: b\r\n", 0)}
			}},
		{"right, separator right after the count", envA + "\nContent-Length: " + n + "\n\n" + body + envB + "\nS: b\n", cl2,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+n+"\n\n"+body, mailsource.FixContentLength),
					g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"right, end of input right after the count", envA + "\nContent-Length: " + n + "\n\n" + body, cl2,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+n+"\n\n"+body, mailsource.FixContentLength)}
			}},
		{"right, blank line and end of input after the count", envA + "\nContent-Length: " + n + "\n\n" + body + "\n", cl2,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+n+"\n\n"+body, mailsource.FixContentLength)}
			}},
		{"right, nothing to overrule: no fix", envA + "\nS: a\nContent-length:  5 \n\nbody\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\nContent-length:  5 \n\nbody\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"right, the count keeps a final blank line", envA + "\nContent-Length: 6\n\nbody\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 6\n\nbody\n\n", mailsource.FixContentLength), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"right, zero", envA + "\nContent-Length: 0\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 0\n\n", mailsource.FixContentLength), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"right, zero, blank line after", envA + "\nContent-Length: 0\n\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 0\n\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"right, the counted body holds a From - line", envA + "\nContent-Length: 11\n\nx\nFrom - y\n\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 11\n\nx\nFrom - y\n", mailsource.FixContentLength), g(1, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"wrong, the count ends inside a line", envA + "\nContent-Length: 10\n\n" + body + "\n" + envB + "\nS: b\n", cl2,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 10\n\nFwd:\n", 0),
					g(1, at(t, in, inner), inner[5:len(inner)-1], "text\n>From x\n", 0),
					g(2, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"wrong, the count ends on a line not followed by a separator", envA + "\nContent-Length: " + short + "\n\n" + body + "\n" + envB + "\nS: b\n", cl2,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+short+"\n\nFwd:\n", 0),
					g(1, at(t, in, inner), inner[5:len(inner)-1], "text\n>From x\n", 0),
					g(2, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"wrong, the count ends on a blank line not followed by a separator", envA + "\nContent-Length: 5\n\nbody\n\nmore\n\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 5\n\nbody\n\nmore\n", 0), g(1, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"wrong, beyond the end of input", envA + "\nContent-Length: 900\n\n" + body + "\n" + envB + "\nS: b\n", cl2,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 900\n\nFwd:\n", 0),
					g(1, at(t, in, inner), inner[5:len(inner)-1], "text\n>From x\n", 0),
					g(2, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"wrong, spans the next message but not its end", envA + "\nContent-Length: 40\n\nbody a\n\n" + envB + "\nS: b\n\nbody b\n\n" + envC + "\nS: c\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 40\n\nbody a\n", 0),
					g(1, at(t, in, envB), envB[5:], "S: b\n\nbody b\n", 0),
					g(2, at(t, in, envC), envC[5:], "S: c\n", 0)}
			}},
		{"in the body, not the header: ignored", envA + "\nS: a\n\nContent-Length: 0\n" + inner + "x\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\nContent-Length: 0\n", 0), g(1, at(t, in, inner), inner[5:len(inner)-1], "x\n", 0)}
			}},
		{"not a number: ignored", envA + "\nContent-Length: 5x\n\nbody\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: 5x\n\nbody\n", 0), g(1, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"too large message counted and skipped", envA + "\nContent-Length: " + n + "\n\n" + body + "\n" + envB + "\nS: b\n", &mailsource.Options{Format: mailsource.MboxCL2, MaxSize: 30},
			func(in string) []got {
				return []got{{Index: 0, Envelope: envA[5:], Size: int64(len("Content-Length: " + n + "\n\n" + body)), TooLarge: true, Fixes: mailsource.FixContentLength},
					g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"wrong and too large", envA + "\nContent-Length: " + short + "\n\n" + body + "\n" + envB + "\nS: b\n", &mailsource.Options{Format: mailsource.MboxCL2, MaxSize: 20},
			func(in string) []got {
				return []got{{Index: 0, Envelope: envA[5:], Size: int64(len("Content-Length: " + short + "\n\nFwd:\n")), TooLarge: true},
					g(1, at(t, in, inner), inner[5:len(inner)-1], "text\n>From x\n", 0),
					g(2, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
	}
	runMboxCases(t, tests)
}

// TestMboxContentLengthHoldLimit: a seekable input has its counts checked
// by reading where they end; in a plain stream the reader holds what
// follows a line that looks like an envelope line, at most max(MaxSize,
// 1 MiB) bytes, and beyond that believes the lines.
func TestMboxContentLengthHoldLimit(t *testing.T) {
	long := strings.Repeat(strings.Repeat("x", 99)+"\n", 11<<10) // 1.1 MiB
	opts := &mailsource.Options{MaxSize: 1 << 10}
	for _, tc := range []struct {
		name   string
		body   string
		stream bool
		split  bool
	}{
		{"short, stream", "a\n\n" + envC + "\n" + long[:1000], true, false},
		{"long, seekable", "a\n\n" + envC + "\n" + long, false, false},
		{"long, stream", "a\n\n" + envC + "\n" + long, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := "Content-Length: " + strconv.Itoa(len(tc.body)) + "\n\n"
			in := envA + "\n" + head + tc.body + "\n" + envB + "\nS: b\n"
			var want []got
			if tc.split {
				want = []got{{Index: 0, Envelope: envA[5:], Size: int64(len(head + "a\n")), Data: head + "a\n"},
					{Index: 1, Offset: at(t, in, envC), Envelope: envC[5:], Size: int64(len(tc.body) - len("a\n\n"+envC+"\n")), TooLarge: true}}
			} else {
				want = []got{{Index: 0, Envelope: envA[5:], Size: int64(len(head + tc.body)), TooLarge: true, Fixes: mailsource.FixContentLength}}
			}
			want = append(want, got{Index: len(want), Offset: at(t, in, envB), Envelope: envB[5:], Size: 5, Data: "S: b\n"})
			var r io.Reader = strings.NewReader(in)
			if tc.stream {
				r = struct{ io.Reader }{r}
			}
			if diff := cmp.Diff(want, readMboxFrom(t, r, opts), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMboxContentLengthSkipAndReuse(t *testing.T) {
	const inner = "From someone@x Mon Jan  1 00:00:00 2024\n"
	body := "Fwd:\n\n" + inner + "x\n"
	in := envA + "\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body + "\n" +
		envB + "\nContent-Length: 3\n\n" + body + "\n" + // wrong: splits
		envC + "\nS: c\n"
	want := []got{
		g(1, at(t, in, envB), envB[5:], "Content-Length: 3\n\nFwd:\n", 0),
		g(2, at(t, in, inner+"x\n\n"+envC), inner[5:len(inner)-1], "x\n", 0),
		g(3, at(t, in, envC), envC[5:], "S: c\n", 0),
	}
	runMboxCases(t, []mboxCase{{"skip the first", in, &mailsource.Options{ReuseBuffer: true, Skip: func(m *mailsource.Message) bool { return m.Index == 0 }},
		func(string) []got { return want }}})
}

// TestMboxContentLengthNotBuffered: a 64 MiB message with a right
// Content-Length and an envelope-looking line near its end is counted and
// skipped without holding it.
func TestMboxContentLengthNotBuffered(t *testing.T) {
	const body = 64 << 20
	const inner = "\nFrom someone@x Mon Jan  1 00:00:00 2024\nline\n"
	n := body + len(inner)
	head := []byte(env + "\nSubject: big\nContent-Length: " + strconv.Itoa(n) + "\n\n")
	tail := []byte(inner + "\n" + env + "\nSubject: small\n\nok\n")
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
	if !m.TooLarge || m.Data != nil || m.Fixes != mailsource.FixContentLength {
		t.Fatalf("TooLarge=%v, Data len %d, Fixes %v", m.TooLarge, len(m.Data), m.Fixes)
	}
	if want := int64(len(head)-len(env)-1) + int64(n); m.Size != want {
		t.Errorf("Size = %d, want %d", m.Size, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("reading a 64 MiB message with MaxSize 1 MiB allocated %d bytes", alloc)
	}
	m2, err := r.Next()
	if err != nil || string(m2.Data) != "Subject: small\n\nok\n" || m2.Index != 1 || m2.Offset != int64(len(head)+n+1) {
		t.Fatalf("second message = %+v, %v", m2, err)
	}
}

func TestMboxLineEnds(t *testing.T) {
	crBig := strings.Repeat("0123456789 123456789 123456789\r", 3000) // > 64 KiB
	tests := []mboxCase{
		{"CR only", envA + "\rS: a\r\rbody\r>From x\r\r" + envB + "\rS: b\r\rb\r", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\nbody\nFrom x\n", mailsource.FixCRLineEnds|mailsource.FixUnescaped),
					g(1, at(t, in, envB), envB[5:], "S: b\n\nb\n", mailsource.FixCRLineEnds)}
			}},
		{"CR only beyond the first block", envA + "\rS: a\r\r" + crBig + "\r" + envB + "\rS: b\r\rb\r", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\n"+strings.ReplaceAll(crBig, "\r", "\n"), mailsource.FixCRLineEnds),
					g(1, at(t, in, envB), envB[5:], "S: b\n\nb\n", mailsource.FixCRLineEnds)}
			}},
		{"CR only with a byte order mark and a preamble message", "\ufeffSubject: p\r\rp\r\r" + envB + "\rS: b\r", nil,
			func(in string) []got {
				return []got{g(0, 3, "", "Subject: p\n\np\n", mailsource.FixCRLineEnds|mailsource.FixBOM),
					g(1, at(t, in, envB), envB[5:], "S: b\n", mailsource.FixCRLineEnds)}
			}},
		{"CR only with a right Content-Length", envA + "\rContent-Length: " + strconv.Itoa(len(envC)+3) + "\r\rx\r" + envC + "\r\r" + envB + "\rS: b\r", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+strconv.Itoa(len(envC)+3)+"\n\nx\n"+envC+"\n", mailsource.FixCRLineEnds|mailsource.FixContentLength),
					g(1, at(t, in, envB), envB[5:], "S: b\n", mailsource.FixCRLineEnds)}
			}},
		{"CR only with a wrong Content-Length", envA + "\rContent-Length: " + strconv.Itoa(len(envC)+2) + "\r\rx\r" + envC + "\r\r" + envB + "\rS: b\r", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "Content-Length: "+strconv.Itoa(len(envC)+2)+"\n\nx\n", mailsource.FixCRLineEnds),
					g(1, at(t, in, envC), envC[5:], "", mailsource.FixCRLineEnds),
					g(2, at(t, in, envB), envB[5:], "S: b\n", mailsource.FixCRLineEnds)}
			}},
		{"CRLF", envA + "\r\nS: a\r\n\r\nbody\r\n\r\n" + envB + "\r\nS: b\r\n\r\nb\r\n\r\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\r\n\r\nbody\r\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\r\n\r\nb\r\n", 0)}
			}},
		{"LF with a stray CR is not CR only", envA + "\nS: a\r\rb\n", nil,
			func(in string) []got { return []got{g(0, 0, envA[5:], "S: a\r\rb\n", 0)} }},
		{"byte order mark before a preamble", "\ufeffjunk\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{{Index: -1, Offset: 3, Data: "junk\n", Preamble: true, Fixes: mailsource.FixBOM}, g(0, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"byte order mark before blank lines goes to the first message", "\ufeff\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, at(t, in, envB), envB[5:], "S: b\n", mailsource.FixBOM)}
			}},
	}
	runMboxCases(t, tests)
}

func TestMboxPreambleMessage(t *testing.T) {
	tests := []mboxCase{
		{"header then separator", "Return-Path: <a@x>\nX-A: 1\n\nbody\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, "", "Return-Path: <a@x>\nX-A: 1\n\nbody\n", 0), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"blank lines before it are dropped", "\n\r\nReceived: by x\n\tfolded\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n>From x\n", nil,
			func(in string) []got {
				return []got{g(0, at(t, in, "Received"), "", "Received: by x\n\tfolded\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nFrom x\n", mailsource.FixUnescaped)}
			}},
		{"key field after other fields and folding", "X-A: 1\n b\nMESSAGE-ID: <1@x>\n\nhi\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{g(0, 0, "", "X-A: 1\n b\nMESSAGE-ID: <1@x>\n\nhi\n", 0), g(1, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"no key field: preamble", "X-A: 1\n\nhi\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{{Index: -1, Data: "X-A: 1\n\nhi\n", Preamble: true}, g(0, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"key field after the header block: preamble", "X-A: 1\nnot a field\nTo: x\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{{Index: -1, Data: "X-A: 1\nnot a field\nTo: x\n", Preamble: true}, g(0, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"first line no field: preamble", "Subject : x\nTo: y\n\n>From z\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{{Index: -1, Data: "Subject : x\nTo: y\n\n>From z\n", Preamble: true}, g(0, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"first line a stray From line: preamble", "From nobody\nSubject: x\n\nhi\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{{Index: -1, Data: "From nobody\nSubject: x\n\nhi\n", Preamble: true}, g(0, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"with a right Content-Length", "Subject: p\nContent-Length: " + strconv.Itoa(len(envA)+3) + "\n\n" + envA + "\nx\n\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{g(0, 0, "", "Subject: p\nContent-Length: "+strconv.Itoa(len(envA)+3)+"\n\n"+envA+"\nx\n", mailsource.FixContentLength), g(1, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"Content-Length of a preamble that is no message is ignored", "X-A: 1\nContent-Length: 46\n\n" + envA + "\nx\n\n" + envB + "\n", nil,
			func(in string) []got {
				return []got{{Index: -1, Data: "X-A: 1\nContent-Length: 46\n", Preamble: true}, g(0, at(t, in, envA), envA[5:], "x\n", 0), g(1, at(t, in, envB), envB[5:], "", 0)}
			}},
		{"too large", "Subject: p\n\n" + strings.Repeat("x", 40) + "\n\n" + envB + "\nS: b\n", &mailsource.Options{MaxSize: 20},
			func(in string) []got {
				return []got{{Index: 0, Size: 53, TooLarge: true}, g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
	}
	runMboxCases(t, tests)

	// Skip sees the preamble message as message 0 once its header is read.
	in := "\nFrom: a@x\nSubject: p\n\nbody\n\n" + envB + "\nS: b\n"
	var seen []string
	opts := &mailsource.Options{Skip: func(m *mailsource.Message) bool {
		seen = append(seen, m.Key())
		if m.Data != nil || m.Preamble || m.Offset != 1 && m.Index == 0 {
			t.Errorf("Skip saw %+v", m)
		}
		return m.Index == 0
	}}
	want := []got{{Index: 1, Offset: at(t, in, envB), Envelope: envB[5:], Size: 5, Data: "S: b\n"}}
	if diff := cmp.Diff(want, readMboxFrom(t, strings.NewReader(in), opts), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"test.mbox#0", "test.mbox#1"}, seen); diff != "" {
		t.Errorf("Skip calls (-want +got):\n%s", diff)
	}
}

func TestMboxStrayEnvelope(t *testing.T) {
	stray := "From MAILER-DAEMON Tue Apr 29 13:13:56 2009"
	tests := []mboxCase{
		{"second envelope line", envA + "\n" + stray + "\nS: a\n\nbody\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "S: a\n\nbody\n", mailsource.FixEnvelopeLine), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
		{"Thunderbird line, then the original envelope line, then an escaped one", "From - Thu Aug 11 10:27:01 2005\r\n" + stray + "\r\n>From x\r\nS: a\r\n", nil,
			func(in string) []got {
				return []got{g(0, 0, "- Thu Aug 11 10:27:01 2005", "S: a\r\n", mailsource.FixEnvelopeLine)}
			}},
		{"escaped twice in mboxrd", envA + "\n>>From x\nS: a\n", nil,
			func(in string) []got { return []got{g(0, 0, envA[5:], "S: a\n", mailsource.FixEnvelopeLine)} }},
		{"escaped three times is a body line", envA + "\n>>>From x\nS: a\n", nil,
			func(in string) []got { return []got{g(0, 0, envA[5:], ">>From x\nS: a\n", mailsource.FixUnescaped)} }},
		{"mboxcl2 keeps >From but drops it as a stray line", envA + "\n>From x\nS: a\n", &mailsource.Options{Format: mailsource.MboxCL2},
			func(in string) []got { return []got{g(0, 0, envA[5:], "S: a\n", mailsource.FixEnvelopeLine)} }},
		{"long stray line", envA + "\nFrom " + strings.Repeat("y", 100<<10) + "\nS: a\n", nil,
			func(in string) []got { return []got{g(0, 0, envA[5:], "S: a\n", mailsource.FixEnvelopeLine)} }},
		{"an empty message before a blank line stays empty", envA + "\n\n" + envB + "\nS: b\n", nil,
			func(in string) []got {
				return []got{g(0, 0, envA[5:], "", 0), g(1, at(t, in, envB), envB[5:], "S: b\n", 0)}
			}},
	}
	runMboxCases(t, tests)
}

// TestMboxFixtures reads the small mbox files in testdata.
func TestMboxFixtures(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	netscape3 := "Counted body; the next line looks like an envelope line:\n\nFrom - Fri Aug 12 09:00:00 2005\nand it stays here.\n"
	cl2a := "Subject: a\nContent-Length: 84\n\nForwarded:\n\nFrom someone@x Mon Jan  1 00:00:00 2024\n"
	tests := []mboxCase{
		{"netscape.mbox", read("netscape.mbox"), nil, func(in string) []got {
			return []got{
				g(0, 0, "- Thu Aug 11 10:27:01 2005", "X-Mozilla-Status: 0001\nMessage-ID: <1@netscape.example>\n"+
					"Date: Thu, 11 Aug 2005 10:26:58 +0200\nFrom: Ann <ann@example.com>\n"+
					"Subject: first, no blank line after it\nContent-Length: 12\n\nHello team.\n", 0),
				g(1, at(t, in, "From - Thu Aug 11 10:30:12 2005"), "- Thu Aug 11 10:30:12 2005",
					"X-Mozilla-Status: 0001\nMessage-ID: <2@netscape.example>\nFrom: Bob <bob@example.com>\n"+
						"Subject: second, no Date header\n\nFrom the desk of Bob: not a separator.\n", 0),
				g(2, at(t, in, "From - \n"), "- ", "X-Mozilla-Status: 0000\nMessage-ID: <3@netscape.example>\n"+
					"From: Cy <cy@example.com>\nSubject: third, envelope line without a date\nContent-Length: 109\n\n"+netscape3,
					mailsource.FixContentLength),
				g(3, at(t, in, "From -\n"), "-", "Message-ID: <4@netscape.example>\nFrom: Di <di@example.com>\n"+
					"Subject: fourth, wrong Content-Length\nContent-Length: 5\n\nBody of four.\n", 0),
				g(4, at(t, in, "From - Sat"), "- Sat Aug 13 08:00:00 2005", "Message-ID: <5@netscape.example>\n"+
					"Date: Sat, 13 Aug 2005 08:00:00 +0200\nFrom: Ed <ed@example.com>\n"+
					"Subject: fifth, Content-Length past the end\nContent-Length: 9999\n\nBody of five.\n", 0),
				g(5, at(t, in, "From -nodate"), "-nodate-at-all", "Message-ID: <6@netscape.example>\n"+
					"From: Flo <flo@example.com>\nSubject: sixth, no Date header\n\nLast.\n", 0),
			}
		}},
		{"crlf.mbox", read("crlf.mbox"), nil, func(in string) []got {
			return []got{
				g(0, 0, envA[5:], "Subject: a\r\n\r\nbody a\r\nFrom here, escaped.\r\n", mailsource.FixUnescaped),
				g(1, at(t, in, envB), envB[5:], "Subject: b\r\n\r\nbody b\r\n", 0),
				g(2, at(t, in, envC), envC[5:], "Subject: c\r\n\r\nbody c\r\n", 0),
			}
		}},
		{"cr.mbox", read("cr.mbox"), nil, func(in string) []got {
			const cr = mailsource.FixCRLineEnds
			return []got{
				g(0, 0, envA[5:], "Subject: a\n\nbody a\nFrom here, escaped.\n", cr|mailsource.FixUnescaped),
				g(1, at(t, in, envB), envB[5:], "Subject: b\n\nbody b\n", cr),
				g(2, at(t, in, envC), envC[5:], "Subject: c\n\nbody c\n", cr),
			}
		}},
		{"bom.mbox", read("bom.mbox"), nil, func(in string) []got {
			return []got{
				g(0, 3, envA[5:], "Subject: a\n\nbody a\n", mailsource.FixBOM|mailsource.FixEnvelopeLine),
				g(1, at(t, in, envB), envB[5:], "Subject: b\n\nbody b\n", 0),
			}
		}},
		{"mboxcl2.mbox", read("mboxcl2.mbox"), &mailsource.Options{Format: mailsource.MboxCL2}, func(in string) []got {
			return []got{
				g(0, 0, envA[5:], cl2a+">From is left alone in mboxcl2.\n", mailsource.FixContentLength),
				g(1, at(t, in, envB), envB[5:], "Subject: b\nContent-Length: 7\n\nbody b\n", 0),
			}
		}},
		{"mboxcl2.mbox read as mboxrd", read("mboxcl2.mbox"), nil, func(in string) []got {
			return []got{
				g(0, 0, envA[5:], cl2a+"From is left alone in mboxcl2.\n", mailsource.FixContentLength|mailsource.FixUnescaped),
				g(1, at(t, in, envB), envB[5:], "Subject: b\nContent-Length: 7\n\nbody b\n", 0),
			}
		}},
		{"wrong-length.mbox", read("wrong-length.mbox"), nil, func(in string) []got {
			return []got{
				g(0, 0, envA[5:], "Subject: a\nContent-Length: 49\n\nbody a\n", 0),
				g(1, at(t, in, "From someone"), "someone@x Mon Jan  1 00:00:00 2024", "rest\n", 0),
				g(2, at(t, in, envB), envB[5:], "Subject: b\nContent-Length: 100\n\nbody b\n", 0),
			}
		}},
	}
	runMboxCases(t, tests)
}

func TestFileFixes(t *testing.T) {
	const stray = "From MAILER-DAEMON Tue Apr 29 13:13:56 2009"
	msg := "Subject: x\n\nbody\n"
	type fileWant struct {
		Size     int64
		Data     string
		Envelope string
		Fixes    mailsource.Fix
		TooLarge bool
	}
	tests := []struct {
		name string
		in   string
		max  int64
		want fileWant
	}{
		{"clean", msg, 0, fileWant{Data: msg}},
		{"From: header is no envelope line", "From: a@x\n\n", 0, fileWant{Data: "From: a@x\n\n"}},
		{"envelope line", stray + "\n" + msg, 0, fileWant{Data: msg, Envelope: stray[5:], Fixes: mailsource.FixEnvelopeLine}},
		{"quoted envelope line, CRLF", ">" + stray + "\r\nSubject: x\r\n", 0,
			fileWant{Data: "Subject: x\r\n", Envelope: stray[5:], Fixes: mailsource.FixEnvelopeLine}},
		{"two envelope lines", "From - Thu Aug 11 10:27:01 2005\n" + stray + "\n" + msg, 0,
			fileWant{Data: msg, Envelope: "- Thu Aug 11 10:27:01 2005", Fixes: mailsource.FixEnvelopeLine}},
		{"byte order mark and envelope line", "\ufeff" + stray + "\n" + msg, 0,
			fileWant{Data: msg, Envelope: stray[5:], Fixes: mailsource.FixBOM | mailsource.FixEnvelopeLine}},
		{"byte order mark", "\ufeff" + msg, 0, fileWant{Data: msg, Fixes: mailsource.FixBOM}},
		{"CR line ends and envelope line", stray + "\rSubject: x\r\rbody\r", 0,
			fileWant{Data: msg, Envelope: stray[5:], Fixes: mailsource.FixEnvelopeLine | mailsource.FixCRLineEnds}},
		{"only an envelope line", stray, 0, fileWant{Envelope: stray[5:], Fixes: mailsource.FixEnvelopeLine}},
		{"too large", stray + "\n" + msg, 10,
			fileWant{Size: int64(len(msg)), Envelope: stray[5:], Fixes: mailsource.FixEnvelopeLine, TooLarge: true}},
		{"fits once the envelope line is dropped", "\ufeff" + stray + "\n" + msg, int64(len(msg)),
			fileWant{Data: msg, Envelope: stray[5:], Fixes: mailsource.FixBOM | mailsource.FixEnvelopeLine}},
		{"fits once the envelope line is dropped, CR", stray + "\rSubject: x\r\rbody\r", int64(len(msg)),
			fileWant{Data: msg, Envelope: stray[5:], Fixes: mailsource.FixEnvelopeLine | mailsource.FixCRLineEnds}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"a.eml": tc.in, "md/cur/1.x:2,S": tc.in, "md/new/.keep": ""})
			tc.want.Size = max(tc.want.Size, int64(len(tc.want.Data)))
			for _, path := range []string{filepath.Join(root, "a.eml"), root, filepath.Join(root, "md")} {
				r, err := mailsource.Open(path, &mailsource.Options{MaxSize: tc.max})
				if err != nil {
					t.Fatal(err)
				}
				msgs, fileErrs, err := mailsource.ReadAll(r)
				if err != nil || len(fileErrs) > 0 || len(msgs) != 1 {
					t.Fatalf("%s: %d messages, %v %v", path, len(msgs), err, fileErrs)
				}
				m := msgs[0]
				out := fileWant{m.Size, string(m.Data), m.Envelope, m.Fixes, m.TooLarge}
				if diff := cmp.Diff(tc.want, out); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
		})
	}
}

func TestOpenSniffsDialects(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"netscape": "From - \nSubject: a\n\nx\n",
		"mac":      "Subject: a\r\r" + envB + "\rSubject: b\r",
	})
	for name, n := range map[string]int{"netscape": 1, "mac": 2} {
		r, err := mailsource.Open(filepath.Join(root, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, _, err := mailsource.ReadAll(r)
		if err != nil || len(msgs) != n || msgs[0].Kind != mailsource.KindMbox {
			t.Errorf("%s: %d messages, %v", name, len(msgs), err)
		}
	}
}

func TestFixStrings(t *testing.T) {
	tests := []struct {
		f    mailsource.Fix
		want []string
	}{
		{0, nil},
		{mailsource.FixContentLength | mailsource.FixBOM, []string{"byte order mark dropped", "bounded by Content-Length"}},
		{mailsource.FixBOM | mailsource.FixEnvelopeLine | mailsource.FixUnescaped | mailsource.FixCRLineEnds | mailsource.FixContentLength,
			[]string{"byte order mark dropped", "envelope line removed", "mbox From-quoting undone", "CR line ends converted", "bounded by Content-Length"}},
		{mailsource.FixUnescaped | 1<<8, []string{"mbox From-quoting undone", "Fix(0x100)"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.f.Strings()); diff != "" {
			t.Errorf("%d: Strings (-want +got):\n%s", tc.f, diff)
		}
		if got, want := tc.f.String(), strings.Join(tc.want, ", "); got != want {
			t.Errorf("%d: String = %q, want %q", tc.f, got, want)
		}
	}
}

// TestMboxWrongLengthsLinear: many messages whose Content-Length runs past
// the end of input, each crossing the separators that follow it. A stream
// reader holds and gives back bytes for them, but within a budget, so the
// work stays linear; a seekable reader reads where each count ends.
func TestMboxWrongLengthsLinear(t *testing.T) {
	const n = 20000
	var b strings.Builder
	for i := range n {
		b.WriteString(env + "\nSubject: m" + strconv.Itoa(i) + "\nContent-Length: 99999999\n\nbody\n\n")
	}
	in := b.String()
	for _, stream := range []bool{false, true} {
		var r io.Reader = strings.NewReader(in)
		if stream {
			r = struct{ io.Reader }{r}
		}
		start := time.Now()
		msgs, _, err := mailsource.ReadAll(mailsource.NewMbox(r, "x", nil))
		if err != nil || len(msgs) != n {
			t.Fatalf("stream %v: %d messages, %v", stream, len(msgs), err)
		}
		for i, m := range msgs {
			if want := "Subject: m" + strconv.Itoa(i) + "\nContent-Length: 99999999\n\nbody\n"; string(m.Data) != want || m.Fixes != 0 {
				t.Fatalf("stream %v: message %d = %q %v", stream, i, m.Data, m.Fixes)
			}
		}
		// Linear work is a few milliseconds per MB; quadratic would be
		// tens of gigabytes here.
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("stream %v: %v for %d bytes", stream, d, len(in))
		}
	}
}

// TestMboxNotAtStart: offsets count from where the reader was when NewMbox
// got it, and a count is checked at the right place in a seekable input.
func TestMboxNotAtStart(t *testing.T) {
	const skipped = "bytes before the mbox\n"
	n := strconv.Itoa(len(envC) + 3)
	mbox := envA + "\nContent-Length: " + n + "\n\nx\n" + envC + "\n\n" + envB + "\nS: b\n"
	r := strings.NewReader(skipped + mbox)
	if _, err := r.Seek(int64(len(skipped)), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	want := []got{
		{Index: 0, Envelope: envA[5:], Data: "Content-Length: " + n + "\n\nx\n" + envC + "\n", Fixes: mailsource.FixContentLength},
		{Index: 1, Offset: at(t, mbox, envB), Envelope: envB[5:], Data: "S: b\n"},
	}
	for i := range want {
		want[i].Size = int64(len(want[i].Data))
	}
	if diff := cmp.Diff(want, readMboxFrom(t, r, nil), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// TestFromFieldWithSpaceIsNotAnEnvelopeLine: "From : a@b" (RFC 822's
// syntax, white space before the colon) is the From field, kept in .eml
// files and at the top of mbox messages.
func TestFromFieldWithSpaceIsNotAnEnvelopeLine(t *testing.T) {
	const msg = "From : a@b\nTo: c@d\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nx\n"
	dir := t.TempDir()
	eml := filepath.Join(dir, "a.eml")
	mbox := filepath.Join(dir, "a.mbox")
	if err := os.WriteFile(eml, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mbox, []byte("From a@b Mon Jan  1 10:00:00 2024\n"+msg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{eml, mbox} {
		r, err := mailsource.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := r.Next()
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != msg || m.Fixes != 0 {
			t.Errorf("%s: data %q, fixes %v; want the message untouched", filepath.Base(p), m.Data, m.Fixes)
		}
	}
}
