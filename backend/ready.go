package backend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// readyTimeout bounds [Store.Ready].
const readyTimeout = time.Second

// NotReady is the error of [Store.Ready]: Reason says why in a few words
// fit for a readiness probe's answer ("redis unreachable", "not a primary
// (READONLY)", "cluster_state not ok"), with no address or internal text;
// Error adds the node and go-redis's error, for logs.
type NotReady struct {
	Reason string
	cause  error
}

func (e *NotReady) Error() string { return e.Reason + ": " + e.cause.Error() }
func (e *NotReady) Unwrap() error { return e.cause }

// Reasons of [NotReady].
const (
	reasonUnreachable = "redis unreachable"
	reasonReplica     = "not a primary (READONLY)"
	reasonClusterDown = "cluster_state not ok"
)

// Ready reports whether the store can serve this process now, within about
// a second and without retries, for a readiness probe: a single server or
// Sentinel's primary answers ROLE as a primary (not a replica, READONLY:
// the old primary after a failover), and on a Cluster, every primary that
// serves slots (this process needs all of them: organizations spread over
// every slot) answers, as a primary, and says cluster_state:ok. Its error
// is a [*NotReady].
//
// The probe has clients of its own, which give up at the probe's deadline
// (the store's client keeps its read timeout, 5 s by default, for
// requests: a primary that hangs, SIGSTOPped or cut off without a reset,
// would hold a probe that long). On a Cluster it learns the layout from
// every node at once, so that a node that hangs delays no answer, and a
// failing probe makes the store's client reload its layout.
func (s *Store) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if s.mini != nil { // in process, and miniredis has no ROLE
		if err := s.Ping(ctx); err != nil {
			return &NotReady{Reason: reasonUnreachable, cause: err}
		}
		return nil
	}
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err := s.probes.cluster(ctx, c)
		if err != nil {
			c.ReloadState(context.Background())
		}
		return err
	case *redis.Client:
		err := probePrimary(ctx, s.probes.client(c.Options()), "")
		if err != nil {
			// A new connection next time: Sentinel's client finds the
			// current primary as it dials, and a connection to a primary
			// since demoted would stay in the pool.
			s.probes.reset()
		}
		return err
	}
	return fmt.Errorf("ready: a client of type %T", s.client)
}

// probePrimary checks, with one attempt, that c answers ROLE as a primary,
// and on a Cluster (cluster set), CLUSTER INFO with cluster_state:ok. addr
// names the node in the error ("" for a single server or Sentinel's).
func probePrimary(ctx context.Context, c *redis.Client, addr string) error {
	fail := func(reason string, err error) error {
		if addr != "" {
			err = fmt.Errorf("%s: %w", addr, err)
		}
		return &NotReady{Reason: reason, cause: err}
	}
	role := redis.NewSliceCmd(ctx, "role")
	if err := c.Process(ctx, role); err != nil {
		return fail(reasonUnreachable, err)
	}
	if v := role.Val(); len(v) == 0 || v[0] != "master" {
		return fail(reasonReplica, fmt.Errorf("ROLE says %v", v))
	}
	if addr == "" {
		return nil
	}
	info := redis.NewStringCmd(ctx, "cluster", "info")
	if err := c.Process(ctx, info); err != nil {
		return fail(reasonUnreachable, err)
	}
	if !strings.Contains(info.Val(), "cluster_state:ok") {
		return fail(reasonClusterDown, errors.New("CLUSTER INFO says no cluster_state:ok"))
	}
	return nil
}

// probes are the readiness probe's clients: one per address (a Cluster's
// nodes) or one for the store's server (single or Sentinel, by its options,
// so that Sentinel's client finds the current primary). Each is the
// store's options with one connection, no retries, and the probe's
// deadline honoured (ContextTimeoutEnabled), so that it answers in time.
type probes struct {
	mu     sync.Mutex
	single *redis.Client
	nodes  map[string]*redis.Client
	// known are the Cluster's addresses the probe has seen: the URL's,
	// then every layout's.
	known map[string]bool
}

// probeOptions is o made fit for a probe.
func probeOptions(o redis.Options) *redis.Options {
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns, o.MaxActiveConns = 2, 0, 2, 0
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = readyTimeout, readyTimeout, readyTimeout, readyTimeout
	return &o
}

// client returns the probe's client of the server the store's options o
// name (a single server, or Sentinel's primary).
func (p *probes) client(o *redis.Options) *redis.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.single == nil {
		p.single = redis.NewClient(probeOptions(*o))
	}
	return p.single
}

// reset closes the client of the store's server, so that the next probe
// dials again.
func (p *probes) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.single != nil {
		_ = p.single.Close()
		p.single = nil
	}
}

// node returns the probe's client of the Cluster node at addr, made from
// the options of the store's client of a node.
func (p *probes) node(addr string, base *redis.Options) *redis.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.nodes[addr]; c != nil {
		return c
	}
	o := probeOptions(*base)
	o.Addr = addr
	if p.nodes == nil {
		p.nodes = map[string]*redis.Client{}
	}
	p.nodes[addr] = redis.NewClient(o)
	return p.nodes[addr]
}

// cluster probes the Cluster of cc: the layout from every known node at
// once (the first answer), then every primary of it.
func (p *probes) cluster(ctx context.Context, cc *redis.ClusterClient) error {
	base, err := nodeOptions(ctx, cc)
	if err != nil {
		return &NotReady{Reason: reasonUnreachable, cause: err}
	}
	p.mu.Lock()
	if p.known == nil {
		p.known = map[string]bool{}
		for _, a := range cc.Options().Addrs {
			p.known[a] = true
		}
	}
	addrs := make([]string, 0, len(p.known))
	for a := range p.known {
		addrs = append(addrs, a)
	}
	p.mu.Unlock()

	type view struct {
		masters, nodes []string
		err            error
	}
	views := make(chan view, len(addrs))
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	for _, a := range addrs {
		go func() {
			slots := redis.NewSliceCmd(lctx, "cluster", "slots")
			if err := p.node(a, base).Process(lctx, slots); err != nil {
				views <- view{err: fmt.Errorf("%s: %w", a, err)}
				return
			}
			masters, nodes := slotNodes(slots.Val(), a)
			views <- view{masters: masters, nodes: nodes}
		}()
	}
	var masters []string
	var firstErr error
	for range addrs {
		v := <-views
		if v.err == nil && len(v.masters) > 0 {
			masters = v.masters
			p.mu.Lock()
			for _, a := range v.nodes {
				p.known[a] = true
			}
			p.mu.Unlock()
			break
		}
		if firstErr == nil {
			firstErr = v.err
		}
	}
	stop()
	if masters == nil {
		if firstErr == nil {
			firstErr = errors.New("no node knows the slots' primaries")
		}
		return &NotReady{Reason: reasonUnreachable, cause: fmt.Errorf("no node answered CLUSTER SLOTS: %w", firstErr)}
	}
	errs := make(chan error, len(masters))
	for _, m := range masters {
		go func() { errs <- probePrimary(ctx, p.node(m, base), m) }()
	}
	var failed error
	for range masters {
		if err := <-errs; err != nil && failed == nil {
			failed = err
		}
	}
	return failed
}

// slotNodes reads CLUSTER SLOTS' answer: the addresses of the primaries
// that serve slots, and of every node listed, each once. A node listed
// without an IP is the one at via (the node that answered, as Redis says of
// itself).
func slotNodes(reply []any, via string) (masters, nodes []string) {
	seenMaster, seenNode := map[string]bool{}, map[string]bool{}
	for _, r := range reply {
		rng, ok := r.([]any)
		if !ok || len(rng) < 3 {
			continue
		}
		for i, n := range rng[2:] {
			node, ok := n.([]any)
			if !ok || len(node) < 2 {
				continue
			}
			host, _ := node[0].(string)
			port, _ := node[1].(int64)
			addr := via
			if host != "" && host != "?" {
				addr = net.JoinHostPort(host, strconv.FormatInt(port, 10))
			}
			if i == 0 && !seenMaster[addr] {
				seenMaster[addr] = true
				masters = append(masters, addr)
			}
			if !seenNode[addr] {
				seenNode[addr] = true
				nodes = append(nodes, addr)
			}
		}
	}
	return masters, nodes
}

// nodeOptions returns the options of one of cc's node clients (they share
// them but for the address: password, TLS, dialer), without I/O.
func nodeOptions(ctx context.Context, cc *redis.ClusterClient) (*redis.Options, error) {
	key := "scimd:ready" // any key: its slot's node client has the options
	c, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("the cluster's layout: %w", err)
	}
	return c.Options(), nil
}

// close closes the probe's clients.
func (p *probes) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.single != nil {
		_ = p.single.Close()
	}
	for _, c := range p.nodes {
		_ = c.Close()
	}
}
