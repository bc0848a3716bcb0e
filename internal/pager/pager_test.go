package pager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pages(m map[string]struct {
	items []int
	next  string
}) Fetch[int] {
	return func(_ context.Context, tok string) ([]*int, string, error) {
		p, ok := m[tok]
		if !ok {
			return nil, "", errors.New("no page " + tok)
		}
		var out []*int
		for _, v := range p.items {
			out = append(out, &v)
		}
		return out, p.next, nil
	}
}

type page = struct {
	items []int
	next  string
}

func collect(seq func(func(*int, error) bool)) ([]int, error) {
	var got []int
	for v, err := range seq {
		if err != nil {
			return got, err
		}
		got = append(got, *v)
	}
	return got, nil
}

func TestAll(t *testing.T) {
	tests := []struct {
		name    string
		pages   map[string]page
		want    []int
		wantErr bool
	}{
		{"one page", map[string]page{"": {[]int{1, 2}, ""}}, []int{1, 2}, false},
		{"three pages", map[string]page{"": {[]int{1}, "a"}, "a": {[]int{2}, "b"}, "b": {[]int{3}, ""}}, []int{1, 2, 3}, false},
		{"empty middle page", map[string]page{"": {[]int{1}, "a"}, "a": {nil, "b"}, "b": {[]int{3}, ""}}, []int{1, 3}, false},
		{"a token repeated at once is an error", map[string]page{"": {[]int{1}, "a"}, "a": {[]int{2}, "a"}}, []int{1, 2}, true},
		{"a token repeated later is an error", map[string]page{"": {[]int{1}, "a"}, "a": {[]int{2}, "b"}, "b": {[]int{3}, "a"}}, []int{1, 2, 3}, true},
		{"error after a page", map[string]page{"": {[]int{1}, "missing"}}, []int{1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(All(context.Background(), "", pages(tt.pages)))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllStopsEarlyAndOnCancel(t *testing.T) {
	calls := 0
	f := func(_ context.Context, tok string) ([]*int, string, error) {
		calls++
		v := calls
		return []*int{&v}, "next", nil
	}
	n := 0
	for range All(context.Background(), "", Fetch[int](func(ctx context.Context, tok string) ([]*int, string, error) {
		items, _, err := f(ctx, tok)
		return items, tok + "x", err
	})) {
		if n++; n == 3 {
			break
		}
	}
	if calls != 3 {
		t.Errorf("fetched %d pages for 3 items", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := collect(All(ctx, "", Fetch[int](f)))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestRepeatedTokenSaysSo(t *testing.T) {
	m := map[string]page{"": {[]int{1}, "a"}, "a": {[]int{2}, "b"}, "b": {[]int{3}, "a"}}
	_, err := collect(All(context.Background(), "", pages(m)))
	var le *LoopError
	if !errors.As(err, &le) || le.Token != "a" || le.Page != 3 {
		t.Fatalf("err = %v, want a *LoopError for token a on page 3", err)
	}
	if !strings.Contains(err.Error(), `page token "a"`) {
		t.Errorf("message %q does not name the token", err)
	}
	// The starting token counts as seen.
	_, err = collect(All(context.Background(), "a", pages(map[string]page{"a": {[]int{2}, "a"}})))
	if !errors.As(err, &le) {
		t.Errorf("a page sending back the starting token: err = %v", err)
	}
}

func TestEndlessTokensAreBounded(t *testing.T) {
	n := 0
	f := func(_ context.Context, tok string) ([]*int, string, error) {
		n++
		return nil, fmt.Sprint(n), nil
	}
	_, err := collect(All(context.Background(), "", Fetch[int](f)))
	if err == nil || n != MaxPages {
		t.Fatalf("after %d pages err = %v, want an error after %d", n, err, MaxPages)
	}
}
