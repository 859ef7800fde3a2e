package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// soakUsage says what "scimload soak" does.
const soakUsage = `usage: scimload soak [-url URL] [-token T] [-redis-url URL] -metrics-url URL
                     [-duration 10m] [-interval 1m] [-concurrency 16] [-users 2000]

Runs a bounded mixed load against a running scimd for -duration (reads,
filters, lists, PATCHes, member additions and removals on one group, and
users created then deleted, so that the data does not grow) and prints, at
the start, every -interval and at the end: scimd's resident memory, heap and
goroutines (from its /metrics on the operations listener, SCIM_DEBUG_ADDR),
Redis's used memory (INFO memory), and the requests and errors since the
last line. It exits with status 1 if any request failed.
`

// soakConfig is the configuration of "scimload soak".
type soakConfig struct {
	config
	metricsURL string
	interval   time.Duration
}

func parseSoakConfig(args []string, getenv func(string) string, output io.Writer) (soakConfig, error) {
	var cfg soakConfig
	fs := flag.NewFlagSet("scimload soak", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() { fmt.Fprint(output, soakUsage) }
	fs.StringVar(&cfg.url, "url", "http://localhost:8080/scim/v2", "scimd SCIM base URL")
	fs.StringVar(&cfg.token, "token", "", "bearer token (default $SCIM_BOOTSTRAP_TOKEN)")
	fs.StringVar(&cfg.redisURL, "redis-url", "", "the Redis scimd uses, for its memory (default $SCIM_REDIS_URL)")
	fs.StringVar(&cfg.metricsURL, "metrics-url", "", "scimd's metrics, on its operations listener: http://127.0.0.1:6060/metrics for SCIM_DEBUG_ADDR=127.0.0.1:6060")
	fs.IntVar(&cfg.users, "users", 2000, "users to seed and draw from")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Minute, "how long the load runs")
	fs.DurationVar(&cfg.interval, "interval", time.Minute, "how often to print a line of figures")
	fs.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent workers")
	fs.IntVar(&cfg.seedConcurrency, "seed-concurrency", 32, "concurrent workers while seeding")
	if err := fs.Parse(args); err != nil {
		return soakConfig{}, err
	}
	if cfg.redisURL == "" {
		cfg.redisURL = getenv("SCIM_REDIS_URL") // after parsing, so that -h never prints it (a password)
	}
	if fs.NArg() > 0 {
		return soakConfig{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.token == "" {
		cfg.token = getenv("SCIM_BOOTSTRAP_TOKEN")
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	if err := cfg.validate(); err != nil {
		return soakConfig{}, err
	}
	switch {
	case !strings.HasPrefix(cfg.metricsURL, "http://") && !strings.HasPrefix(cfg.metricsURL, "https://"):
		return soakConfig{}, errors.New("-metrics-url is required: scimd's /metrics on its operations listener (start scimd with SCIM_DEBUG_ADDR)")
	case cfg.interval <= 0:
		return soakConfig{}, fmt.Errorf("-interval %s: want more than 0", cfg.interval)
	}
	return cfg, nil
}

// soak implements "scimload soak".
func soak(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseSoakConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	c := scimClient{http: newHTTPClient(max(cfg.concurrency, cfg.seedConcurrency)), base: cfg.url, token: cfg.token}
	opts, err := redis.ParseURL(cfg.redisURL)
	if err != nil {
		return fmt.Errorf("-redis-url: %w", redisURLError(err))
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	pool, err := prepareUsers(ctx, c, cfg.config, stderr)
	if err != nil {
		return err
	}
	groupID, err := ensureGroup(ctx, c, loadGroupName)
	if err != nil {
		return err
	}

	var counts soakCounts
	fmt.Fprintf(stdout, "scimload soak against %s: %d workers for %s, %d users\n\n", cfg.url, cfg.concurrency, cfg.duration, pool.size())
	fmt.Fprintln(stdout, "| elapsed | scimd RSS MB | scimd heap MB | goroutines | Redis used MB | requests | errors | req/s |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|")
	first, err := sample(ctx, c.http, cfg.metricsURL, rdb)
	if err != nil {
		return err
	}
	start := time.Now()
	first.write(stdout, 0, 0, 0, 0)

	lctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	ops := soakOperations(c, pool, groupID)
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Go(func() {
			for lctx.Err() == nil {
				op := ops.pick()
				err := op.request(lctx)
				if lctx.Err() != nil {
					return
				}
				counts.add(op.name, err)
			}
		})
	}
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	var last snapshot
	lastAt, lastN := start, int64(0)
	for done := false; !done; {
		select {
		case <-lctx.Done():
			done = true
			wg.Wait()
		case <-tick.C:
			if lctx.Err() != nil {
				continue // the end's line comes next
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s, err := sample(ctx, c.http, cfg.metricsURL, rdb)
		if err != nil {
			return err
		}
		now, n := time.Now(), counts.requests.Load()
		s.write(stdout, now.Sub(start), n, counts.errors.Load(), float64(n-lastN)/now.Sub(lastAt).Seconds())
		last, lastAt, lastN = s, now, n
	}

	fmt.Fprintf(stdout, "\nstart → end: scimd RSS %.1f → %.1f MB, heap %.1f → %.1f MB, goroutines %.0f → %.0f; Redis used %.1f → %.1f MB\n",
		mb(first.rss), mb(last.rss), mb(first.heap), mb(last.heap), first.goroutines, last.goroutines, mb(first.redisUsed), mb(last.redisUsed))
	fmt.Fprintf(stdout, "requests by operation: %s\n", counts.byOperation())
	if n := counts.errors.Load(); n > 0 {
		fmt.Fprintf(stdout, "first error: %v\n", counts.firstError())
		return fmt.Errorf("%d of %d requests failed", n, counts.requests.Load())
	}
	return nil
}

// weighted is a set of operations drawn at random, each as often as its
// weight says.
type weighted struct {
	ops     []operation
	weights []int
	total   int
}

func (w weighted) pick() operation {
	n := rand.IntN(w.total)
	for i, wt := range w.weights {
		if n < wt {
			return w.ops[i]
		}
		n -= wt
	}
	return w.ops[len(w.ops)-1]
}

// soakOperations is the soak's mix: mostly reads, as identity providers'
// traffic is, and writes that leave the data as large as they found it
// (members added and removed, users created and deleted again).
func soakOperations(c scimClient, pool userPool, groupID string) weighted {
	byName := map[string]operation{}
	for _, op := range everyOperation(c, pool, groupID) {
		byName[op.name] = op
	}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	var created atomic.Int64
	memberRemove := operation{name: "member-remove", request: func(ctx context.Context) error {
		id := pool.ids[rand.IntN(pool.size())]
		body := patchBody(patchOp{Op: "remove", Path: fmt.Sprintf("members[value eq %q]", id)})
		_, err := c.expect(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(groupID)+"?excludedAttributes=members", body,
			http.StatusOK, http.StatusNoContent)
		return err
	}}
	createDelete := operation{name: "create-delete", request: func(ctx context.Context) error {
		// Not the soak's context: a user created is deleted even when the
		// soak ends meanwhile, so that the data stays as large as it was.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		n := created.Add(1)
		resp, err := c.expect(ctx, http.MethodPost, "/Users", userBody(fmt.Sprintf("soak-%s-%d@example.com", runID, n), "", "Soak"), http.StatusCreated)
		if err != nil {
			return err
		}
		id, err := decodeID(resp)
		if err != nil {
			return err
		}
		_, err = c.expect(ctx, http.MethodDelete, "/Users/"+url.PathEscape(id), nil, http.StatusNoContent)
		return err
	}}
	mix := []struct {
		op     operation
		weight int
	}{
		{byName["get"], 30}, {byName["filter"], 15}, {byName["list"], 10}, {byName["patch"], 15},
		{byName["member-add-lean"], 8}, {memberRemove, 7}, {createDelete, 15},
	}
	var w weighted
	for _, m := range mix {
		w.ops = append(w.ops, m.op)
		w.weights = append(w.weights, m.weight)
		w.total += m.weight
	}
	return w
}

// soakCounts counts the soak's requests, by operation, and its errors.
type soakCounts struct {
	requests, errors atomic.Int64
	mu               sync.Mutex
	byOp             map[string]int64
	first            error
}

func (c *soakCounts) add(op string, err error) {
	c.requests.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byOp == nil {
		c.byOp = map[string]int64{}
	}
	c.byOp[op]++
	if err != nil {
		c.errors.Add(1)
		if c.first == nil {
			c.first = err
		}
	}
}

func (c *soakCounts) byOperation() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, name := range []string{"get", "filter", "list", "patch", "member-add-lean", "member-remove", "create-delete"} {
		parts = append(parts, fmt.Sprintf("%s %d", name, c.byOp[name]))
	}
	return strings.Join(parts, ", ")
}

func (c *soakCounts) firstError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// snapshot is the figures of one moment.
type snapshot struct {
	rss, heap, goroutines, redisUsed float64
}

func (s snapshot) write(w io.Writer, elapsed time.Duration, requests, errs int64, rate float64) {
	unit := time.Second
	if elapsed < 10*time.Second {
		unit = 10 * time.Millisecond
	}
	fmt.Fprintf(w, "| %s | %.1f | %.1f | %.0f | %.1f | %d | %d | %.0f |\n",
		elapsed.Round(unit), mb(s.rss), mb(s.heap), s.goroutines, mb(s.redisUsed), requests, errs, rate)
}

func mb(b float64) float64 { return b / (1 << 20) }

// sample reads scimd's metrics and Redis's memory.
func sample(ctx context.Context, hc *http.Client, metricsURL string, rdb *redis.Client) (snapshot, error) {
	m, err := scrape(ctx, hc, metricsURL, "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines")
	if err != nil {
		return snapshot{}, err
	}
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return snapshot{}, fmt.Errorf("redis INFO memory: %w", err)
	}
	s := snapshot{rss: m["process_resident_memory_bytes"], heap: m["go_memstats_heap_inuse_bytes"], goroutines: m["go_goroutines"]}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			s.redisUsed, _ = strconv.ParseFloat(v, 64)
		}
	}
	return s, nil
}

// scrape reads the named unlabelled metrics from a Prometheus text
// exposition.
func scrape(ctx context.Context, hc *http.Client, metricsURL string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("-metrics-url: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read scimd's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read scimd's metrics: GET %s: status %d", metricsURL, resp.StatusCode)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && want[name] {
			out[name], _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read scimd's metrics: %w", err)
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("scimd's metrics at %s have no %s", metricsURL, n)
		}
	}
	return out, nil
}
