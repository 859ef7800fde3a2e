package backend

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// TestConcurrentReadsShareOneAnother checks that reads made at the same
// moment by many requests, which share pipelines (reads.go), each get their
// own answer: users read by id and by userName eq, some in a group, from 32
// goroutines at once. On redis-server it also checks that they did share:
// Redis read its connections fewer than half as many times as it ran
// commands.
func TestConcurrentReadsShareOneAnother(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const users = 64
		made := make([]resources.Resource, users)
		for i := range made {
			made[i] = mustCreateUser(t, s, user(fmt.Sprintf("reader%02d@example.com", i)))
		}
		var members []string
		for i := 0; i < users; i += 3 {
			members = append(members, made[i].ID)
		}
		mustCreateGroup(t, s, group("Readers", members...))
		want := make([]resources.Resource, users)
		byName := make([]resources.Query, users)
		for i, u := range made {
			name := strings.ToUpper(u.Attributes["userName"].(string))
			byName[i] = resources.Query{Filter: mustFilter(t, `userName eq "`+name+`"`), StartIndex: 1, Count: 1}
			r, err := s.GetUser(ctx, org, u.ID)
			if err != nil {
				t.Fatalf("GetUser %s: %v", u.ID, err)
			}
			if inGroup := i%3 == 0; inGroup != (len(r.Groups) == 1) {
				t.Fatalf("user %d has groups %v", i, r.Groups)
			}
			want[i] = r
		}

		before := redisStats(t, s)
		const workers, rounds = 32, 40
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range rounds {
					i := (w*7 + n*13) % users
					got, err := s.GetUser(ctx, org, want[i].ID)
					if err != nil || got.ID != want[i].ID || got.Version != want[i].Version || len(got.Groups) != len(want[i].Groups) {
						errs <- fmt.Errorf("GetUser %d = %s v%d %v, %v; want %s v%d %v", i, got.ID, got.Version, got.Groups, err, want[i].ID, want[i].Version, want[i].Groups)
						return
					}
					page, err := s.ListUsers(ctx, org, byName[i])
					if err != nil || len(page.Resources) != 1 || page.Resources[0].ID != want[i].ID || page.Resources[0].Version != want[i].Version {
						errs <- fmt.Errorf("userName eq (user %d) = %+v, %v; want %s", i, page, err, want[i].ID)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		after := redisStats(t, s)
		if before == nil || after == nil {
			return // the embedded store and a Cluster: no single server's figures
		}
		commands := after["total_commands_processed"] - before["total_commands_processed"]
		reads := after["total_reads_processed"] - before["total_reads_processed"]
		t.Logf("%d commands in %d reads of Redis's connections", commands, reads)
		if commands < workers*rounds*3 || reads*2 > commands {
			t.Errorf("Redis ran %d commands in %d reads of its connections: want at least %d commands, in fewer than half as many reads (concurrent reads share pipelines)",
				commands, reads, workers*rounds*3)
		}
	})
}

// redisStats is INFO stats of s's Redis as numbers, or nil on the embedded
// store and on a Cluster.
func redisStats(t *testing.T, s *Store) map[string]int64 {
	t.Helper()
	c, ok := s.client.(*redis.Client)
	if !ok || s.mini != nil {
		return nil
	}
	out := map[string]int64{}
	for k, v := range redisInfo(t, c, "stats") {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// TestSharedWritesRunOnce checks that writes sharing pipelines are still
// sent at most once: writes from 4 requests at once while redis-server
// sleeps past the store's read timeout (DEBUG SLEEP). A write written
// before the sleep ends answers "outcome unknown"; one still queued behind
// it is sent once Redis answers again, and succeeds. Either way Redis ran
// each exactly once.
func TestSharedWritesRunOnce(t *testing.T) {
	if !hasRedis(t) {
		t.Skip("no redis-server")
	}
	url := redistest.Start(t)
	ctx := context.Background()
	s, err := Open(ctx, url+"?read_timeout=300ms")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	incr := newScript("return redis.call('INCR', KEYS[1])")
	if err := incr.Run(ctx, s, []string{"count"}).Err(); err != nil { // loads it
		t.Fatalf("first run: %v", err)
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	o.ReadTimeout = 30 * time.Second
	ctl := redis.NewClient(o)
	defer ctl.Close()
	if err := ctl.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	slept := make(chan error, 1)
	go func() { slept <- ctl.Do(ctx, "DEBUG", "SLEEP", "1").Err() }()
	time.Sleep(100 * time.Millisecond)
	const writes = 4
	answers := make(chan error, writes)
	for range writes {
		go func() { answers <- incr.Run(ctx, s, []string{"count"}).Err() }()
	}
	unknown := 0
	for range writes {
		switch err := <-answers; {
		case errors.Is(err, resources.ErrOutcomeUnknown):
			unknown++
		case err != nil:
			t.Errorf("a write during the sleep = %v, want success or outcome unknown", err)
		}
	}
	if err := <-slept; err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}
	if unknown == 0 {
		t.Errorf("no write answered outcome unknown: none was in flight while Redis slept")
	}
	stats := func() (calls int64, count string) {
		return int64(commandStat(redisInfo(t, ctl, "commandstats"), "evalsha", "calls")), ctl.Get(ctx, "count").Val()
	}
	deadline := time.Now().Add(10 * time.Second)
	calls, count := stats()
	for calls < writes && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		calls, count = stats()
	}
	if calls != writes || count != strconv.Itoa(1+writes) {
		t.Errorf("Redis ran the script %d times, count %s; want %d and %d: a write was sent again or lost", calls, count, writes, 1+writes)
	}
	t.Logf("%d of %d writes answered outcome unknown", unknown, writes)
}
