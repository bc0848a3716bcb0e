// Package pager turns Google's page-token lists into Go iterators, the one
// way every API package in this module implements its All methods.
package pager

import (
	"context"
	"iter"
)

// Fetch returns the page that starts at token ("" for the first page): its
// items and the token of the next page ("" when it is the last).
type Fetch[T any] func(ctx context.Context, token string) (items []*T, next string, err error)

// All yields every item of every page, starting at token. It yields at most
// one error, with a nil item, and then stops; it stops without an error
// when a page repeats a token already seen, so a server that loops cannot
// make it run forever. It stops when ctx is done.
func All[T any](ctx context.Context, token string, fetch Fetch[T]) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		seen := map[string]bool{}
		for {
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
			if next == "" || seen[next] {
				return
			}
			seen[next] = true
			token = next
		}
	}
}
