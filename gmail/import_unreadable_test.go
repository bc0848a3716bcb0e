package gmail_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gwsadmin/workspace/workspacetest"
)

// TestImportMboxStoredButUnreadableReply: a 200 whose body cannot be read
// is a stored message: the import does not send it again.
func TestImportMboxStoredButUnreadableReply(t *testing.T) {
	e := newEnv(t, nil)
	var mbox bytes.Buffer
	for i := range 2 {
		mbox.WriteString("From bob@example.org Mon Mar  2 09:00:00 2026\n")
		mbox.Write(bytes.ReplaceAll(mail(i), []byte("\r\n"), []byte("\n")))
		mbox.WriteString("\n")
	}
	src := filepath.Join(t.TempDir(), "old.mbox")
	if err := os.WriteFile(src, mbox.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault("gmail", workspacetest.FaultStoredUnreadableReply, 1)
	rep, err := e.g.ImportMbox(t.Context(), e.user, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.GmailMessages(e.user)); n != 2 || rep.Inserted != 2 || len(rep.PossibleDuplicates) != 0 {
		t.Errorf("mailbox holds %d, inserted %d, possible duplicates %d; want 2, 2, 0", n, rep.Inserted, len(rep.PossibleDuplicates))
	}
}
