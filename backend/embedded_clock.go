package backend

import (
	"time"

	"github.com/alicebob/miniredis/v2"
)

// The embedded store's expiries (invitations, tickets, sessions, rate
// limits) follow the wall clock, as Redis's do. miniredis can do that at
// every command (ClockTTL), but then each command walks and sorts every key
// to age their TTLs: seeding 10,000 customers took minutes (10 s for the
// first thousand, a minute for the fifth), and a /Bulk of that size hit the
// server's write timeout. Instead, a clock ages the TTLs in the
// background: every tick, or longer when a tick is costly, so that ageing
// takes at most about 1/clockShare of the time. An expiry is late by a tick
// at most: 20 ms for a small store, a second or two for a very large one.

const (
	// clockTick is how often the clock ages the TTLs of a small store.
	clockTick = 20 * time.Millisecond
	// clockMaxTick bounds the wait between ticks, however large the store.
	clockMaxTick = 2 * time.Second
	// clockShare: a tick waits clockShare times what the last one cost.
	clockShare = 20
)

// runClock ages m's TTLs by the time elapsed, tick by tick, until stop is
// closed; done is closed when it returns.
func runClock(m *miniredis.Miniredis, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	last := time.Now()
	wait := clockTick
	for {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		now := time.Now()
		m.FastForward(now.Sub(last))
		last = now
		cost := time.Since(now)
		wait = min(max(clockTick, clockShare*cost), clockMaxTick)
	}
}
