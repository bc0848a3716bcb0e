package datatransfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/api/groupsmigration/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/migrate"
)

// MaxMessageSize is the largest message a group archive accepts: 25 MiB,
// headers, body and attachments included.
const MaxMessageSize = 26_214_400

// The responseCode values Groups Migration documents. A failed insert's
// *workspace.Error lists the one Google gave in its Reasons.
const (
	ResponseSuccess             = "SUCCESS"
	ResponseAuthorization       = "AUTHORIZATION FAILURE"
	ResponseBackend             = "BACKEND FAILURE"
	ResponseInvalidMessage      = "INVALID MESSAGE FAILURE"
	ResponseUnsupportedParallel = "UNSUPPORTED_PARALLEL_OPERATION"
)

// ArchiveService inserts messages into Google Groups archives
// (groupsmigration v1 archive.insert).
type ArchiveService struct{ c *Client }

// prepare makes msg ready for a group archive the way a migration does
// with the migrate.Standard policy (see Insert), naming archive.insert in
// the *workspace.InputError of a refused message.
func prepare(msg []byte) ([]byte, error) {
	out, _, err := migrate.Prepare(msg, "", MaxMessageSize, migrate.Standard)
	var ie *workspace.InputError
	if errors.As(err, &ie) {
		ie.Op = "datatransfer: archive.insert"
	}
	return out, err
}

// Insert prepares msg the way a migration does with the migrate.Standard
// policy (see migrate.Prepare) and inserts it into the archive of group,
// given by its e-mail address: line endings become CRLF and a stray
// envelope line at the top is removed; a message that is empty, over
// MaxMessageSize, has no header section, or lacks a From, To or Date
// header is refused with a *workspace.InputError before any request is
// sent, spending no quota. Nothing else is refused locally: Google's
// answer is the final word. To check a message without sending it, call
// migrate.Prepare(msg, group, MaxMessageSize, migrate.Standard).
//
// Calls are paced by the client's quota layer (10 per second per project,
// one at a time per group) and retried on throttles and server errors.
//
// Insert is not idempotent: Google keeps no record of Message-IDs, so a
// retried insert after a connection dropped mid-call may store the message
// twice. Such transport errors are returned, not retried (see Migrate for a
// journal that reports these cases).
//
// API docs: https://developers.google.com/workspace/admin/groups-migration/v1/reference/archive/insert
func (s *ArchiveService) Insert(ctx context.Context, group string, msg []byte) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	norm, err := prepare(msg)
	if err != nil {
		return err
	}
	return s.insert(ctx, group, norm)
}

// insert sends an already prepared message as a simple media upload
// (uploadType=media, the protocol the reference page names). The request
// is built here rather than by the generated client because the generated
// client wraps the message in a multipart body that cannot be replayed, so
// a retry would need a second in-memory copy of up to 25 MiB; a
// bytes.Reader body is replayed through Request.GetBody at no cost. The
// response is decoded into the generated client's type.
func (s *ArchiveService) insert(ctx context.Context, group string, norm []byte) error {
	return s.send(ctx, group, int64(len(norm)), func() io.Reader { return bytes.NewReader(norm) })
}

// send is insert with the message given by its size and a function that
// reads it from its first byte, as often as the request is sent (a
// refreshed token, a redirect): each read must give the same bytes.
func (s *ArchiveService) send(ctx context.Context, group string, size int64, open func() io.Reader) error {
	hc, err := s.c.archiveClient()
	if err != nil {
		return err
	}
	ctx = core.WithCall(ctx, &core.Call{API: workspace.APIGroupsMigration, Method: "archive.insert", Group: strings.ToLower(group)})
	u := core.Of(s.c.core).BaseURL(workspace.APIGroupsMigration) + "upload/groups/v1/groups/" +
		url.PathEscape(group) + "/archive?uploadType=media&alt=json&prettyPrint=false"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, io.NopCloser(open()))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(open()), nil }
	if size == 0 {
		req.Body, req.GetBody = http.NoBody, nil
	}
	req.Header.Set("Content-Type", "message/rfc822")
	resp, err := hc.Do(req)
	if err != nil {
		return apiError(err)
	}
	defer resp.Body.Close()
	// A 2xx answer means the message is stored, even when the rest of the
	// answer cannot be read: sending it again would store it twice.
	var res groupsmigration.Groups
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil {
		core.Of(s.c.core).Logger.LogAttrs(ctx, slog.LevelWarn, "datatransfer: archive.insert: stored, but the answer could not be read",
			slog.String("group", group), slog.String("error", err.Error()))
		return nil
	}
	if res.ResponseCode != "" && res.ResponseCode != ResponseSuccess {
		return fmt.Errorf("datatransfer: archive.insert: unexpected responseCode %q", res.ResponseCode)
	}
	return nil
}

func checkGroup(group string) error {
	at := strings.LastIndexByte(group, '@')
	if at <= 0 || at == len(group)-1 || strings.ContainsAny(group, " \t\r\n/") {
		return &workspace.InputError{Op: "datatransfer", Field: "group", Reason: fmt.Sprintf("%q is not a group e-mail address", group)}
	}
	return nil
}
