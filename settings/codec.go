package settings

import (
	"bytes"

	"github.com/gwsadmin/workspace/internal/gdata"
)

// encodeEntry renders e as an Atom entry request body with the atom: and
// apps: prefixes of Google's documentation.
func encodeEntry(e *entry) ([]byte, error) {
	g := &gdata.Entry{ID: e.ID}
	for _, p := range e.Props {
		g.Properties = append(g.Properties, gdata.Property{Name: p.Name, Value: p.Value})
	}
	return g.Encode(), nil
}

// decodeEntry reads an Atom entry answer.
func decodeEntry(b []byte) (*entry, error) {
	g, err := gdata.DecodeEntryLimit(bytes.NewReader(b), maxEntry)
	if err != nil {
		return nil, err
	}
	e := &entry{ID: g.ID, Updated: g.Updated}
	for _, p := range g.Properties {
		e.Props = append(e.Props, prop{p.Name, p.Value})
	}
	return e, nil
}
