// Package testredis starts a throw-away redis-server for tests.
package testredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Start runs redis-server on a free loopback port for the life of the test
// and returns a client for it. When redis-server is not on PATH the test is
// skipped, or fails if the environment variable WORKSPACE_REQUIRE_REDIS is
// "1" (CI sets it, so these tests can never silently stop running).
func Start(tb testing.TB) *redis.Client {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("WORKSPACE_REQUIRE_REDIS") == "1" {
			tb.Fatalf("WORKSPACE_REQUIRE_REDIS=1 but redis-server is not on PATH: %v", err)
		}
		tb.Skip("redis-server not on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	tb.Cleanup(func() { rdb.Close() })
	// The server is another process: wait (in real time) until it answers.
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			tb.Fatal("redis-server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return rdb
}
