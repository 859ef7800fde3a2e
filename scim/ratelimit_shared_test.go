package scim_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// replica is one scimd process of a test: its own store client and handler
// on a shared store, wired as cmd/scimd wires a replica (shared limits,
// events).
type replica struct {
	*api
	h *scim.Handler
}

// replicas starts n replicas on the store at url; opts adjust their
// handlers' configuration. The token cache is an hour unless opts say
// otherwise, so that only the events can make a replica forget a token. As
// serve does, a replica on the embedded store (url "", which serves one
// process: n must be 1) keeps its limits in the process.
func replicas(t *testing.T, url string, n int, opts ...func(*scim.Config)) []replica {
	t.Helper()
	if url == "" && n != 1 {
		t.Fatalf("replicas: %d replicas of an embedded store, which serves one process", n)
	}
	var out []replica
	for range n {
		a := newAPI(t, url) // stores the test tokens; its handler is not used
		cfg := scim.Config{BaseURL: a.srv.URL + scim.BasePath, MaxBodyBytes: 64 << 10, TokenCacheTTL: time.Hour}
		for _, o := range opts {
			o(&cfg)
		}
		log := slog.New(slog.NewJSONHandler(io.Discard, nil))
		h := scim.NewHandler(cfg, resources.NewUsers(a.store), resources.NewGroups(a.store), a.store, log)
		a.srv.Config.Handler = scim.Observe(log, nil, h)
		a.handler = a.srv.Config.Handler
		out = append(out, replica{a, h})
		if a.store.Embedded() {
			continue
		}
		h.ShareLimits(a.store)
		ctx, cancel := context.WithCancel(context.Background())
		subscribed := make(chan struct{}, 8)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = a.store.WatchEvents(ctx, backend.Events{TokenRevoked: h.ForgetToken, AddressBlocked: h.BlockClient,
				Subscribed: func() { h.ForgetAllTokens(); subscribed <- struct{}{} }})
		}()
		t.Cleanup(func() { cancel(); <-done })
		<-subscribed
	}
	return out
}

// limitStores runs fn on one replica on each store (redistest.EachStore): on the
// embedded store with its limits in the process, on redis-server and
// Cluster with the limits shared through the store, which must have decided
// every time (a script that cannot run on Cluster would fall back unseen).
func limitStores(t *testing.T, fn func(t *testing.T, a replica), opts ...func(*scim.Config)) {
	t.Helper()
	redistest.EachStore(t, func(t *testing.T, url string) {
		a := replicas(t, url, 1, opts...)[0]
		fn(t, a)
		if n := a.h.LimitFallbacks(); n != 0 {
			t.Errorf("the limits were decided by the process alone %d times with the store up", n)
		}
	})
}

// TestReplicasShareTokenRate: a burst of N+1 requests of one token over two
// replicas gets exactly N answers; the rest 429.
func TestReplicasShareTokenRate(t *testing.T) {
	const burst = 30
	redistest.EachStore(t, func(t *testing.T, url string) {
		r := replicas(t, url, 2, func(c *scim.Config) { c.TokenRate = 0.2; c.TokenBurst = burst })
		statuses := make([]int, burst+1)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", r[i%2].srv.URL+scim.BasePath+"/Schemas", nil)
				req.Header.Set("Authorization", "Bearer "+ownerToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[http.StatusOK] != burst || count[http.StatusTooManyRequests] != 1 {
			t.Fatalf("%d requests of one token over two replicas, burst %d: statuses %v; want %d × 200 and 1 × 429", burst+1, burst, count, burst)
		}
		// Both replicas refuse it now; another token of the organization is not
		// affected.
		for i, rep := range r {
			wantTooMany(t, rep.do("GET", "/Users", ownerToken, nil), 5)
			rep.do("GET", "/Users", collabToken, nil).must(t, http.StatusOK)
			if n := rep.h.LimitFallbacks(); n != 0 {
				t.Errorf("replica %d: %d fallbacks, want 0 while Redis is up", i, n)
			}
		}
	}, redistest.RedisStore, redistest.ClusterStore) // stores several processes share
}

// TestReplicasQuietLeaseHolder: a replica that served a few requests of a
// token (and so leased more of its bucket than it spent) and then went quiet
// does not keep them from the other: the other still answers the burst, less
// what the first answered, exactly.
func TestReplicasQuietLeaseHolder(t *testing.T) {
	const burst = 60
	redistest.EachStore(t, func(t *testing.T, url string) {
		r := replicas(t, url, 2, func(c *scim.Config) { c.TokenRate = 0.01; c.TokenBurst = burst })
		const first = 6
		for range first {
			r[0].do("GET", "/Schemas", ownerToken, nil).must(t, http.StatusOK)
		}
		answered := 0
		for {
			got := r[1].do("GET", "/Schemas", ownerToken, nil)
			if got.status == http.StatusTooManyRequests {
				break
			}
			got.must(t, http.StatusOK)
			answered++
			if answered > burst {
				t.Fatalf("replica 1 answered more than the burst (%d)", burst)
			}
		}
		if first+answered != burst {
			t.Fatalf("replica 0 answered %d and went quiet; replica 1 then answered %d; want %d in all", first, answered, burst)
		}
		wantTooMany(t, r[0].do("GET", "/Schemas", ownerToken, nil), 200)
	}, redistest.RedisStore, redistest.ClusterStore) // stores several processes share
}

// TestReplicasShareFailureLimit: failed authentications from one address
// count together over both replicas: the limit is reached after limit
// failures in all, and then both refuse the address, a valid token too, at
// once.
func TestReplicasShareFailureLimit(t *testing.T) {
	const limit = 6
	redistest.EachStore(t, func(t *testing.T, url string) {
		r := replicas(t, url, 2, func(c *scim.Config) { c.AuthFailureLimit = limit; c.TrustForwardedFor = true })
		from := []string{"X-Forwarded-For", "203.0.113.7"}
		for i := range limit {
			if got := r[i%2].do("GET", "/Users", "wrong-token-0123456789", nil, from...); got.status != http.StatusUnauthorized {
				t.Fatalf("failure %d on replica %d: status %d, want 401", i+1, i%2, got.status)
			}
		}
		// Replica 1 counted the last failure; replica 0 learns of the block
		// from its broadcast: poll, with a deadline, not a sleep.
		deadline := time.Now().Add(10 * time.Second)
		for r[0].do("GET", "/Users", ownerToken, nil, from...).status != http.StatusTooManyRequests {
			if time.Now().After(deadline) {
				t.Fatalf("replica 0 still serves the blocked address 10 s after replica 1 blocked it")
			}
			time.Sleep(5 * time.Millisecond)
		}
		for i, rep := range r {
			wantTooMany(t, rep.do("GET", "/Users", ownerToken, nil, from...), 60)
			rep.do("GET", "/Users", ownerToken, nil, "X-Forwarded-For", "203.0.113.8").must(t, http.StatusOK)
			_ = i
		}
	}, redistest.RedisStore, redistest.ClusterStore) // stores several processes share
}

// TestReplicasRevokeAtOnce: a token revoked through one replica is refused
// by the other at once, although its token cache (an hour here) still holds
// it.
func TestReplicasRevokeAtOnce(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		r := replicas(t, url, 2)
		created := r[0].send("POST", scim.AdminPath, "Bearer "+ownerToken, map[string]any{"name": "sync", "role": "reader"}).must(t, http.StatusCreated)
		secret := str(created.body, "token")
		for _, rep := range r {
			rep.do("GET", "/Users", secret, nil).must(t, http.StatusOK) // now cached on both
		}
		r[0].send("DELETE", scim.AdminPath+"/sync", "Bearer "+ownerToken, nil).must(t, http.StatusNoContent)
		r[0].do("GET", "/Users", secret, nil).must(t, http.StatusUnauthorized)
		deadline := time.Now().Add(10 * time.Second)
		for r[1].do("GET", "/Users", secret, nil).status != http.StatusUnauthorized {
			if time.Now().After(deadline) {
				t.Fatalf("replica 1 still accepts the token 10 s after its revocation through replica 0")
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Revoked through the store directly (the CLI), too.
		created = r[1].send("POST", scim.AdminPath, "Bearer "+ownerToken, map[string]any{"name": "cli", "role": "reader"}).must(t, http.StatusCreated)
		secret = str(created.body, "token")
		r[0].do("GET", "/Users", secret, nil).must(t, http.StatusOK)
		if err := r[1].store.RevokeToken(context.Background(), "acme", "cli"); err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(10 * time.Second)
		for r[0].do("GET", "/Users", secret, nil).status != http.StatusUnauthorized {
			if time.Now().After(deadline) {
				t.Fatalf("replica 0 still accepts the token 10 s after scimd token revoke")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}, redistest.RedisStore, redistest.ClusterStore) // stores several processes share
}

// TestSharedLimitsFallBackWhenRedisIsDown: with Redis gone, a replica limits
// on its own counts (a cached token still gets its burst and no more; failed
// authentications still block), never failing open, and counts every such
// decision. It is about the process-local fallback alone, so it runs on a
// redis-server of its own, which it stops (the shared Cluster must outlive
// the test).
func TestSharedLimitsFallBackWhenRedisIsDown(t *testing.T) {
	url, stop := redistest.StartStoppable(t)
	r := replicas(t, url, 1, func(c *scim.Config) { c.TokenRate = 0.01; c.TokenBurst = 3; c.AuthFailureLimit = 2 })[0]
	r.do("GET", "/Schemas", ownerToken, nil).must(t, http.StatusOK) // caches the token; takes one from the shared bucket
	stop()
	for i := range 3 { // the local bucket is full: its own burst
		if got := r.do("GET", "/Schemas", ownerToken, nil); got.status != http.StatusOK {
			t.Fatalf("request %d with Redis down: status %d, want 200 (local burst)", i+1, got.status)
		}
	}
	wantTooMany(t, r.do("GET", "/Schemas", ownerToken, nil), 100)
	// Failed authentications: the token lookup fails (503), so use a
	// missing token, which fails without a lookup.
	for range 2 {
		r.do("GET", "/Schemas", "", nil).must(t, http.StatusUnauthorized)
	}
	wantTooMany(t, r.do("GET", "/Schemas", "", nil), 60)
	if n := r.h.LimitFallbacks(); n < 6 {
		t.Errorf("LimitFallbacks = %d, want every decision since Redis went (6)", n)
	}
}

var _ = httptest.NewServer

// TestBearerFailuresCannotOverrunTheLimit (issue 14): bad bearer tokens sent
// at once, in waves, from one address get at most the limit's 401s between
// them, the rest 429: on one process counting alone, on one sharing its
// counts through Redis, and over two sharing them. A failure is reserved
// before the token is looked up, atomically. Meanwhile requests with a good
// token, all at once and none cached, are not refused for each other's
// reservations: they share one lookup.
func TestBearerFailuresCannotOverrunTheLimit(t *testing.T) {
	const limit, waves, wave = 20, 3, 16
	run := func(t *testing.T, procs []*api) {
		// A good token, not yet cached, by 40 requests at once: one lookup,
		// one reservation.
		good := make(chan int, 40)
		var wg sync.WaitGroup
		for i := range cap(good) {
			wg.Go(func() { good <- procs[i%len(procs)].do("GET", "/Schemas", ownerToken, nil).status })
		}
		wg.Wait()
		close(good)
		for s := range good {
			if s != http.StatusOK {
				t.Fatalf("40 requests at once with a good token, limit %d: a status %d, want all 200", limit, s)
			}
		}
		count := map[int]int{}
		var mu sync.Mutex
		for w := range waves {
			for i := range wave {
				wg.Go(func() {
					// Distinct guesses, and some sent twice at once.
					token := "wrong-token-" + strconv.Itoa(w) + "-" + strconv.Itoa(i%(wave-4)) + "-0123456789"
					s := procs[i%len(procs)].do("GET", "/Users", token, nil).status
					mu.Lock()
					count[s]++
					mu.Unlock()
				})
			}
			wg.Wait()
		}
		if count[http.StatusUnauthorized] > limit || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != waves*wave {
			t.Errorf("%d waves of %d bad tokens at once over %d process(es), limit %d: statuses %v, want at most %d × 401 and the rest 429",
				waves, wave, len(procs), limit, count, limit)
		}
	}
	cfg := func(c *scim.Config) { c.AuthFailureLimit = limit }
	t.Run("one process", func(t *testing.T) { run(t, []*api{newAPI(t, "", cfg)}) })
	t.Run("one process, shared counts", func(t *testing.T) {
		run(t, []*api{replicas(t, redistest.Start(t), 1, cfg)[0].api})
	})
	t.Run("two processes", func(t *testing.T) {
		r := replicas(t, redistest.Start(t), 2, cfg)
		run(t, []*api{r[0].api, r[1].api})
	})
}
