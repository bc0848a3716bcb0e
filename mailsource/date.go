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
// comments anywhere ("(PST)"), a missing day of week or a full day name,
// single-digit days and hours, missing seconds, two-digit years, full month
// names, zone names (the obsolete RFC 5322 ones such as UT, EST, PDT and
// common ones such as CET, CEST, JST are turned into their offsets;
// military letters and unknown names are taken as UTC, and a name after
// a numeric offset is ignored), "GMT+0100", "+01:00", a missing zone
// (UTC), ctime/asctime order ("Mon Jan  2 15:04:05 2006") and ISO 8601.
// Years before 1900 or after 2200 are refused, as is anything without a
// recognisable day, month, year and time of day.
func ParseDate(s string) (time.Time, error) {
	c := cleanDate(s)
	if c == "" {
		return time.Time{}, errors.New("empty date")
	}
	if t, err := mail.ParseDate(c); err == nil {
		if y := t.Year(); y >= minYear && y <= maxYear {
			return t, nil
		}
		return time.Time{}, errors.New("implausible year")
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
		if fields[0] == "" {
			fields = fields[1:]
		}
	}
	out := fields[:0]
	for i, f := range fields {
		z := normalizeZone(f, i == len(fields)-1 || i >= 3)
		// "-0500 EST": the name repeats the offset; keep the number.
		if len(out) > 0 && isOffset(out[len(out)-1]) && z != f && isOffset(z) {
			continue
		}
		if len(out) > 0 && isOffset(out[len(out)-1]) && isZoneName(f) {
			continue
		}
		out = append(out, z)
	}
	return strings.Join(out, " ")
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
	if f == "" {
		return f
	}
	u := strings.ToUpper(f)
	if off, ok := zoneNames[u]; ok {
		return off
	}
	switch {
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

// zoneNames maps zone abbreviations to offsets: the obsolete zones of RFC
// 5322 and other common ones. Ambiguous names (IST, CST in China) follow
// RFC 5322 or are left out; an unknown name is parsed as UTC.
var zoneNames = map[string]string{
	"UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000", "WET": "+0000",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
	"AKST": "-0900", "AKDT": "-0800", "HST": "-1000",
	"BST": "+0100", "WEST": "+0100", "CET": "+0100", "MET": "+0100",
	"CEST": "+0200", "MEST": "+0200", "EET": "+0200", "EEST": "+0300",
	"MSK": "+0300", "JST": "+0900", "KST": "+0900", "HKT": "+0800",
	"SGT": "+0800", "AEST": "+1000", "AEDT": "+1100", "NZST": "+1200", "NZDT": "+1300",
}

func isOffset(f string) bool {
	if len(f) != 5 || (f[0] != '+' && f[0] != '-') {
		return false
	}
	for i := 1; i < 5; i++ {
		if f[i] < '0' || f[i] > '9' {
			return false
		}
	}
	return true
}

func isZoneName(f string) bool {
	if len(f) < 2 || len(f) > 5 {
		return false
	}
	for i := 0; i < len(f); i++ {
		if c := f[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
