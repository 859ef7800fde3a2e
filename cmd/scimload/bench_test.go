package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// TestBenchSeeding runs the benchmark's seeding at 200 customers on a real
// Redis: the store checks clean, and each seeded customer is what POST
// /Users makes of the same body (the same document), so that the figures
// measured on seeded data are the API's.
func TestBenchSeeding(t *testing.T) {
	ctx := context.Background()
	store, err := backend.Open(ctx, redistest.Start(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	const n = 200
	// Batches of 64: four pipelines, the last one short, on two workers.
	res, err := seedBenchUsers(ctx, store, benchOrg, n, 64, 2, io.Discard)
	if err != nil {
		t.Fatalf("seedBenchUsers: %v", err)
	}
	if _, err := seedBenchGroup(ctx, store, benchOrg, res.ids[:n/2]); err != nil {
		t.Fatalf("seedBenchGroup: %v", err)
	}
	st, err := store.Check(ctx, benchOrg, func(f backend.Finding) { t.Errorf("Check found %s", f) })
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if st.Users != n || st.Groups != 1 || st.Memberships != n/2 {
		t.Errorf("Check counted %d users, %d groups, %d memberships; want %d, 1, %d", st.Users, st.Groups, st.Memberships, n, n/2)
	}

	// The same bodies through the API's create path, in another organization.
	users := resources.NewUsers(store)
	for _, i := range []int{0, 63, 64, n - 1} {
		seeded, err := store.GetUser(ctx, benchOrg, res.ids[i])
		if err != nil {
			t.Fatalf("GetUser(%d): %v", i, err)
		}
		posted, err := users.Create(ctx, "other", benchUserBody(i))
		if err != nil {
			t.Fatalf("Create(%d): %v", i, err)
		}
		if string(seeded.Raw) != string(posted.Raw) {
			t.Errorf("user %d seeded as %s, POSTed as %s", i, seeded.Raw, posted.Raw)
		}
		// Joining the group is a new version of the member.
		if want := posted.Version + int64(min(1, len(seeded.Groups))); seeded.Version != want || (i < n/2) != (len(seeded.Groups) == 1) {
			t.Errorf("user %d seeded: version %d in groups %v; want version %d, in the group if among the first %d", i, seeded.Version, seeded.Groups, want, n/2)
		}
	}
}

func TestParseWrk(t *testing.T) {
	const out = `Running 10s test @ http://127.0.0.1:8080
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.12ms    3.04ms  60.00ms   80.00%
    Req/Sec     5.01k   400.00     6.00k    70.00%
  Latency Distribution
     50%    4.50ms
     75%    6.00ms
     90%    8.00ms
     99%   15.25ms
  99800 requests in 10.01s, 60.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   9970.03
Transfer/sec:      5.99MB
`
	got, err := parseWrk(out)
	if err != nil {
		t.Fatalf("parseWrk: %v", err)
	}
	want := wrkResult{reqPerSec: 9970.03, p50: 4500 * time.Microsecond, p99: 15250 * time.Microsecond, requests: 99800, failed: 10}
	if got != want {
		t.Errorf("parseWrk = %+v, want %+v", got, want)
	}
	if _, err := parseWrk("wrk: unable to connect"); err == nil {
		t.Error("parseWrk of a failed run: no error")
	}
}

func TestCostBetween(t *testing.T) {
	before := map[string]cmdStat{"evalsha": {calls: 10, usec: 1000}, "zadd": {calls: 90}, "hello": {calls: 1}}
	after := map[string]cmdStat{"evalsha": {calls: 110, usec: 9000}, "zadd": {calls: 990}, "xadd": {calls: 100}, "hello": {calls: 3}, "info": {calls: 2}}
	got := costBetween(before, after)
	if got.scripts != 100 || got.usecPerCall != 80 {
		t.Errorf("costBetween: %d scripts at %.1f µs, want 100 at 80", got.scripts, got.usecPerCall)
	}
	if s, want := got.String(), "80 µs per create script (100 scripts); 10 Redis calls in each: 9 ZADD, 1 XADD"; s != want {
		t.Errorf("costBetween(...).String() = %q, want %q", s, want)
	}
	// scimd on Redis 7 runs its scripts with FCALL.
	before = map[string]cmdStat{"fcall": {calls: 10, usec: 1000}, "zadd": {calls: 90}, "function|load": {calls: 1}}
	after = map[string]cmdStat{"fcall": {calls: 110, usec: 7000}, "zadd": {calls: 990}, "function|load": {calls: 3}}
	if got := costBetween(before, after); got.scripts != 100 || got.usecPerCall != 60 || len(got.perScript) != 1 {
		t.Errorf("costBetween of FCALLs: %d scripts at %.1f µs, %v; want 100 at 60, ZADD", got.scripts, got.usecPerCall, got.perScript)
	}
}
