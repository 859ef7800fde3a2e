package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
)

// Failover tests: scimd serves a write load on a Redis Cluster
// with replicas, or a Sentinel set, with SCIM_REDIS_WAIT_REPLICA on; the
// primary that holds the organization is killed (SIGKILL). /readyz answers
// 503 while it is down; writes succeed again within 2 s of Redis promoting
// its replica, with no restart of scimd; /readyz answers 200 again; no
// acknowledged write is lost, and scimd check is clean.

// failoverBudget is how long after Redis promoted a replica scimd's writes
// may still fail.
const failoverBudget = 2 * time.Second

// failover runs the test against scimd on redisURL: kill kills the primary
// of the default organization; promoted reports once Redis has promoted a
// replica in its place.
func failover(t *testing.T, redisURL string, kill func(), promoted func(context.Context) bool) {
	const token = "failover-test-token-0123456"
	env := faultEnv(redisURL, token)
	env["SCIM_REDIS_WAIT_REPLICA"] = "1s"
	base, _ := start(t, env)
	if s := readyz(base); s != http.StatusOK {
		t.Fatalf("GET /readyz before the kill = %d, want 200", s)
	}
	groups := createGroups(t, base, token, "failover", 2)
	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() { load(ctx, base, token, groups, 8, l); close(loaded) }()
	waitAcked(t, l, 100, 20*time.Second)

	killed := time.Now()
	kill()
	until(t, "/readyz to answer 503 after the kill", 10*time.Second, func() bool { return readyz(base) == http.StatusServiceUnavailable })
	until(t, "Redis to promote a replica", time.Minute, func() bool { return promoted(context.Background()) })
	promotedAt := time.Now()
	waitAcked(t, l, 1, 30*time.Second)
	recovered := time.Since(promotedAt)
	redistest.Figures(t, "scimd: primary killed; replica promoted %s later; writes acknowledged again %s after the promotion",
		promotedAt.Sub(killed).Round(time.Millisecond), recovered.Round(time.Millisecond))
	if recovered > failoverBudget {
		t.Errorf("writes acknowledged again %s after Redis promoted the replica, want within %s", recovered, failoverBudget)
	}
	until(t, "/readyz to answer 200 after the failover", 10*time.Second, func() bool { return readyz(base) == http.StatusOK })
	redistest.Figures(t, "scimd: %s", l.settle(t, base, token, redisURL, cancel, loaded))
}

// readyz returns the status of GET /readyz (0 if no answer).
func readyz(base string) int {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// until polls cond every 10 ms until it holds, or fails the test after d.
func until(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", d, what)
		}
	}
}

// TestFailoverCluster: a Cluster of 3 primaries with 2 replicas each (so
// that the promoted primary still has a replica to acknowledge writes).
func TestFailoverCluster(t *testing.T) {
	c := redistest.StartClusterWith(t, redistest.ClusterOptions{Masters: 3, ReplicasPerMaster: 2, NodeTimeout: 2 * time.Second})
	const key = "scimd:{" + defaultOrg + "}:"
	master, err := c.MasterOf(context.Background(), c.Addrs[0], key)
	if err != nil {
		t.Fatal(err)
	}
	via := c.Addrs[0]
	if via == master {
		via = c.Addrs[1]
	}
	failover(t, c.URL(), func() { c.Kill(master) }, func(ctx context.Context) bool {
		m, err := c.MasterOf(ctx, via, key)
		return err == nil && m != master
	})
}

// TestFailoverSentinel: a primary with 2 replicas and 3 sentinels.
func TestFailoverSentinel(t *testing.T) {
	set := redistest.StartSentinel(t, 2)
	failover(t, set.URL(), func() { set.Kill(set.Primary) }, func(ctx context.Context) bool {
		m, err := set.Master(ctx)
		return err == nil && m != set.Primary
	})
}

// TestFailoverClusterGraceful: a replica takes over with CLUSTER FAILOVER
// under scimd's write load, SCIM_REDIS_WAIT_REPLICA on: the writes sent to
// the old primary, answered MOVED, follow the slot, so that every answer is
// a success or a 503 with Retry-After (before, they answered 500), none
// acknowledged is lost, and scimd check is clean.
func TestFailoverClusterGraceful(t *testing.T) {
	c := redistest.StartClusterWith(t, redistest.ClusterOptions{Masters: 3, ReplicasPerMaster: 2, NodeTimeout: 2 * time.Second})
	const key = "scimd:{" + defaultOrg + "}:"
	master, err := c.MasterOf(context.Background(), c.Addrs[0], key)
	if err != nil {
		t.Fatal(err)
	}
	via := c.Addrs[0]
	if via == master {
		via = c.Addrs[1]
	}
	const token = "failover-test-token-0123456"
	env := faultEnv(c.URL(), token)
	env["SCIM_REDIS_WAIT_REPLICA"] = "1s"
	base, _ := start(t, env)
	groups := createGroups(t, base, token, "graceful", 2)
	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() { load(ctx, base, token, groups, 8, l); close(loaded) }()
	waitAcked(t, l, 100, 20*time.Second)
	c.TakeOver(t, master, via)
	redistest.Figures(t, "scimd: graceful failover: %s", l.settle(t, base, token, c.URL(), cancel, loaded))
}
