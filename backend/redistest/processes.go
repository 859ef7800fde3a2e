package redistest

import "sync"

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
