package pager

import (
	"context"
	"errors"
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
		{"looping token stops", map[string]page{"": {[]int{1}, "a"}, "a": {[]int{2}, "a"}}, []int{1, 2}, false},
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
