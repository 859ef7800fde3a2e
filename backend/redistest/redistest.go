// Package redistest starts a real redis-server for tests. It is imported only
// by tests, in this module and in packages that want a real Redis.
//
// When redis-server is not on PATH, [Start] skips the test, unless the
// environment sets SCIM_REQUIRE_REDIS=1 (as CI does): then it fails.
package redistest

import (
	"bytes"
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

// Start starts redis-server on a free loopback port, with no persistence, in
// a temporary directory, and returns its URL ("redis://127.0.0.1:port"). The
// server stops when the test ends.
func Start(tb testing.TB) (url string) {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SCIM_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server not found and SCIM_REQUIRE_REDIS=1: %v", err)
		}
		tb.Skipf("redis-server not found (set SCIM_REQUIRE_REDIS=1 to fail instead): %v", err)
	}
	var lastErr error
	for range 3 {
		url, err := start(tb, bin)
		if err == nil {
			return url
		}
		lastErr = err
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return ""
}

func start(tb testing.TB, bin string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir := tb.TempDir()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d", port)
	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			tb.Cleanup(stop)
			return url, nil
		}
		select {
		case <-done:
			return "", fmt.Errorf("redis-server exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("redis-server did not answer PING: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
