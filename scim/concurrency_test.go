package scim_test

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentWritersLoseNothing: member adds to one group and PATCHes to
// one user, all at once, without If-Match, all land.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const n = 16
		ids := make([]string, n)
		for i := range ids {
			ids[i] = str(a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("c%d@example.com", i), nil)).must(t, 201).body, "id")
		}
		gid := str(a.do("POST", "/Groups", ownerToken, group("Crowd")).must(t, 201).body, "id")
		var wg sync.WaitGroup
		statuses := make([]int, 2*n)
		for i := 0; i < n; i++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				r := a.do("PATCH", "/Groups/"+gid+"?excludedAttributes=members", ownerToken,
					patch(op("Add", "members", []any{map[string]any{"$ref": nil, "value": ids[i]}})))
				statuses[i] = r.status
			}()
			go func() {
				defer wg.Done()
				r := a.do("PATCH", "/Users/"+ids[0], ownerToken,
					patch(op("add", "phoneNumbers", []any{map[string]any{"value": fmt.Sprintf("+1 555 %04d", i), "type": "work"}})))
				statuses[n+i] = r.status
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != 200 {
				t.Errorf("request %d: status %d, want 200", i, s)
			}
		}
		if got := memberIDs(a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, 200).body); len(got) != n {
			t.Errorf("group has %d members after %d concurrent adds", len(got), n)
		}
		u := a.do("GET", "/Users/"+ids[0], ownerToken, nil).must(t, 200)
		if phones, _ := u.body["phoneNumbers"].([]any); len(phones) != n {
			t.Errorf("user has %d phone numbers after %d concurrent adds", len(phones), n)
		}
		// Created, n PATCHes, and joining the group: each a new version.
		if str(u.body, "meta", "version") != fmt.Sprintf(`W/"%d"`, n+2) {
			t.Errorf("user version = %s, want W/\"%d\"", str(u.body, "meta", "version"), n+2)
		}
	})
}
