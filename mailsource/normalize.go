package mailsource

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// NormalizeCRLF returns data with every line ending turned into CRLF: a
// bare LF becomes CRLF, a bare CR becomes CRLF, and CRLF is left alone.
// When data needs no change it is returned as is, without copying;
// otherwise a new slice is returned and data is not modified.
func NormalizeCRLF(data []byte) []byte {
	extra := bareCount(data)
	if extra == 0 {
		return data
	}
	out := make([]byte, 0, len(data)+extra)
	return AppendCRLF(out, data)
}

// normalizedSize returns len(NormalizeCRLF(data)) without building it.
func normalizedSize(data []byte) int64 {
	return int64(len(data) + bareCount(data))
}

// bareCount returns the number of bare LF and bare CR in data, which is
// the number of bytes normalizing adds.
func bareCount(data []byte) int {
	n := 0
	for i := 0; i < len(data); {
		j := bytes.IndexAny(data[i:], "\r\n")
		if j < 0 {
			break
		}
		i += j
		if data[i] == '\r' {
			if i+1 < len(data) && data[i+1] == '\n' {
				i += 2
				continue
			}
		}
		n++
		i++
	}
	return n
}

// AppendCRLF appends data to out with every line end (LF, CR or CRLF)
// made CRLF, and returns the extended slice, as NormalizeCRLF does for a
// whole message. A CR at the end of data counts as a bare CR, so a caller
// converting a stream chunk by chunk keeps a final CR for the next chunk.
func AppendCRLF(out, data []byte) []byte {
	for len(data) > 0 {
		j := bytes.IndexAny(data, "\r\n")
		if j < 0 {
			return append(out, data...)
		}
		out = append(out, data[:j]...)
		if data[j] == '\r' && j+1 < len(data) && data[j+1] == '\n' {
			j++
		}
		out = append(out, '\r', '\n')
		data = data[j+1:]
	}
	return out
}

// ContentHash returns the hex SHA-256 of the message after NormalizeCRLF,
// so that the same message stored with LF or CRLF line ends hashes the
// same. Use it to recognise duplicates when a message has no Message-ID.
// It does not copy data.
func ContentHash(data []byte) string {
	h := sha256.New()
	var chunk [4200]byte
	out := chunk[:0]
	for len(data) > 0 {
		// Feed at most ~2 KiB of input at a time so the normalized
		// output (at most twice as long) fits the chunk; never split a
		// CR from its LF.
		n := min(len(data), 2048)
		if data[n-1] == '\r' && n < len(data) {
			n++
		}
		out = AppendCRLF(out[:0], data[:n])
		h.Write(out)
		data = data[n:]
	}
	return hex.EncodeToString(h.Sum(nil))
}

// MessageID returns the value of the message's Message-ID header,
// unfolded, with surrounding space and angle brackets removed, or "" if
// there is none. When the value holds several <…> groups or trailing
// comments, the first <…> group wins.
func MessageID(data []byte) string {
	v, ok := headerValue(data, "Message-Id")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i+1:], '>'); j >= 0 {
			return strings.TrimSpace(v[i+1 : i+1+j])
		}
	}
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "<")
	v = strings.TrimSuffix(v, ">")
	return strings.TrimSpace(v)
}

// Header returns the unfolded value of the first header field named name
// (case-insensitive) in the message's header block, and whether it was
// found. Encoded words are left encoded.
func Header(data []byte, name string) (string, bool) {
	return headerValue(data, name)
}

func headerValue(data []byte, name string) (string, bool) {
	var val string
	found := false
	scanHeader(data, func(f headerField) bool {
		if strings.EqualFold(f.name, name) {
			val, found = f.value, true
			return false
		}
		return true
	})
	return val, found
}

type headerField struct {
	name  string
	value string // unfolded (line breaks removed), trimmed
	line  int    // 1-based line number where the field starts
}

// scanHeader calls fn for each field of the header block of data, which
// ends at the first empty line or at the end of data; LF and CRLF line ends
// are both accepted. It stops when fn returns false or at the first line
// that is not a header field, which it returns as a *Problem (nil when the
// block is well formed).
func scanHeader(data []byte, fn func(headerField) bool) *Problem {
	var cur *headerField
	var sb strings.Builder
	flush := func() bool {
		if cur == nil {
			return true
		}
		cur.value = strings.TrimSpace(sb.String())
		sb.Reset()
		f := *cur
		cur = nil
		return fn(f)
	}
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil {
				return &Problem{Field: "header", Reason: "the header begins with a continuation line"}
			}
			sb.Write(line)
			continue
		}
		if !flush() {
			return nil
		}
		if lineNo == 1 && bytes.HasPrefix(line, fromSpace) {
			return &Problem{Field: "header", Reason: `line 1 is an mbox envelope ("From ") line, not a header field`}
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return &Problem{Field: "header", Reason: "line " + strconv.Itoa(lineNo) + " is not a header field"}
		}
		name := bytes.TrimRight(line[:colon], " \t") // obsolete syntax allows space before ':'
		for _, c := range name {
			if c < 33 || c > 126 {
				return &Problem{Field: "header", Reason: "line " + strconv.Itoa(lineNo) + " has an invalid field name"}
			}
		}
		if len(name) == 0 {
			return &Problem{Field: "header", Reason: "line " + strconv.Itoa(lineNo) + " has an empty field name"}
		}
		cur = &headerField{name: string(name), line: lineNo}
		sb.Write(line[colon+1:])
	}
	flush()
	return nil
}
