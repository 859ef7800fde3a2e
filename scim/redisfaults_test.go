package scim_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/scim"
)

// These tests put a real redis-server in the states an operator meets
// (paused past the client's read timeout, out of memory, busy running a
// script, a replica after a failover) and check what the API answers: the
// truth, and 503 with Retry-After whenever the store cannot answer. Each
// runs on a redis-server of its own, not on the Cluster the package's tests
// share: it leaves its server in a state no later test may inherit. A
// Cluster's primary failing is tested in backend (TestClusterFailover) and
// cmd/scimd (TestFailoverCluster), under write load.

// redisControl is a client for setting a test's redis-server up, apart from
// the store's: its commands wait as long as Redis takes.
func redisControl(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	o.ReadTimeout, o.MaxRetries = 30*time.Second, -1
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	return c
}

// commandCalls returns how many times Redis ran each of the named commands
// since the last CONFIG RESETSTAT (INFO commandstats).
func commandCalls(tb testing.TB, c *redis.Client, names ...string) int {
	tb.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatalf("INFO commandstats: %v", err)
	}
	n := 0
	for _, name := range names {
		if m := regexp.MustCompile(`cmdstat_` + name + `:calls=(\d+)`).FindStringSubmatch(info); m != nil {
			k, _ := strconv.Atoi(m[1])
			n += k
		}
	}
	return n
}

// waitUntil polls Redis at url with PING, each with a short read timeout,
// until done says the answer (or its absence) shows the state a test waits
// for; the poll gives up after 10 s.
func waitUntil(tb testing.TB, url, what string, done func(err error) bool) {
	tb.Helper()
	o, _ := redis.ParseURL(url)
	o.ReadTimeout, o.MaxRetries = 100*time.Millisecond, -1
	c := redis.NewClient(o)
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if done(c.Ping(context.Background()).Err()) {
			return
		}
	}
	tb.Fatalf("redis-server is not %s after 10 s", what)
}

// unavailable checks a 503 with Retry-After whose detail contains detail.
func (r response) unavailable(tb testing.TB, call, detail string) {
	tb.Helper()
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		tb.Errorf("%s = %d, Retry-After %q, %s; want 503 with Retry-After", call, r.status, r.header.Get("Retry-After"), r.raw)
		return
	}
	if d := str(r.body, "detail"); !strings.Contains(d, detail) {
		tb.Errorf("%s: detail %q, want it to contain %q", call, d, detail)
	}
}

// staffGroup is a new group's body.
func staffGroup(name string) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name}
}

const (
	storeUnavailable = "the store is unavailable; retry later"
	outcomeUnknown   = "whether the change was made is unknown"
)

// TestRedisPausedWrites: writes in flight while Redis is paused past the
// store's read timeout (DEBUG SLEEP) answer 503 "outcome unknown", with
// Retry-After; go-redis does not send them again (Redis ran each script
// once); afterwards the store holds exactly what the writes made, and the
// client's retries get the SCIM answers that say so: 409 for the creation,
// 404 for the deletion. Writes of concurrent requests share pipelines
// (backend coalesce.go): a write queued behind one in flight is sent when
// Redis answers again, and answers as if there had been no pause, which
// is true too. At least one of the two is in flight.
func TestRedisPausedWrites(t *testing.T) {
	url := redistest.Start(t)
	a := newAPI(t, url+"?read_timeout=500ms", func(c *scim.Config) { c.TokenCacheTTL = time.Hour })
	ctl := redisControl(t, url)
	ctx := context.Background()

	// The token is cached and the scripts are loaded: the writes below
	// send Redis nothing but their script.
	victim := str(a.do("POST", "/Users", ownerToken, user("victim@example.com", nil)).must(t, http.StatusCreated).body, "id")
	a.do("DELETE", "/Users/"+str(a.do("POST", "/Users", ownerToken, user("warm@example.com", nil)).body, "id"), ownerToken, nil).must(t, http.StatusNoContent)
	// The store's pool holds connections ready for both writes (connected
	// and past their HELLO): single-command reads held up together by a
	// short pause each take one.
	paused := make(chan error, 1)
	go func() { paused <- ctl.Do(ctx, "DEBUG", "SLEEP", "0.3").Err() }()
	waitUntil(t, url, "asleep", func(err error) bool { return err != nil })
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.do("GET", "/Users?filter="+urlQuery(`userName eq "victim@example.com"`), ownerToken, nil)
		}()
	}
	wg.Wait()
	if err := <-paused; err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}
	if n := commandCalls(t, ctl, "hello"); n < 3 {
		t.Fatalf("the store has %d connections ready, want 3", n)
	}
	if err := ctl.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	slept := make(chan error, 1)
	go func() { slept <- ctl.Do(ctx, "DEBUG", "SLEEP", "1.5").Err() }()
	waitUntil(t, url, "asleep", func(err error) bool { return err != nil })
	var create, del response
	wg.Add(2)
	go func() { defer wg.Done(); create = a.do("POST", "/Users", ownerToken, user("new@example.com", nil)) }()
	go func() { defer wg.Done(); del = a.do("DELETE", "/Users/"+victim, ownerToken, nil) }()
	wg.Wait()
	if err := <-slept; err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}

	inFlight := 0
	for _, w := range []struct {
		call string
		r    response
		done int
	}{{"POST /Users while Redis sleeps", create, http.StatusCreated}, {"DELETE /Users/{id} while Redis sleeps", del, http.StatusNoContent}} {
		if w.r.status != w.done {
			w.r.unavailable(t, w.call, outcomeUnknown)
			inFlight++
		}
	}
	if inFlight == 0 {
		t.Errorf("both writes answered as if Redis had not slept: none was in flight")
	}
	// Redis runs what it received while asleep once it wakes, on
	// connections since closed: the answers were lost, not the writes.
	waitFor(t, "the writes run", func() bool { return commandCalls(t, ctl, "evalsha", "eval", "fcall") >= 2 })
	if n := commandCalls(t, ctl, "evalsha", "eval", "fcall"); n != 2 {
		t.Errorf("Redis ran %d scripts for one creation and one deletion, want 2: a write was sent again", n)
	}
	list := a.do("GET", "/Users?filter="+urlQuery(`userName eq "new@example.com"`), ownerToken, nil).must(t, http.StatusOK)
	if got := str(list.body, "totalResults"); got != "1" {
		t.Errorf("users named new@example.com after the pause: %s, want 1", got)
	}
	a.do("GET", "/Users/"+victim, ownerToken, nil).must(t, http.StatusNotFound)
	// The client's retries.
	a.do("POST", "/Users", ownerToken, user("new@example.com", nil)).scimError(t, http.StatusConflict, "uniqueness", `userName "new@example.com" is already taken`)
	a.do("DELETE", "/Users/"+victim, ownerToken, nil).must(t, http.StatusNotFound)
	// The deleted user's name is free again: its uniqueness entry went with it.
	a.do("POST", "/Users", ownerToken, user("victim@example.com", nil)).must(t, http.StatusCreated)
	all := a.do("GET", "/Users", ownerToken, nil).must(t, http.StatusOK)
	if got := str(all.body, "totalResults"); got != "2" {
		t.Errorf("GET /Users totalResults = %s, want 2 (new@ and victim@): %s", got, all.raw)
	}
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("waited 10 s for %s", what)
		}
	}
}

// TestRedisOutOfMemory: at maxmemory with noeviction, writes answer 503
// with Retry-After (nothing was made), while reads, authentication
// included, still work; once memory is freed, writes work again.
func TestRedisOutOfMemory(t *testing.T) {
	url := redistest.Start(t)
	a := newAPI(t, url) // no token cache: every request reads its token
	ctl := redisControl(t, url)
	ctx := context.Background()
	id := str(a.do("POST", "/Users", ownerToken, user("jane@example.com", nil)).must(t, http.StatusCreated).body, "id")
	gid := str(a.do("POST", "/Groups", ownerToken, staffGroup("Staff")).must(t, http.StatusCreated).body, "id")

	for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", "1"}} {
		if err := ctl.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatalf("CONFIG SET %s %s: %v", kv[0], kv[1], err)
		}
	}
	a.do("POST", "/Users", ownerToken, user("john@example.com", nil)).unavailable(t, "POST /Users", storeUnavailable)
	a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "displayName", "Jane"))).unavailable(t, "PATCH /Users/{id}", storeUnavailable)
	a.do("POST", "/Groups", ownerToken, staffGroup("Other")).unavailable(t, "POST /Groups", storeUnavailable)
	a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": id}}))).unavailable(t, "PATCH /Groups/{id}", storeUnavailable)

	a.do("GET", "/Users/"+id, readerToken, nil).must(t, http.StatusOK)
	a.do("GET", "/Users?filter="+urlQuery(`userName eq "jane@example.com"`), ownerToken, nil).must(t, http.StatusOK)
	if g := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK); str(g.body, "members") != "" {
		t.Errorf("the refused PATCH added a member: %s", g.raw)
	}

	if err := ctl.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	a.do("POST", "/Users", ownerToken, user("john@example.com", nil)).must(t, http.StatusCreated)
}

// TestRedisBusyScript: while a script runs past Redis's busy threshold
// (Redis answers BUSY to everyone else), every request answers 503 with
// Retry-After, not 500: authentication of an API token and of a customer
// (/Me), reads and writes.
func TestRedisBusyScript(t *testing.T) {
	url := redistest.Start(t)
	a := newAPI(t, url)
	ctl := redisControl(t, url)
	ctx := context.Background()
	id := activeCustomer(t, a, "jane@example.com", nil)
	if err := ctl.ConfigSet(ctx, "busy-reply-threshold", "50").Err(); err != nil {
		t.Fatal(err)
	}

	// A script that spins for at most 10 s, unless killed.
	busy := make(chan error, 1)
	go func() {
		busy <- ctl.Eval(ctx, `local t0 = redis.call('TIME')
while tonumber(redis.call('TIME')[1]) - tonumber(t0[1]) < 10 do end
return 0`, nil).Err()
	}()
	waitUntil(t, url, "busy", func(err error) bool { return redis.HasErrorPrefix(err, "BUSY") })
	defer func() {
		kill := redis.NewClient(ctl.Options())
		defer kill.Close()
		if err := kill.ScriptKill(ctx).Err(); err != nil {
			t.Errorf("SCRIPT KILL: %v", err)
		}
		if err := <-busy; err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("the busy script ended with %v, want it killed", err)
		}
	}()

	a.do("GET", "/Users", readerToken, nil).unavailable(t, "GET /Users (authenticating a token)", storeUnavailable)
	a.do("GET", "/Users/"+id, ownerToken, nil).unavailable(t, "GET /Users/{id}", storeUnavailable)
	a.do("POST", "/Users", ownerToken, user("john@example.com", nil)).unavailable(t, "POST /Users", storeUnavailable)
	a.me("GET", mePath, basic("jane@example.com", newPassword), nil).unavailable(t, "GET /Me (authenticating a customer)", storeUnavailable)
}

// TestRedisReplicaAfterFailover: after a failover, a store still pointed at
// the old primary (now a replica: Redis answers READONLY to writes) answers
// writes 503 with Retry-After and serves reads.
func TestRedisReplicaAfterFailover(t *testing.T) {
	oldURL, newURL := redistest.Start(t), redistest.Start(t)
	a := newAPI(t, oldURL)
	id := str(a.do("POST", "/Users", ownerToken, user("jane@example.com", nil)).must(t, http.StatusCreated).body, "id")
	oldPrimary, newPrimary := redisControl(t, oldURL), redisControl(t, newURL)
	ctx := context.Background()
	replicaOf := func(c *redis.Client, url string) {
		t.Helper()
		o, _ := redis.ParseURL(url)
		host, port, _ := strings.Cut(o.Addr, ":")
		if err := c.ReplicaOf(ctx, host, port).Err(); err != nil {
			t.Fatalf("REPLICAOF %s: %v", o.Addr, err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			info, err := c.Info(ctx, "replication").Result()
			if err == nil && strings.Contains(info, "master_link_status:up") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica of %s not in sync after 10 s: %v %s", o.Addr, err, info)
			}
		}
	}
	// The failover: the new primary copies the old one, is promoted, and
	// the old one becomes its replica (each primary sends its copy at once).
	for _, c := range []*redis.Client{oldPrimary, newPrimary} {
		if err := c.ConfigSet(ctx, "repl-diskless-sync-delay", "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	replicaOf(newPrimary, oldURL)
	if err := newPrimary.ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	replicaOf(oldPrimary, newURL)

	a.do("POST", "/Users", ownerToken, user("john@example.com", nil)).unavailable(t, "POST /Users on a replica", storeUnavailable)
	a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "displayName", "Jane"))).unavailable(t, "PATCH /Users/{id} on a replica", storeUnavailable)
	a.do("DELETE", "/Users/"+id, ownerToken, nil).unavailable(t, "DELETE /Users/{id} on a replica", storeUnavailable)
	a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
	a.do("GET", "/Users?filter="+urlQuery(`userName eq "jane@example.com"`), readerToken, nil).must(t, http.StatusOK)
}
