package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestGroupListsLeaveMembersOut: a list of groups (GET /Groups, .search,
// the root) returns no members unless asked for them by name, so its size
// does not grow with the groups' sizes; asked for, the members of one page
// are bounded by the store's MaxListMembers (400 tooMany past it). A single
// group's GET still returns its members.
func TestGroupListsLeaveMembersOut(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		var uids []string
		for i := range 30 {
			uids = append(uids, str(a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("lm%d@example.com", i), nil)).must(t, http.StatusCreated).body, "id"))
		}
		var gids []string
		for i := range 3 {
			gids = append(gids, str(a.do("POST", "/Groups", ownerToken, group(fmt.Sprintf("Listed%d", i), uids[i*5:i*5+5]...)).must(t, http.StatusCreated).body, "id"))
		}
		search := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": `displayName sw "Listed"`}
		lists := func() []response {
			return []response{
				a.do("GET", "/Groups?count=100", readerToken, nil).must(t, http.StatusOK),
				a.do("GET", "/Groups?filter="+url.QueryEscape(`displayName sw "listed"`)+"&sortBy=displayName", readerToken, nil).must(t, http.StatusOK),
				a.do("GET", "/Groups?filter="+url.QueryEscape(`displayName co "isted"`), readerToken, nil).must(t, http.StatusOK),
				a.do("POST", "/Groups/.search", readerToken, search).must(t, http.StatusOK),
				a.do("GET", "/?filter="+url.QueryEscape(`displayName sw "Listed"`), readerToken, nil).must(t, http.StatusOK),
			}
		}
		before := lists()
		for _, r := range before {
			if strings.Contains(r.raw, `"members"`) {
				t.Errorf("a list of groups without attributes=members returned members: %.300s", r.raw)
			}
			if n := len(r.body["Resources"].([]any)); n != 3 {
				t.Errorf("a list of groups returned %d groups, want 3: %.300s", n, r.raw)
			}
		}
		// 15 more members (about 2,600 bytes of JSON) change no list's size
		// but for the group's meta (lastModified's digits, version).
		var more []any
		for _, id := range uids[15:] {
			more = append(more, map[string]any{"value": id})
		}
		a.do("PATCH", "/Groups/"+gids[0], ownerToken, patch(op("add", "members", more))).must(t, http.StatusOK)
		for i, r := range lists() {
			if d := len(r.raw) - len(before[i].raw); d > 16 || d < -16 {
				t.Errorf("list %d: %d bytes before 15 more members, %d after; want about the same", i, len(before[i].raw), len(r.raw))
			}
		}
		if got := a.do("GET", "/Groups/"+gids[0], readerToken, nil).must(t, http.StatusOK).body["members"].([]any); len(got) != 20 {
			t.Errorf("GET /Groups/{id}: %d members, want 20", len(got))
		}

		// Asked for by name, members come, within the bound.
		r := a.do("GET", "/Groups?attributes=members&count=2", readerToken, nil).must(t, http.StatusOK)
		if got := len(r.body["Resources"].([]any)[0].(map[string]any)["members"].([]any)); got != 20 {
			t.Errorf("GET /Groups?attributes=members: the first group has %d members, want 20", got)
		}
		a.store.MaxListMembers = 24
		a.do("GET", "/Groups?attributes=members&count=2", readerToken, nil).scimError(t, http.StatusBadRequest, "tooMany",
			"the 2 groups of this page have 25 members, more than the 24 one list returns")
		a.do("GET", "/Groups?attributes=displayName,members.value&count=1", readerToken, nil).must(t, http.StatusOK)
		a.do("POST", "/Groups/.search", readerToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "attributes": []string{"members"}, "filter": `displayName co "isted"`,
		}).scimError(t, http.StatusBadRequest, "tooMany", "more than the 24 one list returns")
	})
}
