package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestQuickstart(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(&out, &errOut, time.Millisecond); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "status 200 after a throttle") || !strings.Contains(out.String(), "attempts=2 retries=map[throttle:1]") {
		t.Errorf("stdout:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "workspace: retrying") {
		t.Errorf("no retry record in the log:\n%s", errOut.String())
	}
}
