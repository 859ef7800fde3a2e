package redistest

import (
	"slices"
	"testing"
)

// Store names a store the API tests run on.
type Store string

// The stores the API tests run on.
const (
	// EmbeddedStore is scimd's in-process store (backend.Open with URL "").
	EmbeddedStore Store = "embedded"
	// RedisStore is a redis-server of the test's own ([Start]).
	RedisStore Store = "redis"
	// ClusterStore is the three-primary Redis Cluster the test binary's tests
	// share ([SharedCluster]: tests that use it must not run in parallel).
	ClusterStore Store = "cluster"
)

// EachStore runs fn as a subtest named after the store on each store of
// only (all three when only is empty, as every API test group runs), given
// the store's URL for backend.Open ("" for the embedded store).
func EachStore(t *testing.T, fn func(t *testing.T, url string), only ...Store) {
	t.Helper()
	for _, s := range []struct {
		name Store
		url  func(testing.TB) string
	}{
		{EmbeddedStore, func(testing.TB) string { return "" }},
		{RedisStore, Start},
		{ClusterStore, SharedCluster},
	} {
		if len(only) == 0 || slices.Contains(only, s.name) {
			t.Run(string(s.name), func(t *testing.T) { fn(t, s.url(t)) })
		}
	}
}
