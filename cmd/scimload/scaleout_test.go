package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
)

// TestScaleoutOrgsOnEachPrimary: the organizations of "scimload scaleout"
// fall on the Cluster's primaries in turn, as the Cluster itself places
// their keys.
func TestScaleoutOrgsOnEachPrimary(t *testing.T) {
	ctx := context.Background()
	c := redistest.StartClusterWith(t, redistest.ClusterOptions{Masters: 3, ReplicasPerMaster: 1})
	ns, err := clusterNodes(ctx, c.URL())
	if err != nil {
		t.Fatalf("clusterNodes: %v", err)
	}
	t.Cleanup(ns.close)
	// The replicas may not all be online in every node's view yet: only the
	// primaries are certain.
	if p := ns.primaries(); len(p) != 3 || len(ns.all) > 6 {
		t.Fatalf("clusterNodes found %d nodes, %d primaries; want at most 6, and 3 primaries", len(ns.all), len(p))
	}
	orgs, err := pickOrgs(ctx, ns, 6)
	if err != nil {
		t.Fatalf("pickOrgs: %v", err)
	}
	seen := map[string]int{}
	for i, o := range orgs {
		got, err := c.MasterOf(ctx, c.Addrs[0], "scimd:{"+o.name+"}:user:x")
		if err != nil {
			t.Fatal(err)
		}
		if got != o.primary || o.primary != ns.primaries()[i%3].addr {
			t.Errorf("organization %d, %s: picked for %s, the Cluster has it on %s; want primary %d", i, o.name, o.primary, got, i%3+1)
		}
		seen[o.name]++
	}
	if len(seen) != len(orgs) {
		t.Errorf("pickOrgs named an organization twice: %v", orgs)
	}
}

// TestScaleoutConfig: the settings are checked, naming the one at fault.
func TestScaleoutConfig(t *testing.T) {
	env := func(string) string { return "" }
	cfg, err := parseScaleoutConfig([]string{"-scimd", "/tmp/scimd", "-redis-url", "redis+cluster://127.0.0.1:7000", "-orgs", "1, 3,6"}, env, io.Discard)
	if err != nil || len(cfg.orgs) != 3 || cfg.orgs[2] != 6 || cfg.runs != 3 || cfg.clients != 6 {
		t.Fatalf("parseScaleoutConfig = %+v, %v; want orgs [1 3 6], 3 runs, 6 clients", cfg, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-redis-url", "redis+cluster://h:1"}, "-scimd is required"},
		{[]string{"-scimd", "x", "-redis-url", "redis://h:1"}, "want a Redis Cluster"},
		{[]string{"-scimd", "x", "-redis-url", "redis+cluster://h:1", "-orgs", "0"}, "-orgs"},
		{[]string{"-scimd", "x", "-redis-url", "redis+cluster://h:1", "-clients", "0"}, "-clients"},
	} {
		if _, err := parseScaleoutConfig(c.args, env, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseScaleoutConfig(%q) = %v, want an error naming %q", c.args, err, c.want)
		}
	}
}

// TestProcCPU: a process's CPU time is read from /proc and grows as it
// works.
func TestProcCPU(t *testing.T) {
	before, err := procCPU("self")
	if err != nil {
		t.Fatalf("procCPU(self): %v", err)
	}
	for after := before; after <= before; {
		x := 0
		for i := range 10_000_000 {
			x += i
		}
		_ = x
		if after, err = procCPU("self"); err != nil {
			t.Fatal(err)
		}
	}
}
