package main

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// TestServerResumesSubstringSweep: a trigram index build that a change of
// the setting left unfinished (its minute ran out) is finished by a running
// server, without a restart; then co answers from the index.
func TestServerResumesSubstringSweep(t *testing.T) {
	// Restored by a cleanup registered before the server's, so that it runs
	// after the server stopped reading it.
	was := extensionSweepInterval
	t.Cleanup(func() { extensionSweepInterval = was })
	extensionSweepInterval = 100 * time.Millisecond
	url := redistest.Start(t)
	const token = "test-bootstrap-token-sweep"
	base, _ := start(t, map[string]string{"SCIM_REDIS_URL": url, "SCIM_BOOTSTRAP_TOKEN": token})
	for _, name := range []string{"Lovelace", "Hopper", "Loveless"} {
		if status, body := call(t, "POST", base+"/scim/v2/Users", token,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+strings.ToLower(name)+`@example.com","name":{"familyName":"`+name+`"}}`); status != 201 {
			t.Fatalf("POST /Users %s = %d %v", name, status, body)
		}
	}
	// What a change whose sweep ran out of time leaves: the setting, the
	// sweep from the first user, and a new generation of the User type.
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	p := "scimd:{default}:"
	if err := c.HSet(t.Context(), p+"settings", "substringSearch", "name.familyName", "substringSweep", `{"attrs":["name.familyName"],"after":0}`).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Incr(t.Context(), p+"exts:gen").Err(); err != nil {
		t.Fatal(err)
	}
	store, err := backend.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		set, err := store.OrgSettings(t.Context(), "default")
		if err != nil {
			t.Fatal(err)
		}
		if set.SubstringPending == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running server did not finish the sweep within 30s: pending %q", set.SubstringPending)
		}
	}
	if n, err := c.ZCard(t.Context(), p+"ix:user:name.familyName#3").Result(); err != nil || n == 0 {
		t.Fatalf("trigram entries after the sweep: %d, %v", n, err)
	}
	store.MaxScan = 1 // a scan could not answer: the index must
	rt, err := resources.NewUsers(store).TypeFor(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	e, err := resources.ParseFilter(rt, `name.familyName co "ove"`, "")
	if err != nil {
		t.Fatal(err)
	}
	page, err := store.ListUsers(t.Context(), "default", resources.Query{Filter: e, StartIndex: 1, Count: 10, Type: &rt})
	if err != nil || page.Total != 2 {
		t.Fatalf("name.familyName co \"ove\" after the sweep: %d, %v; want Lovelace and Loveless", page.Total, err)
	}
}
