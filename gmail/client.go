package gmail

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	gmailapi "google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/apierr"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
)

// Client gives access to the Gmail API of every user of a domain, through
// domain-wide delegation: each call acts as the mailbox owner. Make one with
// New; it is safe for concurrent use.
type Client struct {
	core *workspace.Client

	// Messages lists, reads, modifies, inserts, imports and sends messages.
	Messages *MessagesService
	// Threads lists and reads threads.
	Threads *ThreadsService
	// Labels lists, creates and deletes labels.
	Labels *LabelsService
	// History lists the changes of a mailbox since a history id.
	History *HistoryService

	// ReadOnlyScopes makes the read calls (messages list and get, threads,
	// history, labels.list, getProfile, batches of GETs) ask for
	// gmail.readonly instead of gmail.modify, for a service account
	// granted only that. Set it before the first call.
	ReadOnlyScopes bool

	mu    sync.Mutex
	users map[string]*userConn // by user and scope
	ctr   batchCounters
}

// userConn is the HTTP client and generated service acting as one user.
type userConn struct {
	hc  *http.Client
	svc *gmailapi.Service
}

// New returns a Client that sends its calls through c. Every call names the
// user whose mailbox it acts on; c's credentials must be a service account
// with domain-wide delegation for the Gmail scopes (or, with a token
// source, the one user it belongs to).
func New(c *workspace.Client) *Client {
	g := &Client{core: c, users: map[string]*userConn{}}
	g.Messages = &MessagesService{g: g}
	g.Threads = &ThreadsService{g: g}
	g.Labels = &LabelsService{g: g}
	g.History = &HistoryService{g: g}
	return g
}

// The scopes of each method group, each asked for on its own token (the
// package doc lists them; workspace.APIScopes(workspace.APIGmail) gives
// the ones to authorize for the default calls).
var (
	// serviceScopes are the scopes of Service (Google's generated
	// client, for any method) and of Batch calls that change something:
	// gmail.modify covers reading, labelling, inserting, importing and
	// sending, not deleting for good.
	serviceScopes = []string{auth.ScopeGmailModify}
	// readScopes are the scopes of the reads (messages.list and get,
	// threads, history, labels.list, getProfile, a Batch of GETs).
	readScopes = []string{auth.ScopeGmailModify}
	// readOnlyScopes are the scopes of the reads when the Client's
	// ReadOnlyScopes is set.
	readOnlyScopes = []string{auth.ScopeGmailReadOnly}
	// modifyScopes are the scopes of messages.modify, trash and
	// batchModify (Modify, Trash, ModifyMany, LabelMany).
	modifyScopes = []string{auth.ScopeGmailModify}
	// insertScopes are the scopes of messages.insert and import (Insert,
	// Import, ImportMbox).
	insertScopes = []string{auth.ScopeGmailInsert}
	// sendScopes are the scopes of messages.send.
	sendScopes = []string{auth.ScopeGmailSend}
	// labelsScopes are the scopes of labels.create and labels.delete.
	labelsScopes = []string{auth.ScopeGmailLabels}
	// deleteScopes are the scopes of messages.delete, which deletes for
	// good: only full mail access allows it.
	deleteScopes = []string{auth.ScopeGmailFull}
)

// scopesFor returns the scopes of the call op names ("gmail: " and the
// method without "users.").
func (g *Client) scopesFor(op string) []string {
	switch strings.TrimPrefix(op, "gmail: ") {
	case "messages.list", "messages.get", "threads.list", "threads.get", "history.list",
		"labels.list", "getProfile":
		if g.ReadOnlyScopes {
			return readOnlyScopes
		}
		return readScopes
	case "messages.modify", "messages.trash", "messages.batchModify":
		return modifyScopes
	case "messages.insert", "messages.import":
		return insertScopes
	case "messages.send":
		return sendScopes
	case "labels.create", "labels.delete":
		return labelsScopes
	case "messages.delete":
		return deleteScopes
	}
	return serviceScopes
}

// conn returns the connection acting as user with the scopes of op,
// building it on first use.
func (g *Client) conn(ctx context.Context, op, user string) (*userConn, error) {
	return g.connScopes(ctx, op, user, g.scopesFor(op))
}

// connScopes returns the connection acting as user with scopes.
func (g *Client) connScopes(ctx context.Context, op, user string, scopes []string) (*userConn, error) {
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	key := strings.ToLower(user) + "\x00" + strings.Join(scopes, " ")
	g.mu.Lock()
	defer g.mu.Unlock()
	if uc := g.users[key]; uc != nil {
		return uc, nil
	}
	hc, err := g.core.HTTPClient(user, scopes...)
	if err != nil {
		return nil, err
	}
	svc, err := gmailapi.NewService(ctx, option.WithHTTPClient(hc),
		option.WithEndpoint(core.Of(g.core).BaseURL(workspace.APIGmail)))
	if err != nil {
		return nil, err
	}
	uc := &userConn{hc: hc, svc: svc}
	g.users[key] = uc
	return uc, nil
}

// Service returns Google's generated Gmail client acting as user, over the
// library's transport (retries, quota pacing, token per user). Attach
// CallContext to each call so that it is costed and paced:
//
//	svc, _ := g.Service(ctx, user)
//	m, err := svc.Users.Messages.Get(user, id).
//		Context(gmail.CallContext(ctx, user, "users.messages.get")).Do()
//
// Its token holds gmail.modify: enough for every method but the settings
// ones and users.messages.delete / batchDelete, which need full mail
// access. For those, use ServiceWithScopes.
func (g *Client) Service(ctx context.Context, user string) (*gmailapi.Service, error) {
	uc, err := g.conn(ctx, "gmail: Service", user)
	if err != nil {
		return nil, err
	}
	return uc.svc, nil
}

// ServiceWithScopes is Service with a token holding scopes instead of
// gmail.modify, for methods that need another scope (for example
// auth.ScopeGmailSettingsBasic for filters, auth.ScopeGmailFull for
// users.messages.batchDelete). Authorize them for the service account
// too.
func (g *Client) ServiceWithScopes(ctx context.Context, user string, scopes ...string) (*gmailapi.Service, error) {
	if len(scopes) == 0 {
		return nil, &workspace.InputError{Op: "gmail: ServiceWithScopes", Field: "scopes", Reason: "at least one scope is required"}
	}
	uc, err := g.connScopes(ctx, "gmail: Service", user, scopes)
	if err != nil {
		return nil, err
	}
	return uc.svc, nil
}

// CallContext returns ctx carrying the description of one Gmail call by
// user, for the calls made with Service's generated client: method is
// Gmail's discovery id without the "gmail." prefix (e.g.
// "users.messages.get"), which the quota layer looks up in the cost table
// of the configured regime and the retry layer in its repeat table. A
// call without it is neither costed nor paced, and is repeated by the rule
// of its HTTP method.
func CallContext(ctx context.Context, user, method string) context.Context {
	return core.WithCall(ctx, &core.Call{API: workspace.APIGmail, Method: method, User: user})
}

// checkUser refuses an empty or malformed mailbox address before any
// request. "me" is refused too: with domain-wide delegation the mailbox
// must be named.
func checkUser(op, user string) error {
	at := strings.LastIndexByte(user, '@')
	if at <= 0 || at == len(user)-1 || strings.ContainsAny(user, " \t\r\n/?#") {
		return &workspace.InputError{Op: op, Field: "user", Reason: "not an e-mail address: " + strconv.Quote(user)}
	}
	return nil
}

// apiError strips the *url.Error that net/http wraps around the core's
// *workspace.Error, so messages do not repeat the request URL.
func apiError(err error) error { return apierr.StripURL(err) }

// budgetError is a local refusal by a daily budget of the limiter, for a
// batch part (the core maps it for ordinary calls).
type budgetError struct {
	method string
	err    error
}

func (e *budgetError) Error() string { return "gmail: " + e.method + ": " + e.err.Error() }
func (e *budgetError) Unwrap() error { return e.err }
func (e *budgetError) Is(target error) bool {
	return target == workspace.ErrQuotaExhausted
}

// acquire asks the core's limiter for one Gmail call by user.
func (g *Client) acquire(ctx context.Context, user, method string) (quota.Release, error) {
	rel, err := g.core.Limiter().Acquire(ctx, &quota.Request{API: workspace.APIGmail, Method: method,
		Project: g.core.Project(), User: user})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if errors.Is(err, quota.ErrBudgetExhausted) {
			return nil, &budgetError{method: method, err: err}
		}
		return nil, err
	}
	return rel, nil
}

// pathUser escapes a mailbox address for a URL path.
func pathUser(user string) string { return url.PathEscape(user) }
