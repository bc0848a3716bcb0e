package main

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gwsadmin/workspace/examples/internal/cli"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr        string
		allowRemote bool
		wantErr     bool
	}{
		{"127.0.0.1:8080", false, false},
		{"[::1]:8080", false, false},
		{"localhost:0", false, false},
		{"0.0.0.0:8080", false, true},
		{":8080", false, true},
		{"10.1.2.3:8080", false, true},
		{"10.1.2.3:8080", true, false},
		{"nonsense", false, true},
	}
	for _, tt := range tests {
		if err := checkAddr(tt.addr, tt.allowRemote); (err != nil) != tt.wantErr {
			t.Errorf("checkAddr(%q, %v) = %v, wantErr %v", tt.addr, tt.allowRemote, err, tt.wantErr)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Exit statuses: bad usage 2, a server that cannot start 1, a clean stop
// 0.
func TestExitCodes(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"-nope"}, cli.ExitUsage},
		{[]string{"extra"}, cli.ExitUsage},
		{[]string{"-addr", "0.0.0.0:8080"}, cli.ExitUsage},
		{[]string{"-faults", "2"}, cli.ExitUsage},
		{[]string{"-speed", "0"}, cli.ExitUsage},
		{[]string{"-gmail-user-limit", "-1"}, cli.ExitUsage},
		{[]string{"-domain", "admin@example.com"}, cli.ExitUsage},
		{[]string{"-addr", taken.Addr().String()}, cli.ExitFailed},
	} {
		var out, errOut syncBuffer
		if code := run(t.Context(), tt.args, &out, &errOut); code != tt.code {
			t.Errorf("run(%q) = %d, want %d\n%s", tt.args, code, tt.code, errOut.String())
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, &out, &errOut) }()
	for !strings.Contains(out.String(), "Ctrl-C to stop.") {
		select {
		case code := <-done:
			t.Fatalf("exit %d before serving\n%s", code, errOut.String())
		default:
			runtime.Gosched()
		}
	}
	cancel()
	if code := <-done; code != cli.ExitOK {
		t.Errorf("exit %d after a clean stop\n%s", code, errOut.String())
	}
}
