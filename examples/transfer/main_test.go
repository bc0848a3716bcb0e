package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	// Speed 1000: the fake's 5 s of transfer time pass in 5 ms.
	if code := run([]string{"-speed", "1000"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"requested", "Transfer completed", "application 55656082996: completed", "RELEASE_RESOURCES:[TRUE]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-speed", "0"},
		{"-endpoint", "http://127.0.0.1:1"}, // real mode needs -from and -to
		{"-nope"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}
