package datatransfer_test

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
)

// TestMigrateStreamsLargeMessages: messages over a megabyte, LF or CRLF
// in the mbox, reach the archive byte for byte as prepared in memory
// (CRLF), once each. (Retries resend the same bytes: see the migrate
// tests, which have a fake clock.)
func TestMigrateStreamsLargeMessages(t *testing.T) {
	e := newEnv(t, nil)
	t.Setenv("TMPDIR", t.TempDir())
	crlf := mailgen.LargeMessage(3 << 20)
	lf := mailgen.ToLF(mailgen.LargeMessage(2<<20 + 12345))
	small := mailgen.Messages(7, 2)
	src := writeMbox(t, t.TempDir(), "big.mbox", [][]byte{crlf, small[0], lf, small[1]})
	e.srv.AddGroup("list@example.com")
	rep, err := e.dt.Migrate(t.Context(), []migrate.Job{{Source: src, Target: "list@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 4 || len(rep.Failed)+len(rep.RefusedLocally) != 0 {
		t.Errorf("report %+v", rep)
	}
	want := map[string]int{}
	for _, m := range [][]byte{crlf, small[0], lf, small[1]} {
		want[string(mailsource.NormalizeCRLF(m))]++
	}
	for _, m := range e.srv.GroupMessages("list@example.com") {
		if want[string(m.Raw)] == 0 {
			t.Errorf("stored a message not sent: %d bytes, CRLF only %v", len(m.Raw), !bytes.Contains(bytes.ReplaceAll(m.Raw, []byte("\r\n"), nil), []byte("\n")))
		}
		want[string(m.Raw)]--
	}
	for m, n := range want {
		if n != 0 {
			t.Errorf("a message of %d bytes stored %d times too few", len(m), n)
		}
	}
	if left, _ := os.ReadDir(os.Getenv("TMPDIR")); runtime.GOOS != "windows" && len(left) > 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}
}
