package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/examples/internal/cli"
)

func TestQuickstart(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		code      int
		firstWait time.Duration
		stdout    []string
		stderr    []string // wanted on stderr
		notStderr []string
	}{
		{name: "quiet", code: cli.ExitOK, firstWait: time.Millisecond,
			stdout: []string{"listed 0 applications after a throttle", "attempts=2 retries=map[throttle:1]"}, notStderr: []string{"workspace: retrying"}},
		{name: "verbose", args: []string{"-v"}, code: cli.ExitOK, firstWait: time.Millisecond,
			stdout: []string{"listed 0 applications after a throttle"}, stderr: []string{`msg="workspace: retrying"`, "class=throttle", "status=503"}},
		{name: "bad flag", args: []string{"-nope"}, code: cli.ExitUsage},
		{name: "argument", args: []string{"extra"}, code: cli.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut, tt.firstWait); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut.String())
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
				}
			}
			for _, not := range tt.notStderr {
				if strings.Contains(errOut.String(), not) {
					t.Errorf("stderr holds %q:\n%s", not, errOut.String())
				}
			}
		})
	}
}
