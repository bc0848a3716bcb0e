package mailsource_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
)

func addSeeds(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte(env + "\nSubject: a\n\nbody\n\n" + env + "\r\nS: b\r\n\r\n>From x\r\n>>From y\r\n"))
	f.Add([]byte("junk\n" + env + "\nS: x\n\nFrom here\n\nFrom me Jan 1 1:00 2000\n"))
	f.Add([]byte("From \n\nFrom  \nFrom"))
	f.Add([]byte("\xef\xbb\xbf" + env + "\n"))
	f.Add([]byte("From: a@b\r\nTo: c@d\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nhi\r\n"))
	f.Add([]byte(" folded\r\nFrom: x\r\n"))
	f.Add([]byte("From - \nSubject: a\nContent-Length: 9\n\nFrom - x\n\nFrom -\nFrom MAILER-DAEMON Tue Apr 29 13:13:56 2009\n>From x\n"))
	f.Add([]byte("\xef\xbb\xbf>From x Jan 1 1:00 2000\rSubject: a\r\rFrom - \r"))
	f.Add([]byte("Subject: p\nContent-Length: 3\n\nab\nFrom - \nContent-Length: 0\n\n"))
	f.Add([]byte("From: =?UTF-8?B?5bGx55Sw?= <a@b>\nTo: undisclosed-recipients:;\nDate: 2 Jan 06 15:04 EST\n\n"))
	for _, m := range mailgen.Messages(5, 3) {
		f.Add(m)
	}
	var mb bytes.Buffer
	mailgen.WriteMbox(&mb, mailgen.Messages(6, 3), mailsource.MboxRD)
	f.Add(mb.Bytes())
}

// FuzzMbox reads arbitrary bytes as an mbox in every format and with a small
// MaxSize: no panic, every message consistent, sizes adding up, and a
// rewrite through MboxWriter reading back the same messages.
func FuzzMbox(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, format := range []mailsource.Format{mailsource.MboxRD, mailsource.MboxO, mailsource.MboxCL2} {
			for _, max := range []int64{0, 16} {
				opts := &mailsource.Options{Format: format, MaxSize: max}
				r := mailsource.NewMbox(bytes.NewReader(in), "fuzz", opts)
				var total int64
				var msgs []*mailsource.Message
				lastOff := int64(-1)
				for {
					m, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("error on in-memory input: %v", err)
					}
					if m.TooLarge != (m.Data == nil) || (!m.TooLarge && int64(len(m.Data)) != m.Size) {
						t.Fatalf("inconsistent message %+v", m)
					}
					if m.TooLarge && m.Size <= opts.MaxSize {
						t.Fatalf("TooLarge with Size %d", m.Size)
					}
					if m.Fixes.String() != strings.Join(m.Fixes.Strings(), ", ") || strings.Contains(m.Fixes.String(), "Fix(") {
						t.Fatalf("fixes %d: %q", m.Fixes, m.Fixes.Strings())
					}
					fromField := bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(m.Data, []byte("From")), " \t"), []byte(":"))
					if !m.Preamble && ((bytes.HasPrefix(m.Data, []byte("From ")) && !fromField) || bytes.HasPrefix(m.Data, []byte(">From "))) {
						t.Fatalf("message %d starts with an envelope line: %q", m.Index, m.Data)
					}
					if m.Preamble != (m.Index == -1) || (m.Preamble && len(msgs) > 0) {
						t.Fatalf("preamble out of place: %+v", m)
					}
					if !m.Preamble && (m.Index != len(msgs)-boolInt(len(msgs) > 0 && msgs[0].Preamble) || m.Offset <= lastOff) {
						t.Fatalf("message %d at offset %d after %d", m.Index, m.Offset, lastOff)
					}
					if !m.Preamble {
						lastOff = m.Offset
					}
					total += m.Size
					msgs = append(msgs, m)
				}
				if total > int64(len(in)) {
					t.Fatalf("sizes add up to %d > input %d", total, len(in))
				}
				// A plain stream checks Content-Length headers by holding
				// bytes instead of reading ahead: same messages.
				stream, _, err := mailsource.ReadAll(mailsource.NewMbox(struct{ io.Reader }{bytes.NewReader(in)}, "fuzz", opts))
				if err != nil {
					t.Fatal(err)
				}
				if len(stream) != len(msgs) {
					t.Fatalf("%d messages from a stream, %d from a seekable reader", len(stream), len(msgs))
				}
				for i, m := range msgs {
					if !reflect.DeepEqual(m, stream[i]) {
						t.Fatalf("message %d from a stream:\n%+v\nfrom a seekable reader:\n%+v", i, stream[i], m)
					}
				}
				if format == mailsource.MboxRD && max == 0 {
					rewrite(t, msgs)
				}
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rewrite writes messages that end with a line end back as mboxrd and
// checks they read back identically. Messages with a Content-Length header
// are left out: the header counts the bytes of the file they came from, and
// a wrong count may happen to be right in the rewritten file.
func rewrite(t *testing.T, msgs []*mailsource.Message) {
	var keep [][]byte
	for _, m := range msgs {
		if m.Preamble || m.TooLarge || len(m.Data) == 0 || m.Data[len(m.Data)-1] != '\n' || hasContentLength(m.Data) {
			continue
		}
		keep = append(keep, m.Data)
	}
	var buf bytes.Buffer
	if err := mailgen.WriteMbox(&buf, keep, mailsource.MboxRD); err != nil {
		t.Fatal(err)
	}
	back, _, err := mailsource.ReadAll(mailsource.NewMbox(&buf, "rewrite", nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(keep) {
		t.Fatalf("rewrite: %d messages back, want %d\n%q", len(back), len(keep), buf.Bytes())
	}
	for i := range keep {
		if !bytes.Equal(back[i].Data, keep[i]) {
			t.Fatalf("rewrite: message %d\n got %q\nwant %q", i, back[i].Data, keep[i])
		}
	}
}

// hasContentLength reports whether the header of data has a Content-Length
// field.
func hasContentLength(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return false
		}
		if len(line) >= 15 && strings.EqualFold(string(line[:15]), "content-length:") {
			return true
		}
	}
	return false
}

// fileData returns what a file reader is to make of a file holding in: a
// byte order mark dropped, CR line ends (CR but no LF) read as LF, stray
// envelope lines ("From " or ">From ", but not the field "From : x") at the
// top removed. It checks that
// m reports these fixes and the first envelope line. It handles files of
// up to 60,000 bytes (the readers look at the first 64 KiB only).
func fileData(t *testing.T, in []byte, m *mailsource.Message) []byte {
	t.Helper()
	var fixes mailsource.Fix
	d := in
	if bytes.HasPrefix(d, []byte("\xef\xbb\xbf")) {
		d = d[3:]
		fixes |= mailsource.FixBOM
	}
	eol := byte('\n')
	if bytes.IndexByte(d, '\r') >= 0 && bytes.IndexByte(d, '\n') < 0 {
		eol = '\r'
		fixes |= mailsource.FixCRLineEnds
	}
	envelope := ""
	for {
		text := bytes.TrimPrefix(d, []byte(">"))
		if !bytes.HasPrefix(text, []byte("From ")) {
			break
		}
		if len(text) == len(d) && bytes.HasPrefix(bytes.TrimLeft(text[4:], " \t"), []byte(":")) {
			break // "From : x" is the From field (RFC 822 syntax)
		}
		line := text[5:]
		if i := bytes.IndexByte(d, eol); i >= 0 {
			line = line[:i+1-(len(d)-len(line))]
			d = d[i+1:]
		} else {
			d = nil
		}
		if fixes&mailsource.FixEnvelopeLine == 0 {
			line = bytes.TrimRight(line, "\r\n")
			envelope = string(line[:min(len(line), 1024)])
			fixes |= mailsource.FixEnvelopeLine
		}
	}
	if eol == '\r' {
		d = bytes.ReplaceAll(d, []byte("\r"), []byte("\n"))
	}
	if m.Fixes != fixes || m.Envelope != envelope {
		t.Fatalf("Fixes %q Envelope %q, want %q %q", m.Fixes.Strings(), m.Envelope, fixes.Strings(), envelope)
	}
	return d
}

// FuzzEML reads arbitrary bytes as one .eml file and validates it.
func FuzzEML(f *testing.F) {
	addSeeds(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 60000 {
			return
		}
		p := filepath.Join(dir, "m.eml")
		if err := os.WriteFile(p, in, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, max := range []int64{0, 32} {
			r, err := mailsource.Open(p, &mailsource.Options{MaxSize: max})
			if err != nil {
				t.Fatal(err)
			}
			m, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			want := fileData(t, in, m)
			if m.Size != int64(len(want)) {
				t.Fatalf("Size %d, want %d", m.Size, len(want))
			}
			if !m.TooLarge && !bytes.Equal(m.Data, want) {
				t.Fatalf("Data %q, want %q", m.Data, want)
			}
			if m.TooLarge != (max > 0 && int64(len(want)) > max) {
				t.Fatalf("TooLarge %v for %d bytes, max %d", m.TooLarge, len(want), max)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("second Next: %v", err)
			}
			if m.Data != nil {
				checkValidate(t, m.Data)
			}
		}
	})
}

// FuzzMaildir splits the input into files of a Maildir and reads it back.
func FuzzMaildir(f *testing.F) {
	f.Add([]byte("a\x00b\x00c"), uint8(3))
	f.Add([]byte(""), uint8(0))
	f.Add(bytes.Join(mailgen.Messages(8, 3), []byte{0}), uint8(5))
	f.Add([]byte("From x\nS: a\x00\xef\xbb\xbfb\rc\x00>From y"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, flags uint8) {
		if len(in) > 60000 {
			return
		}
		dir := t.TempDir()
		parts := bytes.Split(in, []byte{0})
		if len(parts) > 20 {
			parts = parts[:20]
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			os.MkdirAll(filepath.Join(dir, sub), 0o755)
		}
		for i, p := range parts {
			name := "new/" + string(rune('a'+i)) + ".x"
			if flags>>(i%8)&1 == 1 {
				name = "cur/" + string(rune('a'+i)) + ".x:2,S"
			}
			if err := os.WriteFile(filepath.Join(dir, name), p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(dir, "tmp", "ignored"), in, 0o644)
		r, err := mailsource.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, fileErrs, err := mailsource.ReadAll(r)
		if err != nil || len(fileErrs) > 0 {
			t.Fatal(err, fileErrs)
		}
		if len(msgs) != len(parts) {
			t.Fatalf("%d messages, want %d", len(msgs), len(parts))
		}
		for i, m := range msgs {
			if m.Kind != mailsource.KindMaildir || !bytes.Equal(m.Data, fileData(t, parts[i], m)) {
				t.Fatalf("message %d (%s) differs", i, m.Name)
			}
		}
	})
}

// FuzzValidate checks that Validate never panics, returns only *Problem,
// agrees with Problems, and that the helpers are consistent.
func FuzzValidate(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		checkValidate(t, in)
		n := mailsource.NormalizeCRLF(in)
		checkValidate(t, n)
		if int64(len(n)) != mailsource.NormalizedSize(in) {
			t.Fatalf("normalizedSize %d, len %d", mailsource.NormalizedSize(in), len(n))
		}
		if !bytes.Equal(mailsource.NormalizeCRLF(n), n) {
			t.Fatal("NormalizeCRLF is not idempotent")
		}
		if mailsource.ContentHash(in) != mailsource.ContentHash(n) {
			t.Fatal("ContentHash changes with normalization")
		}
		mailsource.MessageID(in)
		mailsource.ParseDate(string(in))
	})
}

func checkValidate(t *testing.T, data []byte) {
	err := mailsource.Validate(data, 0)
	ps := mailsource.Problems(data, 0)
	if err == nil {
		if ps != nil {
			t.Fatalf("Validate ok but Problems %v", ps)
		}
		return
	}
	var p *mailsource.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %T", err)
	}
	if len(ps) == 0 || *ps[0] != *p {
		t.Fatalf("Validate %v, Problems %v", p, ps)
	}
}
