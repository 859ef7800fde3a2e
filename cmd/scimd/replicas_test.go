package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
)

// TestReplicasRevokeAndLimitTogether runs two scimd servers on one
// redis-server: a token revoked with "scimd token revoke" is refused by both
// before their token cache (5 s) would have let it go, and one token's rate
// limit is shared (its burst, over both, and no more).
func TestReplicasRevokeAndLimitTogether(t *testing.T) {
	url := redistest.Start(t)
	const owner = "scimd_replicas-test-owner-token-0123456789"
	env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_BOOTSTRAP_TOKEN": owner, "SCIM_TOKEN_RATE": "0.01", "SCIM_TOKEN_BURST": "10"}
	a, _ := start(t, env)
	b, _ := start(t, env)

	sync := strings.TrimSpace(mustAdmin(t, url, "token", "create", "--org", "default", "--role", "reader", "--name", "sync"))
	for _, base := range []string{a, b} {
		if status, _ := call(t, "GET", base+"/scim/v2/Users", sync, ""); status != http.StatusOK {
			t.Fatalf("GET /Users on %s with a new token: status %d", base, status)
		}
	}
	revoked := time.Now()
	mustAdmin(t, url, "token", "revoke", "--org", "default", "--name", "sync")
	for _, base := range []string{a, b} {
		for {
			status, _ := call(t, "GET", base+"/scim/v2/Users", sync, "")
			if status == http.StatusUnauthorized {
				break
			}
			if time.Since(revoked) > 4*time.Second {
				t.Fatalf("%s still accepts a revoked token %v after the revocation (status %d): it waited for its token cache", base, time.Since(revoked), status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// The owner token: 10 at once in all, over both servers.
	ok := 0
	for i := range 12 {
		if status, _ := call(t, "GET", []string{a, b}[i%2]+"/scim/v2/ServiceProviderConfig", owner, ""); status == http.StatusOK {
			ok++
		}
	}
	if ok != 10 {
		t.Errorf("12 requests of one token over two servers, burst 10: %d answered, want 10", ok)
	}
}
