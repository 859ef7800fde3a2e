package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// memberIDs returns the member ids of a group document, sorted.
func memberIDs(body map[string]any) []string {
	var ids []string
	list, _ := body["members"].([]any)
	for _, m := range list {
		ids = append(ids, str(m, "value"))
	}
	sort.Strings(ids)
	return ids
}

// groupIDs returns the group ids of a user document, sorted.
func groupIDs(body map[string]any) []string {
	var ids []string
	list, _ := body["groups"].([]any)
	for _, m := range list {
		ids = append(ids, str(m, "value"))
	}
	sort.Strings(ids)
	return ids
}

func sorted(ids ...string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGroupsAndMembership(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u1 := str(a.do("POST", "/Users", ownerToken, user("u1@example.com", nil)).must(t, 201).body, "id")
		u2 := str(a.do("POST", "/Users", ownerToken, user("u2@example.com", nil)).must(t, 201).body, "id")
		u3 := str(a.do("POST", "/Users", ownerToken, user("u3@example.com", nil)).must(t, 201).body, "id")

		g := a.do("POST", "/Groups", collabToken, group("Gold", u1, u2)).must(t, 201)
		gid := str(g.body, "id")
		if got := memberIDs(g.body); !equal(got, sorted(u1, u2)) {
			t.Errorf("created members = %v, want %v", got, sorted(u1, u2))
		}
		a.do("POST", "/Groups", ownerToken, group("gold")).scimError(t, 409, "uniqueness", "gold")
		a.do("POST", "/Groups", ownerToken, group("Ghost", "no-such-user")).scimError(t, 400, "invalidValue", "no-such-user")
		if r := a.do("GET", "/Groups?filter="+urlQuery(`displayName eq "Ghost"`), ownerToken, nil).must(t, 200); r.body["totalResults"] != float64(0) {
			t.Errorf("a refused group was stored: %s", r.raw)
		}

		u1doc := a.do("GET", "/Users/"+u1, ownerToken, nil).must(t, 200)
		if got := groupIDs(u1doc.body); !equal(got, []string{gid}) || str(u1doc.body, "groups", 0, "display") != "Gold" {
			t.Errorf("user groups = %s", u1doc.raw)
		}

		steps := []struct {
			name string
			ops  map[string]any
			want []string
		}{
			{"Entra add with $ref null", patch(op("Add", "members", []any{map[string]any{"$ref": nil, "value": u3}})), sorted(u1, u2, u3)},
			{"Entra legacy remove by value list", patch(op("Remove", "members", []any{map[string]any{"value": u1}})), sorted(u2, u3)},
			{"RFC remove by filter", patch(op("remove", `members[value eq "`+u2+`"]`, nil)), []string{u3}},
			{"Okta batch add", patch(op("add", "members", []any{map[string]any{"value": u1}, map[string]any{"value": u2}})), sorted(u1, u2, u3)},
			{"replace members", patch(op("replace", "members", []any{map[string]any{"value": u1}})), []string{u1}},
			{"remove all", patch(op("Remove", "members", nil)), nil},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				a.do("PATCH", "/Groups/"+gid, ownerToken, s.ops).must(t, 200)
				got := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, 200)
				if ids := memberIDs(got.body); !equal(ids, s.want) {
					t.Errorf("members = %v, want %v", ids, s.want)
				}
				for _, u := range []string{u1, u2, u3} {
					in := false
					for _, w := range s.want {
						in = in || w == u
					}
					ug := groupIDs(a.do("GET", "/Users/"+u, ownerToken, nil).must(t, 200).body)
					if in != (len(ug) == 1) {
						t.Errorf("user %s groups = %v, member = %v: they disagree", u, ug, in)
					}
				}
			})
		}

		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": u1}}))).must(t, 200)
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": "missing"}}))).scimError(t, 400, "invalidValue", "missing")

		// Rename is visible in the members' groups.
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("replace", "displayName", "Platinum"))).must(t, 200)
		if d := str(a.do("GET", "/Users/"+u1, ownerToken, nil).body, "groups", 0, "display"); d != "Platinum" {
			t.Errorf("user's group display = %q after rename, want Platinum", d)
		}
		// Entra's existence check for groups.
		r := a.do("GET", "/Groups?excludedAttributes=members&filter="+urlQuery(`displayName eq "platinum"`), ownerToken, nil).must(t, 200)
		if r.body["totalResults"] != float64(1) || str(r.body, "Resources", 0, "members") != "" {
			t.Errorf("group filter = %s", r.raw)
		}

		// Deleting a user removes it from every group.
		a.do("DELETE", "/Users/"+u1, ownerToken, nil).must(t, http.StatusNoContent)
		if ids := memberIDs(a.do("GET", "/Groups/"+gid, ownerToken, nil).body); len(ids) != 0 {
			t.Errorf("deleted user still a member: %v", ids)
		}
		// Deleting a group removes it from its members' groups.
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": u2}}))).must(t, 200)
		a.do("DELETE", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusNoContent)
		if ug := groupIDs(a.do("GET", "/Users/"+u2, ownerToken, nil).body); len(ug) != 0 {
			t.Errorf("user still in deleted group: %v", ug)
		}
		a.do("POST", "/Groups", ownerToken, group("Platinum")).must(t, 201)
	})
}

func TestGroupPut(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u1 := str(a.do("POST", "/Users", ownerToken, user("a1@example.com", nil)).must(t, 201).body, "id")
		u2 := str(a.do("POST", "/Users", ownerToken, user("a2@example.com", nil)).must(t, 201).body, "id")
		gid := str(a.do("POST", "/Groups", ownerToken, group("G", u1)).must(t, 201).body, "id")
		a.do("POST", "/Groups", ownerToken, group("H")).must(t, 201)
		r := a.do("PUT", "/Groups/"+gid, ownerToken, group("G2", u2)).must(t, 200)
		if ids := memberIDs(r.body); !equal(ids, []string{u2}) || str(r.body, "displayName") != "G2" {
			t.Errorf("PUT group = %s", r.raw)
		}
		a.do("PUT", "/Groups/"+gid, ownerToken, group("h")).scimError(t, 409, "uniqueness", "")
		if len(groupIDs(a.do("GET", "/Users/"+u1, ownerToken, nil).body)) != 0 {
			t.Errorf("u1 still has the group after PUT removed it")
		}
	})
}

// TestUnchangedGroupWriteKeepsVersion: re-adding a member, removing a
// non-member or writing the same group again changes nothing, so the
// version and lastModified stay; a real change still moves them.
func TestUnchangedGroupWriteKeepsVersion(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u1 := str(a.do("POST", "/Users", ownerToken, user("m1@example.com", nil)).must(t, 201).body, "id")
		u2 := str(a.do("POST", "/Users", ownerToken, user("m2@example.com", nil)).must(t, 201).body, "id")
		created := a.do("POST", "/Groups", ownerToken, group("Same", u1)).must(t, 201)
		id, etag := str(created.body, "id"), created.header.Get("ETag")
		modified := str(created.body, "meta", "lastModified")
		member := func(uid string) []any { return []any{map[string]any{"value": uid, "$ref": nil}} }
		unchanged := []struct {
			name, method string
			body         any
		}{
			{"PATCH add an existing member", "PATCH", patch(op("Add", "members", member(u1)))},
			{"PATCH remove a non-member", "PATCH", patch(op("remove", "members", member(u2)))},
			{"PATCH same displayName", "PATCH", patch(op("replace", "displayName", "Same"))},
			{"PUT the same group", "PUT", group("Same", u1)},
		}
		for _, c := range unchanged {
			t.Run(c.name, func(t *testing.T) {
				r := a.do(c.method, "/Groups/"+id, ownerToken, c.body).must(t, 200)
				if got := r.header.Get("ETag"); got != etag {
					t.Errorf("ETag = %s, want %s unchanged", got, etag)
				}
				if got := str(r.body, "meta", "lastModified"); got != modified {
					t.Errorf("lastModified = %s, want %s unchanged", got, modified)
				}
				if got := memberIDs(r.body); !equal(got, sorted(u1)) {
					t.Errorf("members = %v, want [%s]", got, u1)
				}
			})
		}
		r := a.do("PATCH", "/Groups/"+id, ownerToken, patch(op("Add", "members", member(u2)))).must(t, 200)
		if r.header.Get("ETag") == etag || !equal(memberIDs(r.body), sorted(u1, u2)) {
			t.Errorf("adding a new member: ETag %s (was %s), members %v", r.header.Get("ETag"), etag, memberIDs(r.body))
		}
	})
}

// TestGroupDisplayNameSpaces: a group's displayName is trimmed on every
// write, so "Gold " is the name "Gold": uniqueness, filters and the
// displayName shown agree.
func TestGroupDisplayNameSpaces(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Groups", ownerToken, group("Gold")).must(t, http.StatusCreated)
		a.do("POST", "/Groups", ownerToken, group("Gold ")).scimError(t, http.StatusConflict, "uniqueness", `"Gold"`)
		a.do("POST", "/Groups", ownerToken, group("\tgold")).scimError(t, http.StatusConflict, "uniqueness", "gold")
		a.do("POST", "/Groups", ownerToken, group("   ")).scimError(t, 400, "invalidValue", "displayName")
		silver := a.do("POST", "/Groups", ownerToken, group(" Silver ")).must(t, http.StatusCreated)
		id := str(silver.body, "id")
		if got := str(silver.body, "displayName"); got != "Silver" {
			t.Errorf("POST displayName = %q, want Silver", got)
		}
		a.do("PUT", "/Groups/"+id, ownerToken, group("Gold ")).scimError(t, http.StatusConflict, "uniqueness", "Gold")
		a.do("PATCH", "/Groups/"+id, ownerToken, patch(op("replace", "displayName", " GOLD"))).scimError(t, http.StatusConflict, "uniqueness", "GOLD")
		a.do("PATCH", "/Groups/"+id, ownerToken, patch(op("replace", "", map[string]any{"displayName": "Gold\n"}))).scimError(t, http.StatusConflict, "uniqueness", "Gold")
		a.do("PATCH", "/Groups/"+id, ownerToken, patch(op("replace", "displayName", "Bronze  "))).must(t, http.StatusOK)
		r := a.do("GET", "/Groups?filter="+urlQuery(`displayName eq "Bronze"`), ownerToken, nil).must(t, http.StatusOK)
		if r.body["totalResults"] != float64(1) || str(r.body, "Resources", 0, "displayName") != "Bronze" {
			t.Errorf("filter displayName eq \"Bronze\" after renaming to \"Bronze  \" = %s", r.raw)
		}
		a.do("PUT", "/Groups/"+id, ownerToken, group(" Platinum")).must(t, http.StatusOK)
		if got := str(a.do("GET", "/Groups/"+id, ownerToken, nil).must(t, http.StatusOK).body, "displayName"); got != "Platinum" {
			t.Errorf("PUT displayName = %q, want Platinum", got)
		}
	})
}

// TestGroupBodyNamesAttributeOnce: a group body naming displayName or
// members twice is refused, naming both.
func TestGroupBodyNamesAttributeOnce(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := str(a.do("POST", "/Users", ownerToken, user("gm@example.com", nil)).must(t, http.StatusCreated).body, "id")
		gid := str(a.do("POST", "/Groups", ownerToken, group("Once", u)).must(t, http.StatusCreated).body, "id")
		twoNames := group("A")
		twoNames["DisplayName"] = "B"
		twoMembers := group("B", u)
		twoMembers["Members"] = []any{}
		cases := []struct {
			name   string
			body   map[string]any
			detail string
		}{
			{"displayName", twoNames, `both "DisplayName" and "displayName" given`},
			{"members", twoMembers, `both "Members" and "members" given`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a.do("POST", "/Groups", ownerToken, c.body).scimError(t, 400, "invalidSyntax", c.detail)
				a.do("PUT", "/Groups/"+gid, ownerToken, c.body).scimError(t, 400, "invalidSyntax", c.detail)
			})
		}
		got := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK)
		if str(got.body, "displayName") != "Once" || !equal(memberIDs(got.body), []string{u}) {
			t.Errorf("refused PUTs changed the group: %s", got.raw)
		}
		if r := a.do("GET", "/Groups", ownerToken, nil).must(t, http.StatusOK); r.body["totalResults"] != float64(1) {
			t.Errorf("refused POSTs stored groups: totalResults = %v", r.body["totalResults"])
		}
	})
}

// TestGroupMembersAreUsers: members is an array of users in a POST or PUT;
// a member of type Group (nested groups are not supported), a $ref to
// anything but the member's user, or an unknown sub-attribute is refused,
// by PATCH too. What a GET shows of members may be sent back.
func TestGroupMembersAreUsers(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := str(a.do("POST", "/Users", ownerToken, user("mu@example.com", nil)).must(t, http.StatusCreated).body, "id")
		other := str(a.do("POST", "/Groups", ownerToken, group("Other")).must(t, http.StatusCreated).body, "id")
		created := a.do("POST", "/Groups", ownerToken, group("Users only", u)).must(t, http.StatusCreated)
		gid, etag := str(created.body, "id"), created.header.Get("ETag")
		withMembers := func(m any) map[string]any {
			g := group("Users only")
			g["members"] = m
			return g
		}
		cases := []struct {
			name    string
			members any
			detail  string
		}{
			{"one id, not an array", u, `attribute "members" must be an array of values (RFC 7643 §2.4)`},
			{"one member, not an array", map[string]any{"value": u}, `attribute "members" must be an array of values`},
			{"type Group", []any{map[string]any{"value": other, "type": "Group"}}, "members must be users"},
			{"type group, lower case", []any{map[string]any{"value": other, "TYPE": "group"}}, "nested groups are not supported"},
			{"other type", []any{map[string]any{"value": u, "type": "Device"}}, `"members.type" must be "User"`},
			{"$ref to a group", []any{map[string]any{"value": other, "$ref": a.srv.URL + "/scim/v2/Groups/" + other}}, "members must be users"},
			{"$ref to another user", []any{map[string]any{"value": u, "$ref": a.srv.URL + "/scim/v2/Users/someone-else"}}, `is not the location of the user "` + u + `"`},
			{"unknown sub-attribute", []any{map[string]any{"value": u, "foo": 1}}, `unknown sub-attribute "foo"`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a.do("POST", "/Groups", ownerToken, withMembers(c.members)).scimError(t, 400, "invalidValue", c.detail)
				a.do("PUT", "/Groups/"+gid, ownerToken, withMembers(c.members)).scimError(t, 400, "invalidValue", c.detail)
				if list, ok := c.members.([]any); ok {
					a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", list))).scimError(t, 400, "invalidValue", c.detail)
				}
			})
		}
		if got := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).header.Get("ETag"); got != etag {
			t.Errorf("refused writes changed the group: ETag %s, was %s", got, etag)
		}
		// What a GET shows, sent back, changes nothing; Entra ID's "$ref": null and
		// a display are accepted; PATCH may add one member alone.
		a.do("PUT", "/Groups/"+gid, ownerToken, created.body).must(t, http.StatusOK)
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": u, "$ref": nil, "display": "Jane Doe", "type": "User"}}))).must(t, http.StatusOK)
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", map[string]any{"value": u}))).must(t, http.StatusOK)
		if got := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).header.Get("ETag"); got != etag {
			t.Errorf("writes of the same members changed the group: ETag %s, was %s", got, etag)
		}
	})
}

// racingMembers is a group store in which, before each of the first races
// document writes of a group, another client changes the group in between:
// its members (adding or removing member), or, with renames, its name.
type racingMembers struct {
	*backend.Store
	races   int
	member  string
	renames bool
	n       int
}

// race makes the change of another client to group id, before a document
// write of the first races.
func (r *racingMembers) race(ctx context.Context, org, id string) error {
	if r.n >= r.races {
		return nil
	}
	r.n++
	other := resources.MemberDelta{Add: []string{r.member}}
	if r.n%2 == 0 {
		other = resources.MemberDelta{Remove: []string{r.member}}
	}
	g := resources.Resource{ID: id}
	var version int64
	if r.renames {
		cur, err := r.Store.GetGroup(ctx, org, id, false)
		if err != nil {
			return err
		}
		g.Attributes = map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": fmt.Sprintf("Other %d", r.n)}
		version = cur.Version
	}
	if _, err := r.Store.UpdateGroup(ctx, org, g, version, other); err != nil {
		return fmt.Errorf("racing write: %w", err)
	}
	return nil
}

func (r *racingMembers) UpdateGroup(ctx context.Context, org string, g resources.Resource, version int64, d resources.MemberDelta) (resources.Resource, error) {
	if g.Attributes != nil {
		if err := r.race(ctx, org, g.ID); err != nil {
			return resources.Resource{}, err
		}
	}
	return r.Store.UpdateGroup(ctx, org, g, version, d)
}

func (r *racingMembers) UpdateGroupIfDocument(ctx context.Context, org string, g resources.Resource, version int64, based []byte, d resources.MemberDelta) (resources.Resource, error) {
	if err := r.race(ctx, org, g.ID); err != nil {
		return resources.Resource{}, err
	}
	return r.Store.UpdateGroupIfDocument(ctx, org, g, version, based, d)
}

// TestGroupRenameWhileMembersChange: a rename that loses its race to member
// changes, again and again, still goes through: member changes never touch
// the name. One that loses to other renames, more often than the retry
// budget allows (resources' maxWriteAttempts), gives up (409).
func TestGroupRenameWhileMembersChange(t *testing.T) {
	for _, c := range []struct {
		name    string
		renames bool
		races   int
		status  int
	}{
		{"members change", false, 20, http.StatusOK},
		{"the name changes", true, 200, http.StatusConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			redistest.EachStore(t, func(t *testing.T, url string) {
				r := &racingMembers{races: c.races, renames: c.renames}
				a := newAPIWith(t, url, storeWrap{groups: func(st *backend.Store) resources.GroupStore { r.Store = st; return r }})
				r.member = str(a.do("POST", "/Users", ownerToken, user("racer@example.com", nil)).must(t, http.StatusCreated).body, "id")
				gid := str(a.do("POST", "/Groups", ownerToken, group("Before")).must(t, http.StatusCreated).body, "id")
				res := a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("replace", "displayName", "After"))).must(t, c.status)
				if c.status == http.StatusOK && str(res.body, "displayName") != "After" {
					t.Errorf("displayName = %q, want After", str(res.body, "displayName"))
				}
				if c.status == http.StatusConflict && r.n >= r.races {
					t.Errorf("the rename tried %d times against renames, want it to give up sooner", r.n)
				}
			})
		})
	}
}

// TestPatchMissingGroupIsNotFound: a PATCH of a group that does not
// exist is 404 (RFC 7644 §3.12: "The specified resource ... does not
// exist"), whatever its operations. A members-only PATCH whose operation
// is a replace through a member filter is 404 too, not 400 noTarget ("no
// member of the group matches"), though the filter is checked first.
func TestPatchMissingGroupIsNotFound(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := str(a.do("POST", "/Users", ownerToken, user("nf@example.com", nil)).must(t, http.StatusCreated).body, "id")
		gid := str(a.do("POST", "/Groups", ownerToken, group("Gone soon", u)).must(t, http.StatusCreated).body, "id")
		a.do("DELETE", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusNoContent)
		for _, ops := range []map[string]any{
			patch(op("replace", `members[value eq "`+u+`"]`, map[string]any{"value": u})),
			patch(op("replace", `members[value sw "`+u[:8]+`"]`, map[string]any{"value": u})),
		} {
			r := a.do("PATCH", "/Groups/"+gid, ownerToken, ops)
			if r.status != http.StatusNotFound {
				t.Errorf("PATCH of deleted group %s: status %d, want 404; body %s", gid, r.status, r.raw)
			}
		}
	})
}

// TestMemberValueFilterIgnoresCase: members.value is not caseExact in
// the server's own Group schema (schemas.membersAttribute; GET
// /Schemas), so a value filter compares it ignoring case (RFC 7643 §2.2,
// §7 caseExact; RFC 7644 §3.4.2.2) - as the server does for
// members[value sw ...], for groups.value eq on /Users (README: "left to
// the scan (groups.value and members.value are not caseExact)"): a remove
// or replace through members[value eq "<id in upper case>"] selects the
// member.
func TestMemberValueFilterIgnoresCase(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := str(a.do("POST", "/Users", ownerToken, user("case@example.com", nil)).must(t, http.StatusCreated).body, "id")
		v := str(a.do("POST", "/Users", ownerToken, user("case2@example.com", nil)).must(t, http.StatusCreated).body, "id")
		gid := str(a.do("POST", "/Groups", ownerToken, group("Case", u)).must(t, http.StatusCreated).body, "id")
		// The same id, in upper case, selects the member in a users' query.
		q := a.do("GET", "/Users?filter="+urlQuery(`groups.value eq "`+strings.ToUpper(gid)+`"`), ownerToken, nil).must(t, http.StatusOK)
		if q.body["totalResults"] != float64(1) {
			t.Fatalf("groups.value eq <upper-case id>: %s", q.raw)
		}
		// remove: 200, and the member stays.
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("remove", `members[value eq "`+strings.ToUpper(u)+`"]`, nil))).must(t, http.StatusOK)
		if got := memberIDs(a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).body); len(got) != 0 {
			t.Errorf("after remove members[value eq <upper-case id>] answered 200: members %v, want none", got)
		}
		// Entra ID's remove by a list of values, and add, ignore case too.
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": strings.ToUpper(u)}}))).must(t, http.StatusOK)
		if got := memberIDs(a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).body); len(got) != 1 || got[0] != u {
			t.Errorf("after add members [{value: <upper-case id>}]: members %v, want %s", got, u)
		}
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("remove", "members", []any{map[string]any{"value": strings.ToUpper(u)}}))).must(t, http.StatusOK)
		if got := memberIDs(a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).body); len(got) != 0 {
			t.Errorf("after remove members [{value: <upper-case id>}]: members %v, want none", got)
		}
		// replace: noTarget for a member that is there.
		g2 := str(a.do("POST", "/Groups", ownerToken, group("Case 2", u)).must(t, http.StatusCreated).body, "id")
		r := a.do("PATCH", "/Groups/"+g2, ownerToken, patch(op("replace", `members[value eq "`+strings.ToUpper(u)+`"]`, map[string]any{"value": v})))
		if r.status != http.StatusOK {
			t.Errorf("replace members[value eq <upper-case id of a member>]: status %d, want 200; body %s", r.status, r.raw)
		}
	})
}

// TestGroupAsMemberDetail: groups cannot be members (nested groups are
// not supported). Sent as a bare {"value": "<group id>"}, as Entra ID and
// Okta send members, the detail says so too, not "no user with id ...",
// which would tell a person the id is wrong.
func TestGroupAsMemberDetail(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		inner := str(a.do("POST", "/Groups", ownerToken, group("Inner")).must(t, http.StatusCreated).body, "id")
		outer := str(a.do("POST", "/Groups", ownerToken, group("Outer")).must(t, http.StatusCreated).body, "id")
		a.do("PATCH", "/Groups/"+outer, ownerToken, patch(op("add", "members", []any{map[string]any{"value": inner}}))).
			scimError(t, http.StatusBadRequest, "invalidValue", "nested groups are not supported")
		a.do("POST", "/Groups", ownerToken, group("Outer 2", inner)).
			scimError(t, http.StatusBadRequest, "invalidValue", "nested groups are not supported")
	})
}
