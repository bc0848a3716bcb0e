package mailsource_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace/mailsource"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type fileGot struct {
	Index    int
	Name     string
	Key      string
	Size     int64
	Data     string
	TooLarge bool
}

func readFiles(t *testing.T, r mailsource.Reader) []fileGot {
	t.Helper()
	defer r.Close()
	msgs, fileErrs, err := mailsource.ReadAll(r)
	if err != nil || len(fileErrs) > 0 {
		t.Fatalf("ReadAll: %v %v", err, fileErrs)
	}
	var out []fileGot
	for _, m := range msgs {
		out = append(out, fileGot{m.Index, m.Name, m.Key(), m.Size, string(m.Data), m.TooLarge})
	}
	return out
}

func TestEMLDirOrder(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"b.eml":          "B",
		"a.EML":          "A",
		"2020/01.eml":    "2020-01",
		"2019/12.eml":    "2019-12",
		"2019/02.eml":    "2019-02",
		"notes.txt":      "ignored",
		".hidden.eml":    "ignored",
		".trash/x.eml":   "ignored",
		"big.eml":        strings.Repeat("z", 50),
		"deep/er/10.eml": "deep",
	})
	r, err := mailsource.Open(root, &mailsource.Options{MaxSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	want := []fileGot{
		{0, "2019/02.eml", root + "/2019/02.eml", 7, "2019-02", false},
		{1, "2019/12.eml", root + "/2019/12.eml", 7, "2019-12", false},
		{2, "2020/01.eml", root + "/2020/01.eml", 7, "2020-01", false},
		{3, "a.EML", root + "/a.EML", 1, "A", false},
		{4, "b.eml", root + "/b.eml", 1, "B", false},
		{5, "big.eml", root + "/big.eml", 50, "", true},
		{6, "deep/er/10.eml", root + "/deep/er/10.eml", 4, "deep", false},
	}
	if diff := cmp.Diff(want, readFiles(t, r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMaildirOrder(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"cur/1700000002.M2P1.host:2,S": "second",
		"new/1700000001.M1P1.host":     "first",
		"new/1700000003.M3P1.host":     "third",
		"cur/1700000000.M0P1.host:2,":  "zeroth",
		"tmp/1700000004.M4P1.host":     "in delivery",
		"cur/.hidden":                  "ignored",
		".Sent/cur/1.x":                "maildir++ folder, ignored",
	})
	if err := os.MkdirAll(filepath.Join(root, "cur", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := mailsource.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []fileGot{
		{0, "cur/1700000000.M0P1.host:2,", root + "/1700000000.M0P1.host", 6, "zeroth", false},
		{1, "new/1700000001.M1P1.host", root + "/1700000001.M1P1.host", 5, "first", false},
		{2, "cur/1700000002.M2P1.host:2,S", root + "/1700000002.M2P1.host", 6, "second", false},
		{3, "new/1700000003.M3P1.host", root + "/1700000003.M3P1.host", 5, "third", false},
	}
	if diff := cmp.Diff(want, readFiles(t, r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Skip by key, as a journal would.
	done := map[string]bool{root + "/1700000001.M1P1.host": true, root + "/1700000000.M0P1.host": true}
	r, _ = mailsource.OpenMaildir(root, &mailsource.Options{Skip: func(m *mailsource.Message) bool { return done[m.Key()] }})
	got := readFiles(t, r)
	if len(got) != 2 || got[0].Data != "second" || got[1].Data != "third" {
		t.Errorf("after skip: %+v", got)
	}
}

func TestOpenDetects(t *testing.T) {
	root := t.TempDir()
	mbox := env + "\nSubject: a\n\nx\n"
	writeFiles(t, root, map[string]string{
		"archive":          "junk first\n" + mbox, // no extension, sniffed
		"single.eml":       "Subject: one\n\nbody\n",
		"message":          "Subject: no ext\n\nbody\n",
		"empty":            "",
		"maildir/cur/1":    "m",
		"maildir/new/.kee": "",
		"emls/x.eml":       "x",
	})
	tests := []struct {
		path string
		kind mailsource.Kind
		n    int
	}{
		{"archive", mailsource.KindMbox, 2}, // preamble + message
		{"single.eml", mailsource.KindEML, 1},
		{"message", mailsource.KindEML, 1},
		{"empty", mailsource.KindMbox, 0},
		{"maildir", mailsource.KindMaildir, 1},
		{"emls", mailsource.KindEML, 1},
	}
	for _, tc := range tests {
		r, err := mailsource.Open(filepath.Join(root, tc.path), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		msgs, _, err := mailsource.ReadAll(r)
		r.Close()
		if err != nil || len(msgs) != tc.n {
			t.Errorf("%s: %d messages, %v; want %d", tc.path, len(msgs), err, tc.n)
			continue
		}
		for _, m := range msgs {
			if m.Kind != tc.kind {
				t.Errorf("%s: kind %v, want %v", tc.path, m.Kind, tc.kind)
			}
		}
	}
	single, _ := mailsource.Open(filepath.Join(root, "single.eml"), nil)
	m, _ := single.Next()
	if m.Key() != filepath.Join(root, "single.eml") || m.Name != "single.eml" {
		t.Errorf("single file: Key %q Name %q", m.Key(), m.Name)
	}
	if _, err := mailsource.Open(filepath.Join(root, "missing"), nil); err == nil {
		t.Error("Open of a missing path succeeded")
	}
}

func TestFileErrorContinues(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs unreadable files")
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"a.eml": "A", "b.eml": "B", "c.eml": "C"})
	if err := os.Chmod(filepath.Join(root, "b.eml"), 0); err != nil {
		t.Fatal(err)
	}
	r, _ := mailsource.OpenEMLDir(root, nil)
	var data []string
	var fe *mailsource.FileError
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("err %v", err)
			}
			continue
		}
		data = append(data, string(m.Data))
	}
	if fe == nil || fe.Name != "b.eml" || fe.Index != 1 {
		t.Errorf("FileError = %+v", fe)
	}
	if diff := cmp.Diff([]string{"A", "C"}, data); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMaildirMessageMovedWhileReading(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"new/1.a.host": "one",
		"new/2.b.host": "two",
		"cur/.keep":    "",
	})
	r, err := mailsource.OpenMaildir(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A client reads message 2 after the listing: it moves to cur with flags.
	if err := os.Rename(filepath.Join(root, "new/2.b.host"), filepath.Join(root, "cur/2.b.host:2,S")); err != nil {
		t.Fatal(err)
	}
	got := readFiles(t, r)
	want := []fileGot{
		{0, "new/1.a.host", root + "/1.a.host", 3, "one", false},
		{1, "cur/2.b.host:2,S", root + "/2.b.host", 3, "two", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
