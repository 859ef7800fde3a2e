package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// commandCount is commandCalls (redisfaults_test.go) of one command, on
// the redis-server at url, or summed over every node of the Redis Cluster at url.
func commandCount(t *testing.T, url, name string) int {
	t.Helper()
	if rest, ok := strings.CutPrefix(url, "redis+cluster://"); ok {
		// Every primary's count: "a?addr=b&addr=c" names every node.
		first, query, _ := strings.Cut(rest, "?")
		addrs := []string{first}
		for _, kv := range strings.Split(query, "&") {
			if a, ok := strings.CutPrefix(kv, "addr="); ok {
				addrs = append(addrs, a)
			}
		}
		n := 0
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			n += commandCalls(t, c, name)
			c.Close()
		}
		return n
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", url, err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	return commandCalls(t, c, name)
}

// TestGroupMembersStreamed: GET /Groups/{id} (and a PATCH's response) writes
// the members of a large group batch by batch as the store scans them, never
// reading them whole (no HGETALL of the member hash on a real redis-server),
// each member once, projected as asked.
func TestGroupMembersStreamed(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		ctx := resources.WithActor(context.Background(), "test")
		// Members: a few HSCAN batches on redis-server; the embedded store
		// (whose sorted sets are slow to write) answers HSCAN in one.
		n := 50
		if a.url != "" {
			n = 2500
		}
		ids := make([]string, n)
		for i := range ids {
			u, err := a.store.CreateUser(ctx, "acme", resources.Resource{Attributes: map[string]any{"userName": fmt.Sprintf("s%d@example.com", i)}}, resources.UserWrite{})
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			ids[i] = u.ID
		}
		g, err := a.store.CreateGroup(ctx, "acme", resources.Resource{Attributes: map[string]any{"displayName": "Streamed"}})
		if err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		if _, err := a.store.UpdateGroup(ctx, "acme", resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: ids}); err != nil {
			t.Fatalf("UpdateGroup: %v", err)
		}
		var hgetall, hscan int
		if a.url != "" {
			hgetall, hscan = commandCount(t, a.url, "hgetall"), commandCount(t, a.url, "hscan")
		}
		r := a.do("GET", "/Groups/"+g.ID, readerToken, nil).must(t, http.StatusOK)
		if a.url != "" {
			if d := commandCount(t, a.url, "hgetall") - hgetall; d != 0 {
				t.Errorf("GET of a group of %d members ran HGETALL %d times, want 0 (members read whole)", n, d)
			}
			if d := commandCount(t, a.url, "hscan") - hscan; d < 2 {
				t.Errorf("GET of a group of %d members ran HSCAN %d times, want batches", n, d)
			}
		}
		if r.header.Get("ETag") == "" || str(r.body, "displayName") != "Streamed" || str(r.body, "meta", "resourceType") != "Group" {
			t.Errorf("GET /Groups/{id}: ETag %q, body %.300s", r.header.Get("ETag"), r.raw)
		}
		members, _ := r.body["members"].([]any)
		seen := map[string]bool{}
		for _, m := range members {
			m := m.(map[string]any)
			id := str(m, "value")
			if seen[id] || str(m, "$ref") != a.srv.URL+"/scim/v2/Users/"+id || str(m, "type") != "User" || !strings.HasSuffix(str(m, "display"), "@example.com") {
				t.Fatalf("member %v: repeated or malformed", m)
			}
			seen[id] = true
		}
		if len(seen) != n {
			t.Errorf("GET /Groups/{id}: %d distinct members, want %d", len(seen), n)
		}

		for _, c := range []struct {
			query string
			keys  string // a member's keys, or "" for no members
		}{
			{"attributes=members.value", "value"},
			{"attributes=displayName,members.display,members.value", "display,value"},
			{"excludedAttributes=members.display,members.$ref", "type,value"},
			{"attributes=displayName", ""},
			{"excludedAttributes=members", ""},
		} {
			r := a.do("GET", "/Groups/"+g.ID+"?"+c.query, readerToken, nil).must(t, http.StatusOK)
			members, _ := r.body["members"].([]any)
			if c.keys == "" {
				if members != nil {
					t.Errorf("GET ?%s returned members", c.query)
				}
				continue
			}
			if len(members) != n {
				t.Errorf("GET ?%s: %d members, want %d", c.query, len(members), n)
				continue
			}
			var keys []string
			for k := range members[0].(map[string]any) {
				keys = append(keys, k)
			}
			if got := strings.Join(sortedStrings(keys), ","); got != c.keys {
				t.Errorf("GET ?%s: a member has %s, want %s", c.query, got, c.keys)
			}
		}

		// A PATCH's response streams them too.
		u := str(a.do("POST", "/Users", ownerToken, user("one-more@example.com", nil)).must(t, http.StatusCreated).body, "id")
		r = a.do("PATCH", "/Groups/"+g.ID, ownerToken, patch(op("add", "members", []any{map[string]any{"value": u}}))).must(t, http.StatusOK)
		if got := len(r.body["members"].([]any)); got != n+1 {
			t.Errorf("PATCH response: %d members, want %d", got, n+1)
		}
		// A group without members has none.
		empty := str(a.do("POST", "/Groups", ownerToken, group("Empty")).must(t, http.StatusCreated).body, "id")
		if r := a.do("GET", "/Groups/"+empty, readerToken, nil).must(t, http.StatusOK); strings.Contains(r.raw, "members") {
			t.Errorf("GET of a group without members: %s", r.raw)
		}
	})
}

func sortedStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}
