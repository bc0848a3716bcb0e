package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo runs the demo end to end against the in-process fake.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-messages", "300"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"full sync (first sync)", "incremental sync", "added 5, labels changed 2, deleted 4", "quota units spent", "summary: both syncs succeeded"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBadFlags: bad flags exit with status 2.
func TestBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"-regime", "1999"}, {"-credentials", "x.json"}, {"-nosuchflag"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}
