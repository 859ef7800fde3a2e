package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// twoProcesses returns, for a real redis-server and (unless -short) a
// three-node Cluster, two stores on it: two processes' clients.
func twoProcesses(t *testing.T) map[string][2]*Store {
	t.Helper()
	if !hasRedis(t) {
		t.Skip("redis-server not found (set SCIM_REQUIRE_REDIS=1 to fail instead)")
	}
	open := func(url string) *Store {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatalf("Open %s: %v", url, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	url := redistest.Start(t)
	out := map[string][2]*Store{"redis": {open(url), open(url)}}
	if !testing.Short() {
		addrs := redistest.StartCluster(t, 3)
		url := "redis+cluster://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
		out["cluster"] = [2]*Store{open(url), open(url)}
	}
	return out
}

// TestSharedTokenRate: a burst of N+1 requests of one token, sent at once
// through two clients, gets exactly N through; the refused one is told how
// long to wait; another token has its own bucket.
func TestSharedTokenRate(t *testing.T) {
	const burst = 40
	for name, s := range twoProcesses(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			allowed, waits := 0, []time.Duration{}
			var wg sync.WaitGroup
			for i := range burst + 1 {
				wg.Go(func() {
					wait, ok, err := s[i%2].AllowToken(ctx, org, "sync", 0.5, burst)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						t.Errorf("AllowToken: %v", err)
					case ok:
						allowed++
					default:
						waits = append(waits, wait)
					}
				})
			}
			wg.Wait()
			if allowed != burst || len(waits) != 1 {
				t.Fatalf("%d requests at once over two clients, burst %d: %d allowed, %d refused; want %d and 1", burst+1, burst, allowed, len(waits), burst)
			}
			// 0.5 per second: the next one in about two seconds.
			if w := waits[0]; w <= time.Second || w > 2*time.Second {
				t.Errorf("refused request's wait = %v, want in (1s, 2s]", w)
			}
			if _, ok, err := s[1].AllowToken(ctx, org, "other", 0.5, burst); err != nil || !ok {
				t.Errorf("AllowToken of another token = %v, %v; want allowed", ok, err)
			}
			// The bucket expires once it would be full again: nothing stays
			// behind for tokens no longer used.
			key, _ := tokenLimitKey(org, "sync")
			ttl, err := s[0].client.PTTL(ctx, key).Result()
			if err != nil || ttl <= 0 || ttl > (burst/0.5+1)*time.Second {
				t.Errorf("PTTL %s = %v, %v; want until the bucket is full, at most %ds", key, ttl, err, int(burst/0.5)+1)
			}
			if name == "cluster" {
				// The bucket lives in its organization's slot.
				p, _ := prefix(org)
				a, _ := s[0].client.ClusterKeySlot(ctx, key).Result()
				b, _ := s[0].client.ClusterKeySlot(ctx, p+"seq").Result()
				if a != b {
					t.Errorf("slot of %s = %d, organization's slot %d", key, a, b)
				}
			}
		})
	}
}

// TestTokenLeaseQuietHolder: a process that leased requests of a token and
// then went quiet does not keep them from another process: that one still
// gets exactly the burst, less what the first spent. The holder gives its
// lease back when asked (it watches the events, and its lease would outlive
// the test) or when its lease ages out (it does not watch).
func TestTokenLeaseQuietHolder(t *testing.T) {
	const burst, rate = 200, 0.01 // nothing refills during the test
	for name, s := range twoProcesses(t) {
		for _, watch := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/watch=%v", name, watch), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				token := fmt.Sprintf("quiet-%v", watch)
				holder, other := s[0], s[1]
				if watch {
					holder.leases.age = time.Hour
					defer func() { holder.leases.age = 0 }()
					wctx, stop := context.WithCancel(ctx)
					subscribed, done := make(chan struct{}, 4), make(chan struct{})
					go func() {
						defer close(done)
						_ = holder.WatchEvents(wctx, Events{Subscribed: func() { subscribed <- struct{}{} }})
					}()
					defer func() { stop(); <-done }()
					<-subscribed
				}
				spent := 0
				for leased(holder, token) == 0 && spent < 20 {
					if _, ok, err := holder.AllowToken(ctx, org, token, rate, burst); err != nil || !ok {
						t.Fatalf("holder's AllowToken %d = %v, %v; want allowed", spent+1, ok, err)
					}
					spent++
				}
				if watch && leased(holder, token) == 0 {
					t.Fatalf("after %d requests the holder leased none ahead", spent)
				}
				got := 0
				for {
					_, ok, err := other.AllowToken(ctx, org, token, rate, burst)
					if err != nil {
						t.Fatalf("other's AllowToken: %v", err)
					}
					if !ok {
						break
					}
					got++
				}
				if spent+got != burst {
					t.Fatalf("holder spent %d and went quiet; the other got %d; want %d in all", spent, got, burst)
				}
				if n := leased(holder, token); n != 0 {
					t.Errorf("holder still holds %d after the other was refused", n)
				}
			})
		}
	}
}

// TestTokenLeaseExactUnderContention: many callers on two processes each
// take requests of one token until refused; in all they get exactly the
// burst, although leases grow large while the bucket is full.
func TestTokenLeaseExactUnderContention(t *testing.T) {
	const burst, rate, callers = 3000, 0.01, 8
	for name, s := range twoProcesses(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var allowed [2]atomic.Int64
			var wg sync.WaitGroup
			for i := range 2 * callers {
				wg.Go(func() {
					for {
						_, ok, err := s[i%2].AllowToken(ctx, org, "contended", rate, burst)
						if err != nil {
							t.Errorf("AllowToken: %v", err)
							return
						}
						if !ok {
							return
						}
						allowed[i%2].Add(1)
					}
				})
			}
			wg.Wait()
			if a, b := allowed[0].Load(), allowed[1].Load(); a+b != burst {
				t.Fatalf("%d callers on each of two processes until refused: %d + %d allowed; want %d in all", callers, a, b, burst)
			}
		})
	}
}

// TestTokenLeaseSavesRoundTrips: a token far from its limit costs a Redis
// round trip only every many requests.
func TestTokenLeaseSavesRoundTrips(t *testing.T) {
	s := twoProcesses(t)["redis"][0]
	ctx := context.Background()
	if err := s.client.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const requests = 2000
	for i := range requests {
		if _, ok, err := s.AllowToken(ctx, org, "busy", 1e5, 1e5); err != nil || !ok {
			t.Fatalf("AllowToken %d = %v, %v; want allowed", i+1, ok, err)
		}
	}
	info := redisInfo(t, s.client, "commandstats")
	scripts := 0
	for _, cmd := range []string{"evalsha", "eval", "fcall"} {
		scripts += int(commandStat(info, cmd, "calls"))
	}
	if scripts == 0 || scripts > requests/20 {
		t.Errorf("%d requests far from the limit ran %d scripts; want at most %d", requests, scripts, requests/20)
	}
}

// leased is how many requests of org's token s holds, leased and unspent.
func leased(s *Store, token string) int {
	key, _ := tokenLimitKey(org, token)
	s.leases.mu.Lock()
	defer s.leases.mu.Unlock()
	if l := s.leases.tokens[key]; l != nil {
		return l.units
	}
	return 0
}

// TestSharedFailures: failed authentications of one address through two
// clients count together; reservations made at once never get past the
// limit; the failure that reaches the limit is announced to watchers.
func TestSharedFailures(t *testing.T) {
	const limit, window = 6, time.Minute
	for name, s := range twoProcesses(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			blocked := make(chan string, 4)
			subscribed := make(chan struct{}, 4)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = s[1].WatchEvents(ctx, Events{
					AddressBlocked: func(addr string, d time.Duration) {
						if d > 0 && d <= window {
							blocked <- addr
						}
					},
					Subscribed: func() { subscribed <- struct{}{} },
				})
			}()
			defer func() { cancel(); <-done }()
			<-subscribed

			const addr = "203.0.113.9"
			// Twice the limit reserves at once: exactly limit get one.
			var mu sync.Mutex
			reserved := 0
			var wg sync.WaitGroup
			for i := range 2 * limit {
				wg.Go(func() {
					_, _, ok, err := s[i%2].ReserveFailure(ctx, addr, limit, window)
					if err != nil {
						t.Errorf("ReserveFailure: %v", err)
					}
					if ok {
						mu.Lock()
						reserved++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if reserved != limit {
				t.Fatalf("%d reservations at once, limit %d: %d reserved", 2*limit, limit, reserved)
			}
			// Settle them: all but one fail, through either client.
			var n int
			for i := range limit {
				var err error
				n, _, err = s[i%2].SettleFailure(ctx, addr, true, i > 0, limit, window)
				if err != nil {
					t.Fatalf("SettleFailure: %v", err)
				}
			}
			if n != limit-1 {
				t.Fatalf("after %d failures, count = %d", limit-1, n)
			}
			// One more, without a reservation (a bad bearer token), reaches it.
			n, left, err := s[0].SettleFailure(ctx, addr, false, true, limit, window)
			if err != nil || n != limit || left <= 0 || left > window {
				t.Fatalf("SettleFailure = %d, %v, %v; want %d, the window's rest", n, left, err, limit)
			}
			failures, left, ok, err := s[1].ReserveFailure(ctx, addr, limit, window)
			if err != nil || ok || failures != limit || left <= 0 {
				t.Errorf("ReserveFailure when blocked = %d, %v, %v, %v; want refused with the window's rest", failures, left, ok, err)
			}
			if got := <-blocked; got != addr {
				t.Errorf("blocked event for %q, want %q", got, addr)
			}
			// Another address is not affected.
			if _, _, ok, err := s[0].ReserveFailure(ctx, "203.0.113.10", limit, window); err != nil || !ok {
				t.Errorf("ReserveFailure of another address = %v, %v; want reserved", ok, err)
			}
		})
	}
}

// TestRevocationEvent: revoking or replacing a token is announced to every
// watcher, whichever client did it.
func TestRevocationEvent(t *testing.T) {
	for name, s := range twoProcesses(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			revoked := make(chan string, 4)
			subscribed := make(chan struct{}, 4)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = s[1].WatchEvents(ctx, Events{
					TokenRevoked: func(org, name string) { revoked <- org + "/" + name },
					Subscribed:   func() { subscribed <- struct{}{} },
				})
			}()
			defer func() { cancel(); <-done }()
			<-subscribed
			putToken(t, s[0], "ci", "hash-1")
			putToken(t, s[0], "ci", "hash-2") // replaces: the first stops working
			if got := <-revoked; got != org+"/ci" {
				t.Errorf("replacement: event %q, want %q", got, org+"/ci")
			}
			if err := s[0].RevokeToken(ctx, org, "ci"); err != nil {
				t.Fatal(err)
			}
			if got := <-revoked; got != org+"/ci" {
				t.Errorf("revocation: event %q, want %q", got, org+"/ci")
			}
		})
	}
}

// TestWatchEventsLost: when Redis goes away the watcher says so, and keeps
// trying until its context ends.
func TestWatchEventsLost(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("redis-server not found")
	}
	url, stop := redistest.StartStoppable(t)
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	subscribed, lost := make(chan struct{}, 4), make(chan error, 4)
	done := make(chan error)
	go func() {
		done <- s.WatchEvents(ctx, Events{Subscribed: func() { subscribed <- struct{}{} }, Lost: func(err error) { lost <- err }})
	}()
	<-subscribed
	stop()
	if err := <-lost; err == nil {
		t.Error("Lost called with a nil error")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchEvents = %v, want context.Canceled", err)
	}
}

func putToken(t *testing.T, s *Store, name, hash string) {
	t.Helper()
	if err := s.PutToken(context.Background(), resources.Token{Org: org, Name: name, Role: resources.RoleOwner, Hash: hash}); err != nil {
		t.Fatalf("PutToken: %v", err)
	}
}
