package mailsource_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
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
// checks they read back identically.
func rewrite(t *testing.T, msgs []*mailsource.Message) {
	var keep [][]byte
	for _, m := range msgs {
		if m.Preamble || m.TooLarge || len(m.Data) == 0 || m.Data[len(m.Data)-1] != '\n' {
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

// FuzzEML reads arbitrary bytes as one .eml file and validates it.
func FuzzEML(f *testing.F) {
	addSeeds(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
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
			if m.Size != int64(len(in)) {
				t.Fatalf("Size %d, want %d", m.Size, len(in))
			}
			if !m.TooLarge && !bytes.Equal(m.Data, in) {
				t.Fatal("Data differs from the file")
			}
			if m.TooLarge != (max > 0 && int64(len(in)) > max) {
				t.Fatalf("TooLarge %v for %d bytes, max %d", m.TooLarge, len(in), max)
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
	f.Fuzz(func(t *testing.T, in []byte, flags uint8) {
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
			if m.Kind != mailsource.KindMaildir || !bytes.Equal(m.Data, parts[i]) {
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
			t.Fatalf("NormalizedSize %d, len %d", mailsource.NormalizedSize(in), len(n))
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
