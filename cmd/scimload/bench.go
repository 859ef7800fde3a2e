package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend"
)

// benchUsage says what "scimload bench" does.
const benchUsage = `usage: scimload bench -scimd PATH -redis-url URL [-users 10000] [-runs 3]
                      [-duration 10s] [-latency-duration 5s] [-wrk wrk] [-seed-workers 2]

Measures scimd against the rows of README's "At a million customers" table,
on an empty Redis:

 1. seeds -users customers into the "default" organization through the
    backend's create script, in pipelines (the documents, indexes and
    uniqueness entries a POST /Users writes), and measures Redis's memory
    (INFO memory before and after; MEMORY USAGE of each index) and its time
    per create script (INFO commandstats);
 2. adds the first half of them, at most 100,000, to the group "bench-group"
    (the GET and filter rows read the other half);
 3. starts scimd (-scimd, rate limits off) and the ceiling (a bare net/http
    server answering each request with one go-redis GET of a ~600-byte
    document, in a process of its own) on that Redis;
 4. drives each row with wrk (-t2 -c50; a row whose goal is a latency with
    -t1 -c1, one request at a time), the ceiling and scimd alternating,
    -runs of each, and prints each row's figure, its ratio to the ceiling
    (median, min-max) and the goal;
 5. under the table, for reference: the ceiling with its GETs in shared
    pipelines (go-redis AutoPipeline, its default batching), as scimd's
    reads share them, and scimd's GET /Users/{id} against it (one run
    between two of it).

It needs wrk (Debian: apt-get install wrk). It takes a few minutes at 10k,
longer at 1M (the POST rows add users: run it on a fresh Redis each time).
`

// benchConfig is the configuration of "scimload bench".
type benchConfig struct {
	scimd, wrk      string
	redisURL        string
	users           int
	runs            int
	duration        time.Duration
	latencyDuration time.Duration
	seedWorkers     int
	check           bool
	// substring: the organization's substringSearch setting (attributes,
	// comma-separated), set before seeding so that the memory counts it.
	substring string
}

func parseBenchConfig(args []string, getenv func(string) string, output io.Writer) (benchConfig, error) {
	var cfg benchConfig
	fs := flag.NewFlagSet("scimload bench", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() { fmt.Fprint(output, benchUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.scimd, "scimd", "", "the scimd binary to measure (go build -o /tmp/scimd ./cmd/scimd)")
	fs.StringVar(&cfg.wrk, "wrk", "wrk", "the wrk binary")
	fs.StringVar(&cfg.redisURL, "redis-url", "", "an empty Redis (default $SCIM_REDIS_URL)")
	fs.IntVar(&cfg.users, "users", 10000, "customers to seed")
	fs.IntVar(&cfg.runs, "runs", 3, "wrk runs of scimd per row, each between two of the ceiling")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each throughput run lasts")
	fs.DurationVar(&cfg.latencyDuration, "latency-duration", 5*time.Second, "how long each latency run lasts")
	fs.IntVar(&cfg.seedWorkers, "seed-workers", 2, "concurrent seeding pipelines")
	fs.BoolVar(&cfg.check, "check", false, "check the store (scimd check) after seeding: minutes at 1M")
	fs.StringVar(&cfg.substring, "substring-search", "", "attributes searched by substring from trigram indexes (the organization's substringSearch, comma-separated), set before seeding; default none")
	if err := fs.Parse(args); err != nil {
		return benchConfig{}, err
	}
	if cfg.redisURL == "" {
		cfg.redisURL = getenv("SCIM_REDIS_URL") // after parsing, so that -h never prints it (a password)
	}
	if fs.NArg() > 0 {
		return benchConfig{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case cfg.scimd == "":
		return benchConfig{}, errors.New("-scimd is required: the scimd binary to measure (go build -o /tmp/scimd ./cmd/scimd)")
	case cfg.redisURL == "":
		return benchConfig{}, errors.New("the Redis URL is required: set SCIM_REDIS_URL or -redis-url")
	case cfg.users < 1:
		return benchConfig{}, fmt.Errorf("-users %d: want at least 1", cfg.users)
	case cfg.runs < 1:
		return benchConfig{}, fmt.Errorf("-runs %d: want at least 1", cfg.runs)
	case cfg.duration < time.Second || cfg.latencyDuration < time.Second:
		return benchConfig{}, errors.New("-duration and -latency-duration: want at least 1s (wrk counts whole seconds)")
	case cfg.seedWorkers < 1:
		return benchConfig{}, fmt.Errorf("-seed-workers %d: want at least 1", cfg.seedWorkers)
	}
	return cfg, nil
}

// bigGroupMembers is how many members the bench group gets at most: the
// table's large group.
const bigGroupMembers = 100000

// bench implements "scimload bench".
func bench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseBenchConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	for _, bin := range []*string{&cfg.wrk, &cfg.scimd} {
		path, err := exec.LookPath(*bin)
		if err != nil {
			return fmt.Errorf("%s: %w (wrk: apt-get install wrk; scimd: go build -o /tmp/scimd ./cmd/scimd)", *bin, err)
		}
		*bin = path
	}
	opts, err := redis.ParseURL(cfg.redisURL)
	if err != nil {
		return fmt.Errorf("-redis-url: %w", redisURLError(err))
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		return fmt.Errorf("want an empty Redis (memory per customer is the growth of used_memory): DBSIZE %d, %v", n, err)
	}
	dir, err := os.MkdirTemp("", "scimload-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	b := &benchRun{cfg: cfg, rdb: rdb, dir: dir, progress: stderr, load: []string{loadAvg()}}
	if err := b.seed(ctx); err != nil {
		return err
	}
	if err := b.serve(ctx); err != nil {
		return err
	}
	defer b.stop()
	if err := b.measure(ctx); err != nil {
		return err
	}
	b.load = append(b.load, loadAvg())
	b.report(stdout)
	return nil
}

// benchRun is one run of the benchmark and what it found.
type benchRun struct {
	cfg      benchConfig
	rdb      *redis.Client
	dir      string
	progress io.Writer
	load     []string // /proc/loadavg at the start, after seeding, at the end

	ids      []string
	groupID  string
	seeded   time.Duration
	seedCost scriptCost
	memory   int64 // growth of used_memory while seeding
	keys     []keyCost
	// checked: the store was checked after seeding, with findings findings
	// in checkedKeys keys.
	checked               bool
	findings, checkedKeys int

	token       string
	scimdURL    string // scheme and host
	ceilingURL  string
	stopScimd   func()
	stopCeiling func()
	// sharedURL is the ceiling with its GETs in shared pipelines (see
	// baselineSharedEnv), stopped by stopShared: a reference, not a row.
	sharedURL      string
	stopShared     func()
	sharedNote     string
	paths, creates string // the wrk scripts

	rows       []benchRow
	createCost scriptCost
}

// benchRow is one row of the table as printed.
type benchRow struct {
	what, figure, ratio, goal string
}

// seed seeds the customers and the group, measuring Redis on the way.
func (b *benchRun) seed(ctx context.Context) error {
	store, err := backend.Open(ctx, b.cfg.redisURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.CreateOrg(ctx, benchOrg); err != nil {
		return err
	}
	if b.cfg.substring != "" {
		if _, err := store.SetSubstringSearch(ctx, benchOrg, strings.Split(b.cfg.substring, ",")); err != nil {
			return fmt.Errorf("-substring-search: %w", err)
		}
	}
	before, err := usedMemory(ctx, b.rdb)
	if err != nil {
		return err
	}
	stats0, err := commandStats(ctx, b.rdb)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.progress, "seeding %d customers\n", b.cfg.users)
	res, err := seedBenchUsers(ctx, store, benchOrg, b.cfg.users, benchBatch, b.cfg.seedWorkers, b.progress)
	if err != nil {
		return err
	}
	b.ids, b.seeded = res.ids, res.elapsed
	stats1, err := commandStats(ctx, b.rdb)
	if err != nil {
		return err
	}
	b.seedCost = costBetween(stats0, stats1)
	after, err := usedMemory(ctx, b.rdb)
	if err != nil {
		return err
	}
	b.memory = after - before
	fmt.Fprintf(b.progress, "seeded %d customers in %s; measuring memory\n", len(b.ids), b.seeded.Round(time.Second))
	sample := make([]string, 0, memorySamples)
	for range min(memorySamples, len(b.ids)) {
		sample = append(sample, b.ids[rand.IntN(len(b.ids))])
	}
	if b.keys, err = keyCosts(ctx, b.rdb, "scimd:{"+benchOrg+"}:", sample, len(b.ids)); err != nil {
		return err
	}
	fmt.Fprintf(b.progress, "adding %d members to %s\n", b.groupSize(), benchGroupName)
	if b.groupID, err = seedBenchGroup(ctx, store, benchOrg, b.ids[:b.groupSize()]); err != nil {
		return err
	}
	b.load = append(b.load, loadAvg())
	if b.cfg.check {
		fmt.Fprintln(b.progress, "checking the store")
		b.checked = true
		st, err := store.Check(ctx, benchOrg, func(f backend.Finding) {
			b.findings++
			if b.findings <= 10 {
				fmt.Fprintf(b.progress, "check: %s\n", f)
			}
		})
		if err != nil {
			return err
		}
		b.checkedKeys = st.Keys
	}
	return nil
}

// groupSize is how many of the seeded customers, the first ones, are members
// of the bench group: half, at most [bigGroupMembers]. The other half are in
// no group, and are the ones the GET and filter rows read, so that those
// rows measure a plain read (a member's read also reads its groups' names).
func (b *benchRun) groupSize() int { return min(bigGroupMembers, len(b.ids)/2) }

// serve starts scimd and the ceiling, and writes wrk's scripts.
func (b *benchRun) serve(ctx context.Context) error {
	var err error
	if b.paths, b.creates, err = writeWrkFiles(b.dir); err != nil {
		return err
	}
	secret := make([]byte, 24)
	_, _ = crand.Read(secret)
	b.token = "bench-" + hex.EncodeToString(secret)
	p, err := startScimd(ctx, b.cfg.scimd, "", b.cfg.redisURL, b.dir, b.token, "SCIM_BOOTSTRAP_TOKEN="+b.token)
	if err != nil {
		return err
	}
	b.scimdURL, b.stopScimd = p.url, p.stop
	bl, err := startBaselineProcess(ctx, b.cfg.redisURL, false)
	if err != nil {
		b.stop()
		return err
	}
	b.ceilingURL, b.stopCeiling = bl.url, bl.close
	shared, err := startBaselineProcess(ctx, b.cfg.redisURL, true)
	if err != nil {
		b.stop()
		return err
	}
	b.sharedURL, b.stopShared = shared.url, shared.close
	return nil
}

// stop stops the ceiling and scimd.
func (b *benchRun) stop() {
	if b.stopShared != nil {
		b.stopShared()
		b.stopShared = nil
	}
	if b.stopCeiling != nil {
		b.stopCeiling()
		b.stopCeiling = nil
	}
	if b.stopScimd != nil {
		b.stopScimd()
		b.stopScimd = nil
	}
}

// client is a SCIM client of the scimd under test.
func (b *benchRun) client() scimClient {
	return scimClient{http: newHTTPClient(4), base: b.scimdURL + "/scim/v2", token: b.token}
}

// checkFinds asks scimd the first of the userName eq filters and fails
// unless each answers exactly the user of want.
func (b *benchRun) checkFinds(ctx context.Context, filters, want []string) error {
	c := b.client()
	for i := range min(20, len(filters)) {
		resp, err := c.do(ctx, http.MethodGet, strings.TrimPrefix(filters[i], "/scim/v2"), nil)
		if err != nil {
			return err
		}
		var page struct {
			TotalResults int
			Resources    []struct{ ID string }
		}
		if err := json.Unmarshal(resp.body, &page); err != nil || resp.status != http.StatusOK ||
			page.TotalResults != 1 || len(page.Resources) != 1 || page.Resources[0].ID != want[i] {
			return fmt.Errorf("GET %s answered %d %.200s, want user %s", filters[i], resp.status, resp.body, want[i])
		}
	}
	return nil
}

// measure runs the rows, in an order that keeps the figures honest: the POST
// row, which adds users, comes last.
func (b *benchRun) measure(ctx context.Context) error {
	// Customers in no group, at random (see groupSize).
	var gets, filters, want []string
	g := b.groupSize()
	for range min(10000, len(b.ids)-g) {
		i := g + rand.IntN(len(b.ids)-g)
		gets = append(gets, "/scim/v2/Users/"+b.ids[i])
		q := url.Values{"filter": {fmt.Sprintf("userName eq %q", benchUserName(i))}}
		filters = append(filters, "/scim/v2/Users?"+q.Encode())
		want = append(want, b.ids[i])
	}
	// wrk counts answers, not what they say: a lookup that found nobody
	// would be a fast 200.
	if err := b.checkFinds(ctx, filters, want); err != nil {
		return err
	}
	if err := b.throughput(ctx, "`GET /Users/{id}`", "≥ 0.85 at 10k and at 1M", gets, false); err != nil {
		return err
	}
	if err := b.sharedReference(ctx, gets); err != nil {
		return err
	}
	if err := b.throughput(ctx, "`filter=userName eq \"…\"`", "≥ 0.75 at 10k and at 1M", filters, false); err != nil {
		return err
	}
	n := len(b.ids)
	latencyRows := []struct{ what, query, goal string }{
		{"`filter=active eq true`", `filter=active eq true`, "a page in ≤ 50 ms p99"},
		{fmt.Sprintf("`filter=userName sw \"w\"&startIndex=%d`", n/2+1), fmt.Sprintf("filter=userName sw \"w\"&startIndex=%d", n/2+1), "works; totalResults exact"},
		{"`filter=name.familyName co \"123\"`", `filter=name.familyName co "123"`, "a page in ≤ 50 ms p99"},
		{"`filter=groups.value eq \"<group id>\"`", fmt.Sprintf("filter=groups.value eq %q", b.groupID), "answered from the membership"},
	}
	for _, r := range latencyRows {
		if err := b.latency(ctx, r.what, r.query, r.goal); err != nil {
			return err
		}
	}
	b.rows = append(b.rows, benchRow{what: "Redis memory per customer (all indexes, change log included)",
		figure: fmt.Sprintf("%.2f KB (used_memory grew %.1f MB for %d customers)", float64(b.memory)/float64(n)/1000, float64(b.memory)/1e6, n),
		goal:   "≤ 1.5 KB"})
	if err := b.bigGroup(ctx); err != nil {
		return err
	}
	return b.throughput(ctx, "`POST /Users`", "≥ 0.40; ≤ 70 µs of Redis time per create", nil, true)
}

// sharedReference measures the ceiling with its GETs in shared pipelines
// (baselineSharedEnv), one run before and one after a run of scimd's GET
// /Users/{id}, for the line under the table: scimd's reads share pipelines,
// the ceiling does not, and this says what sharing alone gives a
// bare server.
func (b *benchRun) sharedReference(ctx context.Context, gets []string) error {
	sharedPaths := filepath.Join(b.dir, "shared.paths")
	scimdPaths := filepath.Join(b.dir, "scimd.paths")
	if err := writePaths(sharedPaths, []string{"/"}); err != nil {
		return err
	}
	if err := writePaths(scimdPaths, gets); err != nil {
		return err
	}
	shared := wrkRun{bin: b.cfg.wrk, threads: 2, conns: 50, duration: b.cfg.duration, script: b.paths, url: b.sharedURL,
		env: []string{"SCIMBENCH_PATHS=" + sharedPaths, "SCIMBENCH_TOKEN="}, name: "ceiling, shared pipelines"}
	scimd := wrkRun{bin: b.cfg.wrk, threads: 2, conns: 50, duration: b.cfg.duration, script: b.paths, url: b.scimdURL,
		env: []string{"SCIMBENCH_PATHS=" + scimdPaths, "SCIMBENCH_TOKEN=" + b.token}, name: "GET /Users/{id}"}
	var rs [3]wrkResult
	for i, run := range []wrkRun{shared, scimd, shared} {
		fmt.Fprintf(b.progress, "wrk: %s for %s\n", run.name, b.cfg.duration)
		r, err := run.run(ctx)
		if err != nil {
			return err
		}
		if r.failed > 0 {
			return fmt.Errorf("%s: %d failed answers", run.name, r.failed)
		}
		rs[i] = r
	}
	ref := (rs[0].reqPerSec + rs[2].reqPerSec) / 2
	b.sharedNote = fmt.Sprintf("For reference, not a goal: the ceiling with its GETs in shared pipelines, as scimd's reads share them "+
		"(go-redis AutoPipeline, its default batching): %.0f req/s; scimd's `GET /Users/{id}` (%.0f req/s, one run between two of it) is %.2f of that.",
		ref, rs[1].reqPerSec, rs[1].reqPerSec/ref)
	return nil
}

// throughput runs the ceiling and scimd alternately, -runs of scimd, each
// between two of the ceiling, and adds the row: scimd's median req/s and
// p99, and the ratios of each scimd run to the mean of the ceiling runs
// around it (the machine's speed drifts).
func (b *benchRun) throughput(ctx context.Context, what, goal string, paths []string, create bool) error {
	ceilingPaths := filepath.Join(b.dir, "ceiling.paths")
	if err := writePaths(ceilingPaths, []string{"/"}); err != nil {
		return err
	}
	scimdPaths := filepath.Join(b.dir, "scimd.paths")
	if !create {
		if err := writePaths(scimdPaths, paths); err != nil {
			return err
		}
	}
	ceiling := wrkRun{bin: b.cfg.wrk, threads: 2, conns: 50, duration: b.cfg.duration, script: b.paths, url: b.ceilingURL,
		env: []string{"SCIMBENCH_PATHS=" + ceilingPaths, "SCIMBENCH_TOKEN="}, name: "ceiling"}
	scimd := wrkRun{bin: b.cfg.wrk, threads: 2, conns: 50, duration: b.cfg.duration, script: b.paths, url: b.scimdURL,
		env: []string{"SCIMBENCH_PATHS=" + scimdPaths, "SCIMBENCH_TOKEN=" + b.token}, name: what}
	var ceilings, runs []wrkResult
	runCeiling := func() error {
		fmt.Fprintf(b.progress, "wrk: ceiling for %s\n", b.cfg.duration)
		r, err := ceiling.run(ctx)
		ceilings = append(ceilings, r)
		return err
	}
	if err := runCeiling(); err != nil {
		return err
	}
	var cost scriptCost
	var runCosts []float64 // µs per create script, run by run
	for i := range b.cfg.runs {
		run := scimd
		if create {
			run.script = b.creates
			run.env = []string{"SCIMBENCH_PATH=/scim/v2/Users", "SCIMBENCH_TOKEN=" + b.token,
				fmt.Sprintf("SCIMBENCH_NONCE=%d%d", time.Now().Unix()%100000, i)}
		}
		fmt.Fprintf(b.progress, "wrk: scimd %s for %s\n", what, b.cfg.duration)
		before, err := commandStats(ctx, b.rdb)
		if err != nil {
			return err
		}
		r, err := run.run(ctx)
		if err != nil {
			return err
		}
		after, err := commandStats(ctx, b.rdb)
		if err != nil {
			return err
		}
		if create {
			c := costBetween(before, after)
			cost = addCost(cost, c)
			runCosts = append(runCosts, c.usecPerCall)
		} else if ev := scriptsBetween(before, after); ev.calls > 0 {
			// The scripts of a read (userName eq's find script), for the
			// record: not in the table.
			fmt.Fprintf(b.progress, "Redis: %.1f µs per script (%d scripts)\n", float64(ev.usec)/float64(ev.calls), ev.calls)
		}
		runs = append(runs, r)
		if err := runCeiling(); err != nil {
			return err
		}
	}
	var ratios, rates, p99s, ceilingRates []float64
	failed := 0
	for i, r := range runs {
		ratios = append(ratios, r.reqPerSec/((ceilings[i].reqPerSec+ceilings[i+1].reqPerSec)/2))
		rates = append(rates, r.reqPerSec)
		p99s = append(p99s, float64(r.p99)/float64(time.Millisecond))
		failed += r.failed
	}
	for _, c := range ceilings {
		ceilingRates = append(ceilingRates, c.reqPerSec)
		failed += c.failed
	}
	figure := fmt.Sprintf("%.0f req/s, p99 %.1f ms (ceiling %.0f req/s)", median(rates), median(p99s), median(ceilingRates))
	if failed > 0 {
		figure += fmt.Sprintf("; **%d failed answers: not a valid measurement**", failed)
	}
	ratio := fmt.Sprintf("%.2f (%.2f–%.2f, %d runs)", median(ratios), slices.Min(ratios), slices.Max(ratios), len(ratios))
	if create {
		b.createCost = cost
		figure += fmt.Sprintf("; Redis: %.0f µs per create script", cost.usecPerCall)
		if len(runCosts) > 1 {
			// Under load, Redis's time per script moves by a quarter from
			// one run to the next on a shared machine: the spread says how
			// far a figure is from a goal.
			figure += fmt.Sprintf(" (%.0f–%.0f across the runs)", slices.Min(runCosts), slices.Max(runCosts))
		}
	}
	b.rows = append(b.rows, benchRow{what: what + ", ratio to the ceiling", figure: figure, ratio: ratio, goal: goal})
	return nil
}

// addCost sums two measurements of the create script.
func addCost(a, b scriptCost) scriptCost {
	if a.scripts == 0 {
		return b
	}
	total := a.scripts + b.scripts
	out := scriptCost{scripts: total, usecPerCall: (a.usecPerCall*float64(a.scripts) + b.usecPerCall*float64(b.scripts)) / float64(total)}
	calls := map[string]float64{}
	for _, c := range a.perScript {
		calls[c.name] += c.n * float64(a.scripts)
	}
	for _, c := range b.perScript {
		calls[c.name] += c.n * float64(b.scripts)
	}
	for name, n := range calls {
		out.perScript = append(out.perScript, cmdCount{name: name, n: n / float64(total)})
	}
	slices.SortFunc(out.perScript, func(x, y cmdCount) int {
		if x.n != y.n {
			return int(y.n*1000) - int(x.n*1000)
		}
		return strings.Compare(x.name, y.name)
	})
	return out
}

// slowPage is how long a latency row's wrk waits for one answer: a page
// slower than that counts as failed.
const slowPage = 30 * time.Second

// latency asks scimd once for /Users?query and, if it answers 200, runs wrk
// on it with one connection, so that p99 is the cost of a page, not a queue.
func (b *benchRun) latency(ctx context.Context, what, query, goal string) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return err
	}
	path := "/Users?" + q.Encode()
	probed := time.Now()
	resp, err := b.client().do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	probe := time.Since(probed)
	row := benchRow{what: what, goal: goal}
	if resp.status != http.StatusOK {
		var e struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(resp.body, &e)
		row.figure = fmt.Sprintf("%d %q", resp.status, e.Detail)
		b.rows = append(b.rows, row)
		return nil
	}
	var page listPage
	if err := json.Unmarshal(resp.body, &page); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	paths := filepath.Join(b.dir, "latency.paths")
	if err := writePaths(paths, []string{"/scim/v2" + path}); err != nil {
		return err
	}
	fmt.Fprintf(b.progress, "wrk: scimd %s for %s, one connection\n", what, b.cfg.latencyDuration)
	r, err := wrkRun{bin: b.cfg.wrk, threads: 1, conns: 1, duration: b.cfg.latencyDuration, script: b.paths, url: b.scimdURL,
		env: []string{"SCIMBENCH_PATHS=" + paths, "SCIMBENCH_TOKEN=" + b.token}, name: what, timeout: slowPage}.run(ctx)
	if err != nil {
		// A page slower than the run (a scan of everything, at 100k): wrk
		// completed none; the probe's time is the figure.
		fmt.Fprintf(b.progress, "%v\n", err)
		row.figure = fmt.Sprintf("200, totalResults %d, %d per page; one page in %.0f ms (wrk completed none in %s)",
			page.TotalResults, len(page.Resources), millis(probe), b.cfg.latencyDuration)
		b.rows = append(b.rows, row)
		return nil
	}
	row.figure = fmt.Sprintf("200, totalResults %d, %d per page; p50 %.1f ms, p99 %.1f ms (one connection)",
		page.TotalResults, len(page.Resources), millis(r.p50), millis(r.p99))
	if strings.Contains(query, "userName sw") {
		row.figure += fmt.Sprintf("; exact: %d", len(b.ids))
	}
	if r.failed > 0 {
		row.figure += fmt.Sprintf("; **%d failed answers**", r.failed)
	}
	b.rows = append(b.rows, row)
	return nil
}

// bigGroup GETs the bench group three times and reports the median time
// and the size of the answer.
func (b *benchRun) bigGroup(ctx context.Context) error {
	var times []float64
	var size, status int
	for range 3 {
		start := time.Now()
		resp, err := b.client().do(ctx, http.MethodGet, "/Groups/"+b.groupID, nil)
		if err != nil {
			return err
		}
		times = append(times, millis(time.Since(start)))
		size, status = len(resp.body), resp.status
	}
	b.rows = append(b.rows, benchRow{
		what:   fmt.Sprintf("`GET /Groups/{id}` of a %d-member group", b.groupSize()),
		figure: fmt.Sprintf("%d, %.1f MB in %.0f ms (median of 3)", status, float64(size)/1e6, median(times)),
		goal:   "members pageable",
	})
	return nil
}

// report prints the facts of the run and the table.
func (b *benchRun) report(w io.Writer) {
	n := len(b.ids)
	fmt.Fprintf(w, "%d customers in one organization, seeded in %s (%.0f customers/s); %d CPUs, load average (1, 5, 15 min) at the start %s, after seeding %s, at the end %s.\n",
		n, b.seeded.Round(100*time.Millisecond), float64(n)/b.seeded.Seconds(), runtime.NumCPU(), b.load[0], b.load[1], b.load[len(b.load)-1])
	if b.checked {
		fmt.Fprintf(w, "Store check after seeding: %d keys, %d findings.\n", b.checkedKeys, b.findings)
	}
	fmt.Fprintf(w, "wrk -t2 -c50, %s per run, ceiling and scimd alternating, %d scimd runs per row; latency rows wrk -t1 -c1 for %s.\n\n",
		b.cfg.duration, b.cfg.runs, b.cfg.latencyDuration)
	fmt.Fprintln(w, "| what | measured | ratio to the ceiling: median (min–max) | goal |")
	fmt.Fprintln(w, "|---|---|--:|---|")
	for _, r := range b.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.what, r.figure, r.ratio, r.goal)
	}
	if b.sharedNote != "" {
		fmt.Fprintf(w, "\n%s\n", b.sharedNote)
	}
	fmt.Fprintf(w, "\nRedis time per create script, while seeding (pipelined): %s.\n", b.seedCost)
	fmt.Fprintf(w, "Redis time per create script, during the POST /Users runs: %s.\n", b.createCost)
	fmt.Fprintf(w, "\nMemory per customer by key (MEMORY USAGE, %d elements sampled per key), against %.0f bytes of used_memory growth:\n\n", memorySamples, float64(b.memory)/float64(n))
	fmt.Fprintln(w, "| key | bytes | per customer |")
	fmt.Fprintln(w, "|---|--:|--:|")
	var total float64
	for _, k := range b.keys {
		total += k.perCustomer
		fmt.Fprintf(w, "| %s | %d | %.0f |\n", k.name, k.bytes, k.perCustomer)
	}
	rest := float64(b.memory)/float64(n) - total
	fmt.Fprintf(w, "| the rest: keyspace entries, allocator (used_memory growth minus the above) | | %.0f |\n", rest)
	fmt.Fprintf(w, "| total | | %.0f |\n", total+rest)
}

// median is the middle of xs, or the mean of the two middle ones.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// millis is d in milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loadAvg is the machine's load averages over 1, 5 and 15 minutes.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// freeTCPPort is a loopback port free at the time of asking.
func freeTCPPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
