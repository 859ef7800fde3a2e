package redistest

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TakeOver makes a replica of the primary at master take its place with
// CLUSTER FAILOVER, the graceful failover an operator runs before
// maintenance (the primary stops its clients, the replica catches up, then
// is promoted; writes sent to the old primary are answered MOVED), and
// returns the replica's address once it serves the primary's slots, as the
// node at via sees them. It fails tb after a minute.
func (c *Cluster) TakeOver(tb testing.TB, master, via string) (replica string) {
	tb.Helper()
	ctx := context.Background()
	m := redis.NewClient(&redis.Options{Addr: master})
	defer m.Close()
	info, err := m.Info(ctx, "replication").Result()
	if err != nil {
		tb.Fatalf("INFO replication on %s: %v", master, err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		fields, ok := strings.CutPrefix(line, "slave0:")
		if !ok {
			continue
		}
		var ip, port string
		for kv := range strings.SplitSeq(fields, ",") {
			switch k, v, _ := strings.Cut(kv, "="); k {
			case "ip":
				ip = v
			case "port":
				port = v
			}
		}
		replica = net.JoinHostPort(ip, port)
	}
	if replica == "" {
		tb.Fatalf("%s has no replica: %s", master, info)
	}
	r := redis.NewClient(&redis.Options{Addr: replica})
	defer r.Close()
	// A primary ignores the request of a replica it does not yet know as
	// its own (the cluster's gossip may lag the replication link), and the
	// replica gives up after 5 s: ask again until it takes over.
	var asked time.Time
	await(tb, time.Now().Add(time.Minute), "CLUSTER FAILOVER of "+replica, func() (bool, error) {
		role, err := r.Do(ctx, "ROLE").Slice()
		if err == nil && len(role) > 0 && role[0] == "master" {
			// Promoted; and the node at via agrees.
			if served, err := c.serves(ctx, via, replica); served || err != nil {
				return served, err
			}
		}
		if time.Since(asked) > 6*time.Second {
			if err := r.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
				return false, err
			}
			asked = time.Now()
		}
		return false, err
	})
	return replica
}

// serves reports whether the node at via sees the node at addr as a
// primary that serves slots.
func (c *Cluster) serves(ctx context.Context, via, addr string) (bool, error) {
	cl := redis.NewClient(&redis.Options{Addr: via, MaxRetries: -1})
	defer cl.Close()
	shards, err := cl.ClusterShards(ctx).Result()
	if err != nil {
		return false, err
	}
	for _, sh := range shards {
		if len(sh.Slots) == 0 {
			continue
		}
		for _, n := range sh.Nodes {
			if n.Role == "master" && n.Health == "online" && net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10)) == addr {
				return true, nil
			}
		}
	}
	return false, nil
}
