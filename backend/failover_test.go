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
// writes may still fail (the goal: writes succeed again within 2 s).
const failoverBudget = 2 * time.Second

// failoverRun is one failover under load, on s: kill stops the primary of
// org's slot; promoted reports once Redis has promoted another server in
// its place.
type failoverRun struct {
	s        *Store
	kill     func()
	promoted func(ctx context.Context) bool
}

// writeLoad is 4 writers creating users in an organization, recording
// what was acknowledged and failing the test on any error but Unavailable
// (a 503 with Retry-After).
type writeLoad struct {
	mu       sync.Mutex
	acked    []string // ids of the users created
	lastOK   time.Time
	failures int

	stop func()
	wg   sync.WaitGroup
}

// startWriteLoad starts the writers on s, in org; stop ends them.
func startWriteLoad(t *testing.T, s *Store, org string) *writeLoad {
	l := &writeLoad{}
	lctx, cancel := context.WithCancel(context.Background())
	for w := range 4 {
		l.wg.Go(func() {
			for i := 0; lctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d@example.com", w, i)
				u, err := s.CreateUser(lctx, org, user(name), resources.UserWrite{})
				l.mu.Lock()
				if err == nil {
					l.acked, l.lastOK = append(l.acked, u.ID), time.Now()
				} else {
					l.failures++
					var re resources.Error
					if !errors.As(err, &re) || re.Code != resources.Unavailable {
						if lctx.Err() == nil {
							t.Errorf("CreateUser during the failover: %v, want success or Unavailable", err)
						}
					}
				}
				l.mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	l.stop = func() { cancel(); l.wg.Wait() }
	t.Cleanup(l.stop)
	return l
}

// waitAcked waits until at least n users were acknowledged.
func (l *writeLoad) waitAcked(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d writes acknowledged", n), 20*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.acked) >= n
	})
}

// ackedAfter waits until a write was acknowledged after at, and returns
// when the first such write was seen.
func (l *writeLoad) ackedAfter(t *testing.T, at time.Time) time.Time {
	t.Helper()
	waitUntil(t, "a write acknowledged after the failover", 60*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.lastOK.After(at)
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOK
}

// settle stops the writers and checks that every acknowledged user is in s
// and that s checks clean; it returns how many writes were acknowledged,
// failed, and lost.
func (l *writeLoad) settle(t *testing.T, s *Store, org string) (acked, failed, lost int) {
	t.Helper()
	l.stop()
	ctx := context.Background()
	for _, id := range l.acked {
		if _, err := s.GetUser(ctx, org, id); err != nil {
			lost++
			t.Errorf("GetUser %s, acknowledged before or during the failover: %v", id, err)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged users are missing after the failover (WaitForReplica is on)", lost, len(l.acked))
	}
	var findings []Finding
	if _, err := s.Check(ctx, org, func(fd Finding) { findings = append(findings, fd) }); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(findings) > 0 {
		t.Errorf("Check after the failover: %v", findings)
	}
	return len(l.acked), l.failures, lost
}

// run drives the write load, kills the primary after some writes, and
// returns once writes succeed again, checking the recovery time, Ready, and
// that every acknowledged user is there.
func (f failoverRun) run(t *testing.T, org string) {
	ctx := context.Background()
	if err := f.s.Ready(ctx); err != nil {
		t.Fatalf("Ready before the kill: %v", err)
	}
	l := startWriteLoad(t, f.s, org)
	l.waitAcked(t, 50)

	killed := time.Now()
	f.kill()
	waitUntil(t, "Ready to fail after the kill", 10*time.Second, func() bool { return f.s.Ready(ctx) != nil })
	waitUntil(t, "Redis to promote a replica", time.Minute, func() bool { return f.promoted(ctx) })
	promoted := time.Now()
	// Writes resume: one acknowledged after the promotion, by a client that
	// kept its connections and layout.
	recovered := l.ackedAfter(t, promoted)
	l.mu.Lock()
	failed := l.failures
	l.mu.Unlock()
	redistest.Figures(t, "store: primary killed; replica promoted %s later; writes succeeded again %s after the promotion (%d writes failed meanwhile)",
		promoted.Sub(killed).Round(time.Millisecond), recovered.Sub(promoted).Round(time.Millisecond), failed)
	if d := recovered.Sub(promoted); d > failoverBudget {
		t.Errorf("writes succeeded again %s after Redis promoted the replica, want within %s", d, failoverBudget)
	}
	waitUntil(t, "Ready after the failover", 10*time.Second, func() bool { return f.s.Ready(ctx) == nil })
	acked, _, lost := l.settle(t, f.s, org)
	redistest.Figures(t, "store: %d writes acknowledged, %d lost", acked, lost)
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
	if err := s.WaitForReplica(time.Second); err != nil {
		t.Fatal(err)
	}
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

// TestClusterGracefulFailover (issue 14): a replica takes over with CLUSTER
// FAILOVER (as an operator does before maintenance) under a write load,
// with WaitForReplica on: writes sent to the old primary are answered MOVED
// and follow it, so that no write fails with anything but Unavailable, none
// acknowledged is lost, and the store checks clean.
func TestClusterGracefulFailover(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("no redis-server")
	}
	c := redistest.StartClusterWith(t, redistest.ClusterOptions{Masters: 3, ReplicasPerMaster: 2, NodeTimeout: 2 * time.Second})
	ctx := context.Background()
	s, err := Open(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.WaitForReplica(time.Second); err != nil {
		t.Fatal(err)
	}
	const org = "graceful"
	p, _ := prefix(org)
	master, err := c.MasterOf(ctx, c.Addrs[0], p)
	if err != nil {
		t.Fatal(err)
	}
	via := c.Addrs[0]
	if via == master {
		via = c.Addrs[1]
	}
	l := startWriteLoad(t, s, org)
	l.waitAcked(t, 50)
	c.TakeOver(t, master, via)
	l.ackedAfter(t, time.Now())
	l.mu.Lock()
	n := len(l.acked)
	l.mu.Unlock()
	l.waitAcked(t, n+50)
	acked, failed, lost := l.settle(t, s, org)
	redistest.Figures(t, "store: graceful failover: %d writes acknowledged, %d answered 503, %d lost", acked, failed, lost)
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
	if err := s.WaitForReplica(time.Second); err != nil {
		t.Fatal(err)
	}
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
	// A wait for the replica needs a longer read timeout (5 s by default).
	short, err := Open(ctx, primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := short.WaitForReplica(5 * time.Second); err == nil {
		t.Errorf("WaitForReplica(5s) with a read timeout of 3s: no error")
	}
	short.Close()
	s, err := Open(ctx, primaryURL+"?read_timeout=10s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	// Generous: a loaded machine (CI runs packages side by side) can take
	// longer than half a second to acknowledge the first writes.
	if err := s.WaitForReplica(5 * time.Second); err != nil {
		t.Fatal(err)
	}

	for i := range 20 {
		u := mustCreateUser(t, s, user(fmt.Sprintf("r%d@example.com", i)))
		// Acknowledged, so on the replica now: no waiting here.
		if n := replica.Exists(ctx, "scimd:{"+org+"}:user:"+u.ID).Val(); n != 1 {
			t.Fatalf("user %d acknowledged, but the replica has not got it (EXISTS = %d)", i, n)
		}
	}
	// The writes that are not scripts wait too: each is on the replica
	// when it is acknowledged. A legacy token's revocation above all: it
	// must not come back with a failover.
	p, _ := prefix(org)
	legacy := resources.Token{Org: org, Name: "okta", Role: resources.RoleCollaborator, Hash: "h-legacy", Created: time.Now().UTC()}
	session := resources.CustomerSession{UserID: "u1", PasswordStamp: "1"}
	for _, w := range []struct {
		name  string
		write func() error
		on    func() bool // what the replica has once it is acknowledged
	}{
		{"CreateToken (legacy)", func() error { return s.CreateToken(ctx, legacy) },
			func() bool { return replica.HExists(ctx, tokensKey, "h-legacy").Val() }},
		{"RevokeToken (legacy)", func() error { return s.RevokeToken(ctx, org, "okta") },
			func() bool { return !replica.HExists(ctx, tokensKey, "h-legacy").Val() }},
		{"CreateOrg", func() error { _, err := s.CreateOrg(ctx, "other"); return err },
			func() bool { return replica.SIsMember(ctx, orgsKey, "other").Val() }},
		{"PutCustomerSession", func() error { return s.PutCustomerSession(ctx, org, "cs1", session, time.Hour) },
			func() bool { return replica.Exists(ctx, p+"csession:cs1").Val() == 1 }},
		{"DeleteCustomerSession", func() error { return s.DeleteCustomerSession(ctx, org, "cs1") },
			func() bool { return replica.Exists(ctx, p+"csession:cs1").Val() == 0 }},
		{"PutTicket", func() error { return s.PutTicket(ctx, org, "u1", 1, "t1", time.Hour) },
			func() bool { return replica.Exists(ctx, p+"ticket:t1").Val() == 1 }},
	} {
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if !w.on() {
			t.Errorf("%s acknowledged, but the replica has not got it", w.name)
		}
	}

	killReplica()
	outcomeUnknown := func(what string, err error) {
		t.Helper()
		var re resources.Error
		if !errors.As(err, &re) || re.Code != resources.Unavailable || !errors.Is(err, resources.ErrOutcomeUnknown) {
			t.Errorf("%s with no replica = %v, want Unavailable, outcome unknown", what, err)
		}
	}
	// Side by side: each waits the whole timeout.
	var wg sync.WaitGroup
	for what, write := range map[string]func() error{
		"CreateUser": func() error {
			_, err := s.CreateUser(ctx, org, user("lonely@example.com"), resources.UserWrite{})
			return err
		},
		"CreateToken (legacy)": func() error {
			return s.CreateToken(ctx, resources.Token{Org: org, Name: "hr", Role: resources.RoleReader, Hash: "h-hr", Created: time.Now().UTC()})
		},
		"CreateOrg":          func() error { _, err := s.CreateOrg(ctx, "third"); return err },
		"PutCustomerSession": func() error { return s.PutCustomerSession(ctx, org, "cs2", session, time.Hour) },
		"PutTicket":          func() error { return s.PutTicket(ctx, org, "u1", 1, "t2", time.Hour) },
	} {
		wg.Go(func() { outcomeUnknown(what, write()) })
	}
	wg.Wait()
	// The limits' counts do not wait: they may be lost, and every request
	// counts.
	if _, _, err := s.AllowToken(ctx, org, "okta", 10, 10); err != nil {
		t.Errorf("AllowToken with no replica: %v, want no wait for a replica", err)
	}
	// The primary made it.
	primary := redis.NewClient(popts)
	t.Cleanup(func() { _ = primary.Close() })
	if n := primary.ZCard(ctx, "scimd:{"+org+"}:ix:user:userName").Val(); n != 21 {
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
			if err := s.WaitForReplica(wait); err != nil {
				b.Fatal(err)
			}
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
