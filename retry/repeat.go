package retry

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
)

// Repeat says when a call may be sent again after an attempt failed.
type Repeat int

const (
	// Unlisted is the zero Repeat: the method is not in the repeat table ([Table]); see
	// [RuleFor] for what applies then.
	Unlisted Repeat = iota
	// Safe calls are repeated after any retryable failure: reads, and
	// writes that are idempotent by contract (a PUT or DELETE, a call that
	// sets fields to given values), where a second copy changes nothing.
	Safe
	// OnProof calls change something and are repeated only after an
	// outcome that proves the server did nothing: a throttle answer (429,
	// the rate-limit reasons, UNSUPPORTED_PARALLEL_OPERATION, a legacy
	// API's 503 quota answer), a connection that could not be made
	// (refused, DNS failure), a token that could not be had, or a
	// failure before the whole request was written. After any other
	// failure (500, 502, 504, a connection lost once the request was sent)
	// the call may have taken effect: the error says so
	// (ErrOutcomeUnknown) and the call is not repeated, unless the caller
	// allowed it with [AllowAmbiguousRepeats].
	OnProof
	// Never calls are sent once; their caller decides about any repeat.
	Never
)

var repeatNames = [...]string{"unlisted", "safe", "on proof", "never"}

func (r Repeat) String() string {
	if r >= 0 && int(r) < len(repeatNames) {
		return repeatNames[r]
	}
	return "unknown"
}

// methodRule is one row of the repeat table ([Table]).
type methodRule struct {
	API    string // API name, as the request's Describe gives it ("" for a request of no API)
	Method string // method name, as Describe gives it
	Repeat Repeat
	Note   string // why, when it is not plain from the method
}

// methods is the rule for repeating every method the library sends, by
// API and method name (the Call an API package attaches to each request).
// It is the one place the rule lives; the package documentation prints
// it. Methods not listed follow [RuleFor]'s fallback.
var methods = []methodRule{
	// Groups Migration.
	{"groupsmigration", "archive.insert", OnProof, "stores a copy per request; the migration engine sends once and keeps its own policy"},

	// Data Transfer and the Directory calls it makes.
	{"datatransfer", "applications.get", Safe, ""},
	{"datatransfer", "applications.list", Safe, ""},
	{"datatransfer", "transfers.get", Safe, ""},
	{"datatransfer", "transfers.insert", OnProof, "starts a transfer per request"},
	{"datatransfer", "transfers.list", Safe, ""},

	// Directory.
	{"directory", "customers.get", Safe, ""},
	{"directory", "customers.patch", Safe, "sets the given fields"},
	{"directory", "domains.delete", Safe, "DELETE"},
	{"directory", "domains.get", Safe, ""},
	{"directory", "domains.insert", OnProof, ""},
	{"directory", "domains.list", Safe, ""},
	{"directory", "users.get", Safe, ""},

	// Email Audit.
	{"audit", "export.create", OnProof, "starts an export per request"},
	{"audit", "export.delete", Safe, "DELETE"},
	{"audit", "export.download", Safe, ""},
	{"audit", "export.get", Safe, ""},
	{"audit", "export.list", Safe, ""},
	{"audit", "monitor.create", OnProof, ""},
	{"audit", "monitor.delete", Safe, "DELETE"},
	{"audit", "monitor.list", Safe, ""},
	{"audit", "publickey.create", Safe, "replaces the domain's key with the same key"},

	// Admin Settings (legacy feeds).
	{"settings", "email.gateway.get", Safe, ""},
	{"settings", "email.gateway.update", Safe, "PUT"},
	{"settings", "emailrouting.create", OnProof, "adds a routing rule per request"},
	{"settings", "sso.general.get", Safe, ""},
	{"settings", "sso.general.update", Safe, "PUT"},
	{"settings", "sso.signingkey.get", Safe, ""},
	{"settings", "sso.signingkey.update", Safe, "PUT"},

	// Cloud Identity.
	{"cloudidentity", "inboundSamlSsoProfiles.create", OnProof, ""},
	{"cloudidentity", "inboundSamlSsoProfiles.delete", Safe, "DELETE"},
	{"cloudidentity", "inboundSamlSsoProfiles.get", Safe, ""},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.add", OnProof, "adds a credential per request"},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.delete", Safe, "DELETE"},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.get", Safe, ""},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.list", Safe, ""},
	{"cloudidentity", "inboundSamlSsoProfiles.list", Safe, ""},
	{"cloudidentity", "inboundSamlSsoProfiles.patch", Safe, "sets the given fields"},
	{"cloudidentity", "inboundSsoAssignments.create", OnProof, ""},
	{"cloudidentity", "inboundSsoAssignments.delete", Safe, "DELETE"},
	{"cloudidentity", "inboundSsoAssignments.get", Safe, ""},
	{"cloudidentity", "inboundSsoAssignments.list", Safe, ""},
	{"cloudidentity", "inboundSsoAssignments.patch", Safe, "sets the given fields"},
	{"cloudidentity", "operations.get", Safe, ""},

	// Gmail (every method of the API, for gmail.CallContext users).
	{"gmail", "users.drafts.create", OnProof, ""},
	{"gmail", "users.drafts.delete", Safe, "DELETE"},
	{"gmail", "users.drafts.get", Safe, ""},
	{"gmail", "users.drafts.list", Safe, ""},
	{"gmail", "users.drafts.send", OnProof, "sends mail"},
	{"gmail", "users.drafts.update", Safe, "PUT"},
	{"gmail", "users.getProfile", Safe, ""},
	{"gmail", "users.history.list", Safe, ""},
	{"gmail", "users.labels.create", OnProof, ""},
	{"gmail", "users.labels.delete", Safe, "DELETE"},
	{"gmail", "users.labels.get", Safe, ""},
	{"gmail", "users.labels.list", Safe, ""},
	{"gmail", "users.labels.patch", Safe, "sets the given fields"},
	{"gmail", "users.labels.update", Safe, "PUT"},
	{"gmail", "users.messages.attachments.get", Safe, ""},
	{"gmail", "users.messages.batchDelete", Safe, "deletes the listed messages"},
	{"gmail", "users.messages.batchModify", Safe, "adds and removes the listed labels"},
	{"gmail", "users.messages.delete", Safe, "DELETE"},
	{"gmail", "users.messages.get", Safe, ""},
	{"gmail", "users.messages.import", OnProof, "stores a copy per request"},
	{"gmail", "users.messages.insert", OnProof, "stores a copy per request"},
	{"gmail", "users.messages.list", Safe, ""},
	{"gmail", "users.messages.modify", Safe, "adds and removes the listed labels"},
	{"gmail", "users.messages.send", OnProof, "sends mail"},
	{"gmail", "users.messages.trash", Safe, "moves to or from the trash"},
	{"gmail", "users.messages.untrash", Safe, "moves to or from the trash"},
	{"gmail", "users.settings.delegates.create", OnProof, ""},
	{"gmail", "users.settings.delegates.delete", Safe, "DELETE"},
	{"gmail", "users.settings.delegates.get", Safe, ""},
	{"gmail", "users.settings.delegates.list", Safe, ""},
	{"gmail", "users.settings.filters.create", OnProof, "adds a filter per request"},
	{"gmail", "users.settings.filters.delete", Safe, "DELETE"},
	{"gmail", "users.settings.filters.get", Safe, ""},
	{"gmail", "users.settings.filters.list", Safe, ""},
	{"gmail", "users.settings.forwardingAddresses.create", OnProof, "sends a verification mail"},
	{"gmail", "users.settings.forwardingAddresses.delete", Safe, "DELETE"},
	{"gmail", "users.settings.forwardingAddresses.get", Safe, ""},
	{"gmail", "users.settings.forwardingAddresses.list", Safe, ""},
	{"gmail", "users.settings.getAutoForwarding", Safe, ""},
	{"gmail", "users.settings.getImap", Safe, ""},
	{"gmail", "users.settings.getLanguage", Safe, ""},
	{"gmail", "users.settings.getPop", Safe, ""},
	{"gmail", "users.settings.getVacation", Safe, ""},
	{"gmail", "users.settings.sendAs.create", OnProof, "may send a verification mail"},
	{"gmail", "users.settings.sendAs.delete", Safe, "DELETE"},
	{"gmail", "users.settings.sendAs.get", Safe, ""},
	{"gmail", "users.settings.sendAs.list", Safe, ""},
	{"gmail", "users.settings.sendAs.patch", Safe, "sets the given fields"},
	{"gmail", "users.settings.sendAs.update", Safe, "PUT"},
	{"gmail", "users.settings.sendAs.verify", OnProof, "sends a verification mail"},
	{"gmail", "users.settings.updateAutoForwarding", Safe, "PUT"},
	{"gmail", "users.settings.updateImap", Safe, "PUT"},
	{"gmail", "users.settings.updateLanguage", Safe, "PUT"},
	{"gmail", "users.settings.updatePop", Safe, "PUT"},
	{"gmail", "users.settings.updateVacation", Safe, "PUT"},
	{"gmail", "users.stop", Safe, "stops the mailbox's watch"},
	{"gmail", "users.threads.delete", Safe, "DELETE"},
	{"gmail", "users.threads.get", Safe, ""},
	{"gmail", "users.threads.list", Safe, ""},
	{"gmail", "users.threads.modify", Safe, "adds and removes the listed labels"},
	{"gmail", "users.threads.trash", Safe, "moves to or from the trash"},
	{"gmail", "users.threads.untrash", Safe, "moves to or from the trash"},
	{"gmail", "users.watch", Safe, "replaces the mailbox's watch"},
	{"", "gmail.batch", Never, "the outer batch request: the batch engine retries its parts"},
}

type methodKey struct{ api, method string }

var methodIndex = func() map[methodKey]Repeat {
	m := make(map[methodKey]Repeat, len(methods))
	for _, r := range methods {
		k := methodKey{r.API, r.Method}
		if _, dup := m[k]; dup {
			panic("retry: methods lists " + r.API + " " + r.Method + " twice")
		}
		m[k] = r.Repeat
	}
	return m
}()

// RuleFor returns the rule for a request: the row of the repeat table ([Table]) for api
// and method, or, for a method not listed, Safe for the HTTP methods RFC
// 9110 defines as idempotent (GET, HEAD, OPTIONS, PUT, DELETE) and OnProof
// for the others (POST, PATCH).
func RuleFor(api, method, httpMethod string) Repeat {
	if r, ok := methodIndex[methodKey{api, method}]; ok {
		return r
	}
	switch httpMethod {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, "":
		return Safe
	}
	return OnProof
}

// Table renders the repeat table ([Table]) as the text the package documentation prints
// (a test keeps the two equal): the writes one a line with the reason of
// their rule, the reads listed per API.
func Table() string {
	var b strings.Builder
	const width = 72
	w := 0
	for _, r := range methods {
		w = max(w, len(apiLabel(r.API)))
	}
	for _, rep := range []Repeat{OnProof, Never} {
		fmt.Fprintf(&b, "%s:\n", tableHeads[rep])
		for _, r := range methods {
			if r.Repeat != rep {
				continue
			}
			line := fmt.Sprintf("  %-*s  %s", w, apiLabel(r.API), r.Method)
			if r.Note != "" {
				line += " (" + r.Note + ")"
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "%s:\n", tableHeads[Safe])
	for _, r := range methods {
		if r.Repeat == Safe && r.Note != "" {
			fmt.Fprintf(&b, "  %-*s  %s (%s)\n", w, apiLabel(r.API), r.Method, r.Note)
		}
	}
	b.WriteString("Reads, repeated after any retryable failure (Safe):\n")
	var apis []string
	for _, r := range methods {
		if r.Repeat == Safe && r.Note == "" && !slices.Contains(apis, r.API) {
			apis = append(apis, r.API)
		}
	}
	for _, api := range apis {
		line := fmt.Sprintf("  %-*s ", w, apiLabel(api))
		indent := strings.Repeat(" ", len(line))
		first := true
		for _, r := range methods {
			if r.API != api || r.Repeat != Safe || r.Note != "" {
				continue
			}
			item := " " + r.Method
			if !first {
				line += ","
			}
			if !first && len(line)+len(item) > width {
				b.WriteString(line)
				b.WriteByte('\n')
				line = indent
			}
			line += item
			first = false
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

var tableHeads = map[Repeat]string{
	OnProof: "Repeated only after an outcome that proves nothing was done (OnProof)",
	Never:   "Never repeated (Never)",
	Safe:    "Writes idempotent by contract, repeated after any retryable failure (Safe)",
}

func apiLabel(api string) string {
	if api == "" {
		return "(none)"
	}
	return api
}

// ambiguousRepeats, attached to a context by [AllowAmbiguousRepeats],
// lets the calls made with that context be repeated after failures that
// leave their outcome unknown, and records whether that happened.
type ambiguousRepeats struct{ repeated atomic.Bool }

type ambiguousKey struct{}

// AllowAmbiguousRepeats returns a context under which calls that change
// something (OnProof in the repeat table ([Table])) are also repeated after failures that
// do not prove the server did nothing: 500, 502, 504 and a connection lost
// after the request was sent. Such a call may take effect twice. After
// the call, [MayHaveHappenedTwice] on the returned context reports
// whether it was repeated that way; an error returned then says "may have
// happened twice". Never calls stay sent once.
//
//	ctx := retry.AllowAmbiguousRepeats(ctx)
//	_, err := g.Messages.Send(ctx, user, raw, nil)
//	if retry.MayHaveHappenedTwice(ctx) { /* the mail may have gone out twice */ }
func AllowAmbiguousRepeats(ctx context.Context) context.Context {
	return context.WithValue(ctx, ambiguousKey{}, &ambiguousRepeats{})
}

// MayHaveHappenedTwice reports whether a call made with ctx (from
// [AllowAmbiguousRepeats]) was repeated after a failure that left its
// outcome unknown, so that it may have happened twice.
func MayHaveHappenedTwice(ctx context.Context) bool {
	a, _ := ctx.Value(ambiguousKey{}).(*ambiguousRepeats)
	return a != nil && a.repeated.Load()
}

func ambiguousFrom(ctx context.Context) *ambiguousRepeats {
	a, _ := ctx.Value(ambiguousKey{}).(*ambiguousRepeats)
	return a
}
