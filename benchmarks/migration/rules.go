package main

// This file holds the benchmark's own reading of mail, deliberately
// independent of mailsource and migrate: an mbox splitter with two
// classic counting rules, the normalization a migration may make without
// changing a message's meaning, and Google's documented acceptance rules
// for archive.insert (google-apis.md §3).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// googleMaxSize is archive.insert's documented limit: 25 MiB, headers,
// body and attachments included (discovery mediaUpload.maxSize).
const googleMaxSize = 26_214_400

// ownMessage is one message as this program reads it from a source.
type ownMessage struct {
	index    int    // ordinal in its source
	name     string // file name (eml) or "#index" (mbox)
	envelope string // the mbox envelope line, without "From "
	raw      []byte // bytes as stored (mbox quoting undone)
	norm     []byte // normalized: see normalize
	// what normalize had to change
	needsCRLF, strayEnvelope, bom bool
	accepted                      bool   // Google's documents accept norm
	refusal                       string // why not, when !accepted
	key                           string // Message-ID + body hash of norm
	msgID                         string
}

// mboxCounts are the message counts of one mbox file under three rules.
type mboxCounts struct {
	// posix: "From " at the start of the file or after an empty line
	// (the classic rule of POSIX-era readers and mboxrd writers).
	posix int
	// mutt: "From " followed by a sender and a ctime-style date, wherever
	// it stands (mutt's is_from(): no empty line needed).
	mutt int
	// both: after an empty line and with a date: the rule this program
	// splits by.
	both int
}

// splitLines splits data after each LF, keeping the line ends.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

// blankLine reports a line with nothing but its line end.
func blankLine(l []byte) bool {
	return len(bytes.TrimRight(l, "\r\n")) == 0
}

var months = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// envelopeDate reports whether the rest of a "From " line is a sender
// followed by a ctime(3) date: a month name, then a time of day, then a
// four-digit year, with a day of the month between month and time.
func envelopeDate(rest string) bool {
	f := strings.Fields(rest)
	if len(f) < 5 {
		return false
	}
	month := -1
	for i, w := range f[1:] {
		for _, m := range months {
			if strings.EqualFold(w, m) {
				month = i + 1
			}
		}
		if month >= 0 {
			break
		}
	}
	if month < 0 || month+3 > len(f)-1 {
		return false
	}
	if !allDigits(f[month+1]) || len(f[month+1]) > 2 || !isTimeOfDay(f[month+2]) {
		return false
	}
	for _, w := range f[month+3:] {
		if len(w) == 4 && allDigits(w) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isTimeOfDay accepts hh:mm and hh:mm:ss.
func isTimeOfDay(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if len(p) < 1 || len(p) > 2 || !allDigits(p) {
			return false
		}
	}
	return true
}

// splitMbox splits an mbox by the rule "From " line at the top of the file
// or after an empty line, followed by a sender and a date; it also counts
// the messages by the looser POSIX rule and by mutt's. The empty line
// before each envelope line and at the end of the file is the format's,
// not the message's; mboxrd quoting (">From ", ">>From " ...) is undone.
func splitMbox(data []byte) ([]*ownMessage, mboxCounts) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := splitLines(data)
	var counts mboxCounts
	var starts []int
	seenText := false
	for i, l := range lines {
		afterBlank := !seenText || (i > 0 && blankLine(lines[i-1]))
		if !blankLine(l) {
			seenText = true
		}
		if !bytes.HasPrefix(l, []byte("From ")) {
			continue
		}
		dated := envelopeDate(string(bytes.TrimRight(l[5:], "\r\n")))
		if afterBlank {
			counts.posix++
		}
		if dated {
			counts.mutt++
		}
		if afterBlank && dated {
			counts.both++
			starts = append(starts, i)
		}
	}
	var msgs []*ownMessage
	for n, s := range starts {
		end := len(lines)
		if n+1 < len(starts) {
			end = starts[n+1]
		}
		body := lines[s+1 : end]
		if len(body) > 0 && blankLine(body[len(body)-1]) {
			body = body[:len(body)-1]
		}
		var raw []byte
		for _, l := range body {
			if q := bytes.TrimLeft(l, ">"); len(q) < len(l) && bytes.HasPrefix(q, []byte("From ")) {
				l = l[1:]
			}
			raw = append(raw, l...)
		}
		msgs = append(msgs, &ownMessage{index: n, name: "#" + strconv.Itoa(n),
			envelope: string(bytes.TrimRight(lines[s][5:], "\r\n")), raw: raw})
	}
	return msgs, counts
}

// normalize makes what a migration may send without changing the
// message's meaning: a UTF-8 byte order mark dropped, envelope lines
// ("From ..." or ">From ...", but not a "From :" header field) left at the
// top removed, every line end made CRLF (bare LF and bare CR alike).
func normalize(m *ownMessage) {
	data := m.raw
	if rest, ok := bytes.CutPrefix(data, []byte("\xef\xbb\xbf")); ok {
		data, m.bom = rest, true
	}
	for bytes.HasPrefix(data, []byte("From ")) || bytes.HasPrefix(data, []byte(">From ")) {
		i := bytes.IndexAny(data, "\r\n")
		line := data
		if i >= 0 {
			line = data[:i]
		}
		if _, field := isFieldLine(string(line)); field {
			break // "From : a@b" is the From field (white space before the colon), not an envelope line
		}
		if i < 0 {
			data = nil
		} else if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			data = data[i+2:]
		} else {
			data = data[i+1:]
		}
		m.strayEnvelope = true
	}
	out := make([]byte, 0, len(data)+len(data)/30)
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			} else {
				m.needsCRLF = true
			}
		case '\n':
			out = append(out, '\r', '\n')
			m.needsCRLF = true
		default:
			out = append(out, c)
		}
	}
	m.norm = out
}

// headerField is one unfolded header field.
type headerField struct{ name, value string }

// isFieldLine reports whether a line (without its CRLF) is a header field:
// a name of printable US-ASCII other than ':' (RFC 822 §3.1.2), optionally
// followed by spaces or tabs (obsolete syntax), then ':'.
func isFieldLine(line string) (string, bool) {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 {
		return "", false
	}
	name := strings.TrimRight(line[:colon], " \t")
	if name == "" {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 {
			return "", false
		}
	}
	return name, true
}

// readHeader reads the header section of a CRLF message: up to the first
// empty line; a line starting with a space or tab continues the field
// before it; a line that is neither is passed over, as mail readers do.
// present is false when the first line is not a field.
func readHeader(msg []byte) (fields []headerField, present bool, bodyStart int) {
	pos := 0
	first := true
	cont := false // the previous line was a field (continuations apply)
	for pos < len(msg) {
		end := bytes.Index(msg[pos:], []byte("\r\n"))
		next := pos + end + 2
		if end < 0 {
			end, next = len(msg)-pos, len(msg)
		}
		line := string(msg[pos : pos+end])
		pos = next
		if line == "" {
			return fields, present, pos
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cont && len(fields) > 0 {
				f := &fields[len(fields)-1]
				if t := strings.TrimSpace(line); t != "" {
					f.value = strings.TrimSpace(f.value + " " + t)
				}
			}
			first = false
			continue
		}
		name, ok := isFieldLine(line)
		if first {
			if !ok {
				return nil, false, 0
			}
			present = true
			first = false
		}
		cont = ok
		if ok {
			fields = append(fields, headerField{name: name, value: strings.TrimSpace(line[strings.IndexByte(line, ':')+1:])})
		}
	}
	return fields, present, len(msg)
}

// googleVerdict applies the rules Google documents for archive.insert
// (google-apis.md §3: INVALID MESSAGE FAILURE for a missing From, To or
// Date, an empty message; RFC 822 format; 25 MiB) to a normalized message.
// CRLF line ends are a requirement the migration meets by normalizing.
func googleVerdict(norm []byte) (bool, string) {
	if len(bytes.TrimSpace(norm)) == 0 {
		return false, "empty message"
	}
	if len(norm) > googleMaxSize {
		return false, "over 25 MiB"
	}
	fields, present, _ := readHeader(norm)
	if !present {
		return false, "no header section (the first line is not a header field)"
	}
	for _, want := range []string{"From", "To", "Date"} {
		found, filled := false, false
		for _, f := range fields {
			if strings.EqualFold(f.name, want) {
				found = true
				if strings.TrimSpace(f.value) != "" {
					filled = true
				}
			}
		}
		switch {
		case !found:
			return false, want + " missing"
		case !filled:
			return false, want + " blank"
		}
	}
	return true, ""
}

// identity returns a message's Message-ID and a key made of it and a
// SHA-256 of its body (everything after the header section).
func identity(norm []byte) (msgID, key string) {
	fields, _, body := readHeader(norm)
	for _, f := range fields {
		if strings.EqualFold(f.name, "Message-ID") {
			msgID = f.value
			break
		}
	}
	sum := sha256.Sum256(norm[body:])
	return msgID, msgID + " " + hex.EncodeToString(sum[:8])
}

// analyse fills in normalization, verdict and identity.
func analyse(m *ownMessage) {
	normalize(m)
	m.accepted, m.refusal = googleVerdict(m.norm)
	m.msgID, m.key = identity(m.norm)
}
