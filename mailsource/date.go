package mailsource

import (
	"errors"
	"net/mail"
	"strings"
	"time"
)

// Years outside this range are refused as garbage.
const (
	minYear = 1900
	maxYear = 2200
)

// dateLayouts are tried, in order, after the value has been cleaned up by
// cleanDate (comments and day of week removed, spaces collapsed, zone
// names normalized).
var dateLayouts = []string{
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700 MST",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04 MST",
	"2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04:05 MST",
	"2 Jan 06 15:04 -0700",
	"2 Jan 2006 15:04:05 -07:00",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
	"2 Jan 06 15:04:05",
	"2 January 2006 15:04:05 -0700",
	"2 January 2006 15:04:05 MST",
	"2 January 2006 15:04:05",
	"2-Jan-2006 15:04:05 -0700",
	"2-Jan-2006 15:04:05",
	"Jan 2 15:04:05 2006",
	"Jan 2 15:04:05 MST 2006",
	"Jan 2 15:04:05 -0700 2006",
	"Jan 2 2006 15:04:05 -0700",
	"Jan 2 2006 15:04:05",
	"Jan 2, 2006 15:04:05 -0700",
	"Jan 2, 2006 15:04:05",
	"January 2, 2006 3:04 PM",
	"January 2, 2006 15:04",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
	"2006/01/02 15:04:05",
}

var weekdays = [...]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// ParseDate parses the value of a Date header. It accepts what
// net/mail.ParseDate accepts and, beyond that, real-world variants:
// comments anywhere ("(PST)"), a missing or misspelled day of week,
// single-digit days and hours, missing seconds, two-digit years, full month
// names, obsolete and unknown zone names (UT, EST, CEST, military letters;
// an unknown name is taken as UTC), "GMT+0100", "+01:00", a missing zone
// (UTC), ctime/asctime order ("Mon Jan  2 15:04:05 2006") and ISO 8601.
// Years before 1900 or after 2200 are refused, as is anything without a
// recognisable day, month, year and time of day.
func ParseDate(s string) (time.Time, error) {
	if t, err := mail.ParseDate(s); err == nil {
		if y := t.Year(); y >= minYear && y <= maxYear {
			return t, nil
		}
		return time.Time{}, errors.New("implausible year")
	}
	c := cleanDate(s)
	if c == "" {
		return time.Time{}, errors.New("empty date")
	}
	for _, layout := range dateLayouts {
		t, err := time.Parse(layout, c)
		if err != nil {
			continue
		}
		if y := t.Year(); y < minYear || y > maxYear {
			return time.Time{}, errors.New("implausible year")
		}
		return t, nil
	}
	return time.Time{}, errors.New("unrecognised date")
}

// cleanDate removes comments and a leading or trailing day of week,
// collapses white space and rewrites zone spellings that time.Parse does
// not accept.
func cleanDate(s string) string {
	// Comments, possibly nested.
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			if c == '\t' || c == '\r' || c == '\n' {
				c = ' '
			}
			b.WriteByte(c)
		}
	}
	fields := strings.Fields(b.String())
	// A day of week, with or without a comma, at either end.
	if len(fields) > 0 && isWeekday(fields[0]) {
		fields = fields[1:]
	}
	if len(fields) > 0 && isWeekday(fields[len(fields)-1]) {
		fields = fields[:len(fields)-1]
	}
	if len(fields) > 0 {
		fields[0] = strings.TrimRight(fields[0], ",")
	}
	for i, f := range fields {
		fields[i] = normalizeZone(f, i == len(fields)-1 || i >= 3)
	}
	return strings.Join(fields, " ")
}

func isWeekday(f string) bool {
	f = strings.ToLower(strings.TrimRight(f, ",."))
	if len(f) < 3 {
		return false
	}
	for _, w := range weekdays {
		if strings.HasPrefix(f, w) && (len(f) == 3 || strings.HasSuffix(f, "day") || strings.HasPrefix(f, w+"s")) {
			return true
		}
	}
	return false
}

// normalizeZone rewrites one field if it is a zone spelling time.Parse
// does not understand. zonePos says the field is where a zone may appear.
func normalizeZone(f string, zonePos bool) string {
	if !zonePos {
		return f
	}
	u := strings.ToUpper(f)
	switch {
	case u == "UT" || u == "Z":
		return "+0000"
	case len(u) == 1 && u[0] >= 'A' && u[0] <= 'Z' && u != "J":
		// RFC 5322: military zones are obsolete and their sign was
		// historically wrong; treat them as unknown (-0000).
		return "+0000"
	case (strings.HasPrefix(u, "GMT") || strings.HasPrefix(u, "UTC")) && len(u) > 3 && (u[3] == '+' || u[3] == '-'):
		return offset(u[3:])
	case (u[0] == '+' || u[0] == '-') && len(u) > 1:
		return offset(u)
	}
	return f
}

// offset turns "+1", "+01", "+0100" and "+01:00" into "+0100"; anything
// else is returned unchanged.
func offset(s string) string {
	sign, d := s[:1], strings.ReplaceAll(s[1:], ":", "")
	for _, c := range d {
		if c < '0' || c > '9' {
			return s
		}
	}
	switch len(d) {
	case 1:
		return sign + "0" + d + "00"
	case 2:
		return sign + d + "00"
	case 3:
		return sign + "0" + d
	case 4:
		return sign + d
	}
	return s
}
