// Package pager turns Google's page-token lists into Go iterators, the one
// way every API package in this module implements its All methods.
package pager

import (
	"context"
	"fmt"
	"iter"
)

// MaxPages bounds a listing: a server that keeps sending new tokens
// cannot make All run forever.
const MaxPages = 100_000

// LoopError reports a listing the server made loop: it sent a page
// token that an earlier page had already sent, so following it would
// yield the same items again and never end. The items yielded so far are
// all the listing had up to that point; the rest is unknown.
type LoopError struct {
	Token string // the repeated token (a GData feed's next URL)
	Page  int    // the page, counted from 1, that repeated it
}

func (e *LoopError) Error() string {
	return fmt.Sprintf("listing stopped: page %d sent again the page token %q of an earlier page (the server is looping; the items so far may be incomplete)", e.Page, e.Token)
}

// Fetch returns the page that starts at token ("" for the first page): its
// items and the token of the next page ("" when it is the last).
type Fetch[T any] func(ctx context.Context, token string) (items []*T, next string, err error)

// All yields every item of every page, starting at token. It yields at most
// one error, with a nil item, and then stops: a page that repeats a token
// already seen ends it with a *LoopError, so a server that loops cannot
// make it run forever, and so does going past MaxPages. It stops when ctx
// is done.
func All[T any](ctx context.Context, token string, fetch Fetch[T]) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		seen := map[string]bool{}
		if token != "" {
			seen[token] = true
		}
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			items, next, err := fetch(ctx, token)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			switch {
			case next == "":
				return
			case seen[next]:
				yield(nil, &LoopError{Token: next, Page: page})
				return
			case page >= MaxPages:
				yield(nil, fmt.Errorf("listing stopped after %d pages, the most one listing may take", MaxPages))
				return
			}
			seen[next] = true
			token = next
		}
	}
}
