package datatransfer

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"google.golang.org/api/googleapi"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/mailsource"
)

// MaxMessageSize is the largest message a group archive accepts: 25 MiB,
// headers, body and attachments included.
const MaxMessageSize = 26_214_400

// The responseCode values Groups Migration documents.
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

// Prepare normalizes msg's line endings to CRLF and checks it against what
// a group archive accepts: not empty, at most MaxMessageSize bytes, a
// parseable header with a From address, at least one recipient (To, Cc or
// Bcc) and a parseable Date. It returns the normalized message, or an
// *workspace.InputError naming the first problem.
func Prepare(msg []byte) ([]byte, error) {
	norm := mailsource.NormalizeCRLF(msg)
	if err := mailsource.Validate(norm, MaxMessageSize); err != nil {
		field, reason := "message", err.Error()
		if p, ok := err.(*mailsource.Problem); ok {
			field, reason = p.Field, p.Reason
		}
		return nil, &workspace.InputError{Op: "datatransfer: archive.insert", Field: field, Reason: reason}
	}
	return norm, nil
}

// Insert validates msg (see Prepare) and inserts it into the archive of
// group, given by its e-mail address. Invalid input is refused before any
// request is sent, spending no quota. Calls are paced by the client's quota
// layer (10 per second per project, one at a time per group) and retried
// on throttles and server errors.
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
	norm, err := Prepare(msg)
	if err != nil {
		return err
	}
	return s.insert(ctx, group, norm)
}

// insert sends an already prepared message.
func (s *ArchiveService) insert(ctx context.Context, group string, norm []byte) error {
	if err := s.c.services(ctx); err != nil {
		return err
	}
	ctx = workspace.WithCall(ctx, &workspace.Call{API: workspace.APIGroupsMigration, Method: "archive.insert", Group: strings.ToLower(group)})
	res, err := s.c.migration.Archive.Insert(group).
		Media(bytes.NewReader(norm), googleapi.ContentType("message/rfc822"), googleapi.ChunkSize(0)).
		Context(ctx).Do()
	if err != nil {
		return apiError(err)
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
