package mailgen

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gwsadmin/workspace/mailsource"
)

// WriteMbox writes msgs to w as an mbox of format f (mailsource.MboxRD or
// mailsource.MboxO), escaping "From " lines as that format requires.
func WriteMbox(w io.Writer, msgs [][]byte, f mailsource.Format) error {
	mw, err := mailsource.NewMboxWriter(w, f)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := mw.WriteMessage(m); err != nil {
			return err
		}
	}
	return mw.Flush()
}

// EMLName returns the file name WriteEMLDir gives message i.
func EMLName(i int) string { return fmt.Sprintf("msg-%06d.eml", i) }

// WriteEMLDir writes each message to dir/msg-NNNNNN.eml (NNNNNN is the
// 0-based index, so sorted names follow msgs), creating dir if needed.
func WriteEMLDir(dir string, msgs [][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, m := range msgs {
		if err := os.WriteFile(filepath.Join(dir, EMLName(i)), m, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// MaildirName returns the path, relative to the Maildir, that WriteMaildir
// gives message i: every third message is unread in new/, the others are
// in cur/ with the Seen flag. Names begin with a delivery time that grows
// with i, so the Maildir reading order follows msgs.
func MaildirName(i int) string {
	unique := fmt.Sprintf("%d.M%dP%d.mailgen.example", 1100000000+i*60, i, 4000+i%1000)
	if i%3 == 2 {
		return "new/" + unique
	}
	return "cur/" + unique + ":2,S"
}

// WriteMaildir writes msgs as a Maildir at dir (creating cur, new and
// tmp); see MaildirName.
func WriteMaildir(dir string, msgs [][]byte) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for i, m := range msgs {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(MaildirName(i))), m, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// largeHeader returns the fixed part of a large message up to the
// attachment data, given the padding header value.
// largeHeader is the header of a large message; its Message-ID carries the
// size in fixed width, so messages of different sizes are distinct and
// every header has the same length.
func largeHeader(pad int, size int64) string {
	return "From: Big Sender <big@example.com>\r\n" +
		"To: archive@example.org\r\n" +
		"Subject: Large attachment\r\n" +
		"Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n" +
		"Message-ID: <large-" + fmt.Sprintf("%020d", size) + "@mailgen.example>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"X-Padding: " + repeatByte('x', pad) + "\r\n" +
		"Content-Type: multipart/mixed; boundary=\"=_large\"\r\n" +
		"\r\n" +
		"--=_large\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n" +
		"\r\n" +
		"The attachment makes this message large.\r\n" +
		"\r\n" +
		"--=_large\r\n" +
		"Content-Type: application/octet-stream; name=\"big.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"big.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n"
}

const largeTrailer = "\r\n--=_large--\r\n"

// MinLargeSize returns the smallest size WriteLargeMessage can produce.
func MinLargeSize() int64 { return minLargeSize }

var minLargeSize = int64(len(largeHeader(0, 0)) + len(largeTrailer))

func repeatByte(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// WriteLargeMessage streams a valid multipart/mixed message of exactly
// size bytes (CRLF line ends, base64 attachment in 76-character lines) to
// w, using constant memory. size must be at least MinLargeSize().
func WriteLargeMessage(w io.Writer, size int64) error {
	const lineLen = 78 // 76 base64 characters and CRLF
	if size < minLargeSize {
		return fmt.Errorf("mailgen: size %d is below the minimum %d", size, minLargeSize)
	}
	rest := size - minLargeSize
	lines := rest / lineLen
	pad := int(rest % lineLen)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(largeHeader(pad, size))
	var raw [57]byte // 57 bytes encode to 76 characters
	var enc [lineLen]byte
	enc[76], enc[77] = '\r', '\n'
	r := rng{s: uint64(size)}
	for i := int64(0); i < lines; i++ {
		for j := 0; j < len(raw); j += 8 {
			v := r.next()
			for k := 0; k < 8 && j+k < len(raw); k++ {
				raw[j+k] = byte(v >> (8 * k))
			}
		}
		base64.StdEncoding.Encode(enc[:76], raw[:])
		if _, err := bw.Write(enc[:]); err != nil {
			return err
		}
	}
	bw.WriteString(largeTrailer)
	return bw.Flush()
}

// LargeMessage returns a message of exactly size bytes, as written by
// WriteLargeMessage. It panics if size is below MinLargeSize().
func LargeMessage(size int64) []byte {
	var b sliceWriter
	b.buf = make([]byte, 0, size)
	if err := WriteLargeMessage(&b, size); err != nil {
		panic(err)
	}
	return b.buf
}

type sliceWriter struct{ buf []byte }

// Write implements io.Writer.
func (s *sliceWriter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

// Write implements io.Writer.
func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteLargeMbox streams an mboxrd of at least totalBytes to w without
// holding it in memory and returns the number of messages written. The
// messages come from New(1) with LF line ends, as a Unix mbox stores them;
// when maxMsgSize is at least 64 KiB, every 100th message is instead a
// large one from WriteLargeMessage (CRLF) with a size between maxMsgSize/2
// and maxMsgSize. Use it to build multi-GiB test archives.
func WriteLargeMbox(w io.Writer, totalBytes, maxMsgSize int64) (int, error) {
	cw := &countWriter{w: w}
	mw, err := mailsource.NewMboxWriter(cw, mailsource.MboxRD)
	if err != nil {
		return 0, err
	}
	g := New(1)
	r := rng{s: 77}
	n := 0
	for {
		if err := mw.Flush(); err != nil {
			return n, err
		}
		if cw.n >= totalBytes {
			return n, nil
		}
		if maxMsgSize >= 64<<10 && n%100 == 99 {
			size := maxMsgSize/2 + int64(r.next()%uint64(maxMsgSize/2+1))
			if size < minLargeSize {
				size = minLargeSize
			}
			if _, err := fmt.Fprintf(cw, "From big@example.com %s\r\n", time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC).Format(time.ANSIC)); err != nil {
				return n, err
			}
			if err := WriteLargeMessage(cw, size); err != nil {
				return n, err
			}
			if _, err := io.WriteString(cw, "\r\n"); err != nil {
				return n, err
			}
		} else if err := mw.WriteMessage(ToLF(g.Next().Data)); err != nil {
			return n, err
		}
		n++
	}
}
