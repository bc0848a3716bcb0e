package mailsource_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
)

// A migration loop: read, skip what the journal has, report what cannot be
// uploaded, normalize and validate the rest.
func Example() {
	mbox := "From alice@example.com Mon Jan  1 10:00:00 2024\n" +
		"From: Alice <alice@example.com>\nTo: team@example.com\n" +
		"Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <m1@example.com>\n" +
		"Subject: first\n\nHello.\n>From the archive.\n\n" +
		"From bob@example.com Mon Jan  1 11:00:00 2024\n" +
		"From: bob@example.com\nTo: team@example.com\nSubject: no date\n\nOops.\n\n" +
		"From carol@example.com Mon Jan  1 12:00:00 2024\n" +
		"From: carol@example.com\nTo: team@example.com\n" +
		"Date: Mon, 1 Jan 2024 12:00:00 +0000\nSubject: big\n\n" + strings.Repeat("x", 500) + "\n"

	done := map[string]bool{} // the migration journal, keyed by Message.Key
	r := mailsource.NewMbox(strings.NewReader(mbox), "team.mbox", &mailsource.Options{
		MaxSize: 400,
		Skip:    func(m *mailsource.Message) bool { return done[m.Key()] },
	})
	defer r.Close()
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("fatal:", err)
			return
		}
		if m.TooLarge {
			fmt.Printf("%s: too large (%d bytes)\n", m.Key(), m.Size)
			continue
		}
		data := mailsource.NormalizeCRLF(m.Data)
		if err := mailsource.Validate(data, 0); err != nil {
			fmt.Printf("%s: %v\n", m.Key(), err)
			continue
		}
		fmt.Printf("%s: upload %s (%d bytes)\n", m.Key(), mailsource.MessageID(data), len(data))
		done[m.Key()] = true
	}
	// Output:
	// team.mbox#0: upload m1@example.com (168 bytes)
	// team.mbox#1: mailsource: invalid message: Date: missing
	// team.mbox#2: too large (597 bytes)
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "maildir")
	defer os.RemoveAll(dir)
	mailgen.WriteMaildir(dir, mailgen.Messages(1, 4))

	r, err := mailsource.Open(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		fmt.Println(m.Kind, m.Index, m.Name, m.Size)
	}
	// Output:
	// maildir 0 cur/1100000000.M0P4000.mailgen.example:2,S 2267
	// maildir 1 cur/1100000060.M1P4001.mailgen.example:2,S 4810
	// maildir 2 new/1100000120.M2P4002.mailgen.example 4448
	// maildir 3 cur/1100000180.M3P4003.mailgen.example:2,S 1561
}

func ExampleNewMbox() {
	in := "junk before the first message\n\n" +
		"From alice@example.com Mon Jan  1 10:00:00 2024\n" +
		"Subject: a\n\n>From here on, escaped.\n\n" +
		"From bob@example.com Mon Jan  1 11:00:00 2024\n" +
		"Subject: b\n\nFrom what I hear, this one was not escaped.\n"
	r := mailsource.NewMbox(strings.NewReader(in), "x.mbox", nil)
	msgs, _, _ := mailsource.ReadAll(r)
	for _, m := range msgs {
		fmt.Printf("index %d offset %d preamble %v: %q\n", m.Index, m.Offset, m.Preamble, m.Data)
	}
	// Output:
	// index -1 offset 0 preamble true: "junk before the first message\n"
	// index 0 offset 31 preamble false: "Subject: a\n\nFrom here on, escaped.\n"
	// index 1 offset 116 preamble false: "Subject: b\n\nFrom what I hear, this one was not escaped.\n"
}

func ExampleValidate() {
	msg := []byte("From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>\r\n" +
		"To: undisclosed-recipients:;\r\n" +
		"Date: 3 Jul 2003 10:52:37 +0200 (CEST)\r\n\r\nHallo.\r\n")
	fmt.Println(mailsource.Validate(msg, 0))

	err := mailsource.Validate([]byte("Subject: hi\n\nbody\n"), 0)
	var p *mailsource.Problem
	if errors.As(err, &p) {
		fmt.Println(p.Field, "-", p.Reason)
	}
	for _, p := range mailsource.Problems(mailsource.NormalizeCRLF([]byte("Subject: hi\n\nbody\n")), 0) {
		fmt.Println(p.Field, "-", p.Reason)
	}
	// Output:
	// <nil>
	// body - line 1 ends with a bare LF, not CRLF (use NormalizeCRLF)
	// From - missing
	// To - no recipient header (To, Cc or Bcc)
	// Date - missing
}

func ExampleNormalizeCRLF() {
	fmt.Printf("%q\n", mailsource.NormalizeCRLF([]byte("a\nb\rc\r\n")))
	// Output: "a\r\nb\r\nc\r\n"
}

func ExampleMessageID() {
	fmt.Println(mailsource.MessageID([]byte("Subject: x\r\nMessage-Id:\r\n <abc.123@example.com>\r\n\r\n")))
	// Output: abc.123@example.com
}

func ExampleContentHash() {
	lf := []byte("Subject: x\n\nbody\n")
	fmt.Println(mailsource.ContentHash(lf) == mailsource.ContentHash(mailsource.NormalizeCRLF(lf)))
	// Output: true
}

func ExampleParseDate() {
	for _, s := range []string{"Thu, 13 Feb 97 12:00 EST", "Mon Jan  2 15:04:05 2006", "soon"} {
		t, err := mailsource.ParseDate(s)
		fmt.Println(t.UTC(), err)
	}
	// Output:
	// 1997-02-13 17:00:00 +0000 UTC <nil>
	// 2006-01-02 15:04:05 +0000 UTC <nil>
	// 0001-01-01 00:00:00 +0000 UTC unrecognised date
}

func ExampleMboxWriter() {
	var buf bytes.Buffer
	w, _ := mailsource.NewMboxWriter(&buf, mailsource.MboxRD)
	w.WriteMessage([]byte("From: a@example.com\nDate: Mon, 1 Jan 2024 10:00:00 +0100\n\nFrom here.\n>From there.\n"))
	w.Flush()
	fmt.Print(buf.String())
	// Output:
	// From a@example.com Mon Jan  1 09:00:00 2024
	// From: a@example.com
	// Date: Mon, 1 Jan 2024 10:00:00 +0100
	//
	// >From here.
	// >>From there.
	//
}

func ExampleMessage_Key() {
	m := &mailsource.Message{Kind: mailsource.KindMaildir, Source: "/mail/alice", Name: "cur/1700000000.M1P2.host:2,S"}
	fmt.Println(m.Key())
	m = &mailsource.Message{Kind: mailsource.KindMbox, Source: filepath.FromSlash("/mail/inbox.mbox"), Index: 41}
	fmt.Println(m.Key())
	// Output:
	// /mail/alice/1700000000.M1P2.host
	// /mail/inbox.mbox#41
}
