package main

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// writeFacts prints what the numbers depend on.
func writeFacts(w io.Writer, cfg config, users int) {
	fmt.Fprintf(w, "scimload against %s (%s %s/%s)\n\n", cfg.url, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- GOMAXPROCS: %d\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "- NumCPU: %d\n", runtime.NumCPU())
	fmt.Fprintf(w, "- users seeded: %d (in use: %d)\n", cfg.users, users)
	fmt.Fprintf(w, "- concurrency: %d\n", cfg.concurrency)
	fmt.Fprintf(w, "- duration per operation: %s\n\n", cfg.duration)
}

// writeTable prints results as a Markdown table; the first row is the
// baseline the ratios are relative to.
func writeTable(w io.Writer, results []stats) {
	fmt.Fprintln(w, "| operation | requests | errors | req/s | p50 ms | p99 ms | ratio to baseline |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	if len(results) == 0 {
		return
	}
	base := results[0].reqPerSec()
	for _, s := range results {
		ratio := 0.0
		if base > 0 {
			ratio = s.reqPerSec() / base
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %s | %s | %.3f |\n", s.name, s.requests, s.errors,
			s.reqPerSec(), ms(s.percentile(0.50)), ms(s.percentile(0.99)), ratio)
	}
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
