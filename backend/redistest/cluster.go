package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterOptions says what Redis Cluster [StartClusterWith] starts.
type ClusterOptions struct {
	// Masters is the number of primaries; the slots are split evenly
	// between them.
	Masters int
	// ReplicasPerMaster is the number of replicas of each primary (0: none).
	ReplicasPerMaster int
	// NodeTimeout is cluster-node-timeout: a primary that does not answer
	// for this long is failed over to its replica about a second later.
	// Zero means 5 s.
	NodeTimeout time.Duration
}

// Cluster is a Redis Cluster on loopback, started by [StartClusterWith].
type Cluster struct {
	// Addrs are every node's address ("127.0.0.1:port"): the primaries as
	// started, then their replicas.
	Addrs []string

	processes
}

// StartClusterWith starts a Redis Cluster as opts say on free loopback ports
// and returns it once every node says cluster_state:ok and every replica is
// in sync with its primary. It stops with the test.
func StartClusterWith(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	return startCluster(tb, lookPath(tb), opts)
}

// startCluster is StartClusterWith for any owner of the processes.
func startCluster(tb owner, bin string, opts ClusterOptions) *Cluster {
	tb.Helper()
	timeout := opts.NodeTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	n := opts.Masters * (1 + opts.ReplicasPerMaster)
	c := &Cluster{}
	clients := make([]*redis.Client, n)
	buses := make([]int, n)
	for i := range n {
		url, stop, bus := startClusterNode(tb, bin, "--cluster-enabled", "yes",
			"--cluster-node-timeout", strconv.FormatInt(timeout.Milliseconds(), 10),
			// A replica takes over whatever it missed, and syncs at once.
			"--cluster-replica-validity-factor", "0", "--repl-diskless-sync-delay", "0")
		opts, _ := redis.ParseURL(url)
		c.Addrs = append(c.Addrs, opts.Addr)
		c.add(opts.Addr, stop)
		buses[i] = bus
		clients[i] = redis.NewClient(opts)
		defer clients[i].Close()
	}
	ctx := context.Background()
	const slots = 16384
	for i, cl := range clients[:opts.Masters] {
		lo, hi := i*slots/opts.Masters, (i+1)*slots/opts.Masters-1
		if err := cl.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			tb.Fatalf("CLUSTER ADDSLOTSRANGE %d %d on %s: %v", lo, hi, c.Addrs[i], err)
		}
	}
	// Distinct config epochs before the nodes meet, as redis-cli --cluster
	// create sets them: left to the collision resolution that starts from
	// epoch 0, a replica may still hold its primary's old epoch when the
	// primary dies, and the other primaries then refuse it their votes
	// (its claim looks older than their view of the slots): no failover.
	for i, cl := range clients[:opts.Masters] {
		if err := cl.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			tb.Fatalf("CLUSTER SET-CONFIG-EPOCH on %s: %v", c.Addrs[i], err)
		}
	}
	for i, a := range c.Addrs[1:] {
		host, port, _ := net.SplitHostPort(a)
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", host, port, buses[i+1]).Err(); err != nil {
			tb.Fatalf("CLUSTER MEET %s: %v", a, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	waitFor := func(what string, ok func() (bool, error)) {
		tb.Helper()
		await(tb, deadline, "redis cluster: "+what, ok)
	}
	for i, cl := range clients {
		waitFor(c.Addrs[i]+" knows every node", func() (bool, error) {
			info, err := cl.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", n)), fmt.Errorf("%v %s", err, info)
		})
	}
	for r := range opts.Masters * opts.ReplicasPerMaster {
		replica, master := clients[opts.Masters+r], clients[r%opts.Masters]
		id, err := master.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			tb.Fatalf("CLUSTER MYID: %v", err)
		}
		waitFor("CLUSTER REPLICATE on "+c.Addrs[opts.Masters+r], func() (bool, error) {
			err := replica.Do(ctx, "CLUSTER", "REPLICATE", id).Err()
			return err == nil, err
		})
	}
	for i, cl := range clients {
		waitFor(c.Addrs[i]+" cluster_state:ok", func() (bool, error) {
			info, err := cl.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok"), fmt.Errorf("%v %s", err, info)
		})
	}
	for i, cl := range clients[:opts.Masters] {
		waitFor(c.Addrs[i]+"'s replicas online", func() (bool, error) {
			info, err := cl.Info(ctx, "replication").Result()
			return err == nil && strings.Count(info, "state=online") == opts.ReplicasPerMaster, fmt.Errorf("%v %s", err, info)
		})
	}
	return c
}

// startClusterNode is startRetry with a free port for the cluster bus too:
// by default it is the node's port + 10000, which may be taken, or past
// 65535.
func startClusterNode(tb owner, bin string, args ...string) (url string, stop func(), busPort int) {
	tb.Helper()
	var lastErr error
	for range 3 {
		bus, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		url, stop, err := start(tb, bin, append(args, "--cluster-port", strconv.Itoa(bus))...)
		if err == nil {
			return url, stop, bus
		}
		lastErr = err
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return "", nil, 0
}

// URL is the cluster's URL for scimd ("redis+cluster://a?addr=b&addr=c"),
// naming every node.
func (c *Cluster) URL() string {
	return "redis+cluster://" + c.Addrs[0] + "?addr=" + strings.Join(c.Addrs[1:], "&addr=")
}

// MasterOf returns the address of the primary that serves key's slot, as
// the live node at via sees the cluster now.
func (c *Cluster) MasterOf(ctx context.Context, via, key string) (string, error) {
	cl := redis.NewClient(&redis.Options{Addr: via, MaxRetries: -1})
	defer cl.Close()
	slot, err := cl.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", err
	}
	shards, err := cl.ClusterShards(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if slot < r.Start || slot > r.End {
				continue
			}
			// A failed primary stays listed as one until it rejoins; the
			// shard's primary is the one that is online.
			for _, n := range sh.Nodes {
				if n.Role == "master" && n.Health == "online" {
					return net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10)), nil
				}
			}
		}
	}
	return "", fmt.Errorf("no node serves slot %d", slot)
}
