package workspacetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Gmail state.
//
// Gmail keeps no copy of the mail: the messages themselves live in the
// shared mail store (mailstore.go), so a message seeded with AddMail, or
// inserted through Gmail, is one and the same message for every API. Gmail
// layers what only it knows on top, per user: labels, thread ids, internal
// dates and the history log. Messages that appear in the mail store without
// going through Gmail (AddMail, other APIs) are adopted the next time the
// user's Gmail mailbox is touched, with labels INBOX and UNREAD, and
// recorded in the history as added. A message deleted through Gmail is
// marked deleted in the store (an audit export with deleted messages still
// sees it).
//
// All of it is guarded by s.mu, like every other piece of server state; the
// per-server value hangs off the Server through serverLocal.

// GmailRegime selects which of Gmail's two published quota regimes the
// fake enforces: per-user units a minute and per-method costs differ.
type GmailRegime int

const (
	// GmailLegacyRegime is the regime of projects created before
	// 2026-05-01: 15,000 units per user a minute (the default).
	GmailLegacyRegime GmailRegime = iota
	// Gmail2026Regime is the regime of projects created from 2026-05-01:
	// 6,000 units per user a minute and dearer reads (messages.get 20,
	// threads.get 40, messages.trash 20, ...).
	Gmail2026Regime
)

// GmailConfig tunes the fake Gmail API. Zero fields take the defaults
// noted; unit and sending limits are multiplied by the server's speed
// (WithSpeed), like every other quota.
type GmailConfig struct {
	// Regime picks per-user limits and per-method costs (default legacy).
	Regime GmailRegime
	// UserUnitsPerMinute overrides the per-user quota (default 15,000 in
	// the legacy regime, 6,000 in the 2026 one). Refusals are 403
	// userRateLimitExceeded.
	UserUnitsPerMinute int
	// ProjectUnitsPerMinute overrides the per-project quota (default
	// 1,200,000). Refusals are 403 rateLimitExceeded.
	ProjectUnitsPerMinute int
	// MaxConcurrentPerUser caps the requests a user may have in flight
	// (default 10; negative: no cap). One more gets 429 "Too many
	// concurrent requests for user".
	MaxConcurrentPerUser int
	// DailySendLimit is how many messages a user may send in a rolling
	// 24 hours (default 2,000). Beyond it messages.send answers 429
	// "User-rate limit exceeded (Mail sending)" with a Retry-After.
	DailySendLimit int
	// HistoryRecords is how many history records a mailbox keeps (default
	// 10,000); HistoryMaxAge how long it keeps them (default 7 days;
	// negative: forever). history.list with a startHistoryId older than
	// what is kept answers 404 notFound.
	HistoryRecords int
	HistoryMaxAge  time.Duration
}

// withDefaults fills the zero fields.
func (c GmailConfig) withDefaults() GmailConfig {
	if c.UserUnitsPerMinute <= 0 {
		c.UserUnitsPerMinute = 15000
		if c.Regime == Gmail2026Regime {
			c.UserUnitsPerMinute = 6000
		}
	}
	if c.ProjectUnitsPerMinute <= 0 {
		c.ProjectUnitsPerMinute = 1200000
	}
	if c.MaxConcurrentPerUser == 0 {
		c.MaxConcurrentPerUser = 10
	}
	if c.DailySendLimit <= 0 {
		c.DailySendLimit = 2000
	}
	if c.HistoryRecords <= 0 {
		c.HistoryRecords = 10000
	}
	if c.HistoryMaxAge == 0 {
		c.HistoryMaxAge = 7 * 24 * time.Hour
	}
	return c
}

// gmailState is the Gmail part of one Server. Guarded by s.mu.
type gmailState struct {
	cfg      GmailConfig
	boxes    map[string]*gmailBox // by lower-cased email
	userLim  map[gmailQuotaKey]*rate.Limiter
	projLim  map[string]*rate.Limiter
	spent    map[string]int64 // units charged, by user
	inflight map[string]int
	holds    map[string]*GmailHold
	uploads  map[string]*gmailUpload // resumable sessions by upload id
	// uploadLog lists the requests to upload sessions (GmailUploadLog).
	uploadLog []GmailUploadRequest
	// batchLog lists the requests to the batch endpoint (GmailBatchLog).
	batchLog []GmailBatchRequest
}

type gmailQuotaKey struct{ user, project string }

var gmailStates = serverLocal[gmailState]{newT: func(*Server) *gmailState {
	g := &gmailState{cfg: GmailConfig{}.withDefaults()}
	g.resetQuota()
	g.boxes = map[string]*gmailBox{}
	g.holds = map[string]*GmailHold{}
	g.uploads = map[string]*gmailUpload{}
	return g
}}

func (g *gmailState) resetQuota() {
	g.userLim = map[gmailQuotaKey]*rate.Limiter{}
	g.projLim = map[string]*rate.Limiter{}
	g.spent = map[string]int64{}
	g.inflight = map[string]int{}
}

// gmail returns the server's Gmail state; hold s.mu to use it.
func (s *Server) gmail() *gmailState { return gmailStates.get(s) }

// SetGmailConfig replaces the Gmail settings (see GmailConfig). Quota
// counters and units spent restart; mailboxes are kept. Call it before
// the first request or between phases of a test.
func (s *Server) SetGmailConfig(c GmailConfig) {
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	g.cfg = c.withDefaults()
	g.resetQuota()
}

// gmailBox is one user's Gmail view of the mail store.
type gmailBox struct {
	user      string
	adopted   int // messages of the mail store's list already known here
	msgs      map[string]*gmailMsg
	byHdrID   map[string]string // Message-ID header -> thread id
	thSubject map[string]string // thread id -> normalized subject
	labels    map[string]*gmailLabel
	labelSeq  int
	historyID uint64
	history   []gmailRecord
	floor     uint64 // start ids below this one have expired
	sends     []time.Time
	rng       *rand.Rand
}

// gmailMsg is what Gmail knows of a stored message.
type gmailMsg struct {
	m         *mailMessage
	seq       int
	threadID  string
	labels    []string
	internal  time.Time
	historyID uint64
	parsed    *gmailParsed
}

func (gm *gmailMsg) has(label string) bool { return slices.Contains(gm.labels, label) }

func (gm *gmailMsg) parse() *gmailParsed {
	if gm.parsed == nil {
		gm.parsed = parseGmailMessage(gm.m.raw)
	}
	return gm.parsed
}

// gmailLabel is a system or user label.
type gmailLabel struct {
	ID                    string           `json:"id"`
	Name                  string           `json:"name"`
	Type                  string           `json:"type"`
	MessageListVisibility string           `json:"messageListVisibility,omitempty"`
	LabelListVisibility   string           `json:"labelListVisibility,omitempty"`
	Color                 *gmailLabelColor `json:"color,omitempty"`
}

type gmailLabelColor struct {
	TextColor       string `json:"textColor,omitempty"`
	BackgroundColor string `json:"backgroundColor,omitempty"`
}

// gmailSystemLabels are the labels every mailbox has.
var gmailSystemLabels = []string{
	"CHAT", "SENT", "INBOX", "IMPORTANT", "TRASH", "DRAFT", "SPAM",
	"CATEGORY_FORUMS", "CATEGORY_UPDATES", "CATEGORY_PERSONAL",
	"CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "STARRED", "UNREAD",
}

// gmailRecord is one history record.
type gmailRecord struct {
	id       uint64
	at       time.Time
	kind     string // messageAdded, messageDeleted, labelAdded, labelRemoved
	msgID    string
	threadID string
	labels   []string // the message's labels after the change
	changed  []string // labels added or removed
}

// boxLocked returns user's mailbox, creating it and adopting messages that
// reached the mail store by other ways; s.mu held. user is lower-cased.
func (s *Server) gmailBoxLocked(user string) *gmailBox {
	g := s.gmail()
	b := g.boxes[user]
	if b == nil {
		h := fnv.New64a()
		h.Write([]byte(user))
		seed := h.Sum64()
		b = &gmailBox{
			user: user, msgs: map[string]*gmailMsg{}, byHdrID: map[string]string{},
			thSubject: map[string]string{}, labels: map[string]*gmailLabel{},
			rng: rand.New(rand.NewPCG(seed, 0x6d61696c)),
		}
		b.historyID = 1000 + uint64(b.rng.IntN(9000))
		for _, id := range gmailSystemLabels {
			b.labels[id] = &gmailLabel{ID: id, Name: id, Type: "system"}
		}
		g.boxes[user] = b
	}
	all := s.mail().byUser[user]
	now := s.nowLocked()
	for b.adopted < len(all) {
		m := all[b.adopted]
		b.adopted++
		if m.deleted {
			continue
		}
		s.gmailAdoptLocked(b, m, []string{"INBOX", "UNREAD"}, m.date, "", now)
	}
	return b
}

// gmailAddLocked stores raw in user's mailbox with the given labels and
// returns the Gmail message; s.mu held.
func (s *Server) gmailAddLocked(user string, raw []byte, labels []string, internal time.Time, threadHint string) *gmailMsg {
	b := s.gmailBoxLocked(user)
	now := s.nowLocked()
	m := s.mail().addLocked(user, raw, now)
	b.adopted++
	if internal.IsZero() {
		internal = now
	}
	return s.gmailAdoptLocked(b, m, labels, internal, threadHint, now)
}

// gmailAdoptLocked makes a stored message known to Gmail; s.mu held.
func (s *Server) gmailAdoptLocked(b *gmailBox, m *mailMessage, labels []string, internal time.Time, threadHint string, now time.Time) *gmailMsg {
	gm := &gmailMsg{m: m, seq: b.adopted, labels: normLabels(labels), internal: internal.Truncate(time.Millisecond)}
	p := gm.parse()
	subj := normSubject(p.subject)
	switch {
	case threadHint != "" && b.threadExists(threadHint):
		gm.threadID = threadHint
	default:
		for _, ref := range slices.Backward(p.refs) {
			if th, ok := b.byHdrID[ref]; ok && (subj == "" || b.thSubject[th] == "" || b.thSubject[th] == subj) {
				gm.threadID = th
				break
			}
		}
	}
	if gm.threadID == "" {
		gm.threadID = m.id
		b.thSubject[m.id] = subj
	}
	if p.messageID != "" {
		if _, ok := b.byHdrID[p.messageID]; !ok {
			b.byHdrID[p.messageID] = gm.threadID
		}
	}
	b.msgs[m.id] = gm
	s.gmailRecordLocked(b, gm, "messageAdded", nil, now)
	return gm
}

func (b *gmailBox) threadExists(id string) bool {
	for _, gm := range b.msgs {
		if gm.threadID == id && !gm.m.deleted {
			return true
		}
	}
	return false
}

// normLabels removes duplicates, keeping order.
func normLabels(in []string) []string {
	out := make([]string, 0, len(in))
	for _, l := range in {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// normSubject strips reply and forward prefixes and folds case.
func normSubject(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for {
		t := s
		for _, p := range []string{"re:", "fwd:", "fw:", "aw:", "wg:"} {
			t = strings.TrimSpace(strings.TrimPrefix(t, p))
		}
		if t == s {
			return strings.Join(strings.Fields(s), " ")
		}
		s = t
	}
}

// gmailRecordLocked bumps the history id by a random step of 1 to 5,
// appends a record and prunes old ones; s.mu held.
func (s *Server) gmailRecordLocked(b *gmailBox, gm *gmailMsg, kind string, changed []string, now time.Time) {
	b.historyID += uint64(b.rng.IntN(5) + 1)
	gm.historyID = b.historyID
	b.history = append(b.history, gmailRecord{
		id: b.historyID, at: now, kind: kind, msgID: gm.m.id, threadID: gm.threadID,
		labels: slices.Clone(gm.labels), changed: slices.Clone(changed),
	})
	s.gmailPruneLocked(b, now)
}

// gmailPruneLocked drops history records beyond the retention limits.
func (s *Server) gmailPruneLocked(b *gmailBox, now time.Time) {
	cfg := s.gmail().cfg
	drop := max(0, len(b.history)-cfg.HistoryRecords)
	if cfg.HistoryMaxAge > 0 {
		for drop < len(b.history) && now.Sub(b.history[drop].at) > cfg.HistoryMaxAge {
			drop++
		}
	}
	if drop > 0 {
		b.floor = max(b.floor, b.history[drop-1].id)
		b.history = slices.Delete(b.history, 0, drop)
	}
}

// gmailChangeLabelsLocked adds and removes labels of one message, with a
// history record for each kind of change; it reports whether anything
// changed. s.mu held.
func (s *Server) gmailChangeLabelsLocked(b *gmailBox, gm *gmailMsg, add, remove []string, now time.Time) bool {
	var added, removed []string
	for _, l := range add {
		if !gm.has(l) && !slices.Contains(remove, l) {
			gm.labels = append(gm.labels, l)
			added = append(added, l)
		}
	}
	for _, l := range remove {
		if i := slices.Index(gm.labels, l); i >= 0 {
			gm.labels = slices.Delete(gm.labels, i, i+1)
			removed = append(removed, l)
		}
	}
	if len(added) > 0 {
		s.gmailRecordLocked(b, gm, "labelAdded", added, now)
	}
	if len(removed) > 0 {
		s.gmailRecordLocked(b, gm, "labelRemoved", removed, now)
	}
	return len(added)+len(removed) > 0
}

// gmailDeleteLocked removes a message for good; s.mu held.
func (s *Server) gmailDeleteLocked(b *gmailBox, gm *gmailMsg, now time.Time) {
	s.mail().deleteLocked(gm.m.id)
	delete(b.msgs, gm.m.id)
	s.gmailRecordLocked(b, gm, "messageDeleted", nil, now)
}

// visible returns the live messages of the mailbox, newest first.
func (b *gmailBox) visible() []*gmailMsg {
	out := make([]*gmailMsg, 0, len(b.msgs))
	for _, gm := range b.msgs {
		if !gm.m.deleted {
			out = append(out, gm)
		}
	}
	slices.SortFunc(out, func(x, y *gmailMsg) int {
		if c := y.internal.Compare(x.internal); c != 0 {
			return c
		}
		return y.seq - x.seq
	})
	return out
}

// message returns a live message by id.
func (b *gmailBox) message(id string) *gmailMsg {
	if gm := b.msgs[id]; gm != nil && !gm.m.deleted {
		return gm
	}
	return nil
}

// labelByNameOrID finds a label by id, or by name ignoring case.
func (b *gmailBox) labelByNameOrID(key string) *gmailLabel {
	if l := b.labels[key]; l != nil {
		return l
	}
	for _, l := range b.labels {
		if strings.EqualFold(l.Name, key) {
			return l
		}
	}
	return nil
}

// seededUserLocked returns the lower-cased email of a seeded user, or
// panics naming the calling function.
func (s *Server) seededUserLocked(fn, user string) string {
	u := s.lookupUserLocked(user)
	if u == nil {
		panic("workspacetest: " + fn + ": " + user + " is not a seeded user (see AddUser)")
	}
	return u.email
}

// AddGmailMessage stores raw, an RFC 822 message, in user's mailbox (a
// seeded user) with the given label ids (system ids such as "INBOX",
// "UNREAD", or ids of labels created through the API) and returns its
// Gmail message id. Its internal date is its Date header, or the server
// time without one; it joins a thread when its In-Reply-To or References
// name a message of the mailbox with the same subject. It is recorded in
// the history like an insert. AddGmailMessage panics for an unknown user
// or label, or an empty message.
func (s *Server) AddGmailMessage(user string, raw []byte, labels ...string) (id string) {
	if len(bytes.TrimSpace(raw)) == 0 {
		panic("workspacetest: AddGmailMessage: empty message")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	user = s.seededUserLocked("AddGmailMessage", user)
	b := s.gmailBoxLocked(user)
	for _, l := range labels {
		if b.labels[l] == nil {
			panic("workspacetest: AddGmailMessage: unknown label " + l)
		}
	}
	return s.gmailAddLocked(user, raw, labels, messageDate(raw, s.nowLocked()), "").m.id
}

// GmailMessage is a message of a Gmail mailbox, as GmailMessages lists it.
type GmailMessage struct {
	ID           string    // Gmail message id (also its mail store id)
	ThreadID     string    // id of the thread it belongs to
	LabelIDs     []string  // label ids, in the order they were applied
	InternalDate time.Time // Gmail's internalDate, millisecond precision
	HistoryID    uint64    // history id of its last change
	Raw          []byte    // the RFC 822 message as stored
}

// GmailMessages returns copies of the live messages of user's mailbox,
// newest first (by internal date), as messages.list orders them, spam and
// trash included. It returns nil for an unknown user.
func (s *Server) GmailMessages(user string) []GmailMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookupUserLocked(user)
	if u == nil {
		return nil
	}
	var out []GmailMessage
	for _, gm := range s.gmailBoxLocked(u.email).visible() {
		out = append(out, GmailMessage{
			ID: gm.m.id, ThreadID: gm.threadID, LabelIDs: slices.Clone(gm.labels),
			InternalDate: gm.internal, HistoryID: gm.historyID, Raw: bytes.Clone(gm.m.raw),
		})
	}
	return out
}

// GmailHistoryID returns the current history id of user's mailbox (0 for
// an unknown user).
func (s *Server) GmailHistoryID(user string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookupUserLocked(user)
	if u == nil {
		return 0
	}
	return s.gmailBoxLocked(u.email).historyID
}

// ExpireGmailHistory forgets every history record of user's mailbox, as
// Gmail does after a while: history.list with any startHistoryId older
// than the current history id then answers 404, and a client must do a
// full sync. It panics for an unknown user.
func (s *Server) ExpireGmailHistory(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.gmailBoxLocked(s.seededUserLocked("ExpireGmailHistory", user))
	b.history = nil
	b.floor = b.historyID
}

// GmailUnits returns the quota units charged to user's Gmail calls so far
// (refused calls cost nothing), since the start or the last
// SetGmailConfig.
func (s *Server) GmailUnits(user string) int64 {
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	return g.spent[strings.ToLower(user)]
}

// GmailHold holds a user's Gmail requests in flight, so tests can reach
// the per-user concurrency cap without sleeping. See HoldGmail.
type GmailHold struct {
	s       *Server
	user    string
	mu      sync.Mutex
	cond    *sync.Cond
	held    int
	release chan struct{}
	once    sync.Once
}

// HoldGmail makes every Gmail request of user that gets past the quota
// checks wait, counted as in flight, until Release. Requests refused by
// the concurrency cap or a quota are answered at once.
func (s *Server) HoldGmail(user string) *GmailHold {
	h := &GmailHold{s: s, user: strings.ToLower(user), release: make(chan struct{})}
	h.cond = sync.NewCond(&h.mu)
	g := s.gmail()
	s.mu.Lock()
	g.holds[h.user] = h
	s.mu.Unlock()
	return h
}

// Wait blocks until n requests are being held, or ctx ends.
func (h *GmailHold) Wait(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() {
		h.mu.Lock()
		h.cond.Broadcast()
		h.mu.Unlock()
	})
	defer stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.held < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		h.cond.Wait()
	}
	return nil
}

// Release lets the held requests (and later ones) go on.
func (h *GmailHold) Release() {
	h.once.Do(func() {
		g := h.s.gmail()
		h.s.mu.Lock()
		if g.holds[h.user] == h {
			delete(g.holds, h.user)
		}
		h.s.mu.Unlock()
		close(h.release)
	})
}

// enter waits while the hold lasts, the request lives and the server runs.
func (h *GmailHold) enter(ctx context.Context) {
	h.mu.Lock()
	h.held++
	h.cond.Broadcast()
	h.mu.Unlock()
	select {
	case <-h.release:
	case <-ctx.Done():
	case <-h.s.closed:
	}
}

// b64url encodes bytes as padded base64url, as Gmail's raw and body.data.
func b64url(b []byte) string { return base64.URLEncoding.EncodeToString(b) }

// decodeB64 accepts base64url or standard base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("+", "-", "/", "_", "\r", "", "\n", "").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}
