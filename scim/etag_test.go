package scim_test

import (
	"net/http"
	"testing"
)

// TestETagFollowsComputedAttributes: a user's "groups" and a group's
// members' "display" are part of what their ETags stand for (RFC 7644
// §3.14), so a change to them is a new version: a client holding the old
// ETag gets the new representation, not 304, and cannot write over it.
func TestETagFollowsComputedAttributes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		uid := str(a.do("POST", "/Users", ownerToken, user("etag@example.com", nil)).must(t, 201).body, "id")
		gid := str(a.do("POST", "/Groups", ownerToken, group("Etags")).must(t, 201).body, "id")
		etag := func(path string) string { return a.do("GET", path, ownerToken, nil).must(t, 200).header.Get("ETag") }
		steps := []struct {
			name, method, path string
			body               any
			changes            []string // resources whose ETag must change
		}{
			{"add member", "PATCH", "/Groups/" + gid, patch(op("add", "members", []any{map[string]any{"value": uid}})), []string{"/Users/" + uid, "/Groups/" + gid}},
			{"rename group", "PATCH", "/Groups/" + gid, patch(op("replace", "displayName", "Etags2")), []string{"/Users/" + uid, "/Groups/" + gid}},
			{"rename member", "PATCH", "/Users/" + uid, patch(op("replace", "displayName", "Etta")), []string{"/Users/" + uid, "/Groups/" + gid}},
			{"remove member", "PATCH", "/Groups/" + gid, patch(op("remove", `members[value eq "`+uid+`"]`, nil)), []string{"/Users/" + uid, "/Groups/" + gid}},
			{"add again, then delete group", "PATCH", "/Groups/" + gid, patch(op("add", "members", []any{map[string]any{"value": uid}})), []string{"/Users/" + uid}},
		}
		for _, s := range steps {
			before := map[string]string{}
			for _, p := range s.changes {
				before[p] = etag(p)
			}
			a.do(s.method, s.path, ownerToken, s.body).must(t, 200)
			for _, p := range s.changes {
				if a.do("GET", p, ownerToken, nil, "If-None-Match", before[p]).status != http.StatusOK {
					t.Errorf("%s: GET %s with If-None-Match of the old ETag %s is not 200: the ETag did not change", s.name, p, before[p])
				}
				r := a.do("PATCH", p, ownerToken, patch(op("add", "externalId", "x-"+s.name)), "If-Match", before[p])
				r.scimError(t, http.StatusPreconditionFailed, "", "version")
			}
		}
		before := etag("/Users/" + uid)
		a.do("DELETE", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusNoContent)
		if got := etag("/Users/" + uid); got == before {
			t.Errorf("deleting the user's group kept its ETag %s", got)
		}
	})
}

// TestIfMatchLists: If-Match and If-None-Match take lists of tags (RFC 9110
// §13.1.1); a GET whose If-Match names no current version is 412.
func TestIfMatchLists(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		r := a.do("POST", "/Users", ownerToken, user("lists@example.com", nil)).must(t, 201)
		uid, cur := str(r.body, "id"), r.header.Get("ETag")
		a.do("GET", "/Users/"+uid, ownerToken, nil, "If-Match", `W/"999", `+cur).must(t, 200)
		a.do("GET", "/Users/"+uid, ownerToken, nil, "If-Match", `W/"999"`).scimError(t, http.StatusPreconditionFailed, "", "current version")
		a.do("GET", "/Users/"+uid, ownerToken, nil, "If-None-Match", `W/"999", `+cur).must(t, http.StatusNotModified)
		a.do("PATCH", "/Users/"+uid, ownerToken, patch(op("add", "nickName", "Stale")), "If-Match", `W/"998", W/"999"`).
			scimError(t, http.StatusPreconditionFailed, "", "current version")
		a.do("PATCH", "/Users/"+uid, ownerToken, patch(op("add", "nickName", "Listed")), "If-Match", `W/"999", `+cur).must(t, 200)
		got := a.do("GET", "/Users/"+uid, ownerToken, nil).must(t, 200)
		if str(got.body, "nickName") != "Listed" {
			t.Errorf("nickName = %q after a PATCH whose If-Match list held the current ETag, want Listed", str(got.body, "nickName"))
		}
		a.do("DELETE", "/Users/"+uid, ownerToken, nil, "If-Match", `W/"1", W/"7"`).scimError(t, http.StatusPreconditionFailed, "", "current version")
		a.do("DELETE", "/Users/"+uid, ownerToken, nil, "If-Match", `"x", *`).must(t, http.StatusNoContent)
	})
}
