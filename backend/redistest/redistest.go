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
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Start starts redis-server on a free loopback port, with no persistence, in
// a temporary directory, and returns its URL ("redis://127.0.0.1:port"). The
// server stops when the test ends. It takes DEBUG commands (DEBUG SLEEP
// pauses it, for fault tests).
func Start(tb testing.TB) (url string) {
	tb.Helper()
	url, _ = startRetry(tb, lookPath(tb))
	return url
}

// StartWith is [Start] with extra redis-server arguments, which override
// Start's ("--replicaof", "127.0.0.1", "6379"; "--enable-debug-command",
// "yes").
func StartWith(tb testing.TB, args ...string) (url string) {
	tb.Helper()
	url, _ = startRetry(tb, lookPath(tb), args...)
	return url
}

// StartStoppable is [Start] that also returns a function that kills the
// server at once, as a crash or a lost network looks to its clients, for
// tests of what happens when Redis goes away. Calling it again, or the
// test's cleanup after it, does nothing more.
func StartStoppable(tb testing.TB) (url string, stop func()) {
	tb.Helper()
	return startRetry(tb, lookPath(tb))
}

// StartCluster starts a Redis Cluster of n primaries (no replicas) on free
// loopback ports, the slots split evenly between them, and returns their
// addresses ("127.0.0.1:port") once the cluster is ok. It stops with the test.
func StartCluster(tb testing.TB, n int) (addrs []string) {
	tb.Helper()
	return StartClusterWith(tb, ClusterOptions{Masters: n}).Addrs
}

func lookPath(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SCIM_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server not found and SCIM_REQUIRE_REDIS=1: %v", err)
		}
		tb.Skipf("redis-server not found (set SCIM_REQUIRE_REDIS=1 to fail instead): %v", err)
	}
	return bin
}

func startRetry(tb testing.TB, bin string, args ...string) (string, func()) {
	tb.Helper()
	var lastErr error
	for range 3 {
		url, stop, err := start(tb, bin, args...)
		if err == nil {
			return url, stop
		}
		lastErr = err
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return "", nil
}

func start(tb owner, bin string, args ...string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	return launch(tb, bin, port, tb.TempDir(), args...)
}

// launch runs redis-server on port with its files in dir, and returns once
// it answers PING (or fails); the test's cleanup kills it.
func launch(tb owner, bin string, port int, dir string, args ...string) (string, func(), error) {
	return launchConf(tb, bin, "", port, dir, args...)
}

// launchConf is launch with a configuration file, when conf is not "" (as
// Sentinel requires: it rewrites its file with what it learns).
func launchConf(tb owner, bin, conf string, port int, dir string, args ...string) (string, func(), error) {
	var out bytes.Buffer
	args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--enable-debug-command", "local"}, args...)
	if conf != "" {
		args = append([]string{conf}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-done
		})
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
			return url, stop, nil
		}
		select {
		case <-done:
			return "", nil, fmt.Errorf("redis-server exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server did not answer PING: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Persistent is a redis-server that persists every write before it answers
// (appendonly yes, appendfsync always), which a test may kill (SIGKILL, as a
// crash does) and start again on the same port and directory, where it loads
// what it persisted.
type Persistent struct {
	// URL is the server's URL ("redis://127.0.0.1:port"), the same after a
	// restart.
	URL string

	tb   testing.TB
	bin  string
	port int
	dir  string
	args []string
	mu   sync.Mutex
	kill func()
}

// StartPersistent starts a [Persistent] redis-server on a free loopback port
// in a temporary directory, with extra args, if any. It stops when the test
// ends.
func StartPersistent(tb testing.TB, args ...string) *Persistent {
	tb.Helper()
	s := &Persistent{tb: tb, bin: lookPath(tb), dir: tb.TempDir(),
		args: append([]string{"--appendonly", "yes", "--appendfsync", "always"}, args...)}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		url, kill, err := launch(tb, s.bin, port, s.dir, s.args...)
		if err == nil {
			s.URL, s.port, s.kill = url, port, kill
			return s
		}
		lastErr = err
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return nil
}

// Kill kills the server at once (SIGKILL): what it had not persisted is lost,
// and its clients see their connections drop.
func (s *Persistent) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kill()
}

// Restart starts the server again, after [Persistent.Kill], on the same port
// and directory, and returns once it answers PING, which it does once it has
// loaded what it persisted. It fails the test if the server does not come
// back.
func (s *Persistent) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var lastErr error
	// The port may stay taken for a moment after the kill.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, kill, err := launch(s.tb, s.bin, s.port, s.dir, s.args...)
		if err == nil {
			s.kill = kill
			return
		}
		lastErr = err
	}
	s.tb.Fatalf("restart redis-server on port %d: %v", s.port, lastErr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
