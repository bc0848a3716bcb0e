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

	once       sync.Once
	initErr    error
	hc         *http.Client
	transfer   *admin.Service
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

// services builds Google's generated clients on first use, handing them the
// core's HTTP client (retry, quota, auth) and base URLs. Archive inserts use
// the same HTTP client directly (see ArchiveService.insert).
func (c *Client) services(ctx context.Context) error {
	c.once.Do(func() {
		hc, err := c.core.HTTPClient("", auth.ScopeGroupsMigration, auth.ScopeDataTransfer, auth.ScopeDirectoryUserReadOnly)
		if err != nil {
			c.initErr = err
			return
		}
		c.hc = hc
		c.transfer, err = admin.NewService(ctx, option.WithHTTPClient(hc),
			option.WithEndpoint(c.core.BaseURL(workspace.APIDataTransfer)))
		if err != nil {
			c.initErr = err
			return
		}
		c.dir, c.initErr = directory.NewService(ctx, option.WithHTTPClient(hc),
			option.WithEndpoint(c.core.BaseURL(workspace.APIDirectory)))
	})
	return c.initErr
}

// apiError strips the *url.Error that net/http wraps around the core's
// *workspace.Error, so messages do not repeat the request URL.
func apiError(err error) error { return apierr.StripURL(err) }
