package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"Created alice → auditor", "outgoing HEADER_ONLY", "1 monitor(s) of alice", "refused locally", "After delete: 0 monitors.", "All steps succeeded."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-endpoint", "http://127.0.0.1:1"}, &out, &errb); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
