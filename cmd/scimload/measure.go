package main

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// stats is the outcome of one measured operation.
type stats struct {
	name     string
	requests int
	errors   int
	firstErr error
	elapsed  time.Duration
	// latencies of every completed request, failed ones too, sorted.
	latencies []time.Duration
}

// reqPerSec is completed requests per second of wall time.
func (s stats) reqPerSec() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.requests) / s.elapsed.Seconds()
}

// percentile is the nearest-rank q-th latency, 0 < q <= 1.
func (s stats) percentile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(s.latencies)))) - 1
	return s.latencies[max(i, 0)]
}

// measure runs op with workers concurrent loops until d has passed. Requests
// under way at the deadline finish and count, so that no connection is cut;
// elapsed runs until the last one ends.
func measure(ctx context.Context, op operation, d time.Duration, workers int) stats {
	start := time.Now()
	deadline := start.Add(d)
	per := make([]stats, workers)
	var wg sync.WaitGroup
	for i := range per {
		wg.Go(func() { per[i] = work(ctx, op, deadline) })
	}
	wg.Wait()
	total := stats{name: op.name, elapsed: time.Since(start)}
	for _, s := range per {
		total.requests += s.requests
		total.errors += s.errors
		if total.firstErr == nil {
			total.firstErr = s.firstErr
		}
		total.latencies = append(total.latencies, s.latencies...)
	}
	slices.Sort(total.latencies)
	return total
}

// work is one worker's loop.
func work(ctx context.Context, op operation, deadline time.Time) stats {
	var s stats
	for ctx.Err() == nil && time.Now().Before(deadline) {
		t := time.Now()
		err := op.request(ctx)
		if ctx.Err() != nil {
			break // interrupted: not a failure of the server
		}
		s.latencies = append(s.latencies, time.Since(t))
		s.requests++
		if err != nil {
			s.errors++
			if s.firstErr == nil {
				s.firstErr = err
			}
		}
	}
	return s
}
