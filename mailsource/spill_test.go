package mailsource_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/mailsource"
)

// TestSpillSize reads every mbox of testdata and the real-world corpus
// with and without SpillSize: the messages, read with Open, are the same,
// and those over SpillSize have no Data and leave no file behind.
func TestSpillSize(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.mbox"))
	paths = append(paths, filepath.Join(corpusDir, "bounces.mbox"))
	big := filepath.Join(t.TempDir(), "big.mbox")
	var b strings.Builder
	for i := range 4 {
		b.WriteString("From a@example.com Mon Jan  1 00:00:00 2024\nFrom: a@example.com\nContent-Length: 9\n\n")
		b.WriteString(strings.Repeat(">From x\nbody line "+strings.Repeat("y", i*1000)+"\n", 200*i))
		b.WriteString("\n")
	}
	os.WriteFile(big, []byte(b.String()), 0o644)
	paths = append(paths, big)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, path := range paths {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		for _, f := range []mailsource.Format{mailsource.MboxRD, mailsource.MboxCL2} {
			want := readAllContent(t, path, &mailsource.Options{Format: f, MaxSize: 300_000})
			for _, spill := range []int64{1, 100, 4096} {
				got := readAllContent(t, path, &mailsource.Options{Format: f, MaxSize: 300_000, SpillSize: spill, ReuseBuffer: true})
				if len(got) != len(want) {
					t.Fatalf("%s %v spill %d: %d messages, want %d", path, f, spill, len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%s %v spill %d: message %d differs", path, f, spill, i)
					}
				}
			}
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// readAllContent returns every message's size, flags and content (read
// with Open), checking Data is nil exactly for spilled messages.
func readAllContent(t *testing.T, path string, opts *mailsource.Options) []string {
	t.Helper()
	r, err := mailsource.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		m, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(m.Open())
		if err != nil {
			t.Fatal(err)
		}
		// Twice: each Open reads from the start.
		if c2, _ := io.ReadAll(m.Open()); !bytes.Equal(c, c2) {
			t.Fatalf("%s #%d: a second Open reads other bytes", path, m.Index)
		}
		spilled := opts.SpillSize > 0 && m.Size > opts.SpillSize && !m.TooLarge &&
			!(m.Kind != mailsource.KindMbox && m.Fixes&mailsource.FixCRLineEnds != 0)
		if spilled != (m.Data == nil && !m.TooLarge && m.Size > 0) {
			t.Errorf("%s #%d: size %d, spill %d, Data %d bytes", path, m.Index, m.Size, opts.SpillSize, len(m.Data))
		}
		if !m.TooLarge && int64(len(c)) != m.Size {
			t.Errorf("%s #%d: Open read %d bytes, Size %d", path, m.Index, len(c), m.Size)
		}
		out = append(out, string(c)+"|"+m.Fixes.String()+"|"+m.Envelope+"|"+strings.Repeat("L", btoi(m.TooLarge)))
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSpillSizeFolder: files of a folder over SpillSize are read where
// they are, and read the same as in memory: byte order mark, stray
// envelope line, CR line ends (kept in memory), a file over MaxSize.
func TestSpillSizeFolder(t *testing.T) {
	dir := t.TempDir()
	body := strings.Repeat("a line of the body\n", 300)
	files := map[string]string{
		"plain.eml":    "From: a@b\nSubject: plain\n\n" + body,
		"crlf.eml":     strings.ReplaceAll("From: a@b\nSubject: crlf\n\n"+body, "\n", "\r\n"),
		"bom.eml":      "\xef\xbb\xbfFrom: a@b\nSubject: bom\n\n" + body,
		"envelope.eml": "From a@b Mon Jan  1 00:00:00 2024\n>From c@d Mon Jan  1 00:00:00 2024\nFrom: a@b\n\n" + body,
		"cr.eml":       strings.ReplaceAll("From: a@b\nSubject: cr\n\n"+body, "\n", "\r"),
		"large.eml":    "From: a@b\n\n" + strings.Repeat(body, 20),
		"small.eml":    "From: a@b\n\nhi\n",
	}
	for name, c := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	paths := []string{dir, filepath.Join(dir, "envelope.eml"), filepath.Join(corpusDir, "eml")}
	for _, path := range paths {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		want := readAllContent(t, path, &mailsource.Options{MaxSize: 20_000})
		for _, spill := range []int64{1, 100, 4096} {
			got := readAllContent(t, path, &mailsource.Options{MaxSize: 20_000, SpillSize: spill})
			if len(got) != len(want) {
				t.Fatalf("%s spill %d: %d messages, want %d", path, spill, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("%s spill %d: message %d differs", path, spill, i)
				}
			}
		}
	}
	for name, c := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != c {
			t.Errorf("%s changed", name)
		}
	}
}
