package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DefaultEarlyExpiry is how long before its expiry a cached token is
// replaced, so that a token never expires while a request is in flight.
const DefaultEarlyExpiry = time.Minute

// TokenError reports that no token could be obtained for a subject. Err is
// the underlying failure; it is often an *oauth2.RetrieveError, whose body
// holds the token endpoint's explanation (for example "unauthorized_client"
// when domain-wide delegation is not set up for the requested scopes), or a
// network failure on the way to the endpoint (kept in the chain, so
// errors.Is(err, syscall.ECONNREFUSED) works). The core client retries a
// TokenError whose endpoint failed (5xx, 429, 408) or could not be reached
// like any transient failure, and maps one whose endpoint refused the
// credentials to workspace.ErrUnauthenticated.
//
// Error keeps Google's "error" and "error_description" (reach them with
// errors.As and *oauth2.RetrieveError, fields ErrorCode and
// ErrorDescription) and adds Remedy, the likely cause and its fix.
type TokenError struct {
	Subject string // the impersonated user, "" for none
	Err     error
	// Remedy names the likely cause of a refusal and what to do about it,
	// for example which scopes to authorize for which client id in the
	// Admin console; "" when the failure is not recognized. Error()
	// includes it.
	Remedy string
}

// Error implements the error interface.
func (e *TokenError) Error() string {
	var s string
	if e.Subject == "" {
		s = "auth: cannot obtain token: " + e.Err.Error()
	} else {
		s = fmt.Sprintf("auth: cannot obtain token for subject %q: %v", e.Subject, e.Err)
	}
	if e.Remedy != "" {
		s += "; " + e.Remedy
	}
	return s
}

// Unwrap returns the underlying error.
func (e *TokenError) Unwrap() error { return e.Err }

// Source is a cached, refreshable token source for one subject and one set
// of scopes, usually obtained from a [Pool]. A token is reused until
// EarlyExpiry before it expires; then the next caller fetches a new one while
// concurrent callers wait for it. [Source.Invalidate] drops a token the
// server refused, so the next [Source.Token] fetches a fresh one.
//
// When the token endpoint states a lifetime (expires_in), the expiry is
// measured from the moment the request was sent, which is conservative and
// lets tests control expiry fully.
//
// This is the job oauth2.ReuseTokenSourceWithExpiry does, plus
// invalidation and waiting that honours ctx.
//
// It is safe for concurrent use.
type Source struct {
	subject string
	hint    remedyHint
	fetch   fetchFunc
	early   time.Duration
	now     func() time.Time

	sem chan struct{} // one slot: held by the caller that fetches

	mu  sync.Mutex
	tok *oauth2.Token
}

func newSource(f fetchFunc, early time.Duration, now func() time.Time) *Source {
	if now == nil {
		now = time.Now
	}
	if early < 0 {
		early = 0
	}
	return &Source{fetch: f, early: early, now: now, sem: make(chan struct{}, 1)}
}

// Subject returns the user this source's tokens act as ("" for the
// credentials' own identity).
func (s *Source) Subject() string { return s.subject }

// cached returns the cached token if it is still good to use.
func (s *Source) cached() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tok
	if t == nil || t.AccessToken == "" {
		return nil
	}
	if !t.Expiry.IsZero() && !s.now().Add(s.early).Before(t.Expiry) {
		return nil
	}
	return t
}

// Token returns a valid token, fetching a new one when none is cached, the
// cached one is about to expire, or it was invalidated. Only one fetch runs
// at a time; other callers wait for it, or for their ctx to end. The fetch
// uses ctx, so it ends with the caller's request.
//
// Errors are *[TokenError]. Callers must not modify the returned token.
func (s *Source) Token(ctx context.Context) (*oauth2.Token, error) {
	if t := s.cached(); t != nil {
		return t, nil
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &TokenError{Subject: s.subject, Err: context.Cause(ctx)}
	}
	defer func() { <-s.sem }()
	// Someone may have fetched while we waited.
	if t := s.cached(); t != nil {
		return t, nil
	}
	start := s.now()
	t, err := s.fetch(ctx)
	if err == nil && (t == nil || t.AccessToken == "") {
		err = errors.New("token endpoint returned no access token")
	}
	if err != nil {
		return nil, &TokenError{Subject: s.subject, Err: err, Remedy: s.hint.remedy(s.subject, err)}
	}
	if secs := expiresIn(t); secs > 0 {
		// Measure the lifetime on our own clock, from before the request,
		// rather than trusting an Expiry computed elsewhere.
		c := *t
		c.Expiry = start.Add(time.Duration(secs) * time.Second)
		t = &c
	}
	s.mu.Lock()
	s.tok = t
	s.mu.Unlock()
	return t, nil
}

// expiresIn returns the token's lifetime in seconds as the endpoint gave
// it, or 0 if unknown.
func expiresIn(t *oauth2.Token) int64 {
	if t.ExpiresIn > 0 {
		return t.ExpiresIn
	}
	switch v := t.Extra("expires_in").(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

// Invalidate drops tok from the cache if it is still the cached token, so
// the next Token call fetches a new one. It is meant for a token the server
// refused (401) although it had not expired. Because it compares with the
// cached token, many requests that failed with the same token cause a
// single refresh, and a token that was already replaced is left alone.
func (s *Source) Invalidate(tok *oauth2.Token) {
	if tok == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == tok.AccessToken {
		s.tok = nil
	}
}

// TokenSource adapts s to the oauth2.TokenSource interface; every Token call
// uses ctx.
func (s *Source) TokenSource(ctx context.Context) oauth2.TokenSource {
	return sourceAdapter{ctx: ctx, s: s}
}

type sourceAdapter struct {
	ctx context.Context
	s   *Source
}

func (a sourceAdapter) Token() (*oauth2.Token, error) { return a.s.Token(a.ctx) }

// Pool hands out one [Source] per (subject, scope set), creating it on first
// use, so that every client acting as the same user with the same scopes
// shares one cached token. Set exactly one of Credentials, TokenSource or
// Keyless, and do not change the fields after the first call to Source.
//
// A Pool is safe for concurrent use. Sources are kept for the Pool's
// lifetime; a program that impersonates an unbounded number of users over a
// long time should use several Pools.
type Pool struct {
	// Credentials signs or refreshes tokens. With service-account
	// credentials every subject of the domain can be impersonated.
	Credentials *Credentials

	// TokenSource is a caller's token source, used instead of Credentials.
	// It acts as one identity: only subject "" is accepted, scopes are
	// ignored, and all requests share one Source. If it caches tokens
	// itself, Invalidate cannot make it fetch a new one.
	TokenSource oauth2.TokenSource

	// Keyless acts as a service account without its key: IAM Credentials
	// signs each delegation JWT with the caller's own token (see
	// [Keyless]). Every subject of the domain can be impersonated, as with
	// a key file.
	Keyless *Keyless

	// HTTPClient reaches the token endpoint; nil means http.DefaultClient.
	// It must not be a client whose transport adds tokens (that would
	// recurse): pass the base client, below the auth layer.
	HTTPClient *http.Client

	// EarlyExpiry is how long before expiry a token is replaced; zero means
	// DefaultEarlyExpiry.
	EarlyExpiry time.Duration

	// now returns the current time; nil means time.Now. Tests set it.
	now func() time.Time

	mu      sync.Mutex
	sources map[string]*Source
}

// Source returns the shared Source for subject and scopes; scopes are
// compared as a set (order and duplicates do not matter). subject is the
// user to impersonate with domain-wide delegation, or "" for the credentials'
// own identity. A non-empty subject with authorized-user credentials or a
// TokenSource fails with [ErrSubjectNotSupported].
func (p *Pool) Source(subject string, scopes []string) (*Source, error) {
	n := 0
	for _, set := range []bool{p.Credentials != nil, p.TokenSource != nil, p.Keyless != nil} {
		if set {
			n++
		}
	}
	if n == 0 {
		return nil, errors.New("auth: Pool has none of Credentials, TokenSource and Keyless")
	}
	if n > 1 {
		return nil, errors.New("auth: Pool has more than one of Credentials, TokenSource and Keyless; set one")
	}
	set := normalizeScopes(scopes)
	var key string
	hint := remedyHint{scopes: set}
	switch {
	case p.Keyless != nil:
		key = subject + "\x00" + strings.Join(set, " ")
		hint.serviceAccount, hint.clientID, hint.keyless = p.Keyless.ServiceAccount, p.Keyless.ClientID, true
	case p.TokenSource != nil:
		if subject != "" {
			return nil, fmt.Errorf("%w (asked for subject %q with a caller's token source)", ErrSubjectNotSupported, subject)
		}
		key = "" // one identity, one Source
	case p.Credentials.Type() == TypeAuthorizedUser:
		key = "\x00" + subject // scopes cannot change what a refresh token grants
		hint.user = true
	default:
		key = subject + "\x00" + strings.Join(set, " ")
		hint.serviceAccount, hint.clientID, hint.keyID = p.Credentials.ClientEmail(), p.Credentials.clientID, p.Credentials.privateKeyID
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sources[key]; ok {
		return s, nil
	}
	var f fetchFunc
	switch {
	case p.TokenSource != nil:
		ts := p.TokenSource
		f = func(context.Context) (*oauth2.Token, error) { return ts.Token() }
	case p.Keyless != nil:
		var err error
		if f, err = p.Keyless.fetcher(subject, set, p.HTTPClient, p.now); err != nil {
			return nil, err
		}
	default:
		var err error
		if f, err = p.Credentials.fetcher(subject, set, p.HTTPClient); err != nil {
			return nil, err
		}
	}
	early := p.EarlyExpiry
	if early == 0 {
		early = DefaultEarlyExpiry
	}
	s := newSource(f, early, p.now)
	s.subject = subject
	s.hint = hint
	if p.sources == nil {
		p.sources = make(map[string]*Source)
	}
	p.sources[key] = s
	return s, nil
}

// normalizeScopes returns the sorted scopes without duplicates or empties.
func normalizeScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
