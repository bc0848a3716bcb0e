package workspacetest

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The q parameter of messages.list and threads.list: a useful subset of
// Gmail's search operators, each term ANDed, "-" negating a term:
//
//	from:  to:  cc:  bcc:  subject:  label:  in:  is:  has:attachment
//	after:  before:  newer:  older:  (YYYY/MM/DD in Pacific time, or
//	                                  seconds since the epoch)
//	larger:  smaller:  (bytes, or with K/M suffix)
//	rfc822msgid:
//	plain words and "quoted phrases" (headers, snippet and body text)
//
// Unknown operators are searched as plain words.

type gmailTerm struct {
	neg bool
	op  string
	val string // lower-cased
}

// gmailQuery is a parsed q.
type gmailQuery struct {
	terms []gmailTerm
	// spamTrash is set when the query names spam or trash itself, which
	// lifts their default exclusion.
	spamTrash bool
}

// parseGmailQuery splits q into terms; ok is false for a malformed date
// or size.
func parseGmailQuery(q string) (gmailQuery, string) {
	var out gmailQuery
	for _, tok := range tokenizeQuery(q) {
		t := gmailTerm{}
		if strings.HasPrefix(tok, "-") && len(tok) > 1 {
			t.neg, tok = true, tok[1:]
		}
		if op, val, ok := strings.Cut(tok, ":"); ok && knownGmailOp(strings.ToLower(op)) {
			t.op, t.val = strings.ToLower(op), strings.ToLower(strings.Trim(val, `"`))
		} else {
			t.val = strings.ToLower(strings.Trim(tok, `"`))
		}
		switch t.op {
		case "after", "before", "newer", "older":
			if _, ok := parseQueryTime(t.val); !ok {
				return out, "Invalid date in query: " + tok
			}
		case "larger", "smaller":
			if _, ok := parseQuerySize(t.val); !ok {
				return out, "Invalid size in query: " + tok
			}
		case "in", "label":
			if v := t.val; v == "spam" || v == "trash" || v == "anywhere" {
				out.spamTrash = true
			}
		}
		if t.val == "" && t.op == "" {
			continue
		}
		out.terms = append(out.terms, t)
	}
	return out, ""
}

func knownGmailOp(op string) bool {
	switch op {
	case "from", "to", "cc", "bcc", "subject", "label", "in", "is", "has",
		"after", "before", "newer", "older", "larger", "smaller", "rfc822msgid":
		return true
	}
	return false
}

// tokenizeQuery splits on white space outside double quotes.
func tokenizeQuery(q string) []string {
	var toks []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case unicode.IsSpace(r) && !quoted:
			if cur.Len() > 0 {
				toks = append(toks, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		toks = append(toks, cur.String())
	}
	return toks
}

// parseQueryTime reads YYYY/MM/DD (or with dashes), in Pacific time, or
// epoch seconds.
func parseQueryTime(v string) (time.Time, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	v = strings.ReplaceAll(v, "-", "/")
	t, err := time.ParseInLocation("2006/1/2", v, pacific())
	return t, err == nil
}

// parseQuerySize reads 1000, 10k or 5m.
func parseQuerySize(v string) (int, bool) {
	mult := 1
	switch {
	case strings.HasSuffix(v, "k"):
		mult, v = 1<<10, strings.TrimSuffix(v, "k")
	case strings.HasSuffix(v, "m"):
		mult, v = 1<<20, strings.TrimSuffix(v, "m")
	}
	n, err := strconv.Atoi(v)
	return n * mult, err == nil && n >= 0
}

// matches reports whether every term holds for gm in mailbox b.
func (q gmailQuery) matches(b *gmailBox, gm *gmailMsg) bool {
	for _, t := range q.terms {
		if q.term(b, gm, t) == t.neg {
			return false
		}
	}
	return true
}

func (q gmailQuery) term(b *gmailBox, gm *gmailMsg, t gmailTerm) bool {
	p := gm.parse()
	has := func(hay string) bool { return strings.Contains(strings.ToLower(hay), t.val) }
	switch t.op {
	case "":
		return strings.Contains(p.text, t.val)
	case "from":
		return has(p.from)
	case "to":
		return has(p.to) || has(p.bcc)
	case "cc":
		return has(headerValue(p.root.headers, "Cc"))
	case "bcc":
		return has(p.bcc)
	case "subject":
		return has(p.subject)
	case "rfc822msgid":
		return strings.Trim(strings.ToLower(p.messageID), "<>") == strings.Trim(t.val, "<>")
	case "label":
		l := b.labelByNameOrID(t.val)
		if l == nil {
			norm := func(s string) string { return strings.NewReplacer(" ", "-", "/", "-").Replace(strings.ToLower(s)) }
			for _, c := range b.labels {
				if norm(c.Name) == norm(t.val) {
					l = c
				}
			}
		}
		return l != nil && gm.has(l.ID)
	case "in":
		switch t.val {
		case "anywhere":
			return true
		case "drafts":
			return gm.has("DRAFT")
		case "chats":
			return gm.has("CHAT")
		}
		return gm.has(strings.ToUpper(t.val))
	case "is":
		switch t.val {
		case "unread":
			return gm.has("UNREAD")
		case "read":
			return !gm.has("UNREAD")
		case "starred", "important":
			return gm.has(strings.ToUpper(t.val))
		}
		return false
	case "has":
		return t.val == "attachment" && p.hasAttach
	case "after", "newer":
		tm, _ := parseQueryTime(t.val)
		return !gm.internal.Before(tm)
	case "before", "older":
		tm, _ := parseQueryTime(t.val)
		return gm.internal.Before(tm)
	case "larger":
		n, _ := parseQuerySize(t.val)
		return len(gm.m.raw) > n
	case "smaller":
		n, _ := parseQuerySize(t.val)
		return len(gm.m.raw) < n
	}
	return false
}
