package mailgen

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Structure says how a generated message's body is built.
type Structure int

const (
	// Plain is a single text/plain part.
	Plain Structure = iota
	// Alternative is multipart/alternative with text/plain and text/html.
	Alternative
	// Mixed is multipart/mixed with a text part and base64 attachments.
	Mixed
)

// String returns "plain", "alternative" or "mixed".
func (s Structure) String() string {
	return [...]string{"plain", "alternative", "mixed"}[s]
}

// Mail is a generated message with facts about it that tests can check.
type Mail struct {
	// Data is the message, CRLF line ends.
	Data []byte
	// MessageID is the Message-ID without angle brackets.
	MessageID string
	// Structure is the body's MIME structure.
	Structure Structure
	// Reply is true when the message has In-Reply-To and References.
	Reply bool
	// List is true for a mailing-list message (List-Id and friends).
	List bool
	// EncodedWords is true when a header holds RFC 2047 encoded words.
	EncodedWords bool
	// RawUTF8 is true when a header holds raw (unencoded) UTF-8.
	RawUTF8 bool
	// FromLines is the number of body lines (in any part, the HTML
	// alternative included) beginning with "From ".
	FromLines int
	// QuotedFromLines is the number of body lines beginning with ">From ".
	QuotedFromLines int
}

// rng is a small deterministic generator (SplitMix64), so that output does
// not depend on the standard library's random number algorithms.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n).
func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int(r.next() % uint64(n))
}

// chance returns true with probability pct/100.
func (r *rng) chance(pct int) bool { return r.intn(100) < pct }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

type threadRef struct {
	id, subject, refs string
	from              person
	date              time.Time
	body              string
}

// Generator produces an endless deterministic stream of realistic
// messages. The same seed gives the same messages, byte for byte.
type Generator struct {
	r      rng
	seed   int64
	n      int
	now    time.Time
	recent []threadRef // bounded, for threads
}

// New returns a Generator for seed.
func New(seed int64) *Generator {
	return &Generator{
		r:    rng{s: uint64(seed)*0x2545f4914f6cdd1d + 1},
		seed: seed,
		now:  time.Date(2004, 3, 1, 8, 0, 0, 0, time.UTC),
	}
}

// Messages returns the first n messages of New(seed), each with CRLF line
// ends and a unique Message-ID.
func Messages(seed int64, n int) [][]byte {
	g := New(seed)
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next().Data
	}
	return out
}

// Next returns the next message.
func (g *Generator) Next() *Mail {
	r := &g.r
	g.n++
	g.now = g.now.Add(time.Duration(1+r.intn(36*3600)) * time.Second)
	m := &Mail{}

	var parent *threadRef
	if len(g.recent) > 0 && r.chance(40) {
		p := g.recent[r.intn(len(g.recent))]
		parent = &p
		m.Reply = true
	}
	from := pick(r, people)
	if parent != nil && from.addr == parent.from.addr {
		from = people[(r.intn(len(people)-1)+1+indexOf(parent.from))%len(people)]
	}
	subject := pick(r, subjects)
	if parent != nil {
		subject = parent.subject
		if !strings.HasPrefix(subject, "Re: ") {
			subject = "Re: " + subject
		}
	}
	zone := pick(r, zones)
	date := g.now.In(time.FixedZone(zone.name, zone.offset))
	id := fmt.Sprintf("%d.%d.%x@%s", g.now.Unix(), g.n, r.next()&0xffffffff, domainOf(from.addr))
	m.MessageID = id

	rawUTF8 := r.chance(12) // some clients send unencoded UTF-8 headers
	var h strings.Builder
	hdr := func(name, value string) {
		h.WriteString(name)
		h.WriteString(": ")
		h.WriteString(value)
		h.WriteString("\r\n")
	}
	encode := func(s string) string {
		if isASCII(s) {
			return s
		}
		if rawUTF8 {
			m.RawUTF8 = true
			return s
		}
		m.EncodedWords = true
		if r.chance(50) {
			return mime.BEncoding.Encode("UTF-8", s)
		}
		return mime.QEncoding.Encode("UTF-8", s)
	}
	addr := func(p person) string {
		if p.name == "" {
			return p.addr
		}
		if isASCII(p.name) {
			return (&mail.Address{Name: p.name, Address: p.addr}).String()
		}
		if rawUTF8 {
			m.RawUTF8 = true
			return fmt.Sprintf("\"%s\" <%s>", p.name, p.addr)
		}
		m.EncodedWords = true
		return fmt.Sprintf("%s <%s>", encode(p.name), p.addr)
	}

	hdr("Return-Path", "<"+from.addr+">")
	for i := 0; i < 1+r.intn(3); i++ {
		hop := date.Add(-time.Duration(i*7+r.intn(5)) * time.Second)
		hdr("Received", fmt.Sprintf("from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n\tby mail.example.net with ESMTPS id %x;\r\n\t%s",
			i+1, domainOf(from.addr), i+1, domainOf(from.addr), 1+r.intn(250), r.next()&0xffffffffff, hop.Format(time.RFC1123Z)))
	}
	hdr("From", addr(from))

	var lst *list
	switch k := r.intn(100); {
	case k < 55:
		l := pick(r, lists)
		lst = &l
		m.List = true
		hdr("To", addr(person{l.name, l.addr}))
	case k < 58:
		hdr("To", "undisclosed-recipients:;")
		hdr("Bcc", pick(r, people).addr)
	default:
		n := 1 + r.intn(3)
		var to []string
		for i := 0; i < n; i++ {
			to = append(to, addr(pick(r, people)))
		}
		hdr("To", strings.Join(to, ",\r\n "))
		if r.chance(25) {
			hdr("Cc", addr(pick(r, people)))
		}
	}
	hdr("Subject", encode(subject))
	dateStr := date.Format("Mon, 2 Jan 2006 15:04:05 -0700")
	switch k := r.intn(100); {
	case k < 6:
		dateStr += " (" + zone.name + ")"
	case k < 9:
		dateStr = date.Format("2 Jan 2006 15:04:05 -0700") // no day of week
	case k < 11 && zone.name != "JST" && zone.name != "IST" && zone.name != "CET" && zone.name != "CEST" && zone.name != "CST":
		dateStr = date.Format("Mon, 02 Jan 2006 15:04:05 MST") // obsolete zone name
	}
	hdr("Date", dateStr)
	hdr("Message-ID", "<"+id+">")
	if parent != nil {
		hdr("In-Reply-To", "<"+parent.id+">")
		hdr("References", strings.Join(threadRefs(parent), "\r\n "))
	}
	if lst != nil {
		hdr("List-Id", fmt.Sprintf("%s <%s>", encode(lst.name), lst.id))
		hdr("List-Post", "<mailto:"+lst.addr+">")
		hdr("List-Unsubscribe", fmt.Sprintf("<mailto:%s?subject=unsubscribe>,\r\n <https://lists.example.org/unsubscribe/%s>", lst.addr, lst.id))
		hdr("Precedence", "list")
		hdr("Sender", lst.addr)
	}
	hdr("X-Mailer", pick(r, mailers))
	hdr("MIME-Version", "1.0")

	// Body text.
	var text strings.Builder
	paras := 1 + r.intn(4)
	for i := 0; i < paras; i++ {
		if i > 0 {
			text.WriteString("\n")
		}
		var p []string
		for j := 0; j < 1+r.intn(4); j++ {
			p = append(p, pick(r, sentences))
		}
		text.WriteString(wrap(strings.Join(p, " "), 72))
		if r.chance(8) {
			text.WriteString("\n" + pick(r, fromLines) + "\n")
		}
	}
	if r.chance(3) {
		// A forwarded piece of an mbox, envelope line and all.
		sender := pick(r, people)
		fmt.Fprintf(&text, "\n---------- Forwarded message ----------\n\nFrom %s %s\nSubject: %s\n\n%s\n",
			sender.addr, g.now.AddDate(0, 0, -3).Format(time.ANSIC), "old notes", pick(r, sentences))
	}
	if r.chance(3) {
		text.WriteString("\n>From the archive, quoted by an old mail client:\n>From " + pick(r, people).addr + " wrote that already.\n")
	}
	if parent != nil {
		fmt.Fprintf(&text, "\nOn %s, %s wrote:\n", parent.date.Format("Mon, Jan 2, 2006 at 3:04 PM"), displayName(parent.from))
		for _, l := range strings.Split(strings.TrimRight(parent.body, "\n"), "\n") {
			if l == "" {
				text.WriteString(">\n")
			} else {
				text.WriteString("> " + l + "\n")
			}
		}
	}
	if r.chance(30) {
		text.WriteString("\n-- \n" + displayName(from) + "\n")
	}
	body := text.String()

	switch k := r.intn(100); {
	case k < 60:
		m.Structure = Plain
	case k < 82:
		m.Structure = Alternative
	default:
		m.Structure = Mixed
	}
	var b bytes.Buffer
	boundary := fmt.Sprintf("=_mailgen_%x", r.next()&0xffffffffffff)
	switch m.Structure {
	case Plain:
		writeTextPart(&b, body, func(s string) { h.WriteString(s) }, r)
	case Alternative:
		hdr("Content-Type", fmt.Sprintf("multipart/alternative;\r\n boundary=\"%s\"", boundary))
		b.WriteString("This is a multi-part message in MIME format.\r\n")
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeTextPart(&b, body, func(s string) { b.WriteString(s) }, r)
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeHTMLPart(&b, body)
		b.WriteString("\r\n--" + boundary + "--\r\n")
	case Mixed:
		hdr("Content-Type", fmt.Sprintf("multipart/mixed; boundary=\"%s\"", boundary))
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeTextPart(&b, body, func(s string) { b.WriteString(s) }, r)
		for i := 0; i < 1+r.intn(2); i++ {
			at := pick(r, attachmentTypes)
			b.WriteString("\r\n--" + boundary + "\r\n")
			writeAttachment(&b, at.ctype, at.name, 300+r.intn(4500), r)
		}
		b.WriteString("\r\n--" + boundary + "--\r\n")
	}

	h.WriteString("\r\n")
	h.Write(b.Bytes())
	m.Data = []byte(h.String())
	m.FromLines, m.QuotedFromLines = countFromLines(m.Data)

	g.recent = append(g.recent, threadRef{id: id, subject: subject, from: from, date: date, body: firstLines(body, 6),
		refs: strings.Join(threadRefs(parent), " ")})
	if len(g.recent) > 200 {
		g.recent = g.recent[1:]
	}
	return m
}

func threadRefs(parent *threadRef) []string {
	if parent == nil {
		return nil
	}
	refs := append(strings.Fields(parent.refs), "<"+parent.id+">")
	if len(refs) > 8 {
		refs = append(refs[:1], refs[len(refs)-7:]...)
	}
	return refs
}

// writeTextPart writes the text/plain headers through hdr (the message
// header for a single-part message, the part header otherwise) and the
// encoded body into b.
func writeTextPart(b *bytes.Buffer, body string, hdr func(string), r *rng) {
	if isASCII(body) {
		hdr("Content-Type: text/plain; charset=us-ascii\r\n")
		hdr("Content-Transfer-Encoding: 7bit\r\n")
		finishPartHeader(b, hdr)
		b.WriteString(crlf(body))
		return
	}
	if r.chance(50) {
		hdr("Content-Type: text/plain; charset=UTF-8\r\n")
		hdr("Content-Transfer-Encoding: 8bit\r\n")
		finishPartHeader(b, hdr)
		b.WriteString(crlf(body))
		return
	}
	hdr("Content-Type: text/plain; charset=UTF-8\r\n")
	hdr("Content-Transfer-Encoding: quoted-printable\r\n")
	finishPartHeader(b, hdr)
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(crlf(body)))
	qp.Close()
}

// finishPartHeader ends a part header with an empty line when the header
// was written into b (a MIME part: b already holds the boundary line), and
// does nothing for the message header (the caller adds the empty line).
func finishPartHeader(b *bytes.Buffer, _ func(string)) {
	if b.Len() > 0 {
		b.WriteString("\r\n")
	}
}

func writeHTMLPart(b *bytes.Buffer, body string) {
	b.WriteString("Content-Type: text/html; charset=UTF-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	var s strings.Builder
	s.WriteString("<html><body>\n")
	for _, p := range strings.Split(body, "\n\n") {
		s.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(p), "\n", "<br>\n") + "</p>\n")
	}
	s.WriteString("</body></html>\n")
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(crlf(s.String())))
	qp.Close()
}

func writeAttachment(b *bytes.Buffer, ctype, name string, size int, r *rng) {
	if isASCII(name) {
		fmt.Fprintf(b, "Content-Type: %s; name=\"%s\"\r\n", ctype, name)
		fmt.Fprintf(b, "Content-Disposition: attachment; filename=\"%s\"\r\n", name)
	} else {
		fmt.Fprintf(b, "Content-Type: %s;\r\n name=\"%s\"\r\n", ctype, mime.BEncoding.Encode("UTF-8", name))
		fmt.Fprintf(b, "Content-Disposition: attachment;\r\n filename*=UTF-8''%s\r\n", pctEncode(name))
	}
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, size)
	for i := 0; i < len(raw); i += 8 {
		v := r.next()
		for j := 0; j < 8 && i+j < len(raw); j++ {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
}

func pctEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

func displayName(p person) string {
	if p.name == "" {
		return p.addr
	}
	return p.name
}

func indexOf(p person) int {
	for i, q := range people {
		if q.addr == p.addr {
			return i
		}
	}
	return 0
}

// wrap breaks s into lines of at most width bytes where it can, each
// ending with "\n". Text without spaces (Japanese) is broken by rune count.
func wrap(s string, width int) string {
	var out strings.Builder
	line := 0
	for _, w := range strings.Fields(s) {
		for utf8.RuneCountInString(w) > width {
			rs := []rune(w)
			if line > 0 {
				out.WriteString("\n")
				line = 0
			}
			out.WriteString(string(rs[:width/2]) + "\n")
			w = string(rs[width/2:])
		}
		n := utf8.RuneCountInString(w)
		if line > 0 && line+1+n > width {
			out.WriteString("\n")
			line = 0
		}
		if line > 0 {
			out.WriteString(" ")
			line++
		}
		out.WriteString(w)
		line += n
	}
	out.WriteString("\n")
	return out.String()
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// ToLF returns data with CRLF line ends turned into LF, the way Unix mbox
// files usually store messages.
func ToLF(data []byte) []byte {
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}

// countFromLines counts the lines after the header that begin with "From "
// and with ">From ".
func countFromLines(data []byte) (from, quoted int) {
	i := bytes.Index(data, []byte("\r\n\r\n"))
	if i < 0 {
		return 0, 0
	}
	for _, line := range bytes.Split(data[i+4:], []byte("\r\n")) {
		switch {
		case bytes.HasPrefix(line, []byte("From ")):
			from++
		case bytes.HasPrefix(line, []byte(">From ")):
			quoted++
		}
	}
	return from, quoted
}
