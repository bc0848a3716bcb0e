package datatransfer

import (
	"context"
	"net/http"
	"sync"

	admin "google.golang.org/api/admin/datatransfer/v1"
	directory "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/option"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/apierr"
	"github.com/gwsadmin/workspace/internal/core"
)

// Client gives access to group archive migration and the Data Transfer API.
// Make one with New; it is safe for concurrent use.
type Client struct {
	core *workspace.Client

	// Archive inserts single messages into group archives.
	Archive *ArchiveService
	// Applications lists the applications whose data can be transferred.
	Applications *ApplicationsService
	// Transfers creates and follows ownership transfers.
	Transfers *TransfersService
	// Users resolves user e-mail addresses to the ids transfers take.
	Users *UsersService

	// ReadOnlyScopes makes the read calls (Applications.List, Get and
	// All, Transfers.Get, List, All and Wait) ask for a token with
	// admin.datatransfer.readonly instead of admin.datatransfer, for a
	// service account that was granted only the read-only scope. Set it
	// before the first call.
	ReadOnlyScopes bool

	svcMu      sync.Mutex
	transfers  map[string]*admin.Service // by scope
	dir        *directory.Service
	dirUsersMu sync.Mutex
	userIDs    map[string]string
}

// New returns a Client that sends its calls through c, acting as c's
// default subject (an administrator).
func New(c *workspace.Client) *Client {
	dt := &Client{core: c, userIDs: make(map[string]string)}
	dt.Archive = &ArchiveService{c: dt}
	dt.Applications = &ApplicationsService{c: dt}
	dt.Transfers = &TransfersService{c: dt}
	dt.Users = &UsersService{c: dt}
	return dt
}

// The scopes each service asks for, each on its own token (see the
// package doc).
var (
	// archiveScopes are the scopes of Archive.Insert (Groups Migration).
	archiveScopes = []string{auth.ScopeGroupsMigration}
	// transferScopes are the scopes of Transfers.Insert and, unless
	// ReadOnlyScopes is set, of every Data Transfer read.
	transferScopes = []string{auth.ScopeDataTransfer}
	// transferReadOnlyScopes are the scopes of the Data Transfer reads
	// when ReadOnlyScopes is set.
	transferReadOnlyScopes = []string{auth.ScopeDataTransferReadOnly}
	// usersScopes are the scopes of Users.ID (Directory users.get), which
	// Transfers.Insert and List call to resolve addresses.
	usersScopes = []string{auth.ScopeDirectoryUserReadOnly}
)

// archiveClient returns the core's HTTP client (retry, quota, auth) with a
// token for Groups Migration only.
func (c *Client) archiveClient() (*http.Client, error) {
	return c.core.HTTPClient("", archiveScopes...)
}

// transferService returns Google's generated Data Transfer client over a
// token with admin.datatransfer (write, or a read without ReadOnlyScopes)
// or admin.datatransfer.readonly.
func (c *Client) transferService(ctx context.Context, write bool) (*admin.Service, error) {
	scopes := transferScopes
	if !write && c.ReadOnlyScopes {
		scopes = transferReadOnlyScopes
	}
	c.svcMu.Lock()
	defer c.svcMu.Unlock()
	if svc := c.transfers[scopes[0]]; svc != nil {
		return svc, nil
	}
	hc, err := c.core.HTTPClient("", scopes...)
	if err != nil {
		return nil, err
	}
	svc, err := admin.NewService(ctx, option.WithHTTPClient(hc),
		option.WithEndpoint(core.Of(c.core).BaseURL(workspace.APIDataTransfer)))
	if err != nil {
		return nil, err
	}
	if c.transfers == nil {
		c.transfers = make(map[string]*admin.Service)
	}
	c.transfers[scopes[0]] = svc
	return svc, nil
}

// dirService returns Google's generated Directory client over a token with
// admin.directory.user.readonly only.
func (c *Client) dirService(ctx context.Context) (*directory.Service, error) {
	c.svcMu.Lock()
	defer c.svcMu.Unlock()
	if c.dir != nil {
		return c.dir, nil
	}
	hc, err := c.core.HTTPClient("", usersScopes...)
	if err != nil {
		return nil, err
	}
	c.dir, err = directory.NewService(ctx, option.WithHTTPClient(hc),
		option.WithEndpoint(core.Of(c.core).BaseURL(workspace.APIDirectory)))
	return c.dir, err
}

// apiError strips the *url.Error that net/http wraps around the core's
// *workspace.Error, so messages do not repeat the request URL.
func apiError(err error) error { return apierr.StripURL(err) }
