package migrate

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/mailsource"
)

// Policy decides how much a message is checked and changed before it is
// sent.
type Policy int

const (
	// Standard, the default, refuses locally only what Google's documents
	// certainly refuse: an empty message, one over the size limit, one
	// with no header section, and one whose From, To or Date header is
	// missing or blank. Everything else is sent, and Google's answer is
	// the final word. Mechanical repairs that change no meaning are
	// always made and listed: line endings to CRLF, a stray envelope line
	// removed, mbox quoting undone, a byte order mark dropped.
	Standard Policy = iota
	// Strict adds the deep checks of mailsource.Validate (parseable
	// addresses and date, well-formed header lines), for those who would
	// rather spend no request on a doubtful message. Messages Google might
	// have accepted are then refused locally.
	Strict
	// Repair is Standard plus two repairs that add a header: a missing or
	// blank Date is filled from the mbox envelope line or, failing that,
	// the newest Received header; a missing or blank To is set to the
	// target's address. Each is listed in the message's Item.Repairs.
	Repair
)

// String returns "standard", "strict" or "repair".
func (p Policy) String() string {
	switch p {
	case Standard:
		return "standard"
	case Strict:
		return "strict"
	case Repair:
		return "repair"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy returns the Policy named s ("" means Standard).
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(s) {
	case "", "standard":
		return Standard, nil
	case "strict":
		return Strict, nil
	case "repair":
		return Repair, nil
	}
	return 0, fmt.Errorf("migrate: unknown policy %q (want standard, strict or repair)", s)
}

// Repairs, as listed in Item.Repairs and Report.RepairCounts.
const (
	RepairCRLF         = "line endings converted to CRLF"
	RepairEnvelopeLine = "envelope line removed"
	RepairDateEnvelope = "Date added from the envelope line"
	RepairDateReceived = "Date added from the newest Received header"
	RepairToTarget     = "To set to the target address"
)

const (
	// refusalOp is the Op of local refusals.
	refusalOp = "migrate"
	// maxEnvelopeRemovals bounds the stray envelope lines removed from
	// the top of one message.
	maxEnvelopeRemovals = 3
)

// Prepare applies policy to one raw message for target, as Run does before
// sending: it returns the message to send (CRLF line ends; it may share
// memory with raw) and the repairs made, or an *workspace.InputError
// saying why the message is refused locally. maxSize is the sink's limit.
func Prepare(raw []byte, target string, maxSize int64, policy Policy) ([]byte, []string, error) {
	p := prepare(&mailsource.Message{Data: raw, Size: int64(len(raw))}, target, maxSize, policy)
	if p.refusal != nil {
		return nil, nil, p.refusal
	}
	return p.data, p.repairs, nil
}

// prepared is a message ready to send, or the reason it is refused.
type prepared struct {
	data    []byte
	repairs []string
	refusal *workspace.InputError
}

func refuse(field, reason string) prepared {
	return prepared{refusal: &workspace.InputError{Op: refusalOp, Field: field, Reason: reason}}
}

// prepare applies the policy to msg for target. The returned data may
// alias msg.Data.
func prepare(msg *mailsource.Message, target string, maxSize int64, policy Policy) prepared {
	var repairs []string
	repairs = append(repairs, msg.Fixes.Strings()...)
	data := msg.Data
	if len(bytes.TrimSpace(data)) == 0 {
		return refuse("message", "the message is empty")
	}
	for n := 0; n < maxEnvelopeRemovals && isEnvelopeLine(data); n++ {
		data = data[lineEnd(data):]
		if n == 0 && !slices.Contains(repairs, RepairEnvelopeLine) {
			repairs = append(repairs, RepairEnvelopeLine)
		}
	}
	norm := mailsource.NormalizeCRLF(data)
	if len(norm) != len(data) {
		repairs = append(repairs, RepairCRLF)
	}
	if int64(len(norm)) > maxSize {
		return refuse("size", fmt.Sprintf("%d bytes with CRLF line endings, over the %d-byte limit", len(norm), maxSize))
	}
	h := scanFields(norm)
	if !h.present {
		return refuse("header", "the message does not start with a header section (no \"Name: value\" field on its first line)")
	}
	if policy == Repair {
		var added []string
		norm, h, added = repairHeader(msg.Envelope, norm, h, target)
		if len(added) > 0 {
			repairs = append(repairs, added...)
			if int64(len(norm)) > maxSize {
				return refuse("size", fmt.Sprintf("%d bytes after repairs, over the %d-byte limit", len(norm), maxSize))
			}
		}
	}
	if p := checkRequired(h); p.refusal != nil {
		return p
	}
	if policy == Strict {
		if p := strictCheck(norm, maxSize); p.refusal != nil {
			return p
		}
	}
	return prepared{data: norm, repairs: repairs}
}

// repairHeader makes the Repair policy's repairs of norm, whose header is
// h: a missing or blank Date and To are added at the top. It returns the
// message, its header and the repairs made (none: norm and h as given).
func repairHeader(envelope string, norm []byte, h header, target string) ([]byte, header, []string) {
	var add, drop, repairs []string
	if h.blank("Date") {
		if d, how := fillDate(envelope, h); d != "" {
			add = append(add, "Date: "+d)
			drop = append(drop, "date")
			repairs = append(repairs, how)
		}
	}
	if h.blank("To") && target != "" {
		add = append(add, "To: "+target)
		drop = append(drop, "to")
		repairs = append(repairs, RepairToTarget)
	}
	if len(add) == 0 {
		return norm, h, nil
	}
	norm = rewriteHeader(norm, h, add, drop)
	return norm, scanFields(norm), repairs
}

// checkRequired refuses a message whose From, To or Date is missing or
// blank.
func checkRequired(h header) prepared {
	for _, f := range []string{"From", "To", "Date"} {
		if h.blank(f) {
			what := "missing"
			if _, ok := h.get(f); ok {
				what = "blank"
			}
			return refuse(f, fmt.Sprintf("the %s header is %s; Google refuses messages without From, To and Date", f, what))
		}
	}
	return prepared{}
}

// strictCheck refuses what mailsource.Validate finds wrong with norm (CRLF
// line ends): it looks at the header section only.
func strictCheck(norm []byte, maxSize int64) prepared {
	if err := mailsource.Validate(norm, maxSize); err != nil {
		if p, ok := err.(*mailsource.Problem); ok {
			return refuse(p.Field, p.Reason)
		}
		return refuse("message", err.Error())
	}
	return prepared{}
}

// isEnvelopeLine reports whether data starts with an mbox envelope line
// ("From " or ">From "), which is never a header field.
func isEnvelopeLine(data []byte) bool {
	rest, ok := bytes.CutPrefix(data, []byte("From "))
	if !ok {
		rest, ok = bytes.CutPrefix(data, []byte(">From "))
	}
	// "From : a@b" is a From field written the RFC 822 way.
	return ok && !bytes.HasPrefix(bytes.TrimLeft(rest, " \t"), []byte(":"))
}

func lineEnd(data []byte) int {
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		return len(data)
	}
	if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
		return i + 2
	}
	return i + 1
}

// field is one header field: its name, unfolded value and byte range.
type field struct {
	name, value string
	start, end  int
}

// header is a lenient reading of a message's header section: lines that
// are not fields are passed over, as mail readers do.
type header struct {
	present bool
	fields  []field
	end     int // offset of the first body byte (after the blank line)
}

func (h header) get(name string) (string, bool) {
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			return f.value, true
		}
	}
	return "", false
}

// blank reports a field that is missing or has only white space; a
// repeated field counts when any copy has a value.
func (h header) blank(name string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) && strings.TrimSpace(f.value) != "" {
			return false
		}
	}
	return true
}

func isFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// scanFields reads the header section of data (CRLF or LF line ends).
func scanFields(data []byte) header {
	var h header
	first := true
	pos := 0
	for pos < len(data) {
		end := lineEnd(data[pos:]) + pos
		line := bytes.TrimRight(data[pos:end], "\r\n")
		switch {
		case len(line) == 0:
			h.end = end
			return h
		case line[0] == ' ' || line[0] == '\t':
			if n := len(h.fields); n > 0 && h.fields[n-1].end == pos {
				f := &h.fields[n-1]
				f.value += " " + string(bytes.TrimSpace(line))
				f.end = end
			}
		default:
			// White space before the colon is RFC 822's syntax (RFC 5322's
			// obsolete form, which receivers accept).
			colon := bytes.IndexByte(line, ':')
			if name := bytes.TrimRight(line[:max(colon, 0)], " \t"); colon > 0 && isFieldName(name) {
				h.fields = append(h.fields, field{name: string(name),
					value: strings.TrimSpace(string(line[colon+1:])), start: pos, end: end})
				if first {
					h.present = true
				}
			}
		}
		if first && !h.present {
			return h
		}
		first = false
		pos = end
	}
	h.end = len(data)
	return h
}

// rewriteHeader puts add (CRLF-terminated by it) at the top of the header
// and drops the fields named in drop (lower case), which are blank.
func rewriteHeader(data []byte, h header, add []string, drop []string) []byte {
	out := make([]byte, 0, len(data)+64*len(add))
	for _, a := range add {
		out = append(out, a...)
		out = append(out, '\r', '\n')
	}
	pos := 0
	for _, f := range h.fields {
		for _, d := range drop {
			if strings.EqualFold(f.name, d) {
				out = append(out, data[pos:f.start]...)
				pos = f.end
			}
		}
	}
	return append(out, data[pos:]...)
}

// fillDate finds a date for a message that has none: the envelope line's,
// else the newest (topmost) Received header's.
func fillDate(envelope string, h header) (string, string) {
	if t, ok := envelopeDate(envelope); ok {
		return t, RepairDateEnvelope
	}
	if v, ok := h.get("Received"); ok {
		if i := strings.LastIndexByte(v, ';'); i >= 0 {
			if t, err := mailsource.ParseDate(strings.TrimSpace(v[i+1:])); err == nil {
				return t.Format(time.RFC1123Z), RepairDateReceived
			}
		}
	}
	return "", ""
}

// envelopeDate parses the date of an envelope line ("sender date"), as
// ctime(3) writes it, with or without a zone. Without one the zone is
// unknown, written -0000 as RFC 5322 says.
func envelopeDate(envelope string) (string, bool) {
	f := strings.Fields(envelope)
	if len(f) < 2 {
		return "", false
	}
	s := strings.Join(f[1:], " ")
	for _, layout := range []string{
		"Mon Jan 2 15:04:05 2006", "Mon Jan 2 15:04:05 MST 2006", "Mon Jan 2 15:04:05 -0700 2006",
		"Mon Jan 2 15:04 2006", "Mon Jan 2 15:04:05 2006 -0700",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			if strings.Count(layout, "MST")+strings.Count(layout, "-0700") == 0 {
				return t.Format("Mon, 02 Jan 2006 15:04:05") + " -0000", true
			}
			return t.Format(time.RFC1123Z), true
		}
	}
	return "", false
}
