package redistest

import (
	"sync"
	"time"
)

// processes are the redis-server processes of a [Cluster] or a [Sentinel]
// set, by address, so that a test can kill one.
type processes struct {
	mu    sync.Mutex
	stops map[string]func()
}

// add records how to stop the process at addr.
func (p *processes) add(addr string, stop func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stops == nil {
		p.stops = map[string]func(){}
	}
	p.stops[addr] = stop
}

// Kill kills the process at addr at once (SIGKILL), as a crash does.
func (p *processes) Kill(addr string) {
	p.mu.Lock()
	stop := p.stops[addr]
	p.mu.Unlock()
	stop()
}

// await polls ok every 20 ms until it holds, or fails tb at deadline with
// ok's last error: how a set of servers is waited for until it is ready.
func await(tb owner, deadline time.Time, what string, ok func() (bool, error)) {
	tb.Helper()
	for {
		done, err := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not in time: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
