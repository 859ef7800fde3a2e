package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the sentinels of [StartSentinel] monitor the
// primary under.
const SentinelMaster = "scimd"

// Sentinel is a Redis Sentinel set on loopback, started by [StartSentinel]:
// a primary, its replicas, and three sentinels (quorum 2) that fail it over
// about two seconds after it stops answering.
type Sentinel struct {
	// Primary is the address ("127.0.0.1:port") of the primary as started.
	Primary string
	// Replicas are the addresses of its replicas.
	Replicas []string
	// Sentinels are the sentinels' addresses.
	Sentinels []string

	processes
}

// StartSentinel starts a primary with replicas replicas and three sentinels
// (redis-server --sentinel) on free loopback ports, and returns once the
// replicas are in sync and every sentinel knows the other two and every
// replica. It stops with the test.
func StartSentinel(tb testing.TB, replicas int) *Sentinel {
	tb.Helper()
	bin := lookPath(tb)
	s := &Sentinel{}
	ctx := context.Background()
	// The replicas sync at once.
	url, stop := startRetry(tb, bin, "--repl-diskless-sync-delay", "0")
	opts, _ := redis.ParseURL(url)
	s.Primary = opts.Addr
	s.add(opts.Addr, stop)
	host, port, _ := net.SplitHostPort(s.Primary)
	for range replicas {
		url, stop := startRetry(tb, bin, "--replicaof", host, port, "--repl-diskless-sync-delay", "0")
		opts, _ := redis.ParseURL(url)
		s.Replicas = append(s.Replicas, opts.Addr)
		s.add(opts.Addr, stop)
	}
	primary := redis.NewClient(&redis.Options{Addr: s.Primary})
	defer primary.Close()
	deadline := time.Now().Add(30 * time.Second)
	waitFor := func(what string, ok func() (bool, error)) {
		tb.Helper()
		await(tb, deadline, "redis sentinel set: "+what, ok)
	}
	waitFor("replicas online", func() (bool, error) {
		info, err := primary.Info(ctx, "replication").Result()
		return err == nil && strings.Count(info, "state=online") == replicas, fmt.Errorf("%v %s", err, info)
	})
	for range 3 {
		var lastErr error
		for range 3 {
			p, err := freePort()
			if err != nil {
				lastErr = err
				continue
			}
			dir := tb.TempDir()
			conf := filepath.Join(dir, "sentinel.conf")
			// down-after 1 s: a failover starts a second after the primary
			// stops answering; failover-timeout bounds a stuck one.
			text := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 2\n"+
				"sentinel down-after-milliseconds %[1]s 1000\n"+
				"sentinel failover-timeout %[1]s 10000\n", SentinelMaster, host, port)
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				tb.Fatal(err)
			}
			url, stop, err := launchConf(tb, bin, conf, p, dir, "--sentinel")
			if err != nil {
				lastErr = err
				continue
			}
			opts, _ := redis.ParseURL(url)
			s.Sentinels = append(s.Sentinels, opts.Addr)
			s.add(opts.Addr, stop)
			lastErr = nil
			break
		}
		if lastErr != nil {
			tb.Fatalf("start redis sentinel: %v", lastErr)
		}
	}
	for _, a := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a})
		waitFor("sentinel "+a+" knows the set", func() (bool, error) {
			m, err := sc.Master(ctx, SentinelMaster).Result()
			return err == nil && m["num-other-sentinels"] == "2" && m["num-slaves"] == fmt.Sprint(replicas), fmt.Errorf("%v %v", err, m)
		})
		sc.Close()
	}
	return s
}

// URL is the set's URL for scimd
// ("redis+sentinel://s1?master_name=scimd&addr=s2&addr=s3").
func (s *Sentinel) URL() string {
	return "redis+sentinel://" + s.Sentinels[0] + "?master_name=" + SentinelMaster +
		"&addr=" + strings.Join(s.Sentinels[1:], "&addr=")
}

// Master returns the address of the primary as the sentinels see it now.
func (s *Sentinel) Master(ctx context.Context) (string, error) {
	var lastErr error
	for _, a := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a, MaxRetries: -1})
		addr, err := sc.GetMasterAddrByName(ctx, SentinelMaster).Result()
		sc.Close()
		if err == nil {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		lastErr = err
	}
	return "", lastErr
}
