package workspacetest

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MIME parsing for Gmail's message resource: the payload tree with part
// ids, headers in their original order, decoded bodies and the snippet.

// gmailHeader is one header of a message part.
type gmailHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// gmailPart is a parsed MIME part.
type gmailPart struct {
	partID   string
	mimeType string
	filename string
	headers  []gmailHeader
	data     []byte // decoded body of a leaf part
	parts    []*gmailPart
}

// gmailParsed is what Gmail reads out of a raw message.
type gmailParsed struct {
	root      *gmailPart
	subject   string
	from      string
	to        string // To and Cc
	bcc       string
	messageID string
	refs      []string // In-Reply-To and References ids
	snippet   string
	text      string // lower-cased searchable text
	hasAttach bool
	date      time.Time
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}

// parseGmailMessage parses raw leniently: whatever cannot be read becomes
// a text/plain body.
func parseGmailMessage(raw []byte) *gmailParsed {
	root := parseGmailPart(raw, "")
	p := &gmailParsed{root: root}
	get := func(name string) string { return headerValue(root.headers, name) }
	p.subject = get("Subject")
	p.from = get("From")
	p.to = strings.TrimPrefix(get("To")+", "+get("Cc"), ", ")
	p.bcc = get("Bcc")
	p.messageID = strings.TrimSpace(get("Message-Id"))
	p.refs = msgIDList(get("References") + " " + get("In-Reply-To"))
	if d, err := mail.ParseDate(get("Date")); err == nil {
		p.date = d
	}
	var text, htmlText string
	var walk func(*gmailPart)
	walk = func(pt *gmailPart) {
		if pt.filename != "" {
			p.hasAttach = true
			return
		}
		switch {
		case len(pt.parts) > 0:
			for _, c := range pt.parts {
				walk(c)
			}
		case pt.mimeType == "text/plain" && text == "":
			text = string(pt.data)
		case pt.mimeType == "text/html" && htmlText == "":
			htmlText = string(pt.data)
		}
	}
	walk(root)
	if text == "" && htmlText != "" {
		text = html.UnescapeString(tagRE.ReplaceAllString(htmlText, " "))
	}
	p.snippet = snippetOf(text)
	p.text = strings.ToLower(strings.Join([]string{p.subject, p.from, p.to, p.bcc, text}, "\n"))
	return p
}

var (
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	msgIDRE = regexp.MustCompile(`<[^<>\s]+>`)
)

// msgIDList extracts <...> message ids.
func msgIDList(s string) []string { return msgIDRE.FindAllString(s, -1) }

// snippetOf collapses white space, cuts to about 200 characters and
// escapes HTML, as Gmail's snippet.
func snippetOf(text string) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) > 200 {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:200]))
	}
	return html.EscapeString(s)
}

// headerValue returns the first header called name, ignoring case.
func headerValue(hs []gmailHeader, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// splitHeader cuts a part into its header block and body.
func splitHeader(raw []byte) (hdr, body []byte) {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return raw, nil
		}
		line := bytes.TrimRight(raw[i:i+j], "\r")
		if len(line) == 0 {
			return raw[:i], raw[i+j+1:]
		}
		i += j + 1
	}
	return raw, nil
}

// parseHeaders reads header lines in order, unfolding continuations and
// decoding RFC 2047 words.
func parseHeaders(hdr []byte) []gmailHeader {
	var out []gmailHeader
	for _, line := range strings.Split(strings.ReplaceAll(string(hdr), "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(name, " \t") {
			continue
		}
		out = append(out, gmailHeader{Name: name, Value: strings.TrimSpace(value)})
	}
	for i := range out {
		if d, err := wordDecoder.DecodeHeader(out[i].Value); err == nil {
			out[i].Value = d
		}
	}
	return out
}

// parseGmailPart parses one MIME entity; id is its Gmail partId.
func parseGmailPart(raw []byte, id string) *gmailPart {
	hdr, body := splitHeader(raw)
	p := &gmailPart{partID: id, headers: parseHeaders(hdr), mimeType: "text/plain"}
	ct := headerValue(p.headers, "Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct != "" && err == nil {
		p.mimeType = mt
	}
	if cd := headerValue(p.headers, "Content-Disposition"); cd != "" {
		if _, dp, err := mime.ParseMediaType(cd); err == nil {
			p.filename = dp["filename"]
		}
	}
	if p.filename == "" && params["name"] != "" {
		p.filename = params["name"]
	}
	if strings.HasPrefix(p.mimeType, "multipart/") && params["boundary"] != "" {
		for i, sub := range splitMultipart(body, params["boundary"]) {
			cid := strconv.Itoa(i)
			if id != "" {
				cid = id + "." + cid
			}
			p.parts = append(p.parts, parseGmailPart(sub, cid))
		}
		return p
	}
	p.data = decodeTransfer(body, headerValue(p.headers, "Content-Transfer-Encoding"))
	return p
}

// decodeTransfer undoes a Content-Transfer-Encoding, leniently.
func decodeTransfer(body []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, body)
		if d, err := base64.StdEncoding.DecodeString(string(clean)); err == nil {
			return d
		}
		if d, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(string(clean), "=")); err == nil {
			return d
		}
	case "quoted-printable":
		if d, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body))); err == nil {
			return d
		}
	}
	return body
}

// splitMultipart cuts a multipart body into its parts, without the
// preamble and epilogue. An unterminated last part is kept.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1
	for pos := 0; pos < len(body); {
		end := bytes.IndexByte(body[pos:], '\n')
		next := len(body)
		if end >= 0 {
			next = pos + end + 1
		}
		line := bytes.TrimRight(body[pos:next], " \t\r\n")
		if bytes.HasPrefix(line, delim) {
			rest := line[len(delim):]
			if start >= 0 {
				part := body[start:pos]
				part = bytes.TrimSuffix(part, []byte("\n"))
				part = bytes.TrimSuffix(part, []byte("\r"))
				parts = append(parts, part)
			}
			if bytes.HasPrefix(rest, []byte("--")) {
				return parts
			}
			start = next
		}
		pos = next
	}
	if start >= 0 && start < len(body) {
		parts = append(parts, body[start:])
	}
	return parts
}

// findPart returns the part with the given id.
func (p *gmailPart) findPart(id string) *gmailPart {
	if p.partID == id {
		return p
	}
	for _, c := range p.parts {
		if f := c.findPart(id); f != nil {
			return f
		}
	}
	return nil
}
