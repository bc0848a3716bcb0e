package mailgen_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"runtime"
	"testing"

	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
)

type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

// WriteLargeMbox must stream: writing 120 MiB with 26 MiB messages may not
// allocate anything near the output size.
func TestWriteLargeMboxStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 120 MiB")
	}
	var c counter
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := mailgen.WriteLargeMbox(&c, 120<<20, 26<<20)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if c < 120<<20 || n == 0 {
		t.Fatalf("wrote %d bytes, %d messages", c, n)
	}
	if peak := after.HeapSys; peak > 64<<20 {
		t.Errorf("heap grew to %d bytes while streaming", peak)
	}
	t.Logf("%d messages, %d bytes, %d bytes allocated in total", n, c, after.TotalAlloc-before.TotalAlloc)
}

func TestDropHeaderSample(t *testing.T) {
	msgs, info := mailgen.Sample(2, 3000)
	bad := msgs[info.MalformedIndex]
	if _, ok := mailsource.Header(bad, "Date"); ok {
		t.Fatal("malformed message still has a Date")
	}
	if err := mailsource.Validate(mailsource.NormalizeCRLF(bad), 0); err == nil {
		t.Fatal("malformed message validates")
	}
	for i, d := range info.Duplicates {
		if !bytes.Equal(msgs[d], msgs[info.DuplicateOf[i]]) {
			t.Errorf("duplicate %d differs", d)
		}
	}
}

func ExampleMessages() {
	for _, m := range mailgen.Messages(42, 3) {
		raw, _ := mailsource.Header(m, "Subject")
		subject, _ := new(mime.WordDecoder).DecodeHeader(raw)
		fmt.Printf("%s | %s | valid: %v\n", mailsource.MessageID(m), subject, mailsource.Validate(m, 0) == nil)
	}
	// Output:
	// 1078214650.1.188dcab0@example.jp | 🎉 Release 3.0 is out! | valid: true
	// 1078316525.2.da95dd7c@example.hr | Re: 🎉 Release 3.0 is out! | valid: true
	// 1078364988.3.a9ef1b3b@example.dk | Проблема с сервером почты | valid: true
}

func ExampleWriteLargeMessage() {
	var c counter
	err := mailgen.WriteLargeMessage(&c, mailsource.DefaultMaxSize+1)
	fmt.Println(int64(c), err)
	// Output: 26214401 <nil>
}

func ExampleWriteMbox() {
	var buf bytes.Buffer
	mailgen.WriteMbox(&buf, mailgen.Messages(1, 10), mailsource.MboxRD)
	r := mailsource.NewMbox(&buf, "gen.mbox", nil)
	n := 0
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		}
		n++
	}
	fmt.Println(n, "messages")
	// Output: 10 messages
}
