package backend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// Failover tests: a primary is killed (SIGKILL) under a write load, on a
// Redis Cluster with replicas and on a Sentinel set. Writes must succeed
// again within 2 s of Redis promoting the replica, with no new client;
// Ready must say no while the primary is gone and yes after; with
// WaitForReplica, no acknowledged write is lost; the store checks clean.

// failoverBudget is how long after Redis promoted a replica the store's
// writes may still fail (issue 14: "within 2 s").
const failoverBudget = 2 * time.Second

// failoverRun is one failover under load, on s: kill stops the primary of
// org's slot; promoted reports once Redis has promoted another server in
// its place.
type failoverRun struct {
	s        *Store
	kill     func()
	promoted func(ctx context.Context) bool
}

// run drives 4 writers creating users in org, kills the primary after some
// writes, and returns once writes succeed again, checking the recovery time,
// Ready, and that every acknowledged user is there.
func (f failoverRun) run(t *testing.T, org string) {
	ctx := context.Background()
	if err := f.s.Ready(ctx); err != nil {
		t.Fatalf("Ready before the kill: %v", err)
	}
	var (
		mu       sync.Mutex
		acked    []string // ids of the users created
		lastOK   time.Time
		failures int
	)
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; lctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d@example.com", w, i)
				u, err := f.s.CreateUser(lctx, org, user(name), resources.UserWrite{})
				mu.Lock()
				if err == nil {
					acked, lastOK = append(acked, u.ID), time.Now()
				} else {
					failures++
					var re resources.Error
					if !errors.As(err, &re) || re.Code != resources.Unavailable {
						if lctx.Err() == nil {
							t.Errorf("CreateUser during the failover: %v, want success or Unavailable", err)
						}
					}
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	defer func() { stop(); wg.Wait() }()
	waitUntil(t, "50 writes acknowledged", 20*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 50 })

	killed := time.Now()
	f.kill()
	waitUntil(t, "Ready to fail after the kill", 10*time.Second, func() bool { return f.s.Ready(ctx) != nil })
	waitUntil(t, "Redis to promote a replica", time.Minute, func() bool { return f.promoted(ctx) })
	promoted := time.Now()
	// Writes resume: one acknowledged after the promotion, by a client that
	// kept its connections and layout.
	waitUntil(t, "a write acknowledged after the promotion", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lastOK.After(promoted)
	})
	mu.Lock()
	recovered := lastOK
	mu.Unlock()
	mu.Lock()
	failed := failures
	mu.Unlock()
	redistest.Figures(t, "store: primary killed; replica promoted %s later; writes succeeded again %s after the promotion (%d writes failed meanwhile)",
		promoted.Sub(killed).Round(time.Millisecond), recovered.Sub(promoted).Round(time.Millisecond), failed)
	if d := recovered.Sub(promoted); d > failoverBudget {
		t.Errorf("writes succeeded again %s after Redis promoted the replica, want within %s", d, failoverBudget)
	}
	waitUntil(t, "Ready after the failover", 10*time.Second, func() bool { return f.s.Ready(ctx) == nil })
	stop()
	wg.Wait()

	lost := 0
	for _, id := range acked {
		if _, err := f.s.GetUser(ctx, org, id); err != nil {
			lost++
			t.Errorf("GetUser %s, acknowledged before or during the failover: %v", id, err)
		}
	}
	redistest.Figures(t, "store: %d writes acknowledged, %d lost", len(acked), lost)
	if lost > 0 {
		t.Errorf("%d of %d acknowledged users are missing after the failover (WaitForReplica is on)", lost, len(acked))
	}
	var findings []Finding
	if _, err := f.s.Check(ctx, org, func(fd Finding) { findings = append(findings, fd) }); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(findings) > 0 {
		t.Errorf("Check after the failover: %v", findings)
	}
}

// waitUntil polls cond every 10 ms until it holds, or fails the test after d.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", d, what)
		}
	}
}

func TestClusterFailover(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("no redis-server")
	}
	c := redistest.StartClusterWith(t, redistest.ClusterOptions{Masters: 3, ReplicasPerMaster: 2, NodeTimeout: 2 * time.Second})
	s, err := Open(context.Background(), c.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.WaitForReplica(time.Second)
	const org = "failover"
	p, _ := prefix(org)
	ctx := context.Background()
	master, err := c.MasterOf(ctx, c.Addrs[0], p)
	if err != nil {
		t.Fatal(err)
	}
	via := c.Addrs[0]
	if via == master {
		via = c.Addrs[1]
	}
	failoverRun{s: s, kill: func() { c.Kill(master) }, promoted: func(ctx context.Context) bool {
		m, err := c.MasterOf(ctx, via, p)
		return err == nil && m != master
	}}.run(t, org)
}

func TestSentinelFailover(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("no redis-server")
	}
	set := redistest.StartSentinel(t, 2)
	s, err := Open(context.Background(), set.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.WaitForReplica(time.Second)
	failoverRun{s: s, kill: func() { set.Kill(set.Primary) }, promoted: func(ctx context.Context) bool {
		m, err := set.Master(ctx)
		return err == nil && m != set.Primary
	}}.run(t, "failover")
}

// TestWaitForReplica: with WaitForReplica, a write is on the replica when
// it is acknowledged; with no replica to acknowledge it, it fails as
// outcome unknown (503), though the primary made it.
func TestWaitForReplica(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("no redis-server")
	}
	ctx := context.Background()
	primaryURL := redistest.StartWith(t, "--repl-diskless-sync-delay", "0")
	popts, _ := redis.ParseURL(primaryURL)
	host, port, _ := net.SplitHostPort(popts.Addr)
	replicaURL, killReplica := redistest.StartStoppable(t)
	ropts, _ := redis.ParseURL(replicaURL)
	replica := redis.NewClient(ropts)
	t.Cleanup(func() { _ = replica.Close() })
	if err := replica.ReplicaOf(ctx, host, port).Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the replica in sync", 20*time.Second, func() bool {
		info, _ := replica.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	s, err := Open(ctx, primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	// Generous: a loaded machine (CI runs packages side by side) can take
	// longer than half a second to acknowledge the first writes.
	s.WaitForReplica(5 * time.Second)

	for i := range 20 {
		u := mustCreateUser(t, s, user(fmt.Sprintf("r%d@example.com", i)))
		// Acknowledged, so on the replica now: no waiting here.
		if n := replica.Exists(ctx, "scimd:{"+org+"}:user:"+u.ID).Val(); n != 1 {
			t.Fatalf("user %d acknowledged, but the replica has not got it (EXISTS = %d)", i, n)
		}
	}
	killReplica()
	_, err = s.CreateUser(ctx, org, user("lonely@example.com"), resources.UserWrite{})
	var re resources.Error
	if !errors.As(err, &re) || re.Code != resources.Unavailable || !errors.Is(err, resources.ErrOutcomeUnknown) {
		t.Fatalf("CreateUser with no replica = %v, want Unavailable, outcome unknown", err)
	}
	// The primary made it.
	primary := redis.NewClient(popts)
	t.Cleanup(func() { _ = primary.Close() })
	if n := primary.HLen(ctx, "scimd:{"+org+"}:unique:user:userName").Val(); n != 21 {
		t.Fatalf("the primary has %d userNames, want 21: the write no replica acknowledged was made there", n)
	}
}

// BenchmarkWaitForReplica measures what WaitForReplica costs a write: user
// creations on a primary with one replica (loopback), with it off and on.
func BenchmarkWaitForReplica(b *testing.B) {
	ctx := context.Background()
	primaryURL := redistest.StartWith(b, "--repl-diskless-sync-delay", "0")
	popts, _ := redis.ParseURL(primaryURL)
	host, port, _ := net.SplitHostPort(popts.Addr)
	redistest.StartWith(b, "--replicaof", host, port)
	for _, wait := range []time.Duration{0, time.Second} {
		name := "off"
		if wait > 0 {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			s, err := Open(ctx, primaryURL)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.WaitForReplica(wait)
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := s.CreateUser(ctx, org, user(fmt.Sprintf("%s-%d-%s@example.com", name, i, newID())), resources.UserWrite{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
