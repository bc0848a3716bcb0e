package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/retry"
)

// DownloadOptions tune Download. Nil means defaults.
type DownloadOptions struct {
	// Overwrite downloads a file again even when its final file exists.
	// By default a file already complete on disk is skipped (a final file
	// only appears after its size was checked).
	Overwrite bool
	// Attempts is how many times a file is tried when the transfer breaks
	// off or comes up short (default 5), with pauses of 1 s, then
	// doubling; each try resumes where the last stopped when the server
	// honours Range requests.
	Attempts int
	// Progress, when set, is called as bytes arrive.
	Progress func(DownloadProgress)
	// HTTPClient fetches files on hosts that may not receive credentials
	// (see Download); nil means http.DefaultClient. Files on the API host
	// always go through the workspace.Client.
	HTTPClient *http.Client
	// ExpiryWarning: a file that expires within this time is logged as a
	// warning on the core client's logger (default 3 days).
	ExpiryWarning time.Duration
}

// DownloadProgress reports a file's progress.
type DownloadProgress struct {
	Index       int   // file number (fileUrlN)
	Done, Total int64 // bytes on disk; Total is -1 when unknown
}

// DownloadedFile is one export file on disk.
type DownloadedFile struct {
	Index int    // N of fileUrlN
	URL   string // fileUrlN
	Path  string // the encrypted file (…/export-USER-ID-N.mbox.gpg)
	Size  int64  // bytes
	// SizeChecked: the size matched the server's Content-Length (or
	// Content-Range total). False when the server did not say, or when
	// the file was already on disk.
	SizeChecked bool
	Skipped     bool // already on disk, not fetched again
	Resumed     bool // continued from a partial file with a Range request
}

// ErrShortDownload reports a file whose size does not match what the
// server announced, after every attempt.
var ErrShortDownload = errors.New("audit: downloaded file size does not match the server's")

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName is the name Download gives file index of an export:
// export-USER-REQUESTID-INDEX.mbox.gpg.
func fileName(x *Export, index int) string {
	return "export-" + unsafeName.ReplaceAllString(x.User, "_") + "-" + unsafeName.ReplaceAllString(x.RequestID, "_") + "-" + strconv.Itoa(index) + ".mbox.gpg"
}

// Download saves every file of a COMPLETED export (fileUrl0 …) into dir,
// streaming each to disk. A file is written to NAME.part and renamed to
// NAME once its size matches the server's Content-Length, so a final file
// is always whole; an interrupted download continues from the .part file
// with a Range request when the server supports it, and starts again when
// it does not. Files already on disk are skipped unless Overwrite is set.
//
// The Authorization header is sent only to hosts the core client allows
// credentials for (Google's API hosts, or only the WithEndpoint host); a
// file on any other host is fetched without credentials through
// opts.HTTPClient, and a redirect that leaves
// the API host drops the header.
//
// Files are named export-USER-REQUESTID-N.mbox.gpg. An EXPIRED export, or
// a file answered with 410 Gone, gives an *ExpiredError; an export that
// ended in ERROR, MARKED_DELETE or DELETED gives a
// *workspace.OperationError, as Wait does.
func (s *ExportsService) Download(ctx context.Context, x *Export, dir string, opts *DownloadOptions) ([]*DownloadedFile, error) {
	const op = "audit.Exports.Download"
	o := DownloadOptions{Attempts: 5, HTTPClient: http.DefaultClient, ExpiryWarning: 72 * time.Hour}
	if opts != nil {
		o.Overwrite = opts.Overwrite
		if opts.Attempts > 0 {
			o.Attempts = opts.Attempts
		}
		o.Progress = opts.Progress
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		}
		if opts.ExpiryWarning > 0 {
			o.ExpiryWarning = opts.ExpiryWarning
		}
	}
	if x == nil {
		return nil, &workspace.InputError{Op: op, Field: "export", Reason: "nil"}
	}
	now := s.a.now()
	switch {
	case x.Status == StatusExpired || (!x.Expires.IsZero() && !now.Before(x.Expires)):
		return nil, &ExpiredError{RequestID: x.RequestID, User: x.User, Expires: x.Expires}
	case x.Status == StatusPending:
		return nil, &workspace.InputError{Op: op, Field: "export", Reason: fmt.Sprintf("export %s is still PENDING; Wait for it first", x.RequestID)}
	case x.Status != StatusCompleted:
		return nil, exportFailure(x)
	case len(x.FileURLs) == 0:
		return nil, fmt.Errorf("audit: export %s is COMPLETED but lists no files", x.RequestID)
	case x.NumberOfFiles >= 0 && x.NumberOfFiles != len(x.FileURLs):
		return nil, fmt.Errorf("audit: export %s says numberOfFiles=%d but lists %d file URLs", x.RequestID, x.NumberOfFiles, len(x.FileURLs))
	}
	if x.ExpiresWithin(now, o.ExpiryWarning) {
		core.Of(s.a.core).Logger.Warn("audit: export files expire soon",
			"request", x.RequestID, "user", x.User, "expires", x.Expires.UTC().Format(time.RFC3339))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var out []*DownloadedFile
	for i, u := range x.FileURLs {
		f, err := s.downloadFile(ctx, x, i, u, filepath.Join(dir, fileName(x, i)), &o)
		if f != nil {
			out = append(out, f)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *ExportsService) downloadFile(ctx context.Context, x *Export, index int, rawURL, final string, o *DownloadOptions) (*DownloadedFile, error) {
	f := &DownloadedFile{Index: index, URL: rawURL, Path: final}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("audit: export %s: fileUrl%d %q is not an http(s) URL", x.RequestID, index, rawURL)
	}
	if st, err := os.Stat(final); err == nil && !o.Overwrite {
		f.Size, f.Skipped = st.Size(), true
		return f, nil
	}
	part := final + ".part"
	pause := time.Second
	var last error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		if attempt > 1 {
			s.a.logWait(ctx, "audit: export file download failed; trying again after a pause", pause,
				slog.String("request", x.RequestID), slog.Int("file", index), slog.Int("attempt", attempt),
				slog.String("error", last.Error()))
			if err := core.Of(s.a.core).Sleep(ctx, pause); err != nil {
				return nil, err
			}
			pause *= 2
		}
		last = s.fetch(ctx, x, index, u, part, f, o)
		if last == nil {
			if err := os.Rename(part, final); err != nil {
				return nil, fmt.Errorf("audit: %w", err)
			}
			return f, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryableDownload(last) {
			return nil, last
		}
		core.Of(s.a.core).Logger.Info("audit: export file transfer broke off; trying again",
			"request", x.RequestID, "file", index, "attempt", attempt, "error", last.Error())
	}
	return nil, fmt.Errorf("audit: export %s file %d: giving up after %d attempts: %w", x.RequestID, index, o.Attempts, last)
}

// errRestart asks for another attempt from byte zero.
var errRestart = errors.New("audit: restarting the download")

// retryableDownload reports whether another attempt can help: a server
// answer the core calls temporary, a restart or short file, or a network
// failure. Local refusals (a URL the core will not send to, a file that
// cannot be written) and expired exports are final.
func retryableDownload(err error) bool {
	var we *workspace.Error
	if errors.As(err, &we) {
		return we.Temporary()
	}
	if errors.Is(err, errRestart) || errors.Is(err, ErrShortDownload) {
		return true
	}
	var ee *ExpiredError
	var pe *os.PathError
	if errors.As(err, &ee) || errors.As(err, &pe) {
		return false
	}
	return retry.Classify(workspace.APIAudit, nil, err).Class == retry.Transient
}

// fetch makes one attempt at a file, continuing the .part file when there
// is one.
func (s *ExportsService) fetch(ctx context.Context, x *Export, index int, u *url.URL, part string, f *DownloadedFile, o *DownloadOptions) error {
	var offset int64
	if st, err := os.Stat(part); err == nil {
		offset = st.Size()
	}
	var hc *http.Client
	if core.Of(s.a.core).AllowsCredentials(u.Host) {
		c, err := s.a.httpClient()
		if err != nil {
			return err
		}
		hc = c
	} else {
		hc = o.HTTPClient
	}
	req, err := http.NewRequestWithContext(s.a.call(ctx, "export.download", x.User), http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity") // sizes must be the file's
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := hc.Do(req)
	if err != nil {
		err = apiError(err)
		var we *workspace.Error
		if errors.As(err, &we) {
			switch we.StatusCode {
			case http.StatusGone:
				return &ExpiredError{RequestID: x.RequestID, User: x.User, Expires: x.Expires}
			case http.StatusRequestedRangeNotSatisfiable:
				// The part file is longer than the file, or the server
				// lost track: start over.
				_ = os.Remove(part)
				return errRestart
			}
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 { // a client without the core's error layer
		err := core.CheckResponse(workspace.APIAudit, "export.download", resp)
		var we *workspace.Error
		if errors.As(err, &we) && we.StatusCode == http.StatusGone {
			return &ExpiredError{RequestID: x.RequestID, User: x.User, Expires: x.Expires}
		}
		if errors.As(err, &we) && we.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			_ = os.Remove(part)
			return errRestart
		}
		return err
	}
	total := int64(-1)
	flags := os.O_WRONLY | os.O_CREATE
	switch resp.StatusCode {
	case http.StatusOK:
		// The whole file (the server ignored Range, or none was sent).
		flags |= os.O_TRUNC
		offset = 0
		total = resp.ContentLength
		f.Resumed = false
	case http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			_ = os.Remove(part)
			return fmt.Errorf("%w: unusable Content-Range %q for offset %d", errRestart, resp.Header.Get("Content-Range"), offset)
		}
		flags |= os.O_APPEND
		total = size
		f.Resumed = true
	default:
		return fmt.Errorf("audit: export %s file %d: unexpected status %s", x.RequestID, index, resp.Status)
	}
	out, err := os.OpenFile(part, flags, 0o600)
	if err != nil {
		return err
	}
	w := &progressWriter{w: out, done: offset, total: total, index: index, fn: o.Progress}
	_, cerr := io.Copy(w, resp.Body)
	serr := out.Sync()
	if err := out.Close(); err != nil && serr == nil {
		serr = err
	}
	if serr != nil {
		return &os.PathError{Op: "write", Path: part, Err: serr}
	}
	if cerr != nil {
		var pe *os.PathError
		if errors.As(cerr, &pe) {
			return cerr
		}
		return fmt.Errorf("audit: export %s file %d: transfer broke off at byte %d: %w", x.RequestID, index, w.done, cerr)
	}
	if total >= 0 {
		if w.done != total {
			return fmt.Errorf("%w: export %s file %d has %d bytes, the server announced %d", ErrShortDownload, x.RequestID, index, w.done, total)
		}
		f.SizeChecked = true
	}
	f.Size = w.done
	return nil
}

// parseContentRange reads "bytes START-END/SIZE"; size is -1 for "*".
func parseContentRange(v string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if sz == "*" {
		return start, -1, true
	}
	size, err = strconv.ParseInt(sz, 10, 64)
	if err != nil || size < start {
		return 0, 0, false
	}
	return start, size, true
}

type progressWriter struct {
	w           io.Writer
	done, total int64
	index       int
	fn          func(DownloadProgress)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.fn != nil {
		p.fn(DownloadProgress{Index: p.index, Done: p.done, Total: p.total})
	}
	if err != nil {
		err = &os.PathError{Op: "write", Path: "", Err: err}
	}
	return n, err
}
