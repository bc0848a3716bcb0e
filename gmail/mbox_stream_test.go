package gmail_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/workspacetest"
)

// TestImportMboxStreamsLargeMessages: a message over a megabyte, with LF
// line ends in the mbox, goes from the reader's temporary file to the
// resumable upload chunk by chunk, made CRLF on the way, and is stored
// once, byte for byte as a message in memory would be; when the last
// chunk's answer is lost, the status query finds it stored.
func TestImportMboxStreamsLargeMessages(t *testing.T) {
	const chunk = 256 << 10
	for _, tc := range []struct {
		name  string
		fault bool
	}{{"clean", false}, {"last answer lost", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			want := append([]byte("Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n"), bigMessage(5*chunk+1000, "large "+tc.name)...)
			small := mail(1)
			var mbox bytes.Buffer
			for _, m := range [][]byte{want, small} {
				mbox.WriteString("From bob@example.org Mon Mar  2 09:00:00 2026\n")
				mbox.Write(bytes.ReplaceAll(m, []byte("\r\n"), []byte("\n")))
				mbox.WriteString("\n")
			}
			src := filepath.Join(t.TempDir(), "big.mbox")
			if err := os.WriteFile(src, mbox.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.fault {
				e.faultAtChunk(6, workspacetest.FaultResetAfterProcessing, 1)
			}
			rep, err := e.g.ImportMbox(t.Context(), e.user, src, &gmail.ImportMboxOptions{Message: &gmail.InsertOptions{
				ResumableThreshold: chunk, ChunkSize: chunk}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Inserted != 2 || len(rep.Failed) != 0 {
				t.Errorf("report: inserted %d, failed %v", rep.Inserted, rep.Failed)
			}
			if e.storedCopies(want) != 1 || e.storedCopies(small) != 1 {
				t.Errorf("stored copies: large %d, small %d; want 1 each", e.storedCopies(want), e.storedCopies(small))
			}
			chunks := 0
			for _, r := range e.srv.GmailUploadLog() {
				if r.First >= 0 {
					chunks++
					if r.First != r.Received {
						t.Errorf("a chunk started at byte %d while the server held %d", r.First, r.Received)
					}
				}
			}
			if chunks != 6 {
				t.Errorf("%d chunks, want 6", chunks)
			}
		})
	}
}
