package datatransfer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestJournalReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, st, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.final) != 0 {
		t.Fatalf("new journal has state %+v", st)
	}
	for _, r := range []record{
		{Group: "g", Key: "a#0", ID: "m1", State: stBegin},
		{Group: "g", Key: "a#0", ID: "m1", State: stOK},
		{Group: "g", Key: "a#1", State: stInvalid},
		{Group: "g", Key: "a#2", ID: "m2", State: stBegin},
		{Group: "g", Key: "a#3", ID: "m3", State: stBegin},
		{Group: "g", Key: "a#3", ID: "m3", State: stUnsent},
		{Group: "g", Key: "a#4", ID: "m4", State: stFailed},
	} {
		if err := j.append(r, r.State != stBegin); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	_, st, err = openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"a#0 done", st.final["g\x00a#0"] == stOK},
		{"a#1 invalid", st.final["g\x00a#1"] == stInvalid},
		{"a#2 in flight", st.inFlight["g\x00a#2"].Key == "a#2"},
		{"a#3 not in flight", st.inFlight["g\x00a#3"].Key == ""},
		{"a#4 to retry", st.final["g\x00a#4"] == ""},
		{"m1 seen", st.seen["g"]["m1"]},
		{"m2 not seen", !st.seen["g"]["m2"]},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: false (state %+v)", c.name, st)
		}
	}
}

// FuzzJournal: whatever a journal file holds (a torn write, garbage),
// opening it never panics, keeps the valid prefix and leaves a file that
// takes new records.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"g":"g","k":"a#0","id":"m","s":"ok"}` + "\n"))
	f.Add([]byte(`{"g":"g","k":"a#0","s":"begin"}` + "\n" + `{"g":"g","k`))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte{0xff, 0xfe, '\n'})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "j")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, _, err := openJournal(path)
		if err != nil {
			return
		}
		if err := j.append(record{Group: "g", Key: "z#9", State: stOK}, true); err != nil {
			t.Fatal(err)
		}
		j.close()
		after, _ := os.ReadFile(path)
		if !bytes.HasSuffix(after, []byte(`"s":"ok"}`+"\n")) {
			t.Fatalf("new record not at the end: %q", after)
		}
		_, st, err := openJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.final["g\x00z#9"] != stOK {
			t.Fatalf("record written after a damaged prefix was lost: %q", after)
		}
	})
}
