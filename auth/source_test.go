package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestPoolReuseAndExpiry(t *testing.T) {
	ts := newTokenServer(t)
	ts.ExpiresIn = 3600
	creds, err := ParseCredentials(serviceAccountJSON(t, ts.tokenURL()))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	pool := &Pool{Credentials: creds, HTTPClient: ts.Client(), now: clock.Now}
	src, err := pool.Source("a@example.com", []string{ScopeGmailInsert, ScopeGmailLabels})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := src.Token(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := ts.fetches(); got != 1 {
		t.Fatalf("fetches after 20 concurrent calls = %d, want 1", got)
	}

	steps := []struct {
		advance   time.Duration
		wantToken string
	}{
		{30 * time.Minute, "tok-1"},
		{28 * time.Minute, "tok-1"}, // 58 min: still outside the 1 min early window
		{90 * time.Second, "tok-2"}, // 59.5 min: inside the window, refreshed
		{10 * time.Minute, "tok-2"},
		{2 * time.Hour, "tok-3"},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		tok, err := src.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != st.wantToken {
			t.Errorf("step %d: token = %q, want %q", i, tok.AccessToken, st.wantToken)
		}
	}
}

func TestPoolSourcesPerSubjectAndScopeSet(t *testing.T) {
	ts := newTokenServer(t)
	creds, err := ParseCredentials(serviceAccountJSON(t, ts.tokenURL()))
	if err != nil {
		t.Fatal(err)
	}
	pool := &Pool{Credentials: creds, HTTPClient: ts.Client()}
	get := func(subject string, scopes ...string) *Source {
		t.Helper()
		s, err := pool.Source(subject, scopes)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := get("a@example.com", ScopeGmailInsert, ScopeGmailLabels)
	tests := []struct {
		name string
		got  *Source
		same bool
	}{
		{"same scopes other order", get("a@example.com", ScopeGmailLabels, ScopeGmailInsert), true},
		{"duplicate scope", get("a@example.com", ScopeGmailLabels, ScopeGmailInsert, ScopeGmailLabels), true},
		{"other subject", get("b@example.com", ScopeGmailInsert, ScopeGmailLabels), false},
		{"other scopes", get("a@example.com", ScopeGmailInsert), false},
	}
	for _, tt := range tests {
		if got := tt.got == a; got != tt.same {
			t.Errorf("%s: same source = %v, want %v", tt.name, got, tt.same)
		}
	}
	if _, err := pool.Source("a@example.com", nil); err == nil {
		t.Error("Source with no scopes: want error")
	}
	if a.Subject() != "a@example.com" {
		t.Errorf("Subject = %q", a.Subject())
	}
}

func TestPoolTokenSource(t *testing.T) {
	var n atomic.Int32
	pool := &Pool{TokenSource: tokenSourceFunc(func() (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: fmt.Sprintf("user-%d", n.Add(1))}, nil
	})}
	if _, err := pool.Source("x@example.com", nil); !errors.Is(err, ErrSubjectNotSupported) {
		t.Errorf("err = %v, want ErrSubjectNotSupported", err)
	}
	s1, err := pool.Source("", []string{ScopeGmailSend})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := pool.Source("", nil)
	if s1 != s2 {
		t.Error("a token-source pool should share one Source")
	}
	if _, err := (&Pool{}).Source("", nil); err == nil {
		t.Error("empty pool: want error")
	}
}

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

func TestSourceInvalidate(t *testing.T) {
	var n atomic.Int32
	s := newSource(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: fmt.Sprintf("t%d", n.Add(1)), Expiry: time.Now().Add(time.Hour)}, nil
	}, DefaultEarlyExpiry, nil)
	ctx := t.Context()
	t1, _ := s.Token(ctx)

	// Many concurrent 401s with the same token cause one refresh.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			s.Invalidate(t1)
			if _, err := s.Token(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Invalidating a token that was already replaced changes nothing.
	s.Invalidate(t1)
	s.Invalidate(nil)
	t2, _ := s.Token(ctx)
	if diff := cmp.Diff([]string{"t1", "t2"}, []string{t1.AccessToken, t2.AccessToken}); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2", got)
	}
}

func TestSourceWaitHonoursContext(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	s := newSource(func(ctx context.Context) (*oauth2.Token, error) {
		close(started)
		<-release
		return &oauth2.Token{AccessToken: "slow"}, nil
	}, 0, nil)
	go s.Token(context.Background())
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	close(release)
}

func TestSourceEmptyToken(t *testing.T) {
	s := newSource(func(context.Context) (*oauth2.Token, error) { return &oauth2.Token{}, nil }, 0, nil)
	var te *TokenError
	if _, err := s.Token(t.Context()); !errors.As(err, &te) {
		t.Errorf("err = %v, want *TokenError", err)
	}
}
