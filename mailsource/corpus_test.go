package mailsource_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gwsadmin/workspace/mailsource"
)

// corpusDir is the shared real-world sample, outside the repository; the
// test is skipped where it is absent.
var corpusDir = filepath.Join("..", "..", "shared", "corpus", "sisimai-err")

// TestRealWorldCorpus reads 37 real bounce messages as one mbox and as 37
// .eml files: every message is accounted for, none keeps an envelope line.
func TestRealWorldCorpus(t *testing.T) {
	mboxPath := filepath.Join(corpusDir, "bounces.mbox")
	if _, err := os.Stat(mboxPath); err != nil {
		t.Skipf("no real-world corpus: %v", err)
	}
	const want = 37
	var emls []*mailsource.Message
	for _, tc := range []struct {
		path string
		kind mailsource.Kind
	}{
		{mboxPath, mailsource.KindMbox},
		{filepath.Join(corpusDir, "eml"), mailsource.KindEML},
	} {
		r, err := mailsource.Open(tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, fileErrs, err := mailsource.ReadAll(r)
		r.Close()
		if err != nil || len(fileErrs) > 0 {
			t.Fatalf("%s: %v %v", tc.path, err, fileErrs)
		}
		if len(msgs) != want {
			t.Errorf("%s: %d messages, want %d", tc.path, len(msgs), want)
		}
		for i, m := range msgs {
			if m.Kind != tc.kind || m.Index != i || m.Preamble || m.TooLarge {
				t.Errorf("%s: message %d: Kind %v Index %d Preamble %v TooLarge %v", tc.path, i, m.Kind, m.Index, m.Preamble, m.TooLarge)
			}
			if bytes.HasPrefix(m.Data, []byte("From ")) || bytes.HasPrefix(m.Data, []byte(">From ")) {
				t.Errorf("%s: message %d still starts with an envelope line", tc.path, i)
			}
			if len(m.Data) == 0 {
				t.Errorf("%s: message %d is empty", tc.path, i)
			}
			if m.Fixes != 0 {
				t.Errorf("%s #%d: %v", tc.path, i, m.Fixes)
			}
		}
		if tc.kind == mailsource.KindEML {
			emls = msgs
		}
	}

	// The same real messages made harder: each .eml with an envelope line
	// at its top, and all of them in one Thunderbird-style mbox with
	// "From - " lines, no empty lines between messages, CR line ends.
	dir := t.TempDir()
	var mbox bytes.Buffer
	for i, m := range emls {
		name := filepath.Join(dir, filepath.Base(m.Name))
		if err := os.WriteFile(name, append([]byte(">From MAILER-DAEMON Tue Apr 29 13:13:56 2009\n"), m.Data...), 0o644); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			mbox.WriteString("From - Thu Aug 11 10:27:01 2005\n")
		} else {
			mbox.WriteString("From - \n")
		}
		mbox.Write(m.Data)
	}
	cr := bytes.ReplaceAll(mbox.Bytes(), []byte("\n"), []byte("\r"))
	if err := os.WriteFile(filepath.Join(dir, "all.mbs"), cr, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		fixes mailsource.Fix
	}{
		{dir, mailsource.FixEnvelopeLine},
		{filepath.Join(dir, "all.mbs"), mailsource.FixCRLineEnds},
	} {
		r, err := mailsource.Open(tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, fileErrs, err := mailsource.ReadAll(r)
		r.Close()
		if err != nil || len(fileErrs) > 0 || len(msgs) != want {
			t.Fatalf("%s: %d messages, %v %v", tc.path, len(msgs), err, fileErrs)
		}
		for i, m := range msgs {
			want := emls[i].Data
			if tc.fixes == mailsource.FixCRLineEnds && bytes.HasSuffix(want, []byte("\n\n")) {
				want = want[:len(want)-1] // an empty line before a separator is the format's
			}
			if !bytes.Equal(m.Data, want) {
				t.Errorf("%s: message %d differs from the .eml file", tc.path, i)
			}
			if m.Fixes != tc.fixes {
				t.Errorf("%s: message %d: Fixes %v, want %v", tc.path, i, m.Fixes, tc.fixes)
			}
		}
	}
}
