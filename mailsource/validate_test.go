package mailsource_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace/mailsource"
)

// crlf turns "\n" into "\r\n" so test messages stay readable.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

const goodHeader = "From: Alice <alice@example.com>\nTo: team@example.com\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nSubject: hi\nMessage-ID: <a1@example.com>\n"

func TestValidate(t *testing.T) {
	without := func(field string) string {
		var keep []string
		for _, l := range strings.Split(goodHeader, "\n") {
			if !strings.HasPrefix(l, field+":") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	replace := func(field, value string) string {
		var out []string
		for _, l := range strings.Split(strings.TrimSuffix(goodHeader, "\n"), "\n") {
			if strings.HasPrefix(l, field+":") {
				l = field + ": " + value
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n") + "\n"
	}
	body := "\nHello.\n"
	big := string(crlf(goodHeader + body + strings.Repeat("x", 200) + "\n"))
	tests := []struct {
		name string
		data []byte
		max  int64
		want *mailsource.Problem // nil: valid
	}{
		{"good", crlf(goodHeader + body), 0, nil},
		{"headers only, no body", crlf(goodHeader), 0, nil},
		{"empty", nil, 0, &mailsource.Problem{Field: "body", Reason: "empty message"}},
		{"blank", []byte("\r\n\r\n"), 0, &mailsource.Problem{Field: "body", Reason: "empty message"}},
		{"oversize", []byte(big), 100, &mailsource.Problem{Field: "size", Reason: "348 bytes, more than the limit of 100"}},
		{"exactly max", []byte(big), int64(len(big)), nil},
		{"bare LF", []byte(goodHeader + body), 0, &mailsource.Problem{Field: "body", Reason: "line 1 ends with a bare LF, not CRLF (use NormalizeCRLF)"}},
		{"bare LF in body", append(crlf(goodHeader+body), "tail\nmore\r\n"...), 0, &mailsource.Problem{Field: "body", Reason: "line 8 ends with a bare LF, not CRLF (use NormalizeCRLF)"}},
		{"bare CR", append(crlf(goodHeader+body), "a\rb\r\n"...), 0, &mailsource.Problem{Field: "body", Reason: "line 8 ends with a bare CR, not CRLF (use NormalizeCRLF)"}},
		{"missing From", crlf(without("From") + body), 0, &mailsource.Problem{Field: "From", Reason: "missing"}},
		{"empty From", crlf(replace("From", "") + body), 0, &mailsource.Problem{Field: "From", Reason: "empty"}},
		{"From without address", crlf(replace("From", "Alice") + body), 0, &mailsource.Problem{Field: "From", Reason: `no parseable address in "Alice"`}},
		{"missing To", crlf(without("To") + body), 0, &mailsource.Problem{Field: "To", Reason: "no recipient header (To, Cc or Bcc)"}},
		{"empty To", crlf(replace("To", "") + body), 0, &mailsource.Problem{Field: "To", Reason: "recipient headers are empty"}},
		{"Cc only", crlf(without("To") + "Cc: bob@example.com\n" + body), 0, nil},
		{"Bcc only", crlf(without("To") + "Bcc: bob@example.com\n" + body), 0, nil},
		{"bad Cc", crlf(goodHeader + "Cc: nobody\n" + body), 0, &mailsource.Problem{Field: "Cc", Reason: `no parseable address in "nobody"`}},
		{"undisclosed recipients", crlf(replace("To", "undisclosed-recipients:;") + body), 0, nil},
		{"group with members", crlf(replace("To", "Team: a@example.com, b@example.com;") + body), 0, nil},
		{"missing Date", crlf(without("Date") + body), 0, &mailsource.Problem{Field: "Date", Reason: "missing"}},
		{"bad Date", crlf(replace("Date", "yesterday at noon") + body), 0, &mailsource.Problem{Field: "Date", Reason: `unrecognised date: "yesterday at noon"`}},
		{"year 0001", crlf(replace("Date", "1 Jan 0001 00:00:00 +0000") + body), 0, &mailsource.Problem{Field: "Date", Reason: `implausible year: "1 Jan 0001 00:00:00 +0000"`}},
		{"obsolete Date", crlf(replace("Date", "Thu, 13 Feb 97 12:00 EST") + body), 0, nil},
		{"Date with comment and no weekday", crlf(replace("Date", "3 Jul 2003 10:52:37 +0200 (CEST)") + body), 0, nil},
		{"folded headers", crlf("From: Alice\n <alice@example.com>\nTo: a@example.com,\n\tb@example.com\nDate: Mon, 1 Jan 2024\n 10:00:00 +0000\n" + body), 0, nil},
		{"RFC 2047 names", crlf(replace("From", "=?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@example.jp>") + "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n" + body), 0, nil},
		{"raw UTF-8 headers", crlf(replace("From", "Jürgen Müller <jm@example.de>") + "Subject: 日本語の件名 🎉\n" + body), 0, nil},
		{"raw Latin-1 name", crlf(replace("From", "J\xfcrgen <jm@example.de>") + body), 0, nil},
		{"sloppy display name", crlf(replace("From", "Doe, John <jd@example.com>") + body), 0, nil},
		{"continuation first", crlf(" folded\n" + goodHeader + body), 0, &mailsource.Problem{Field: "header", Reason: "the header begins with a continuation line"}},
		{"not a header line", crlf(goodHeader + "this is not a header\n" + body), 0, &mailsource.Problem{Field: "header", Reason: "line 6 is not a header field"}},
		{"mbox envelope left in", crlf("From alice@example.com Mon Jan  1 00:00:00 2024\n" + goodHeader + body), 0, &mailsource.Problem{Field: "header", Reason: `line 1 is an mbox envelope ("From ") line, not a header field`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mailsource.Validate(tc.data, tc.max)
			var got *mailsource.Problem
			if err != nil {
				var ok bool
				if got, ok = err.(*mailsource.Problem); !ok {
					t.Fatalf("error %T, want *Problem", err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProblemsListsAll(t *testing.T) {
	data := []byte("Subject: nothing else\nX: y\n\nbody\n")
	want := []*mailsource.Problem{
		{Field: "body", Reason: "line 1 ends with a bare LF, not CRLF (use NormalizeCRLF)"},
		{Field: "From", Reason: "missing"},
		{Field: "To", Reason: "no recipient header (To, Cc or Bcc)"},
		{Field: "Date", Reason: "missing"},
	}
	if diff := cmp.Diff(want, mailsource.Problems(data, 0)); diff != "" {
		t.Errorf("Problems (-want +got):\n%s", diff)
	}
	if mailsource.Problems(crlf(goodHeader+"\nx\n"), 0) != nil {
		t.Error("Problems of a good message is not nil")
	}
}

func TestParseDate(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"Mon, 2 Jan 2006 15:04:05 -0700", utc(2006, 1, 2, 22, 4, 5)},
		{"2 Jan 2006 15:04:05 +0000", utc(2006, 1, 2, 15, 4, 5)},
		{"Tue,  1 Jul 2003 10:52:37 +0200 (CEST)", utc(2003, 7, 1, 8, 52, 37)},
		{"Thu, 13 Feb 97 12:00:00 GMT", utc(1997, 2, 13, 12, 0, 0)},
		{"Fri, 5 Mar 2010 9:05:01 UT", utc(2010, 3, 5, 9, 5, 1)},
		{"5 Mar 2010 09:05 +0100", utc(2010, 3, 5, 8, 5, 0)},
		{"Sunday, 5 May 2002 10:00:00 +0200", utc(2002, 5, 5, 8, 0, 0)},
		{"Mon Jan  2 15:04:05 2006", utc(2006, 1, 2, 15, 4, 5)},
		{"Sat, 10 Feb 2024 14:51:23 GMT+0100", utc(2024, 2, 10, 13, 51, 23)},
		{"Sat, 10 Feb 2024 14:51:23 +01:00", utc(2024, 2, 10, 13, 51, 23)},
		{"Sat, 10 Feb 2024 14:51:23", utc(2024, 2, 10, 14, 51, 23)},
		{"10 February 2024 14:51:23 +0000", utc(2024, 2, 10, 14, 51, 23)},
		{"2024-02-10T14:51:23Z", utc(2024, 2, 10, 14, 51, 23)},
		{"2024-02-10 14:51:23 -0500", utc(2024, 2, 10, 19, 51, 23)},
		{"mon, 10 feb 2024 14:51:23 +0000", utc(2024, 2, 10, 14, 51, 23)},
		{"Thu, 13 Feb 1997 12:00:00 EST", utc(1997, 2, 13, 17, 0, 0)},
		{"Thu, 13 Feb 97 12:00 PDT", utc(1997, 2, 13, 19, 0, 0)},
		{"13 Feb 1997 12:00:00 CEST", utc(1997, 2, 13, 10, 0, 0)},
		{"Thu, 13 Feb 1997 12:00:00 -0500 EST", utc(1997, 2, 13, 17, 0, 0)},
		{"Thu, 13 Feb 1997 12:00:00 -0500 (EST)", utc(1997, 2, 13, 17, 0, 0)},
		{"Thu, 13 Feb 1997 12:00:00 Q", utc(1997, 2, 13, 12, 0, 0)},
		{"Thu Feb 13 12:00:00 EST 1997", utc(1997, 2, 13, 17, 0, 0)},
		{"", time.Time{}},
		{"garbage", time.Time{}},
		{"Mon, 32 Jan 2006 15:04:05 -0700", time.Time{}},
		{"Mon, 2 Foo 2006 15:04:05 -0700", time.Time{}},
		{"1 Jan 3000 00:00:00 +0000", time.Time{}},
		{"12345", time.Time{}},
	}
	for _, tc := range tests {
		got, err := mailsource.ParseDate(tc.in)
		if tc.want.IsZero() {
			if err == nil {
				t.Errorf("ParseDate(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeCRLF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\rb\r", "a\r\nb\r\n"},
		{"a\r\r\nb", "a\r\n\r\nb"},
		{"a\n\r\nb\n\n", "a\r\n\r\nb\r\n\r\n"},
		{"\n", "\r\n"},
		{"\r", "\r\n"},
		{"\n\r", "\r\n\r\n"},
		{"ü\n日本\r\n", "ü\r\n日本\r\n"},
	}
	for _, tc := range tests {
		got := mailsource.NormalizeCRLF([]byte(tc.in))
		if diff := cmp.Diff(tc.want, string(got)); diff != "" {
			t.Errorf("NormalizeCRLF(%q) (-want +got):\n%s", tc.in, diff)
		}
		if n := mailsource.NormalizedSize([]byte(tc.in)); n != int64(len(tc.want)) {
			t.Errorf("normalizedSize(%q) = %d, want %d", tc.in, n, len(tc.want))
		}
	}
	clean := []byte("a\r\nb\r\n")
	if got := mailsource.NormalizeCRLF(clean); &got[0] != &clean[0] {
		t.Error("clean input was copied")
	}
	if n := testing.AllocsPerRun(10, func() { mailsource.NormalizeCRLF(clean) }); n != 0 {
		t.Errorf("clean input: %v allocations", n)
	}
}

func TestMessageIDAndHash(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Message-ID: <abc@example.com>\r\n\r\nbody", "abc@example.com"},
		{"message-id:   <abc@example.com>  (comment)\n\n", "abc@example.com"},
		{"Message-Id:\n <folded@example.com>\n\n", "folded@example.com"},
		{"Message-ID: no-brackets@example.com\n\n", "no-brackets@example.com"},
		{"Subject: x\n\nMessage-ID: <in-body@example.com>\n", ""},
		{"Subject: x\n", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := mailsource.MessageID([]byte(tc.in)); got != tc.want {
			t.Errorf("MessageID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	lf := []byte("Subject: x\n\n" + strings.Repeat("line\n", 2000) + "end\r")
	if mailsource.ContentHash(lf) != mailsource.ContentHash(mailsource.NormalizeCRLF(lf)) {
		t.Error("ContentHash differs between LF and CRLF forms")
	}
	if mailsource.ContentHash([]byte("a\n")) == mailsource.ContentHash([]byte("b\n")) {
		t.Error("ContentHash collides")
	}
	sum := sha256.Sum256([]byte("a\r\n"))
	if got, want := mailsource.ContentHash([]byte("a\n")), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("ContentHash = %s, want %s", got, want)
	}
}
