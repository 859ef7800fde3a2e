package backend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// fakeRedis answers every command with reply (a RESP line such as
// "-LOADING ..."), and returns its address.
func fakeRedis(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					// A command is an array: *N, then N bulk strings ($len, data).
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					var n int
					if _, err := fmt.Sscanf(line, "*%d", &n); err != nil {
						return
					}
					for range 2 * n {
						if _, err := r.ReadString('\n'); err != nil {
							return
						}
					}
					if _, err := c.Write([]byte(reply + "\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestStoreUnavailable: a store whose Redis cannot answer now (down,
// loading, failing over, busy running a script, out of memory, unable to
// persist) fails with resources.Unavailable (503, retry later), whatever the
// method, writes included; one that answers with an error of its own does
// not.
func TestStoreUnavailable(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	cases := []struct {
		name, addr string
		want       resources.Code
	}{
		{"connection refused", closed(), resources.Unavailable},
		{"loading", fakeRedis(t, "-LOADING Redis is loading the dataset in memory"), resources.Unavailable},
		{"cluster down", fakeRedis(t, "-CLUSTERDOWN The cluster is down"), resources.Unavailable},
		{"read-only replica", fakeRedis(t, "-READONLY You can't write against a read only replica."), resources.Unavailable},
		{"master down", fakeRedis(t, "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."), resources.Unavailable},
		{"busy script", fakeRedis(t, "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."), resources.Unavailable},
		{"out of memory", fakeRedis(t, "-OOM command not allowed when used memory > 'maxmemory'."), resources.Unavailable},
		{"out of memory in a script", fakeRedis(t, "-OOM command not allowed when used memory > 'maxmemory'. script: 37be6840b4b50cf43f45291cff18d0a6756379e0, on @user_script:1."), resources.Unavailable},
		{"try again", fakeRedis(t, "-TRYAGAIN Multiple keys request during rehashing of slot"), resources.Unavailable},
		{"no replicas", fakeRedis(t, "-NOREPLICAS Not enough good replicas to write."), resources.Unavailable},
		{"persistence failing", fakeRedis(t, "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."), resources.Unavailable},
		{"a key that exists", fakeRedis(t, "-BUSYKEY Target key name already exists."), 0},
		{"another error", fakeRedis(t, "-ERR unknown command"), 0},
		{"wrong password", fakeRedis(t, "-WRONGPASS invalid username-password pair or user is disabled."), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(redis.NewClient(&redis.Options{Addr: c.addr, Protocol: resp2, MaxRetries: 1,
				MinRetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond, DialerRetries: 1}))
			defer s.Close()
			ctx := context.Background()
			_, err := s.TokenByHash(ctx, "h")
			_, err2 := s.GetUser(ctx, "acme", "id")
			_, err3 := s.CreateUser(ctx, "acme", resources.Resource{Attributes: map[string]any{"userName": "a@example.com"}}, resources.UserWrite{})
			for _, e := range []error{err, err2, err3} {
				if got := resources.ErrorCode(e); got != c.want {
					t.Errorf("error %v has code %v, want %v", e, got, c.want)
				}
				if c.want == resources.Unavailable && !strings.Contains(e.Error(), "redis unavailable") {
					t.Errorf("error %q lost its cause", e)
				}
				// Redis answered, or could not be reached: it ran nothing.
				if errors.Is(e, resources.ErrOutcomeUnknown) {
					t.Errorf("error %v says the outcome is unknown, but Redis ran nothing", e)
				}
			}
		})
	}
}

// TestStoreUnavailableWhenRedisStops: a store whose redis-server went away
// fails with resources.Unavailable, single commands, pipelines and scripts
// alike.
func TestStoreUnavailableWhenRedisStops(t *testing.T) {
	url, stop := redistest.StartStoppable(t)
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateOrg(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := s.CreateOrg(ctx, "globex"); resources.ErrorCode(err) != resources.Unavailable {
		t.Errorf("CreateOrg with Redis stopped = %v, want Unavailable", err)
	}
	if _, err := s.GetUser(ctx, "acme", "id"); resources.ErrorCode(err) != resources.Unavailable {
		t.Errorf("GetUser (a pipeline) with Redis stopped = %v, want Unavailable", err)
	}
	u := resources.Resource{Attributes: map[string]any{"userName": "a@example.com"}}
	if _, err := s.CreateUser(ctx, "acme", u, resources.UserWrite{}); resources.ErrorCode(err) != resources.Unavailable {
		t.Errorf("CreateUser (a script) with Redis stopped = %v, want Unavailable", err)
	}
	if err := s.Ping(ctx); resources.ErrorCode(err) != resources.Unavailable {
		t.Errorf("Ping with Redis stopped = %v, want Unavailable", err)
	}
}
