// Package sendonce marks requests that the core's retry layer must send
// once: their caller (the migration engine) decides about retries itself,
// so that a message waiting for its retry does not hold its group.
package sendonce

import "context"

type key struct{}

// With returns a context whose requests are sent once by the retry layer.
func With(ctx context.Context) context.Context { return context.WithValue(ctx, key{}, true) }

// From reports whether ctx was marked by With.
func From(ctx context.Context) bool {
	v, _ := ctx.Value(key{}).(bool)
	return v
}
