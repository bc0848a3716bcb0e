package gdata

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// docEntry is the response entry of Google's create-monitor page, with its
// typos fixed.
const docEntry = `<?xml version="1.0" encoding="UTF-8"?>
<entry xmlns='http://www.w3.org/2005/Atom' xmlns:apps='http://schemas.google.com/apps/2006'>
  <id>https://apps-apis.google.com/a/feeds/compliance/audit/mail/monitor/example.com/amal/izumi</id>
  <updated>2022-08-20T00:28:57.319Z</updated>
  <link rel='self' type='application/atom+xml' href='https://apps-apis.google.com/a/feeds/compliance/audit/mail/monitor/example.com/amal/izumi'/>
  <link rel='edit' type='application/atom+xml' href='https://apps-apis.google.com/a/feeds/compliance/audit/mail/monitor/example.com/amal/izumi'/>
  <apps:property name='destUserName' value='izumi'/>
  <apps:property name='beginDate' value='2022-06-15 00:00'/>
  <apps:property name='endDate' value='2022-06-30 23:20'/>
</entry>`

// realFeed has what a 2011 server sent: the opensearch/1.1 namespace, gd:etag
// and app:edited, plus an unknown extension element.
const realFeed = `<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearch/1.1/'
      xmlns:apps='http://schemas.google.com/apps/2006' xmlns:gd='http://schemas.google.com/g/2005'
      xmlns:x='urn:example:ext' gd:etag='W/"feed"'>
  <id>https://apps-apis.google.com/a/feeds/compliance/audit/mail/export/example.com</id>
  <updated>2011-10-14T01:54:00.000Z</updated>
  <link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml' href='https://apps-apis.google.com/a/feeds/compliance/audit/mail/export/example.com'/>
  <link rel='next' type='application/atom+xml' href='https://apps-apis.google.com/a/feeds/compliance/audit/mail/export/example.com?start=abc'/>
  <openSearch:totalResults>2</openSearch:totalResults>
  <openSearch:startIndex>1</openSearch:startIndex>
  <openSearch:itemsPerPage>100</openSearch:itemsPerPage>
  <x:unknown a='b'><x:deep>text</x:deep></x:unknown>
  <entry gd:etag='W/"A0EBQH47eCp7ImA9WhZSE0o."'>
    <id>https://apps-apis.google.com/a/feeds/compliance/audit/mail/export/example.com/53156</id>
    <updated>2011-10-14T01:54:00.000Z</updated>
    <app:edited xmlns:app='http://www.w3.org/2007/app'>2011-10-14T01:55:00.000+01:00</app:edited>
    <apps:property name='status' value='COMPLETED'/>
    <apps:property name='fileUrl0' value='https://apps-apis.google.com/a/data/compliance/audit/OPAQUE0'/>
    <apps:property name='fromDate' value='2011-10-14 1:54'/>
  </entry>
  <entry><id>second</id><updated>not a time</updated><apps:property name='status' value='PENDING'/></entry>
</feed>`

func TestDecodeEntryDocSample(t *testing.T) {
	e, err := DecodeEntry(strings.NewReader(docEntry))
	if err != nil {
		t.Fatal(err)
	}
	want := &Entry{
		ID:      "https://apps-apis.google.com/a/feeds/compliance/audit/mail/monitor/example.com/amal/izumi",
		Updated: time.Date(2022, 8, 20, 0, 28, 57, 319e6, time.UTC),
		Links: []Link{
			{Rel: "self", Type: "application/atom+xml", Href: "https://apps-apis.google.com/a/feeds/compliance/audit/mail/monitor/example.com/amal/izumi"},
			{Rel: "edit", Type: "application/atom+xml", Href: "https://apps-apis.google.com/a/feeds/compliance/audit/mail/monitor/example.com/amal/izumi"},
		},
		Properties: []Property{{"destUserName", "izumi"}, {"beginDate", "2022-06-15 00:00"}, {"endDate", "2022-06-30 23:20"}},
	}
	if d := cmp.Diff(want, e); d != "" {
		t.Errorf("entry (-want +got):\n%s", d)
	}
	if got := e.Value("beginDate"); got != "2022-06-15 00:00" {
		t.Errorf("Value = %q", got)
	}
	if _, ok := e.Lookup("missing"); ok {
		t.Error("Lookup(missing) found something")
	}
	if e.Link("edit") == "" {
		t.Error("no edit link")
	}
}

func TestDecodeFeedTolerant(t *testing.T) {
	f, err := DecodeFeed(strings.NewReader(realFeed))
	if err != nil {
		t.Fatal(err)
	}
	if f.Next() != "https://apps-apis.google.com/a/feeds/compliance/audit/mail/export/example.com?start=abc" {
		t.Errorf("Next = %q", f.Next())
	}
	if f.TotalResults != 2 || f.StartIndex != 1 || f.ItemsPerPage != 100 {
		t.Errorf("openSearch = %d %d %d", f.TotalResults, f.StartIndex, f.ItemsPerPage)
	}
	if len(f.Entries) != 2 {
		t.Fatalf("%d entries", len(f.Entries))
	}
	e := f.Entries[0]
	if e.ETag != `W/"A0EBQH47eCp7ImA9WhZSE0o."` {
		t.Errorf("ETag = %q", e.ETag)
	}
	if want := time.Date(2011, 10, 14, 0, 55, 0, 0, time.UTC); !e.Edited.Equal(want) {
		t.Errorf("Edited = %v", e.Edited)
	}
	if e.Map()["fileUrl0"] != "https://apps-apis.google.com/a/data/compliance/audit/OPAQUE0" {
		t.Errorf("props = %v", e.Map())
	}
	if !f.Entries[1].Updated.IsZero() || f.Entries[1].Value("status") != "PENDING" {
		t.Errorf("second entry = %+v", f.Entries[1])
	}

	// The opensearchrss/1.0 namespace, no next link, no openSearch values.
	f2, err := DecodeFeed(strings.NewReader(`<feed xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/'><openSearch:startIndex>1</openSearch:startIndex></feed>`))
	if err != nil {
		t.Fatal(err)
	}
	if f2.Next() != "" || f2.StartIndex != 1 || f2.TotalResults != -1 || len(f2.Entries) != 0 {
		t.Errorf("feed = %+v", f2)
	}
}

func TestDecodeNoNamespace(t *testing.T) {
	f, err := DecodeFeed(strings.NewReader(`<feed><link rel='next' href='n'/><entry><id>a</id><apps:property xmlns:apps='http://schemas.google.com/apps/2006' name='k' value='v'/></entry></feed>`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Next() != "n" || len(f.Entries) != 1 || f.Entries[0].ID != "a" || f.Entries[0].Value("k") != "v" {
		t.Errorf("feed = %+v", f)
	}
}

func TestDecodeCharset(t *testing.T) {
	doc := "<?xml version='1.0' encoding='ISO-8859-1'?><entry xmlns='http://www.w3.org/2005/Atom' xmlns:apps='http://schemas.google.com/apps/2006'><apps:property name='n' value='caf\xe9'/></entry>"
	e, err := DecodeEntry(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if e.Value("n") != "café" {
		t.Errorf("value = %q", e.Value("n"))
	}
}

func TestDecodeErrors(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<AppsForYourDomainErrors>
  <error errorCode="1301" invalidInput="jdoe" reason="EntityDoesNotExist" />
  <error errorCode="x" reason="Other" />
</AppsForYourDomainErrors>`
	want := &Errors{Errors: []AppsError{{1301, "EntityDoesNotExist", "jdoe"}, {0, "Other", ""}}}
	got, err := DecodeErrors(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got.Code() != 1301 || !strings.Contains(got.Error(), "EntityDoesNotExist (invalid input: jdoe)") {
		t.Errorf("Code %d, Error %q", got.Code(), got.Error())
	}
	// The entry and feed decoders hand the error document back as an error.
	for name, dec := range map[string]func(io.Reader) error{
		"entry": func(r io.Reader) error { _, err := DecodeEntry(r); return err },
		"feed":  func(r io.Reader) error { _, err := DecodeFeed(r); return err },
	} {
		err := dec(strings.NewReader(doc))
		var ge *Errors
		if !errors.As(err, &ge) || ge.Code() != 1301 {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// Round trip.
	back, err := DecodeErrors(bytes.NewReader(want.Encode()))
	if err != nil || cmp.Diff(want, back) != "" {
		t.Errorf("round trip: %v %v", back, err)
	}
	if _, err := DecodeErrors(strings.NewReader(docEntry)); !errors.Is(err, ErrNotAtom) {
		t.Errorf("DecodeErrors(entry) = %v", err)
	}
}

func TestDecodeRefusals(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"empty", "", ErrNotAtom},
		{"html", "<html><body>502</body></html>", ErrNotAtom},
		{"feed as entry", `<feed xmlns='http://www.w3.org/2005/Atom'/>`, ErrNotAtom},
		{"other namespace", `<entry xmlns='urn:x'/>`, ErrNotAtom},
	}
	for _, tt := range tests {
		if _, err := DecodeEntry(strings.NewReader(tt.doc)); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := DecodeEntry(strings.NewReader(`<entry><id>unterminated`)); err == nil {
		t.Error("truncated entry decoded")
	}
}

func TestBoundedRead(t *testing.T) {
	// An endless stream of properties must stop at the bound.
	body := io.MultiReader(strings.NewReader(`<entry xmlns='http://www.w3.org/2005/Atom' xmlns:apps='http://schemas.google.com/apps/2006'>`),
		endless(`<apps:property name='a' value='b'/>`))
	if _, err := DecodeEntryLimit(body, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	// A long attribute value too.
	body = io.MultiReader(strings.NewReader(`<feed xmlns='http://www.w3.org/2005/Atom'><id>`), endless("x"))
	if _, err := DecodeFeedLimit(body, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	// A document of exactly the limit is fine.
	doc := NewEntry(Property{"a", "b"}).Encode()
	if _, err := DecodeEntryLimit(bytes.NewReader(doc), int64(len(doc))); err != nil {
		t.Errorf("exact-size document: %v", err)
	}
}

type endlessReader struct {
	s string
	i int
}

func endless(s string) io.Reader { return &endlessReader{s: s} }

func (r *endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.s[r.i%len(r.s)]
		r.i++
	}
	return len(p), nil
}

func TestEncodeRoundTrip(t *testing.T) {
	e := &Entry{
		ID:      "https://example.com/a?b=1&c=2",
		Updated: time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC),
		ETag:    `W/"x"`,
		Links:   []Link{{Rel: "self", Type: ContentType, Href: "https://example.com/a?b=1&c=2"}},
		Properties: []Property{
			{"publicKey", "LS0tLS1CRUdJTiBQR1A="},
			{"quote'&<>\"", "line1\nline2\r\ttab"},
			{"empty", ""},
		},
	}
	body := e.Encode()
	if !bytes.Contains(body, []byte("<atom:entry xmlns:atom='http://www.w3.org/2005/Atom' xmlns:apps='http://schemas.google.com/apps/2006'")) {
		t.Errorf("body does not start like Google's samples:\n%s", body)
	}
	got, err := DecodeEntry(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(e, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}

	f := &Feed{ID: "f", Links: []Link{{Rel: "next", Href: "n&x"}}, Entries: []*Entry{e, NewEntry(Property{"a", "b"})},
		TotalResults: -1, StartIndex: 1, ItemsPerPage: 100}
	gf, err := DecodeFeed(bytes.NewReader(f.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(f, gf); d != "" {
		t.Errorf("feed round trip (-want +got):\n%s", d)
	}
}

func TestSet(t *testing.T) {
	e := NewEntry(Property{"a", "1"})
	e.Set("a", "2")
	e.Set("b", "3")
	if d := cmp.Diff([]Property{{"a", "2"}, {"b", "3"}}, e.Properties); d != "" {
		t.Error(d)
	}
}
