package workspacetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// Partial responses: the fields system parameter.
//
//	fields=messages(id,threadId),nextPageToken
//	fields=payload/headers,id
//	fields=*
//
// A selection is a comma-separated list of names; a name may be followed
// by /name (one field inside it) or by (list) (several fields inside it),
// to any depth. Selections apply to each element of an array.

// fieldSel maps a selected name to what is selected inside it; a nil
// value selects the whole field.
type fieldSel map[string]fieldSel

// parseFields parses a fields expression. ok is false when it is malformed.
func parseFields(expr string) (fieldSel, bool) {
	p := &fieldParser{s: expr}
	sel := fieldSel{}
	if !p.list(sel) || p.i != len(p.s) {
		return nil, false
	}
	return sel, true
}

type fieldParser struct {
	s string
	i int
}

func (p *fieldParser) list(into fieldSel) bool {
	for {
		if !p.item(into) {
			return false
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return true
	}
}

func (p *fieldParser) item(into fieldSel) bool {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",/() ", rune(p.s[p.i])) {
		p.i++
	}
	name := p.s[start:p.i]
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	if name == "" {
		return false
	}
	sub, exists := into[name]
	whole := exists && sub == nil
	if p.i < len(p.s) && (p.s[p.i] == '/' || p.s[p.i] == '(') {
		if sub == nil {
			sub = fieldSel{}
		}
		if p.s[p.i] == '/' {
			p.i++
			if !p.item(sub) {
				return false
			}
		} else {
			p.i++
			if !p.list(sub) || p.i >= len(p.s) || p.s[p.i] != ')' {
				return false
			}
			p.i++
		}
		if whole {
			sub = nil
		}
		into[name] = sub
		return true
	}
	into[name] = nil
	return true
}

// apply keeps the selected parts of a decoded JSON value.
func (sel fieldSel) apply(v any) any {
	if sel == nil {
		return v
	}
	if _, all := sel["*"]; all && len(sel) == 1 && sel["*"] == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if sub, ok := sel[k]; ok {
				out[k] = sub.apply(val)
			} else if sub, ok := sel["*"]; ok {
				out[k] = sub.apply(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sel.apply(e)
		}
		return out
	default:
		return v
	}
}

// gmailReply writes v as JSON with status code, keeping only what the
// request's fields parameter selects.
func gmailReply(w http.ResponseWriter, r *http.Request, code int, v any) {
	expr := r.URL.Query().Get("fields")
	if expr == "" {
		writeJSON(w, code, v)
		return
	}
	sel, ok := parseFields(expr)
	if !ok {
		writeGoogleError(w, googleError{
			Code:    http.StatusBadRequest,
			Message: "Invalid field selection " + expr,
			Items: []errorItem{{Domain: "global", Reason: "invalidParameter", Message: "Invalid field selection " + expr,
				Location: "fields", LocationType: "parameter"}},
		})
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, nil)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		writeJSON(w, code, v)
		return
	}
	writeJSON(w, code, sel.apply(generic))
}
