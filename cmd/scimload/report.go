package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"
)

// writeFacts prints what the numbers depend on.
func writeFacts(w io.Writer, cfg config, users int) {
	fmt.Fprintf(w, "scimload against %s (%s %s/%s)\n\n", cfg.url, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- GOMAXPROCS: %d\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "- NumCPU: %d\n", runtime.NumCPU())
	fmt.Fprintf(w, "- users seeded: %d (in use: %d)\n", cfg.users, users)
	fmt.Fprintf(w, "- concurrency: %d\n", cfg.concurrency)
	fmt.Fprintf(w, "- duration per operation: %s\n", cfg.duration)
	where := "a process of its own"
	if cfg.inProcessBaseline {
		where = "the load tool's process"
	}
	fmt.Fprintf(w, "- baseline served in: %s\n\n", where)
}

// writeTable prints results as a Markdown table. The first row sums up the
// baseline runs (bases[i] ran just before results[i], bases[i+1] just after);
// each operation's ratio is against the mean of the two baselines around it.
func writeTable(w io.Writer, bases, results []stats) {
	fmt.Fprintln(w, "| operation | requests | errors | req/s | p50 ms | p99 ms | ratio to baseline |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	if len(bases) == 0 {
		return
	}
	merged := stats{name: bases[0].name}
	lo, hi := bases[0].reqPerSec(), bases[0].reqPerSec()
	for _, b := range bases {
		merged.requests += b.requests
		merged.errors += b.errors
		merged.elapsed += b.elapsed
		merged.latencies = append(merged.latencies, b.latencies...)
		lo, hi = min(lo, b.reqPerSec()), max(hi, b.reqPerSec())
	}
	slices.Sort(merged.latencies)
	row(w, merged, 1)
	for i, s := range results {
		base := bases[min(i, len(bases)-1)].reqPerSec()
		if i+1 < len(bases) {
			base = (base + bases[i+1].reqPerSec()) / 2
		}
		ratio := 0.0
		if base > 0 {
			ratio = s.reqPerSec() / base
		}
		row(w, s, ratio)
	}
	fmt.Fprintf(w, "\nBaseline runs: %d, from %.0f to %.0f req/s.\n", len(bases), lo, hi)
}

func row(w io.Writer, s stats, ratio float64) {
	fmt.Fprintf(w, "| %s | %d | %d | %.0f | %s | %s | %.3f |\n", s.name, s.requests, s.errors,
		s.reqPerSec(), ms(s.percentile(0.50)), ms(s.percentile(0.99)), ratio)
}

// writeErrors prints the first error of each operation that had any and
// returns how many had.
func writeErrors(w io.Writer, results []stats) int {
	var failed int
	for _, s := range results {
		if s.errors == 0 {
			continue
		}
		if failed == 0 {
			fmt.Fprintln(w, "\nErrors (the first of each operation):")
		}
		failed++
		fmt.Fprintf(w, "- %s: %d of %d failed; first: %v\n", s.name, s.errors, s.requests, s.firstErr)
	}
	return failed
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}
