package workspacetest

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Shared pieces of the legacy GData feeds (Email Audit, Admin Settings):
// Atom entries whose settings are <apps:property name=".." value=".."/>
// elements, and feeds of such entries.

const (
	nsAtom       = "http://www.w3.org/2005/Atom"
	nsApps       = "http://schemas.google.com/apps/2006"
	nsOpenSearch = "http://a9.com/-/spec/opensearchrss/1.0/"

	atomContentType = "application/atom+xml; charset=UTF-8"
	// gdataTime is the Atom <updated> format, with milliseconds like Google.
	gdataTime = "2006-01-02T15:04:05.000Z"
)

// gdProperty is one <apps:property name=".." value=".."/>.
type gdProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// gdEntryIn is a request body: an Atom entry with apps properties.
type gdEntryIn struct {
	XMLName xml.Name
	ID      string       `xml:"http://www.w3.org/2005/Atom id"`
	Props   []gdProperty `xml:"http://schemas.google.com/apps/2006 property"`
}

// props returns the properties by name; a repeated name keeps the last.
func (e *gdEntryIn) props() map[string]string {
	m := make(map[string]string, len(e.Props))
	for _, p := range e.Props {
		m[p.Name] = p.Value
	}
	return m
}

// readGDataEntry decodes an Atom entry from r's body. On failure it writes
// a 400 AppsForYourDomainErrors reply and returns nil.
func readGDataEntry(w http.ResponseWriter, r *http.Request) *gdEntryIn {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var e gdEntryIn
	if err == nil {
		err = xml.Unmarshal(body, &e)
	}
	if err != nil || e.XMLName.Space != nsAtom || e.XMLName.Local != "entry" {
		writeGDataError(w, http.StatusBadRequest, gdataInvalidValue, "entry",
			"InvalidValue: the body is not an Atom entry in the "+nsAtom+" namespace")
		return nil
	}
	return &e
}

// gdEntry is an Atom entry to write.
type gdEntry struct {
	id      string // absolute URL; also the self and edit links
	updated time.Time
	props   []gdProperty // in order
}

// add appends a property.
func (e *gdEntry) add(name, value string) { e.props = append(e.props, gdProperty{name, value}) }

// baseURL is the scheme and host the request came to, for ids and links.
func baseURL(r *http.Request) string { return "http://" + r.Host }

func xmlEsc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeTo renders e; top says whether it is the document element, which
// then declares the namespaces.
func (e *gdEntry) writeTo(b *bytes.Buffer, top bool) {
	if top {
		b.WriteString("<entry xmlns='" + nsAtom + "' xmlns:apps='" + nsApps + "'>")
	} else {
		b.WriteString("<entry>")
	}
	id := xmlEsc(e.id)
	b.WriteString("<id>" + id + "</id>")
	b.WriteString("<updated>" + e.updated.UTC().Format(gdataTime) + "</updated>")
	b.WriteString("<link rel='self' type='application/atom+xml' href='" + id + "'/>")
	b.WriteString("<link rel='edit' type='application/atom+xml' href='" + id + "'/>")
	for _, p := range e.props {
		b.WriteString("<apps:property name='" + xmlEsc(p.Name) + "' value='" + xmlEsc(p.Value) + "'/>")
	}
	b.WriteString("</entry>")
}

// writeGDataEntry replies with one entry.
func writeGDataEntry(w http.ResponseWriter, status int, e *gdEntry) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e.writeTo(&b, true)
	writeAtom(w, status, b.Bytes())
}

// writeGDataFeed replies 200 with a feed of entries. feedURL is the feed's
// id and its #feed/#post link; self is the URL of this page; next, when
// not empty, is the URL of the next page (link rel='next').
func writeGDataFeed(w http.ResponseWriter, feedURL, self, next string, startIndex int, updated time.Time, entries []*gdEntry) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<feed xmlns='" + nsAtom + "' xmlns:openSearch='" + nsOpenSearch + "' xmlns:apps='" + nsApps + "'>")
	b.WriteString("<id>" + xmlEsc(feedURL) + "</id>")
	b.WriteString("<updated>" + updated.UTC().Format(gdataTime) + "</updated>")
	b.WriteString("<link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml' href='" + xmlEsc(feedURL) + "'/>")
	b.WriteString("<link rel='http://schemas.google.com/g/2005#post' type='application/atom+xml' href='" + xmlEsc(feedURL) + "'/>")
	b.WriteString("<link rel='self' type='application/atom+xml' href='" + xmlEsc(self) + "'/>")
	if next != "" {
		b.WriteString("<link rel='next' type='application/atom+xml' href='" + xmlEsc(next) + "'/>")
	}
	b.WriteString("<openSearch:startIndex>" + strconv.Itoa(startIndex) + "</openSearch:startIndex>")
	for _, e := range entries {
		e.writeTo(&b, false)
	}
	b.WriteString("</feed>")
	writeAtom(w, http.StatusOK, b.Bytes())
}

func writeAtom(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", atomContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// parseGDataBool reads "true"/"false" (any case); ok is false otherwise.
func parseGDataBool(v string) (b, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
