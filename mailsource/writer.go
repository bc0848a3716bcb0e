package mailsource

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
)

// envelopeTime is used when a message has no usable Date.
var envelopeTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// MboxWriter writes messages to an mbox in the MboxRD or MboxO dialect.
// Each message is preceded by an envelope line and followed by an empty
// line; lines that need it are escaped. Line ends of the envelope and the
// separator follow the message's first line (CRLF or LF). A message that
// does not end with a line end gets one, which is the only change a
// round trip through NewMbox makes (besides, for MboxO, turning ">From "
// body lines into "From "), with two exceptions: a message whose first
// line begins with "From " or ">From " loses that line (the reader takes
// it for a stray envelope line), and a wrong Content-Length header that
// happens to count up to a message boundary in the written file bounds the
// message there.
type MboxWriter struct {
	w      *bufio.Writer
	format Format
	n      int
}

// NewMboxWriter returns a writer of format f (MboxRD or MboxO) on w. Call
// Flush when done.
func NewMboxWriter(w io.Writer, f Format) (*MboxWriter, error) {
	if f != MboxRD && f != MboxO {
		return nil, fmt.Errorf("mailsource: writing %s is not supported", f)
	}
	return &MboxWriter{w: bufio.NewWriterSize(w, lineBuf), format: f}, nil
}

// WriteMessage writes data with an envelope line built from its From
// address and Date ("MAILER-DAEMON" and 1970-01-01 when missing).
func (mw *MboxWriter) WriteMessage(data []byte) error {
	sender := "MAILER-DAEMON"
	if v, ok := headerValue(data, "From"); ok {
		if a, err := mail.ParseAddress(v); err == nil && a.Address != "" && !strings.ContainsAny(a.Address, " \t") {
			sender = a.Address
		} else if m := angleAddr.FindStringSubmatch(v); m != nil {
			sender = m[1]
		}
	}
	t := envelopeTime
	if v, ok := headerValue(data, "Date"); ok {
		if d, err := ParseDate(v); err == nil {
			t = d.UTC()
		}
	}
	return mw.WriteMessageEnvelope(sender, t, data)
}

// WriteMessageEnvelope writes data with the envelope line
// "From <sender> <ctime of t>".
func (mw *MboxWriter) WriteMessageEnvelope(sender string, t time.Time, data []byte) error {
	eol := "\n"
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		eol = "\r\n"
	}
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	fmt.Fprintf(mw.w, "From %s %s%s", sender, t.Format(time.ANSIC), eol)
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if mw.needsEscape(line) {
			mw.w.WriteByte('>')
		}
		mw.w.Write(line)
		if line[len(line)-1] != '\n' {
			mw.w.WriteString(eol)
		}
	}
	_, err := mw.w.WriteString(eol)
	mw.n++
	return err
}

func (mw *MboxWriter) needsEscape(line []byte) bool {
	if mw.format == MboxO {
		return bytes.HasPrefix(line, fromSpace)
	}
	return bytes.HasPrefix(bytes.TrimLeft(line, ">"), fromSpace)
}

// Count returns the number of messages written.
func (mw *MboxWriter) Count() int { return mw.n }

// Flush writes buffered data to the underlying writer.
func (mw *MboxWriter) Flush() error { return mw.w.Flush() }
