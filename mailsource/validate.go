package mailsource

import (
	"bytes"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
)

// Problem is a reason the Groups Migration API would refuse a message.
type Problem struct {
	// Field is what the problem is about: "From", "To" (standing for the
	// recipient headers To, Cc and Bcc together, or "Cc"/"Bcc" when that
	// header is malformed), "Date", "size", "body" (empty message, line
	// ends) or "header" (the header block itself).
	Field string
	// Reason explains the problem in a few words.
	Reason string
}

// Error implements error.
func (p *Problem) Error() string {
	return "mailsource: invalid message: " + p.Field + ": " + p.Reason
}

// Validate checks data against what the Groups Migration API requires and
// returns the first problem found as a *Problem, or nil. Checks run in this
// order, the first failure winning:
//
//  1. "body": the message is not empty;
//  2. "size": len(data) ≤ maxSize (zero or negative means DefaultMaxSize),
//     headers included;
//  3. "body": every line ends with CRLF — a bare LF or CR is refused, so
//     call NormalizeCRLF first (and validate its result, which may be
//     larger);
//  4. "header": the header block (up to the first empty line) is made of
//     well-formed fields;
//  5. "From": present, with a parseable address;
//  6. "To": at least one of To, Cc, Bcc is present and not empty, and each
//     one present parses (group syntax such as "undisclosed-recipients:;"
//     is accepted);
//  7. "Date": present and parseable by ParseDate.
//
// Non-ASCII headers are accepted, both RFC 2047 encoded words and raw
// UTF-8 (RFC 6532), as are addresses a strict parser rejects but that
// contain a clear addr-spec, such as `Doe, John <jd@example.com>`.
// Use Problems to get every problem at once.
func Validate(data []byte, maxSize int64) error {
	if ps := problems(data, maxSize, true); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// Problems returns every problem Validate would find, in the same order,
// or nil when data is acceptable. After an empty message or a malformed
// header block no further checks are made.
func Problems(data []byte, maxSize int64) []*Problem {
	return problems(data, maxSize, false)
}

func problems(data []byte, maxSize int64, first bool) []*Problem {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	var ps []*Problem
	add := func(p *Problem) bool {
		ps = append(ps, p)
		return first
	}
	if len(bytes.TrimSpace(data)) == 0 {
		add(&Problem{Field: "body", Reason: "empty message"})
		return ps
	}
	if int64(len(data)) > maxSize {
		if add(&Problem{Field: "size", Reason: fmt.Sprintf("%d bytes, more than the limit of %d", len(data), maxSize)}) {
			return ps
		}
	}
	if p := checkCRLF(data); p != nil && add(p) {
		return ps
	}

	var from, date string
	var haveFrom, haveDate bool
	type rcpt struct{ name, value string }
	var rcpts []rcpt
	hp := scanHeader(data, func(f headerField) bool {
		switch strings.ToLower(f.name) {
		case "from":
			if !haveFrom {
				from, haveFrom = f.value, true
			}
		case "date":
			if !haveDate {
				date, haveDate = f.value, true
			}
		case "to", "cc", "bcc":
			rcpts = append(rcpts, rcpt{canonical(f.name), f.value})
		}
		return true
	})
	if hp != nil {
		add(hp)
		return ps
	}

	switch {
	case !haveFrom:
		if add(&Problem{Field: "From", Reason: "missing"}) {
			return ps
		}
	case from == "":
		if add(&Problem{Field: "From", Reason: "empty"}) {
			return ps
		}
	default:
		if reason := checkAddresses(from, false); reason != "" {
			if add(&Problem{Field: "From", Reason: reason}) {
				return ps
			}
		}
	}

	nonEmpty := false
	var rp *Problem
	for _, r := range rcpts {
		if r.value == "" {
			continue
		}
		nonEmpty = true
		if reason := checkAddresses(r.value, true); reason != "" && rp == nil {
			rp = &Problem{Field: r.name, Reason: reason}
		}
	}
	switch {
	case len(rcpts) == 0:
		rp = &Problem{Field: "To", Reason: "no recipient header (To, Cc or Bcc)"}
	case !nonEmpty:
		rp = &Problem{Field: "To", Reason: "recipient headers are empty"}
	}
	if rp != nil && add(rp) {
		return ps
	}

	switch {
	case !haveDate:
		add(&Problem{Field: "Date", Reason: "missing"})
	case date == "":
		add(&Problem{Field: "Date", Reason: "empty"})
	default:
		if _, err := ParseDate(date); err != nil {
			add(&Problem{Field: "Date", Reason: fmt.Sprintf("%s: %q", err, truncate(date, 80))})
		}
	}
	return ps
}

func canonical(name string) string {
	switch strings.ToLower(name) {
	case "to":
		return "To"
	case "cc":
		return "Cc"
	case "bcc":
		return "Bcc"
	}
	return name
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkCRLF returns a problem for the first bare LF or CR in data.
func checkCRLF(data []byte) *Problem {
	line := 1
	for i := 0; i < len(data); {
		j := bytes.IndexAny(data[i:], "\r\n")
		if j < 0 {
			return nil
		}
		i += j
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i += 2
			line++
			continue
		}
		what := "LF"
		if data[i] == '\r' {
			what = "CR"
		}
		return &Problem{Field: "body", Reason: fmt.Sprintf("line %d ends with a bare %s, not CRLF (use NormalizeCRLF)", line, what)}
	}
	return nil
}

var (
	angleAddr = regexp.MustCompile(`<\s*([^<>\s@]+@[^<>\s@]+)\s*>`)
	bareAddr  = regexp.MustCompile(`(?:^|[\s,;:])([^<>\s@,;:"()]+@[^<>\s@,;:"()]+\.?[^<>\s@,;:"()]*)`)
	groupOnly = regexp.MustCompile(`^[^:<>@"]*:[^;]*;$`)
)

// checkAddresses returns "" when v holds at least one usable address (or,
// for recipients, a group such as "undisclosed-recipients:;"), else a
// reason.
func checkAddresses(v string, recipients bool) string {
	list, err := mail.ParseAddressList(v)
	if err == nil {
		if len(list) > 0 {
			return ""
		}
		if recipients {
			return "" // a group with no members
		}
		return "no address"
	}
	// Real mail is sloppier than RFC 5322: an unquoted comma or dot in a
	// display name, raw 8-bit bytes that are not UTF-8, and so on. An
	// unambiguous addr-spec in angle brackets, or a bare one, will do.
	if m := angleAddr.FindStringSubmatch(v); m != nil && plausibleAddr(m[1]) {
		return ""
	}
	if m := bareAddr.FindStringSubmatch(v); m != nil && plausibleAddr(m[1]) {
		return ""
	}
	if recipients && groupOnly.MatchString(strings.TrimSpace(v)) {
		return ""
	}
	return "no parseable address in " + fmt.Sprintf("%q", truncate(v, 80))
}

func plausibleAddr(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1
}
