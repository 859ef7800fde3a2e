package backend

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
)

// Readiness tests (issue 14): Ready answers within its own deadline, not the
// store's read timeout, when a primary hangs (SIGSTOP: the connection stays
// open and nothing answers), says why, and answers yes again once the
// primary continues or a replica took its place, while the hung node is
// still there.

// storeReadTimeout is the store's read timeout in these tests: well past Ready's
// deadline, so that a probe that waited on it would show.
const storeReadTimeout = 5 * time.Second

// pause stops (SIGSTOP) the redis-server at addr and returns a function
// that continues it (SIGCONT); the test's cleanup continues it too.
func pause(t *testing.T, addr string) (resume func()) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatalf("INFO server on %s: %v", addr, err)
	}
	pid := 0
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if pid == 0 {
		t.Fatalf("no process_id in INFO server of %s", addr)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %d: %v", pid, err)
	}
	resume = func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
	t.Cleanup(resume)
	return resume
}

// notReady calls Ready, which must fail with reason, before the store's
// read timeout, and returns how long it took.
func notReady(t *testing.T, s *Store, reason string) time.Duration {
	t.Helper()
	start := time.Now()
	err := s.Ready(context.Background())
	took := time.Since(start)
	var nr *NotReady
	if !errors.As(err, &nr) || nr.Reason != reason {
		t.Fatalf("Ready = %v, want NotReady %q", err, reason)
	}
	// Not a timed assertion of speed: a probe that waited on the store's
	// read timeout would take all of it.
	if took >= storeReadTimeout {
		t.Errorf("Ready took %s, the store's read timeout: it waited on the store's client", took)
	}
	return took
}

func TestReadySingleServer(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("no redis-server")
	}
	ctx := context.Background()
	url := redistest.Start(t)
	s, err := Open(ctx, url+"?read_timeout="+storeReadTimeout.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	opts, _ := redis.ParseURL(url)
	resume := pause(t, opts.Addr)
	for range 2 { // the probe's connection, then a new one
		took := notReady(t, s, reasonUnreachable)
		t.Logf("Ready with the server stopped answered in %s", took.Round(time.Millisecond))
	}
	resume()
	waitUntil(t, "Ready once the server continues", 10*time.Second, func() bool { return s.Ready(ctx) == nil })

	// A reachable server that is a replica (the old primary after a
	// failover) is not a primary, not unreachable.
	other, _ := redis.ParseURL(redistest.Start(t))
	host, port, _ := net.SplitHostPort(other.Addr)
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.ReplicaOf(ctx, host, port).Err(); err != nil {
		t.Fatal(err)
	}
	notReady(t, s, reasonReplica)
}

func TestReadyClusterPrimaryStopped(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("no redis-server")
	}
	ctx := context.Background()
	c := redistest.StartClusterWith(t, redistest.ClusterOptions{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: 2 * time.Second})
	s, err := Open(ctx, c.URL()+"&read_timeout="+storeReadTimeout.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	p, _ := prefix(org)
	master, err := c.MasterOf(ctx, c.Addrs[0], p)
	if err != nil {
		t.Fatal(err)
	}
	via := c.Addrs[0]
	if via == master {
		via = c.Addrs[1]
	}
	stopped := time.Now()
	pause(t, master)
	took := notReady(t, s, reasonUnreachable)
	t.Logf("Ready with a primary stopped answered in %s", took.Round(time.Millisecond))
	waitUntil(t, "the cluster to promote the stopped primary's replica", time.Minute, func() bool {
		m, err := c.MasterOf(ctx, via, p)
		return err == nil && m != master
	})
	promoted := time.Now()
	// The stopped node is still there, and still a primary to itself; the
	// probe must not wait on it, nor blame it.
	waitUntil(t, "Ready after the promotion", 10*time.Second, func() bool { return s.Ready(ctx) == nil })
	t.Logf("primary stopped; replica promoted %s later; Ready again %s after the promotion",
		promoted.Sub(stopped).Round(time.Millisecond), time.Since(promoted).Round(time.Millisecond))
	for range 5 {
		start := time.Now()
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready after the promotion, the old primary still stopped: %v", err)
		}
		if d := time.Since(start); d >= storeReadTimeout {
			t.Errorf("Ready took %s after the promotion: it waited on the stopped node", d)
		}
	}
}
