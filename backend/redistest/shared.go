package redistest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// owner is what a started server needs of whoever owns it: a test
// (testing.TB), or the test binary for a shared cluster (processOwner).
type owner interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Fatalf(format string, args ...any)
}

// processOwner owns the servers of a shared cluster: they live as long as
// the test binary (and die with it, see dieWithParent).
type processOwner struct{}

// ownerFailed is how processOwner.Fatalf stops the start of a shared cluster.
type ownerFailed struct{ err error }

func (processOwner) Helper()        {}
func (processOwner) Cleanup(func()) {}
func (processOwner) TempDir() string {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		panic(ownerFailed{err})
	}
	return dir
}
func (processOwner) Fatalf(format string, args ...any) {
	panic(ownerFailed{fmt.Errorf(format, args...)})
}

var shared struct {
	once  sync.Once
	url   string
	addrs []string
	err   error
}

// SharedCluster returns the URL of a three-primary Redis Cluster that every
// test of the test binary shares, started at the first call, emptied
// (FLUSHALL on every primary) at each call: for running a package's tests on
// Cluster too without starting one per test. Tests that use it must not run
// in parallel with each other.
func SharedCluster(tb testing.TB) (url string) {
	tb.Helper()
	bin := lookPath(tb)
	shared.once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(ownerFailed)
				if !ok {
					panic(r)
				}
				shared.err = f.err
			}
		}()
		c := startCluster(processOwner{}, bin, ClusterOptions{Masters: 3})
		shared.url, shared.addrs = c.URL(), c.Addrs
	})
	if shared.err != nil {
		tb.Fatalf("shared redis cluster: %v", shared.err)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: shared.addrs})
	defer c.Close()
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		return m.FlushAll(ctx).Err()
	})
	if err != nil {
		tb.Fatalf("empty the shared redis cluster: %v", err)
	}
	return shared.url
}
