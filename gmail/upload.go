package gmail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	gomail "github.com/emersion/go-message/mail"
	gmailapi "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/mailsource"
)

// Message size limits (the discovery document's mediaUpload.maxSize).
const (
	// MaxSendSize is the largest message messages.send accepts: 35 MiB.
	MaxSendSize = 36700160
	// MaxInsertSize is the largest message messages.insert and
	// messages.import accept: 150 MiB.
	MaxInsertSize = 157286400
)

// Upload defaults.
const (
	// defaultResumableThreshold is the size above which a message is sent
	// with the resumable upload protocol instead of one request.
	defaultResumableThreshold = 5 << 20
	// defaultChunkSize is the size of each resumable upload chunk.
	defaultChunkSize = 8 << 20
)

// InsertOptions tune Insert and Import. Nil means defaults.
type InsertOptions struct {
	// LabelIDs are applied to the message (e.g. "INBOX", "UNREAD").
	LabelIDs []string
	// ThreadID puts the message in an existing thread.
	ThreadID string
	// InternalDateSource is "receivedTime" or "dateHeader" (Gmail's
	// defaults: receivedTime for insert, dateHeader for import).
	InternalDateSource string
	// Deleted stores the message as deleted: only Google Vault sees it.
	Deleted bool
	// NeverMarkSpam and ProcessForCalendar apply to Import only.
	NeverMarkSpam, ProcessForCalendar bool
	// ResumableThreshold is the size above which the resumable upload is
	// used (default 5 MiB); ChunkSize the size of its chunks (default
	// 8 MiB, rounded up to a multiple of 256 KiB).
	ResumableThreshold int64
	ChunkSize          int
	// Retry tunes the retries of a resumable upload; nil means defaults.
	Retry *UploadRetry
}

// SendOptions tune Send. Nil means defaults.
type SendOptions struct {
	// ThreadID sends the message as part of an existing thread.
	ThreadID string
	// ResumableThreshold, ChunkSize and Retry as in InsertOptions.
	ResumableThreshold int64
	ChunkSize          int
	Retry              *UploadRetry
}

// Insert stores raw, an RFC 822 message, in user's mailbox without
// delivery scanning, like IMAP APPEND (25 units). Messages larger than
// MaxInsertSize are refused before any request.
//
// A message larger than the resumable threshold goes by resumable upload
// (see the package documentation, "Sizes and uploads"): charged once,
// resumed from what the server holds after a failure. When the last
// chunk's answer is lost and the session cannot tell whether the message
// was stored, the error is an *OutcomeUnknownError.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/insert
func (s *MessagesService) Insert(ctx context.Context, user string, raw []byte, opts *InsertOptions) (*gmailapi.Message, error) {
	return s.store(ctx, "users.messages.insert", user, bytesSource(raw), opts)
}

// Import stores raw in user's mailbox with standard delivery scanning and
// classification, as if received by SMTP (25 units). Messages larger than
// MaxInsertSize are refused before any request. Large messages go by
// resumable upload, as for Insert.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/import
func (s *MessagesService) Import(ctx context.Context, user string, raw []byte, opts *InsertOptions) (*gmailapi.Message, error) {
	return s.store(ctx, "users.messages.import", user, bytesSource(raw), opts)
}

// source is a message to upload: size bytes, read from the first by open
// as often as needed, every read giving the same bytes.
type source struct {
	size int64
	open func() io.Reader
	data []byte // the message, when it is in memory
}

func bytesSource(raw []byte) source {
	return source{size: int64(len(raw)), open: func() io.Reader { return bytes.NewReader(raw) }, data: raw}
}

// bytes returns the message in memory (read into a new slice when it is
// not).
func (s source) bytes() ([]byte, error) {
	if s.data != nil || s.size == 0 {
		return s.data, nil
	}
	b := make([]byte, s.size)
	if _, err := io.ReadFull(s.open(), b); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *MessagesService) store(ctx context.Context, method, user string, src source, opts *InsertOptions) (*gmailapi.Message, error) {
	op := "gmail: " + strings.TrimPrefix(method, "users.")
	var o InsertOptions
	if opts != nil {
		o = *opts
	}
	switch o.InternalDateSource {
	case "", "receivedTime", "dateHeader":
	default:
		return nil, &workspace.InputError{Op: op, Field: "InternalDateSource", Reason: fmt.Sprintf("%q is not receivedTime or dateHeader", o.InternalDateSource)}
	}
	if err := checkSource(op, src, MaxInsertSize); err != nil {
		return nil, err
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return nil, err
	}
	meta := &gmailapi.Message{LabelIds: o.LabelIDs, ThreadId: o.ThreadID}
	if resumable, chunk := uploadPlan(src.size, o.ResumableThreshold, o.ChunkSize); resumable {
		q := url.Values{}
		if o.InternalDateSource != "" {
			q.Set("internalDateSource", o.InternalDateSource)
		}
		if o.Deleted {
			q.Set("deleted", "true")
		}
		path := "users/" + pathUser(user) + "/messages"
		if method == "users.messages.import" {
			path += "/import"
			if o.NeverMarkSpam {
				q.Set("neverMarkSpam", "true")
			}
			if o.ProcessForCalendar {
				q.Set("processForCalendar", "true")
			}
		}
		return s.g.resumable(ctx, uc, method, user, path, q, meta, src, chunk, o.Retry)
	}
	raw, err := src.bytes()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the message: %w", op, err)
	}
	meta.Raw = base64.URLEncoding.EncodeToString(raw)
	cctx := CallContext(ctx, user, method)
	var m *gmailapi.Message
	if method == "users.messages.import" {
		call := uc.svc.Users.Messages.Import(user, meta)
		if o.InternalDateSource != "" {
			call.InternalDateSource(o.InternalDateSource)
		}
		if o.Deleted {
			call.Deleted(true)
		}
		if o.NeverMarkSpam {
			call.NeverMarkSpam(true)
		}
		if o.ProcessForCalendar {
			call.ProcessForCalendar(true)
		}
		m, err = call.Context(cctx).Do()
	} else {
		call := uc.svc.Users.Messages.Insert(user, meta)
		if o.InternalDateSource != "" {
			call.InternalDateSource(o.InternalDateSource)
		}
		if o.Deleted {
			call.Deleted(true)
		}
		m, err = call.Context(cctx).Do()
	}
	if err != nil && answeredUnreadable(err) {
		return nil, &AnswerUnreadableError{Method: method, Err: err}
	}
	return m, apiError(err)
}

// answeredUnreadable reports an error of a generated call's Do that came
// after a 2xx answer: net/http wraps every transport failure and the core
// every error answer in a *url.Error, so what is left is the decoding of
// a success's body.
func answeredUnreadable(err error) bool {
	var ue *url.Error
	var ge *googleapi.Error
	return !errors.As(err, &ue) && !errors.As(err, &ge) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded)
}

// AnswerUnreadableError is returned by Insert and Import when Gmail
// answered with success, so the message is stored, but the answer's body
// could not be read: the stored Message is not known. Do not send the
// message again.
type AnswerUnreadableError struct {
	Method string // e.g. "users.messages.import"
	Err    error  // the decoding error
}

// Error names the method and says that the message was stored.
func (e *AnswerUnreadableError) Error() string {
	return "gmail: " + strings.TrimPrefix(e.Method, "users.") + ": stored, but the answer could not be read: " + e.Err.Error()
}

// Unwrap returns the decoding error.
func (e *AnswerUnreadableError) Unwrap() error { return e.Err }

// Send sends raw, an RFC 822 message with its recipients in To, Cc and Bcc,
// as user (100 units). Messages larger than MaxSendSize are refused before
// any request.
//
// When the user has hit Gmail's sending limits (2,000 messages a day,
// 10,000 recipients, ...), Gmail answers 429 for hours; Send returns that
// at once as a *SendLimitError with the time sending may resume, instead
// of retrying. Large messages go by resumable upload, as for Insert.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/send
func (s *MessagesService) Send(ctx context.Context, user string, raw []byte, opts *SendOptions) (*gmailapi.Message, error) {
	const op = "gmail: messages.send"
	var o SendOptions
	if opts != nil {
		o = *opts
	}
	if err := checkSource(op, bytesSource(raw), MaxSendSize); err != nil {
		return nil, err
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return nil, err
	}
	meta := &gmailapi.Message{ThreadId: o.ThreadID}
	var m *gmailapi.Message
	if resumable, chunk := uploadPlan(int64(len(raw)), o.ResumableThreshold, o.ChunkSize); resumable {
		m, err = s.g.resumable(ctx, uc, "users.messages.send", user, "users/"+pathUser(user)+"/messages/send",
			url.Values{}, meta, bytesSource(raw), chunk, o.Retry)
	} else {
		meta.Raw = base64.URLEncoding.EncodeToString(raw)
		m, err = uc.svc.Users.Messages.Send(user, meta).Context(CallContext(ctx, user, "users.messages.send")).Do()
	}
	if err != nil {
		return nil, sendError(apiError(err))
	}
	return m, nil
}

// uploadPlan says whether a message of size bytes goes by resumable
// upload, and with which chunk size: a multiple of 256 KiB (Google's rule
// for every chunk but the last).
func uploadPlan(size int64, threshold int64, chunk int) (bool, int) {
	if threshold <= 0 {
		threshold = defaultResumableThreshold
	}
	if size <= threshold {
		return false, 0
	}
	if chunk <= 0 {
		chunk = defaultChunkSize
	}
	const unit = googleapi.MinUploadChunkSize
	return true, (chunk + unit - 1) / unit * unit
}

// checkSource refuses, before any request, a message that is empty, larger
// than limit or without a header Gmail can read.
func checkSource(op string, src source, limit int64) error {
	if src.data != nil || src.size == 0 {
		if len(bytes.TrimSpace(src.data)) == 0 {
			return &workspace.InputError{Op: op, Field: "message", Reason: "empty"}
		}
	} else if empty, err := allSpace(src.open()); err != nil || empty {
		if err != nil {
			return fmt.Errorf("%s: reading the message: %w", op, err)
		}
		return &workspace.InputError{Op: op, Field: "message", Reason: "empty"}
	}
	if src.size > limit {
		return &workspace.InputError{Op: op, Field: "message", Reason: fmt.Sprintf("%d bytes, more than Gmail's limit of %d", src.size, limit)}
	}
	if _, err := netmail.ReadMessage(src.open()); err != nil {
		return &workspace.InputError{Op: op, Field: "message", Reason: "not an RFC 822 message", Err: err}
	}
	return nil
}

// allSpace reports whether r reads only white space (as bytes.TrimSpace
// sees it); it stops at the first other character.
func allSpace(r io.Reader) (bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		c, _, err := br.ReadRune()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if !unicode.IsSpace(c) {
			return false, nil
		}
	}
}

// SendLimitError reports that Gmail refused to send because the user hit
// a sending limit (429 "User-rate limit exceeded (Mail sending)"). Sending
// resumes at RetryAt, which can be hours away. It matches
// workspace.ErrQuotaExhausted: like a daily quota, it is not retried (the
// core returns it after one attempt) and work resumes after RetryAt.
type SendLimitError struct {
	RetryAt time.Time        // when sending may resume (zero when Gmail did not say)
	Err     *workspace.Error // Gmail's answer
}

// Error says that sending is refused, until when if known, and why.
func (e *SendLimitError) Error() string {
	if e.RetryAt.IsZero() {
		return "gmail: sending limit reached: " + e.Err.Error()
	}
	return "gmail: sending limit reached until " + e.RetryAt.UTC().Format(time.RFC3339) + ": " + e.Err.Error()
}

// Unwrap returns Gmail's error.
func (e *SendLimitError) Unwrap() error { return e.Err }

var retryAfterText = regexp.MustCompile(`(?i)retry after (\d{4}-\d\d-\d\dT[0-9:.]+Z)`)

// sendError turns a sending-limit 429 into a *SendLimitError.
func sendError(err error) error {
	var we *workspace.Error
	if !errors.As(err, &we) || we.StatusCode != http.StatusTooManyRequests {
		return err
	}
	msg := strings.ToLower(we.Message)
	if !strings.Contains(msg, "sending") && !strings.Contains(msg, "retry after") {
		return err // concurrency or bandwidth: an ordinary throttle
	}
	se := &SendLimitError{Err: we}
	if m := retryAfterText.FindStringSubmatch(we.Message); m != nil {
		if t, perr := time.Parse(time.RFC3339Nano, m[1]); perr == nil {
			se.RetryAt = t
		}
	}
	if se.RetryAt.IsZero() && we.RetryAfter > 0 {
		se.RetryAt = time.Now().Add(we.RetryAfter)
	}
	return se
}

// Mail is a message to build with Compose.
type Mail struct {
	From    string   // "Name <addr>" or "addr"
	To      []string // recipients, same forms
	Cc, Bcc []string
	ReplyTo string
	Subject string
	Date    time.Time // zero means now
	// Text and HTML are the bodies; either may be empty.
	Text, HTML string
	// Attachments are added after the bodies.
	Attachments []Attachment
	// Header holds extra header fields (In-Reply-To, References, ...).
	Header map[string]string
}

// Attachment is a file attached to a Mail.
type Attachment struct {
	Filename    string
	ContentType string // default application/octet-stream
	Data        []byte
}

// Compose builds an RFC 822 message (CRLF line ends, MIME, a generated
// Message-ID) from m, for Send, Insert or Import. Bad addresses are
// refused with an *workspace.InputError.
func Compose(m *Mail) ([]byte, error) {
	const op = "gmail: Compose"
	if m == nil {
		return nil, &workspace.InputError{Op: op, Field: "mail", Reason: "nil"}
	}
	var h gomail.Header
	addrs := func(field string, list []string) error {
		var out []*gomail.Address
		for _, a := range list {
			pa, err := netmail.ParseAddress(a)
			if err != nil {
				return &workspace.InputError{Op: op, Field: field, Reason: fmt.Sprintf("bad address %q", a), Err: err}
			}
			out = append(out, &gomail.Address{Name: pa.Name, Address: pa.Address})
		}
		if len(out) > 0 {
			h.SetAddressList(field, out)
		}
		return nil
	}
	if m.From == "" {
		return nil, &workspace.InputError{Op: op, Field: "From", Reason: "empty"}
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"From", []string{m.From}}, {"To", m.To}, {"Cc", m.Cc}, {"Bcc", m.Bcc}} {
		if err := addrs(f.name, f.list); err != nil {
			return nil, err
		}
	}
	if m.ReplyTo != "" {
		if err := addrs("Reply-To", []string{m.ReplyTo}); err != nil {
			return nil, err
		}
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	h.SetDate(date)
	h.SetSubject(m.Subject)
	if err := h.GenerateMessageID(); err != nil {
		return nil, err
	}
	for k, v := range m.Header {
		h.Set(k, v)
	}
	var buf bytes.Buffer
	inline := func(w io.Writer, ct, body string) error {
		_, err := io.WriteString(w, body)
		return err
	}
	if len(m.Attachments) == 0 && (m.Text == "" || m.HTML == "") {
		ct, body := "text/plain", m.Text
		if m.HTML != "" {
			ct, body = "text/html", m.HTML
		}
		h.SetContentType(ct, map[string]string{"charset": "utf-8"})
		w, err := gomail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if err := inline(w, ct, body); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return mailsource.NormalizeCRLF(buf.Bytes()), nil
	}
	mw, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	iw, err := mw.CreateInline()
	if err != nil {
		return nil, err
	}
	for _, b := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if b.body == "" {
			continue
		}
		var ih gomail.InlineHeader
		ih.SetContentType(b.ct, map[string]string{"charset": "utf-8"})
		pw, err := iw.CreatePart(ih)
		if err != nil {
			return nil, err
		}
		if err := inline(pw, b.ct, b.body); err != nil {
			return nil, err
		}
		if err := pw.Close(); err != nil {
			return nil, err
		}
	}
	if err := iw.Close(); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		var ah gomail.AttachmentHeader
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		ah.SetContentType(ct, nil)
		ah.SetFilename(a.Filename)
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(a.Data); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return mailsource.NormalizeCRLF(buf.Bytes()), nil
}
