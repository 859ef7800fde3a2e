package backend

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// hasRedis reports whether the real-Redis variant should run: redis-server is
// on PATH, or SCIM_REQUIRE_REDIS=1 makes its absence a failure.
func hasRedis(tb testing.TB) bool {
	tb.Helper()
	if os.Getenv("SCIM_REQUIRE_REDIS") == "1" {
		return true
	}
	_, err := exec.LookPath("redis-server")
	return err == nil
}

func fmtAny(v any) string { return fmt.Sprint(v) }

// listsAsScan checks that each filter lists, through the planner, the users
// of all (every user of org) that resources.Match picks, and counts them
// as many; when says at which step of the test.
func listsAsScan(t *testing.T, s *Store, when string, all []resources.Resource, filters []string) {
	t.Helper()
	for _, f := range filters {
		e := mustFilter(t, f)
		var want []string
		for _, u := range all {
			if resources.Match(resources.Document(s.users.rt, u, ""), e) {
				want = append(want, u.ID)
			}
		}
		page, err := s.ListUsers(context.Background(), org, resources.Query{Filter: e, StartIndex: 1, Count: 100})
		if err != nil {
			t.Fatalf("%s: ListUsers(%s): %v", when, f, err)
		}
		var got []string
		for _, u := range page.Resources {
			got = append(got, u.ID)
		}
		if page.Total != len(want) || !sameSet(got, want) {
			t.Errorf("%s: %s = total %d, %v; want %d, %v", when, f, page.Total, got, len(want), want)
		}
	}
}

// redisInfo is section of c's INFO as field → value ("used_cpu_sys":
// "1.23"; a commandstats line's value is its "calls=…,usec=…" text).
func redisInfo(tb testing.TB, c redis.Cmdable, section string) map[string]string {
	tb.Helper()
	text, err := c.Info(context.Background(), section).Result()
	if err != nil {
		tb.Fatalf("INFO %s: %v", section, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// commandStat is field ("calls", "usec") of command's line in info, INFO
// commandstats read by redisInfo; 0 when Redis has not run it.
func commandStat(info map[string]string, command, field string) float64 {
	for _, f := range strings.Split(info["cmdstat_"+command], ",") {
		if k, v, _ := strings.Cut(f, "="); k == field {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// hookAll adds h to s's client and sends s's write scripts through the
// client's own autopipeliner, whose commands h sees: the streaming one they
// go through otherwise belongs to a clone of the client, without its hooks
// (coalesce.go).
func hookAll(s *Store, h redis.Hook) {
	s.client.AddHook(h)
	s.writes = s.reads
}

// sentCommands records the commands a store sends, alone or in pipelines:
// a hook, for tests that assert what a query reads (hookAll).
type sentCommands struct {
	mu   sync.Mutex
	args [][]any
}

func (*sentCommands) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *sentCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.record(cmd)
		return next(ctx, cmd)
	}
}

func (c *sentCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.record(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *sentCommands) record(cmd redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.args = append(c.args, cmd.Args())
}

// reset forgets the commands recorded so far.
func (c *sentCommands) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.args = nil
}

// matching returns the recorded commands named one of names (lower case),
// each as its arguments printed, that keep holds of.
func (c *sentCommands) matching(keep func(printed string) bool, names ...string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, a := range c.args {
		if name := strings.ToLower(fmt.Sprint(a[0])); slices.Contains(names, name) {
			if printed := fmt.Sprint(a...); keep(printed) {
				out = append(out, printed)
			}
		}
	}
	return out
}

// userDocs returns how many user documents (HGETALL user:<id>) were read.
func (c *sentCommands) userDocs() int {
	return len(c.matching(func(printed string) bool { return strings.Contains(printed, ":user:") }, "hgetall"))
}

// unbounded returns the index range reads (ZRANGEBYLEX, ZRANGE) on key
// sent without a LIMIT.
func (c *sentCommands) unbounded(key string) []string {
	return c.matching(func(printed string) bool {
		return strings.Contains(printed, key) && !strings.Contains(strings.ToLower(printed), "limit")
	}, "zrangebylex", "zrange")
}
