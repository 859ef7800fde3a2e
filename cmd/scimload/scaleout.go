package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
)

// scaleoutUsage says what "scimload scaleout" does.
const scaleoutUsage = `usage: scimload scaleout -scimd PATH -redis-url redis+cluster://HOST:PORT?addr=HOST:PORT...
                         [-orgs 1,3] [-runs 3] [-duration 10s] [-clients 6] [-get] [-addr HOST:PORT]

Measures how scimd's throughput scales with organizations on a Redis Cluster,
and what each part spends per request:

 1. picks organizations ("scaleout-N") whose hash tags fall on the Cluster's
    primaries in turn (the k-th on the k-th primary), creates those that do
    not exist, and mints each a collaborator token of the org-scoped format
    (revoked at the end);
 2. starts scimd (-scimd, abuse limits off) on the Cluster;
 3. for each count of -orgs, -runs times, the counts alternating (1, 3, 1,
    3, ...: the machine's speed drifts): drives the first count
    organizations at once for -duration, -clients connections each, every
    request a POST /Users of a new customer (with -get, then as long again
    GET /Users/{id} of customers the run created); and reads, before and
    after, the CPU time of each primary and replica (INFO cpu), of scimd
    (/proc/<pid>/stat) and of scimload itself;
 4. prints each run (per organization and total requests per second, CPU per
    request of each part) and, per count, the median and spread of the runs.

The Redis CPU per request of a primary is the figure that predicts a real
Cluster, where each primary has a core of its own: on one machine, every
part shares its cores (the load average is printed). Customers are added
at each run: use a Cluster kept for the measurement.
`

// scaleoutConfig is the configuration of "scimload scaleout".
type scaleoutConfig struct {
	scimd, redisURL, addr string
	orgs                  []int
	runs                  int
	duration              time.Duration
	clients               int
	get                   bool
}

func parseScaleoutConfig(args []string, getenv func(string) string, output io.Writer) (scaleoutConfig, error) {
	var cfg scaleoutConfig
	fs := flag.NewFlagSet("scimload scaleout", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() { fmt.Fprint(output, scaleoutUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.scimd, "scimd", "", "the scimd binary to measure (go build -o /tmp/scimd ./cmd/scimd)")
	fs.StringVar(&cfg.redisURL, "redis-url", "", "the Redis Cluster, as scimd takes it (default $SCIM_REDIS_URL)")
	fs.StringVar(&cfg.addr, "addr", "", "the address scimd listens on (default a free loopback port)")
	orgs := fs.String("orgs", "1,3", "comma-separated counts of organizations driven at once")
	fs.IntVar(&cfg.runs, "runs", 3, "runs of each count")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each run drives the organizations")
	fs.IntVar(&cfg.clients, "clients", 6, "concurrent connections per organization")
	fs.BoolVar(&cfg.get, "get", false, "after each run's creations, GET its customers as long again")
	if err := fs.Parse(args); err != nil {
		return scaleoutConfig{}, err
	}
	if cfg.redisURL == "" {
		cfg.redisURL = getenv("SCIM_REDIS_URL") // after parsing, so that -h never prints it (a password)
	}
	if fs.NArg() > 0 {
		return scaleoutConfig{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*orgs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return scaleoutConfig{}, fmt.Errorf("-orgs %q: want counts of at least 1, such as 1,3,6", *orgs)
		}
		cfg.orgs = append(cfg.orgs, n)
	}
	switch {
	case cfg.scimd == "":
		return scaleoutConfig{}, errors.New("-scimd is required: the scimd binary to measure (go build -o /tmp/scimd ./cmd/scimd)")
	case !strings.HasPrefix(cfg.redisURL, "redis+cluster://") && !strings.HasPrefix(cfg.redisURL, "rediss+cluster://"):
		return scaleoutConfig{}, errors.New("-redis-url: want a Redis Cluster (redis+cluster://host:port?addr=host:port...)")
	case cfg.runs < 1:
		return scaleoutConfig{}, fmt.Errorf("-runs %d: want at least 1", cfg.runs)
	case cfg.duration <= 0:
		return scaleoutConfig{}, fmt.Errorf("-duration %s: want more than 0", cfg.duration)
	case cfg.clients < 1:
		return scaleoutConfig{}, fmt.Errorf("-clients %d: want at least 1", cfg.clients)
	}
	return cfg, nil
}

// scaleout implements "scimload scaleout".
func scaleout(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseScaleoutConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.scimd, err = exec.LookPath(cfg.scimd); err != nil {
		return fmt.Errorf("-scimd: %w (go build -o /tmp/scimd ./cmd/scimd)", err)
	}
	nodes, err := clusterNodes(ctx, cfg.redisURL)
	if err != nil {
		return err
	}
	defer nodes.close()
	orgs, err := pickOrgs(ctx, nodes, slices.Max(cfg.orgs))
	if err != nil {
		return err
	}
	store, err := backend.Open(ctx, cfg.redisURL)
	if err != nil {
		return err
	}
	defer store.Close()
	tokenName := "scaleout-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range orgs {
		if _, err := store.CreateOrg(ctx, orgs[i].name); err != nil {
			return err
		}
		secret := resources.NewTokenSecret(orgs[i].name)
		if err := store.CreateToken(ctx, resources.NewToken(orgs[i].name, tokenName, resources.RoleCollaborator, secret, time.Now().UTC())); err != nil {
			return err
		}
		orgs[i].token = secret.Reveal()
		defer func() { _ = store.RevokeToken(context.WithoutCancel(ctx), orgs[i].name, tokenName) }()
	}
	dir, err := os.MkdirTemp("", "scimload-scaleout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(stderr, "starting scimd on the Redis Cluster of -redis-url")
	scimd, err := startScimd(ctx, cfg.scimd, cfg.addr, cfg.redisURL, dir, orgs[0].token)
	if err != nil {
		return err
	}
	defer scimd.stop()

	s := &scaleoutRun{cfg: cfg, nodes: nodes, orgs: orgs, scimd: scimd, progress: stderr,
		http: newHTTPClient(slices.Max(cfg.orgs) * cfg.clients), load: []string{loadAvg()}}
	for run := range cfg.runs {
		for _, n := range cfg.orgs {
			if err := s.measure(ctx, n, run+1); err != nil {
				return err
			}
		}
	}
	s.load = append(s.load, loadAvg())
	s.report(stdout)
	if s.failed > 0 {
		return fmt.Errorf("%d requests failed: not a valid measurement", s.failed)
	}
	return nil
}

// node is one Redis server of the Cluster.
type node struct {
	addr    string
	primary bool
	client  *redis.Client
}

// nodes are the Cluster's servers that answer, primaries first, and a
// client of the whole Cluster.
type nodes struct {
	cluster *redis.ClusterClient
	all     []node
}

func (ns nodes) close() {
	for _, n := range ns.all {
		n.client.Close()
	}
	ns.cluster.Close()
}

func (ns nodes) primaries() []node {
	return slices.DeleteFunc(slices.Clone(ns.all), func(n node) bool { return !n.primary })
}

// clusterNodes lists the Cluster's servers that are online, from CLUSTER
// SHARDS.
func clusterNodes(ctx context.Context, url string) (nodes, error) {
	// scimd's scheme (redis+cluster://) is go-redis's cluster URL with its
	// own scheme (redis://).
	scheme, rest, _ := strings.Cut(url, "://")
	opts, err := redis.ParseClusterURL(strings.TrimSuffix(scheme, "+cluster") + "://" + rest)
	if err != nil {
		return nodes{}, fmt.Errorf("-redis-url: %w", redisURLError(err))
	}
	ns := nodes{cluster: redis.NewClusterClient(opts)}
	shards, err := ns.cluster.ClusterShards(ctx).Result()
	if err != nil {
		ns.cluster.Close()
		return nodes{}, fmt.Errorf("CLUSTER SHARDS: %w", err)
	}
	for _, sh := range shards {
		for _, n := range sh.Nodes {
			if n.Health != "online" {
				continue
			}
			addr := fmt.Sprintf("%s:%d", n.IP, n.Port)
			c := redis.NewClient(&redis.Options{Addr: addr, Username: opts.Username, Password: opts.Password, TLSConfig: opts.TLSConfig})
			// A primary serves slots; one without any (a node whose
			// replica role has not reached this node's view yet) is
			// counted with the replicas.
			ns.all = append(ns.all, node{addr: addr, primary: n.Role == "master" && len(sh.Slots) > 0, client: c})
		}
	}
	slices.SortStableFunc(ns.all, func(a, b node) int {
		if a.primary != b.primary {
			return map[bool]int{true: -1, false: 1}[a.primary]
		}
		return strings.Compare(a.addr, b.addr)
	})
	if len(ns.primaries()) == 0 {
		ns.close()
		return nodes{}, errors.New("CLUSTER SHARDS lists no primary that is online")
	}
	return ns, nil
}

// scaleOrg is an organization of the measurement.
type scaleOrg struct {
	name    string
	primary string // the address of the primary that has its slot
	token   string
}

// pickOrgs names n organizations whose hash tags fall on the primaries in
// turn: the k-th on the k-th primary (of those sorted by address).
func pickOrgs(ctx context.Context, ns nodes, n int) ([]scaleOrg, error) {
	slots, err := ns.cluster.ClusterShards(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("CLUSTER SHARDS: %w", err)
	}
	primaryOf := func(slot int64) string {
		for _, sh := range slots {
			for _, r := range sh.Slots {
				if slot < r.Start || slot > r.End {
					continue
				}
				for _, nd := range sh.Nodes {
					if nd.Role == "master" && nd.Health == "online" {
						return fmt.Sprintf("%s:%d", nd.IP, nd.Port)
					}
				}
			}
		}
		return ""
	}
	primaries := ns.primaries()
	var out []scaleOrg
	taken := map[string]bool{}
	for len(out) < n {
		want := primaries[len(out)%len(primaries)].addr
		found := false
		for i := 1; i <= 10000 && !found; i++ {
			name := "scaleout-" + strconv.Itoa(i)
			if taken[name] {
				continue
			}
			// Every key of the organization carries its hash tag.
			slot, err := ns.cluster.ClusterKeySlot(ctx, "scimd:{"+name+"}:org").Result()
			if err != nil {
				return nil, fmt.Errorf("CLUSTER KEYSLOT: %w", err)
			}
			if primaryOf(slot) == want {
				taken[name], found = true, true
				out = append(out, scaleOrg{name: name, primary: want})
			}
		}
		if !found {
			return nil, fmt.Errorf("no organization name falls on the primary %s", want)
		}
	}
	return out, nil
}

// cpuReading is the CPU time each part had used at one moment.
type cpuReading struct {
	redis         map[string]time.Duration // by node address
	scimd, scimld time.Duration
}

func (s *scaleoutRun) readCPU(ctx context.Context) (cpuReading, error) {
	r := cpuReading{redis: map[string]time.Duration{}}
	for _, n := range s.nodes.all {
		f, err := infoFields(ctx, n.client, "cpu")
		if err != nil {
			return r, fmt.Errorf("%s: %w", n.addr, err)
		}
		var secs float64
		for _, k := range []string{"used_cpu_sys", "used_cpu_user"} {
			v, err := strconv.ParseFloat(f[k], 64)
			if err != nil {
				return r, fmt.Errorf("%s: INFO cpu %s: %w", n.addr, k, err)
			}
			secs += v
		}
		r.redis[n.addr] = time.Duration(secs * float64(time.Second))
	}
	var err error
	if r.scimd, err = procCPU(strconv.Itoa(s.scimd.pid)); err != nil {
		return r, err
	}
	r.scimld, err = procCPU("self")
	return r, err
}

// scaleoutRun is the measurement and what it found.
type scaleoutRun struct {
	cfg      scaleoutConfig
	nodes    nodes
	orgs     []scaleOrg
	scimd    *scimdProcess
	http     *http.Client
	progress io.Writer
	load     []string // at the start and at the end
	results  []phase
	failed   int
}

// phase is one run of one kind of request with a count of organizations.
type phase struct {
	orgs     int
	run      int
	what     string // "create" or "get"
	perOrg   []stats
	elapsed  time.Duration
	requests int
	// cpu is the CPU time each part used during the phase.
	redis         map[string]time.Duration
	scimd, scimld time.Duration
}

// measure drives the first n organizations: creations, then, with -get,
// reads of what was created.
func (s *scaleoutRun) measure(ctx context.Context, n, run int) error {
	ids := make([][]string, n)
	var mu sync.Mutex
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	create := func(i int) operation {
		c := scimClient{http: s.http, base: s.scimd.url + "/scim/v2", token: s.orgs[i].token}
		var next int
		return operation{name: "create", request: func(ctx context.Context) error {
			mu.Lock()
			next++
			userName := fmt.Sprintf("so-%s-%d@example.com", runID, next)
			mu.Unlock()
			body, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": userName, "name": map[string]any{"givenName": "Scale", "familyName": "Out"}})
			resp, err := c.expect(ctx, http.MethodPost, "/Users", body, http.StatusCreated)
			if err != nil {
				return err
			}
			var u struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(resp.body, &u); err != nil {
				return fmt.Errorf("POST /Users: %w", err)
			}
			mu.Lock()
			if len(ids[i]) < 10000 {
				ids[i] = append(ids[i], u.ID)
			}
			mu.Unlock()
			return nil
		}}
	}
	if err := s.phase(ctx, n, run, "create", create); err != nil {
		return err
	}
	if !s.cfg.get {
		return nil
	}
	get := func(i int) operation {
		c := scimClient{http: s.http, base: s.scimd.url + "/scim/v2", token: s.orgs[i].token}
		return operation{name: "get", request: func(ctx context.Context) error {
			if len(ids[i]) == 0 {
				return errors.New("no customer was created to GET")
			}
			_, err := c.expect(ctx, http.MethodGet, "/Users/"+ids[i][rand.IntN(len(ids[i]))], nil, http.StatusOK)
			return err
		}}
	}
	return s.phase(ctx, n, run, "get", get)
}

// phase runs op of each of the first n organizations at once, with
// -clients connections each, for -duration, and records it.
func (s *scaleoutRun) phase(ctx context.Context, n, run int, what string, op func(org int) operation) error {
	fmt.Fprintf(s.progress, "run %d: %s in %d organizations for %s, %d clients each\n", run, what, n, s.cfg.duration, s.cfg.clients)
	before, err := s.readCPU(ctx)
	if err != nil {
		return err
	}
	p := phase{orgs: n, run: run, what: what, perOrg: make([]stats, n), redis: map[string]time.Duration{}}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { p.perOrg[i] = measure(ctx, op(i), s.cfg.duration, s.cfg.clients) })
	}
	wg.Wait()
	p.elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	after, err := s.readCPU(ctx)
	if err != nil {
		return err
	}
	for addr, t := range after.redis {
		p.redis[addr] = t - before.redis[addr]
	}
	p.scimd, p.scimld = after.scimd-before.scimd, after.scimld-before.scimld
	for i, st := range p.perOrg {
		p.requests += st.requests
		s.failed += st.errors
		if st.firstErr != nil {
			fmt.Fprintf(s.progress, "%s: %d of %d requests failed; the first: %v\n", s.orgs[i].name, st.errors, st.requests, st.firstErr)
		}
	}
	s.results = append(s.results, p)
	return nil
}

// usPer is d in µs per request of p.
func (p phase) usPer(d time.Duration) float64 {
	if p.requests == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(p.requests)
}

// report prints the facts, every run, and the spread per count.
func (s *scaleoutRun) report(w io.Writer) {
	primaries := s.nodes.primaries()
	replicas := len(s.nodes.all) - len(primaries)
	fmt.Fprintf(w, "Redis Cluster of %d primaries and %d replicas; one scimd; %d clients per organization, %s per run, %d runs per count, counts alternating; %d CPUs, load average (1, 5, 15 min) at the start %s, at the end %s.\n\n",
		len(primaries), replicas, s.cfg.clients, s.cfg.duration, s.cfg.runs, runtime.NumCPU(), s.load[0], s.load[len(s.load)-1])
	fmt.Fprintln(w, "Organizations (each on the primary with its slot):")
	for i, o := range s.orgs {
		fmt.Fprintf(w, "%s on primary %d (%s)", o.name, slices.IndexFunc(primaries, func(n node) bool { return n.addr == o.primary })+1, o.primary)
		if i < len(s.orgs)-1 {
			fmt.Fprint(w, "; ")
		}
	}
	fmt.Fprint(w, ".\n\n")
	fmt.Fprintln(w, "CPU per request: each primary's per request of the organizations on it; the replicas', scimd's and scimload's per request of the run.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| orgs | run | requests | per organization /s | total /s | Redis CPU µs per request, each primary | replicas µs (sum) | scimd µs | scimload µs |")
	fmt.Fprintln(w, "|--:|--:|---|---|--:|---|--:|--:|--:|")
	for _, p := range s.results {
		var perOrg, perPrimary []string
		served := map[string]int{}
		for i, st := range p.perOrg {
			perOrg = append(perOrg, fmt.Sprintf("%.0f", st.reqPerSec()))
			served[s.orgs[i].primary] += st.requests
		}
		var repl time.Duration
		for _, n := range s.nodes.all {
			switch {
			case !n.primary:
				repl += p.redis[n.addr]
			case served[n.addr] == 0:
				perPrimary = append(perPrimary, "idle")
			default:
				perPrimary = append(perPrimary, fmt.Sprintf("%.0f", float64(p.redis[n.addr])/float64(time.Microsecond)/float64(served[n.addr])))
			}
		}
		fmt.Fprintf(w, "| %d | %d | %s | %s | %.0f | %s | %.0f | %.0f | %.0f |\n", p.orgs, p.run, p.what,
			strings.Join(perOrg, ", "), float64(p.requests)/p.elapsed.Seconds(), strings.Join(perPrimary, ", "),
			p.usPer(repl), p.usPer(p.scimd), p.usPer(p.scimld))
	}
	fmt.Fprintln(w, "\nPer count: median (min–max) of the runs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| orgs | requests | per organization /s | total /s | Redis CPU µs per request (primaries) | replicas µs | scimd µs |")
	fmt.Fprintln(w, "|--:|---|---|---|---|---|---|")
	for _, what := range []string{"create", "get"} {
		for _, n := range s.cfg.orgs {
			if slices.Contains(s.cfg.orgs[:slices.Index(s.cfg.orgs, n)], n) {
				continue
			}
			var perOrg, total, redisUS, replUS, scimdUS []float64
			for _, p := range s.results {
				if p.orgs != n || p.what != what {
					continue
				}
				for _, st := range p.perOrg {
					perOrg = append(perOrg, st.reqPerSec())
				}
				total = append(total, float64(p.requests)/p.elapsed.Seconds())
				var sum, repl time.Duration
				for _, nd := range s.nodes.all {
					if nd.primary {
						sum += p.redis[nd.addr]
					} else {
						repl += p.redis[nd.addr]
					}
				}
				redisUS = append(redisUS, p.usPer(sum))
				replUS = append(replUS, p.usPer(repl))
				scimdUS = append(scimdUS, p.usPer(p.scimd))
			}
			if len(total) == 0 {
				continue
			}
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s |\n", n, what, spread(perOrg), spread(total), spread(redisUS), spread(replUS), spread(scimdUS))
		}
	}
}

// spread is "median (min–max)" of xs.
func spread(xs []float64) string {
	return fmt.Sprintf("%.0f (%.0f–%.0f)", median(xs), slices.Min(xs), slices.Max(xs))
}
