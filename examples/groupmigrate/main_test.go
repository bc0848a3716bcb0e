package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/datatransfer"
)

// The demo end to end: sample archive, two groups, report.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("migrates 3,500 messages")
	}
	report := filepath.Join(t.TempDir(), "report.json")
	var out, errOut bytes.Buffer
	code := run([]string{"-speed", "500", "-report", report}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"inserted:            3493", "skipped, duplicates: 6", "invalid, not sent:   2", "Date: missing", "over the 26214400-byte limit"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r datatransfer.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Inserted != 3493 || len(r.Invalid) != 2 || !r.OK() {
		t.Errorf("report: %+v", r)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-source", "x.mbox"},       // no group, but demo mode refuses sources too
		{"-credentials", "sa.json"}, // no sources
		{"-map", "nogroup", "-endpoint", "http://127.0.0.1:1"},
		{"-speed", "0"},
		{"-bogus"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}
