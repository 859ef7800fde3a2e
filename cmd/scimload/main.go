// Command scimload measures a running scimd against a baseline, in the same
// run and on the same Redis, and prints the result as a Markdown table.
//
// Usage:
//
//	SCIM_BOOTSTRAP_TOKEN=… SCIM_REDIS_URL=redis://127.0.0.1:6379 \
//	    go run ./cmd/scimload [-url http://localhost:8080/scim/v2] [-users 10000]
//	    [-duration 10s] [-concurrency 16] [-seed-concurrency 32] [-skip-seed]
//	    [-ops get,filter,...] [-baseline-in-process]
//	go run ./cmd/scimload soak -metrics-url http://127.0.0.1:6060/metrics [-duration 10m] ...
//	go run ./cmd/scimload bench -scimd /tmp/scimd -redis-url redis://127.0.0.1:6379 [-users 10000] ...
//	go run ./cmd/scimload scaleout -scimd /tmp/scimd -redis-url redis+cluster://127.0.0.1:7000 [-orgs 1,3] ...
//
// # What it does
//
// It seeds -users users (userName loadNNNNNN@example.com; ones that already
// exist are kept, so re-runs work) and a group "load-group". It then starts
// a baseline server whose handler does one go-redis GET of a stored user
// document and writes it out: the least any Redis-backed HTTP server can do
// per request. The baseline runs in a child process (scimload itself), so
// that it sits behind the same process boundaries as scimd;
// -baseline-in-process serves it inside the load tool instead. Finally it runs each operation for -duration with
// -concurrency workers, with a baseline run before the first and after each
// one; an operation's ratio is against the mean of the two baselines around
// it, because the machine's speed drifts while the tool runs:
//
//	baseline         GET of the baseline server
//	get              GET /Users/{id}
//	filter           GET /Users?filter=userName eq "…"
//	create           POST /Users
//	patch            PATCH /Users/{id} replacing name.givenName
//	member-add       PATCH /Groups/{id} adding one member, as Entra ID sends it
//	member-add-lean  the same with ?excludedAttributes=members
//	list             GET /Users?startIndex=…&count=100
//
// Every request is a real HTTP request with the bearer token, over one shared
// client. An answer with an unexpected status counts as an error; errors are
// a column of the table, the first one of each operation is printed below it,
// and scimload then exits with status 1. req/s counts every completed request,
// so an operation with errors is not a valid measurement.
//
// # Soak
//
// "scimload soak" runs a bounded mixed load for -duration and prints scimd's
// resident memory, heap and goroutines and Redis's used memory at the start,
// every -interval and at the end (see soakUsage).
//
// # Bench
//
// "scimload bench" measures the rows of README's "At a million customers"
// table on an empty Redis:
// it seeds customers through the backend's create script in pipelines,
// starts scimd and the baseline (the ceiling) itself, and drives both with
// wrk, alternating (see benchUsage).
//
// # Scale-out
//
// "scimload scaleout" drives 1, 3, ... organizations at once on a Redis
// Cluster, each on its own primary, and prints the throughput per
// organization and in total and the CPU each part used per request: each
// primary and the replicas (INFO cpu), scimd and scimload (see
// scaleoutUsage).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if url := os.Getenv(baselineChildEnv); url != "" {
		if err := serveBaselineChild(url, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "scimload baseline:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // the flag package printed the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scimload:", err)
		os.Exit(1)
	}
}

// run is the whole program: main only supplies the process's context,
// arguments, environment and output. Results go to stdout, progress to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "soak" {
		return soak(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "bench" {
		return bench(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "scaleout" {
		return scaleout(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	c := scimClient{http: newHTTPClient(max(cfg.concurrency, cfg.seedConcurrency)), base: cfg.url, token: cfg.token}

	pool, err := prepareUsers(ctx, c, cfg, stderr)
	if err != nil {
		return err
	}
	groupID, err := ensureGroup(ctx, c, loadGroupName)
	if err != nil {
		return err
	}

	bl, err := startBaseline(ctx, cfg.redisURL, cfg.inProcessBaseline)
	if err != nil {
		return err
	}
	defer bl.close()

	// The machine is shared and noisy: every operation is bracketed by a
	// baseline run, and its ratio is against the mean of the two around it.
	baseline := baselineOperation(c, bl.url)
	var bases, results []stats
	run := func(op operation) error {
		fmt.Fprintf(stderr, "running %s for %s with %d workers\n", op.name, cfg.duration, cfg.concurrency)
		s := measure(ctx, op, cfg.duration, cfg.concurrency)
		if op.name == baseline.name {
			bases = append(bases, s)
		} else {
			results = append(results, s)
		}
		return ctx.Err()
	}
	if err := run(baseline); err != nil {
		return err
	}
	for _, op := range scimOperations(c, pool, groupID, cfg.ops) {
		if err := run(op); err != nil {
			return err
		}
		if err := run(baseline); err != nil {
			return err
		}
	}

	writeFacts(stdout, cfg, pool.size())
	writeTable(stdout, bases, results)
	all := append(append([]stats{}, bases...), results...)
	if failed := writeErrors(stdout, all); failed > 0 {
		return fmt.Errorf("%d of %d operations had errors", failed, len(results)+1)
	}
	return nil
}
