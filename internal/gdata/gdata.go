// Package gdata reads and writes the XML of Google's legacy GData admin
// feeds (Email Audit, Admin Settings): Atom entries whose settings are
// <apps:property name="..." value="..."/> elements, Atom feeds of such
// entries, and the AppsForYourDomainErrors error document.
//
// # Reading
//
// [DecodeEntry] and [DecodeFeed] read one document from an io.Reader:
//
//	e, err := gdata.DecodeEntry(resp.Body)
//	status := e.Value("status")
//
//	f, err := gdata.DecodeFeed(resp.Body)
//	for _, e := range f.Entries { ... }
//	next := f.Next() // href of <link rel='next'>, "" on the last page
//
// The decoders are tolerant of what real feeds carry: any extra namespace
// declarations and unknown elements are ignored, gd:etag and app:edited are
// kept ([Entry.ETag], [Entry.Edited]), and the openSearch values are read
// from either OpenSearch namespace (opensearchrss/1.0 and opensearch/1.1).
// An <updated> or <app:edited> that does not parse as RFC 3339 is left
// zero rather than failing the document. The document element must be
// <entry> (or <feed>) in the Atom namespace or in no namespace; when it is
// <AppsForYourDomainErrors> instead the decoders return its contents as an
// [*Errors] error.
//
// Reads are bounded: at most [MaxSize] bytes are read from the reader, and
// a larger document fails with [ErrTooLarge], so hostile input cannot make
// the decoders use unbounded memory. [DecodeEntryLimit] and
// [DecodeFeedLimit] take another bound.
//
// # Writing
//
// [Entry.Encode] renders an entry as a request body, with the atom: and
// apps: prefixes of Google's documentation:
//
//	body := gdata.NewEntry(gdata.Property{Name: "destUserName", Value: "izumi"}).Encode()
//	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
//	req.Header.Set("Content-Type", gdata.ContentType)
//
// [Feed.Encode] renders a feed (useful to servers and tests). Property
// names and values are escaped, so any string decodes back unchanged.
//
// # Errors
//
// [DecodeErrors] reads an AppsForYourDomainErrors document into [*Errors]
// (a list of [AppsError] with errorCode, reason and invalidInput). Decoding
// failures are returned as *SyntaxError-wrapping errors from encoding/xml,
// [ErrTooLarge], or [ErrNotAtom] when the document element is something
// else.
package gdata

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// XML namespaces of the GData feeds.
const (
	NSAtom         = "http://www.w3.org/2005/Atom"
	NSApps         = "http://schemas.google.com/apps/2006"
	NSGData        = "http://schemas.google.com/g/2005"
	NSAtomPub      = "http://www.w3.org/2007/app"
	NSOpenSearch10 = "http://a9.com/-/spec/opensearchrss/1.0/"
	NSOpenSearch11 = "http://a9.com/-/spec/opensearch/1.1/"
)

// ContentType is the media type of request bodies.
const ContentType = "application/atom+xml"

// MaxSize is the default bound on a decoded document, in bytes.
const MaxSize = 16 << 20

// TimeFormat is the layout of <updated> in documents this package writes
// (RFC 3339 with milliseconds in UTC, as Google writes it).
const TimeFormat = "2006-01-02T15:04:05.000Z"

var (
	// ErrTooLarge: the document is larger than the read bound.
	ErrTooLarge = errors.New("gdata: document too large")
	// ErrNotAtom: the document element is not the one expected.
	ErrNotAtom = errors.New("gdata: not an Atom document")
)

// Property is one <apps:property name="..." value="..."/>.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Link is an Atom <link>.
type Link struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

// Entry is an Atom entry of apps properties.
type Entry struct {
	ID         string     // <id>, an absolute URL
	Updated    time.Time  // <updated>; zero when absent or unparsable
	Edited     time.Time  // <app:edited>; zero when absent or unparsable
	ETag       string     // gd:etag attribute, when present
	Links      []Link     // <link> elements, in order
	Properties []Property // <apps:property> elements, in order
}

// NewEntry returns an entry with the given properties.
func NewEntry(props ...Property) *Entry {
	return &Entry{Properties: append([]Property(nil), props...)}
}

// Lookup returns the value of the first property called name.
func (e *Entry) Lookup(name string) (string, bool) {
	for _, p := range e.Properties {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Value returns the value of the first property called name, or "".
func (e *Entry) Value(name string) string {
	v, _ := e.Lookup(name)
	return v
}

// Set replaces the value of the first property called name, or appends
// the property when there is none.
func (e *Entry) Set(name, value string) {
	for i := range e.Properties {
		if e.Properties[i].Name == name {
			e.Properties[i].Value = value
			return
		}
	}
	e.Properties = append(e.Properties, Property{Name: name, Value: value})
}

// Map returns the properties by name; a repeated name keeps the first.
func (e *Entry) Map() map[string]string {
	m := make(map[string]string, len(e.Properties))
	for _, p := range e.Properties {
		if _, ok := m[p.Name]; !ok {
			m[p.Name] = p.Value
		}
	}
	return m
}

// Link returns the href of the first link with the given rel, or "".
func (e *Entry) Link(rel string) string { return findLink(e.Links, rel) }

// Feed is an Atom feed of entries.
type Feed struct {
	ID      string
	Updated time.Time
	Links   []Link
	Entries []*Entry
	// OpenSearch values; -1 when absent.
	TotalResults, StartIndex, ItemsPerPage int
}

// Link returns the href of the first link with the given rel, or "".
func (f *Feed) Link(rel string) string { return findLink(f.Links, rel) }

// Next returns the URL of the next page (link rel='next'), or "".
func (f *Feed) Next() string { return f.Link("next") }

func findLink(links []Link, rel string) string {
	for _, l := range links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// AppsError is one <error> of an AppsForYourDomainErrors document.
type AppsError struct {
	Code         int    // errorCode, e.g. 1301; 0 when absent or not a number
	Reason       string // reason, e.g. EntityDoesNotExist
	InvalidInput string // invalidInput, the offending value
}

func (e AppsError) String() string {
	s := fmt.Sprintf("%d %s", e.Code, e.Reason)
	if e.InvalidInput != "" {
		s += " (invalid input: " + e.InvalidInput + ")"
	}
	return s
}

// Errors is an AppsForYourDomainErrors document.
type Errors struct {
	Errors []AppsError
}

func (e *Errors) Error() string {
	if len(e.Errors) == 0 {
		return "gdata: AppsForYourDomainErrors (empty)"
	}
	parts := make([]string, len(e.Errors))
	for i, x := range e.Errors {
		parts[i] = x.String()
	}
	return "gdata: " + strings.Join(parts, "; ")
}

// Code returns the first error's code, or 0.
func (e *Errors) Code() int {
	if len(e.Errors) == 0 {
		return 0
	}
	return e.Errors[0].Code
}

// --- wire structs ---

type wireEntry struct {
	ETag    string     `xml:"http://schemas.google.com/g/2005 etag,attr"`
	ID      string     `xml:"http://www.w3.org/2005/Atom id"`
	Updated string     `xml:"http://www.w3.org/2005/Atom updated"`
	Edited  string     `xml:"http://www.w3.org/2007/app edited"`
	Links   []Link     `xml:"http://www.w3.org/2005/Atom link"`
	Props   []Property `xml:"http://schemas.google.com/apps/2006 property"`
	// Documents that do not declare the Atom namespace.
	IDNoNS      string `xml:"id"`
	UpdatedNoNS string `xml:"updated"`
	LinksNoNS   []Link `xml:"link"`
}

type wireFeed struct {
	ID      string       `xml:"http://www.w3.org/2005/Atom id"`
	Updated string       `xml:"http://www.w3.org/2005/Atom updated"`
	Links   []Link       `xml:"http://www.w3.org/2005/Atom link"`
	Entries []*wireEntry `xml:"http://www.w3.org/2005/Atom entry"`

	IDNoNS      string       `xml:"id"`
	UpdatedNoNS string       `xml:"updated"`
	LinksNoNS   []Link       `xml:"link"`
	EntriesNoNS []*wireEntry `xml:"entry"`

	Total10 string `xml:"http://a9.com/-/spec/opensearchrss/1.0/ totalResults"`
	Total11 string `xml:"http://a9.com/-/spec/opensearch/1.1/ totalResults"`
	Start10 string `xml:"http://a9.com/-/spec/opensearchrss/1.0/ startIndex"`
	Start11 string `xml:"http://a9.com/-/spec/opensearch/1.1/ startIndex"`
	Items10 string `xml:"http://a9.com/-/spec/opensearchrss/1.0/ itemsPerPage"`
	Items11 string `xml:"http://a9.com/-/spec/opensearch/1.1/ itemsPerPage"`
}

type wireErrors struct {
	Errors []struct {
		Code    string `xml:"errorCode,attr"`
		Invalid string `xml:"invalidInput,attr"`
		Reason  string `xml:"reason,attr"`
	} `xml:"error"`
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

func parseInt(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return -1
	}
	return n
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (w *wireEntry) entry() *Entry {
	e := &Entry{
		ID:         strings.TrimSpace(first(w.ID, w.IDNoNS)),
		Updated:    parseTime(first(w.Updated, w.UpdatedNoNS)),
		Edited:     parseTime(w.Edited),
		ETag:       w.ETag,
		Links:      append(w.Links, w.LinksNoNS...),
		Properties: w.Props,
	}
	return e
}

// --- bounded reading ---

// limitReader reads at most n bytes and then fails with ErrTooLarge if
// the source has more.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One probe byte tells a document of exactly the limit from a
		// larger one.
		var b [1]byte
		n, err := l.r.Read(b[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func charsetReader(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	case "iso-8859-1", "latin1", "latin-1":
		return charmap.ISO8859_1.NewDecoder().Reader(r), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(r), nil
	}
	return nil, fmt.Errorf("gdata: unsupported charset %q", label)
}

// root reads up to the document element and returns the decoder and that
// element.
func root(r io.Reader, limit int64) (*xml.Decoder, xml.StartElement, error) {
	if limit <= 0 {
		limit = MaxSize
	}
	d := xml.NewDecoder(&limitReader{r: r, n: limit})
	d.CharsetReader = charsetReader
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = fmt.Errorf("%w: empty document", ErrNotAtom)
			}
			return nil, xml.StartElement{}, wrapErr(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return d, se, nil
		}
	}
}

// wrapErr keeps ErrTooLarge recognisable through encoding/xml's wrapping.
func wrapErr(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return ErrTooLarge
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) && strings.Contains(se.Msg, ErrTooLarge.Error()) {
		return ErrTooLarge
	}
	return err
}

func isAtom(se xml.StartElement, local string) bool {
	return se.Name.Local == local && (se.Name.Space == NSAtom || se.Name.Space == "")
}

func decodeErrorsAt(d *xml.Decoder, se xml.StartElement) error {
	var w wireErrors
	if err := d.DecodeElement(&w, &se); err != nil {
		return wrapErr(err)
	}
	out := &Errors{}
	for _, x := range w.Errors {
		code, err := strconv.Atoi(strings.TrimSpace(x.Code))
		if err != nil {
			code = 0
		}
		out.Errors = append(out.Errors, AppsError{Code: code, Reason: x.Reason, InvalidInput: x.Invalid})
	}
	return out
}

// DecodeEntry reads one Atom entry, bounded by MaxSize bytes. An
// AppsForYourDomainErrors document comes back as an *Errors error.
func DecodeEntry(r io.Reader) (*Entry, error) { return DecodeEntryLimit(r, MaxSize) }

// DecodeEntryLimit is DecodeEntry with a read bound of limit bytes (≤ 0
// means MaxSize).
func DecodeEntryLimit(r io.Reader, limit int64) (*Entry, error) {
	d, se, err := root(r, limit)
	if err != nil {
		return nil, err
	}
	if se.Name.Local == "AppsForYourDomainErrors" {
		return nil, decodeErrorsAt(d, se)
	}
	if !isAtom(se, "entry") {
		return nil, fmt.Errorf("%w: document element is {%s}%s, want an Atom entry", ErrNotAtom, se.Name.Space, se.Name.Local)
	}
	var w wireEntry
	if err := d.DecodeElement(&w, &se); err != nil {
		return nil, wrapErr(err)
	}
	return w.entry(), nil
}

// DecodeFeed reads one Atom feed, bounded by MaxSize bytes. An
// AppsForYourDomainErrors document comes back as an *Errors error.
func DecodeFeed(r io.Reader) (*Feed, error) { return DecodeFeedLimit(r, MaxSize) }

// DecodeFeedLimit is DecodeFeed with a read bound of limit bytes (≤ 0
// means MaxSize).
func DecodeFeedLimit(r io.Reader, limit int64) (*Feed, error) {
	d, se, err := root(r, limit)
	if err != nil {
		return nil, err
	}
	if se.Name.Local == "AppsForYourDomainErrors" {
		return nil, decodeErrorsAt(d, se)
	}
	if !isAtom(se, "feed") {
		return nil, fmt.Errorf("%w: document element is {%s}%s, want an Atom feed", ErrNotAtom, se.Name.Space, se.Name.Local)
	}
	var w wireFeed
	if err := d.DecodeElement(&w, &se); err != nil {
		return nil, wrapErr(err)
	}
	f := &Feed{
		ID:           strings.TrimSpace(first(w.ID, w.IDNoNS)),
		Updated:      parseTime(first(w.Updated, w.UpdatedNoNS)),
		Links:        append(w.Links, w.LinksNoNS...),
		TotalResults: parseInt(first(w.Total10, w.Total11)),
		StartIndex:   parseInt(first(w.Start10, w.Start11)),
		ItemsPerPage: parseInt(first(w.Items10, w.Items11)),
	}
	for _, we := range append(w.Entries, w.EntriesNoNS...) {
		f.Entries = append(f.Entries, we.entry())
	}
	return f, nil
}

// DecodeErrors reads an AppsForYourDomainErrors document (bounded by
// MaxSize bytes). It returns ErrNotAtom-wrapped errors for other documents.
func DecodeErrors(r io.Reader) (*Errors, error) {
	d, se, err := root(r, MaxSize)
	if err != nil {
		return nil, err
	}
	if se.Name.Local != "AppsForYourDomainErrors" {
		return nil, fmt.Errorf("%w: document element is %s, want AppsForYourDomainErrors", ErrNotAtom, se.Name.Local)
	}
	err = decodeErrorsAt(d, se)
	var e *Errors
	if errors.As(err, &e) {
		return e, nil
	}
	return nil, err
}

// --- writing ---

func esc(b *bytes.Buffer, s string) {
	// EscapeText also escapes \n, \r and \t, so attribute values survive
	// attribute-value normalisation by other parsers.
	_ = xml.EscapeText(b, []byte(s))
}

func writeLinks(b *bytes.Buffer, prefix string, links []Link) {
	for _, l := range links {
		b.WriteString("<" + prefix + "link rel='")
		esc(b, l.Rel)
		b.WriteString("'")
		if l.Type != "" {
			b.WriteString(" type='")
			esc(b, l.Type)
			b.WriteString("'")
		}
		b.WriteString(" href='")
		esc(b, l.Href)
		b.WriteString("'/>")
	}
}

// writeEntry renders e; top says whether it is the document element.
func (e *Entry) writeEntry(b *bytes.Buffer, top bool) {
	if top {
		b.WriteString("<atom:entry xmlns:atom='" + NSAtom + "' xmlns:apps='" + NSApps + "'")
		if e.ETag != "" || !e.Edited.IsZero() {
			b.WriteString(" xmlns:gd='" + NSGData + "' xmlns:app='" + NSAtomPub + "'")
		}
	} else {
		b.WriteString("<atom:entry")
	}
	if e.ETag != "" {
		b.WriteString(" gd:etag='")
		esc(b, e.ETag)
		b.WriteString("'")
	}
	b.WriteString(">")
	if e.ID != "" {
		b.WriteString("<atom:id>")
		esc(b, e.ID)
		b.WriteString("</atom:id>")
	}
	if !e.Updated.IsZero() {
		b.WriteString("<atom:updated>" + e.Updated.UTC().Format(TimeFormat) + "</atom:updated>")
	}
	if !e.Edited.IsZero() {
		b.WriteString("<app:edited>" + e.Edited.UTC().Format(TimeFormat) + "</app:edited>")
	}
	writeLinks(b, "atom:", e.Links)
	for _, p := range e.Properties {
		b.WriteString("<apps:property name='")
		esc(b, p.Name)
		b.WriteString("' value='")
		esc(b, p.Value)
		b.WriteString("'/>")
	}
	b.WriteString("</atom:entry>")
}

// Encode renders e as a UTF-8 XML document: an <atom:entry> with its id,
// updated time, links and properties (empty fields are left out).
func (e *Entry) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e.writeEntry(&b, true)
	return b.Bytes()
}

// Encode renders f as a UTF-8 XML document with the opensearchrss/1.0
// namespace (negative OpenSearch values are left out).
func (f *Feed) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<atom:feed xmlns:atom='" + NSAtom + "' xmlns:apps='" + NSApps +
		"' xmlns:openSearch='" + NSOpenSearch10 + "' xmlns:gd='" + NSGData + "' xmlns:app='" + NSAtomPub + "'>")
	if f.ID != "" {
		b.WriteString("<atom:id>")
		esc(&b, f.ID)
		b.WriteString("</atom:id>")
	}
	if !f.Updated.IsZero() {
		b.WriteString("<atom:updated>" + f.Updated.UTC().Format(TimeFormat) + "</atom:updated>")
	}
	writeLinks(&b, "atom:", f.Links)
	for _, v := range []struct {
		name string
		n    int
	}{{"totalResults", f.TotalResults}, {"startIndex", f.StartIndex}, {"itemsPerPage", f.ItemsPerPage}} {
		if v.n >= 0 {
			b.WriteString("<openSearch:" + v.name + ">" + strconv.Itoa(v.n) + "</openSearch:" + v.name + ">")
		}
	}
	for _, e := range f.Entries {
		e.writeEntry(&b, false)
	}
	b.WriteString("</atom:feed>")
	return b.Bytes()
}

// Encode renders e as an AppsForYourDomainErrors document.
func (e *Errors) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<AppsForYourDomainErrors>")
	for _, x := range e.Errors {
		b.WriteString("<error errorCode='" + strconv.Itoa(x.Code) + "' invalidInput='")
		esc(&b, x.InvalidInput)
		b.WriteString("' reason='")
		esc(&b, x.Reason)
		b.WriteString("'/>")
	}
	b.WriteString("</AppsForYourDomainErrors>")
	return b.Bytes()
}
