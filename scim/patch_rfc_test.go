package scim_test

import (
	"slices"
	"testing"
)

// TestPatchKeepsRequiredValues: RFC 7644 §3.5.2.2: an attribute that "is
// removed or becomes unassigned and is defined as a required attribute" is
// 400 mutability, whatever the route: a remove, a replace with an empty
// array, a filter removing every value, the removal of the extension. The
// user keeps its values; a PATCH that replaces them, or touches another
// attribute, goes through.
func TestPatchKeepsRequiredValues(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const urn = "urn:example:req:1.0:User"
		old := str(a.do("POST", "/Users", ownerToken, user("old@example.com", nil)).must(t, 201).body, "id")
		a.schemaAdmin("POST", "", ownerToken, map[string]any{
			"id": urn, "name": "Req",
			"attributes": []any{
				map[string]any{"name": "tags", "type": "string", "multiValued": true, "required": true},
				map[string]any{"name": "code", "type": "string", "required": true},
			},
		}).must(t, 201)
		id := str(a.do("POST", "/Users", ownerToken, user("req@example.com", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", urn},
			urn:       map[string]any{"tags": []any{"x", "y"}, "code": "c"},
		})).must(t, 201).body, "id")
		for name, body := range map[string]map[string]any{
			"remove":                       patch(op("remove", urn+":code", nil)),
			"replace with an empty array":  patch(op("replace", urn+":tags", []any{})),
			"remove every value by filter": patch(op("remove", urn+`:tags[value pr]`, nil)),
			"remove the extension":         patch(op("remove", urn, nil)),
		} {
			t.Run(name, func(t *testing.T) {
				a.do("PATCH", "/Users/"+id, ownerToken, body).scimError(t, 400, "mutability", "is required")
			})
		}
		got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, 200)
		if str(got.body, urn, "code") != "c" || str(got.body, urn, "tags") != `["x","y"]` {
			t.Errorf("after refused PATCHes the extension is %s, want it unchanged", str(got.body, urn))
		}
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", urn+":tags", []any{"z"}), op("remove", urn+`:tags[value eq "nothing"]`, nil))).must(t, 200)
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "title", "Boss"))).must(t, 200)
		// A customer stored before the attributes became required may stay
		// without them.
		a.do("PATCH", "/Users/"+old, ownerToken, patch(op("replace", "title", "Boss"))).must(t, 200)
	})
}

// TestPatchMembersInSequence: member operations apply in order (RFC 7644
// §3.5.2, after RFC 6902 §3): a filter sees the members the earlier
// operations added or removed; a replace whose filter matches no member is
// 400 noTarget (§3.5.2.3) and changes nothing.
func TestPatchMembersInSequence(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		var u []string
		for i := range 4 {
			u = append(u, str(a.do("POST", "/Users", ownerToken, user("m"+itoa(i)+"@example.com", nil)).must(t, 201).body, "id"))
		}
		gid := str(a.do("POST", "/Groups", ownerToken, group("G", u[0])).must(t, 201).body, "id")
		members := func() []string {
			ids := memberIDs(a.do("GET", "/Groups/"+gid+"?attributes=members", ownerToken, nil).must(t, 200).body)
			slices.Sort(ids)
			return ids
		}
		sorted := func(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
		member := func(id string) map[string]any { return map[string]any{"value": id} }

		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("replace", `members[value eq "`+u[1]+`"]`, member(u[2])))).
			scimError(t, 400, "noTarget", "no member")
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{member(u[3])}), op("replace", `members[value eq "`+u[1]+`"]`, member(u[2])))).
			scimError(t, 400, "noTarget", "no member")
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("replace", `members[value sw "nobody"]`, member(u[2])))).
			scimError(t, 400, "noTarget", "no member")
		if got := members(); !slices.Equal(got, []string{u[0]}) {
			t.Fatalf("members after refused PATCHes = %v, want [%s]", got, u[0])
		}
		// A member the same request added is a target.
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{member(u[1])}), op("replace", `members[value eq "`+u[1]+`"]`, member(u[2])))).must(t, 200)
		if got, want := members(), sorted(u[0], u[2]); !slices.Equal(got, want) {
			t.Errorf("add u1 then replace it with u2: members %v, want %v", got, want)
		}
		// A member the same request removed is not.
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("remove", `members[value eq "`+u[2]+`"]`, nil), op("replace", `members[value eq "`+u[2]+`"]`, member(u[3])))).
			scimError(t, 400, "noTarget", "no member")
		// A filter other than value eq sees the earlier operations too.
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{member(u[3])}), op("remove", `members[value ne "nobody"]`, nil))).must(t, 200)
		if got := members(); len(got) != 0 {
			t.Errorf("add u3 then remove every member: members %v, want none", got)
		}
		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{member(u[0]), member(u[1])}), op("remove", `members[value eq "`+u[0]+`"]`, nil),
			op("replace", `members[not (value eq "`+u[0]+`")]`, member(u[3])))).must(t, 200)
		if got, want := members(), sorted(u[3]); !slices.Equal(got, want) {
			t.Errorf("add u0, u1, remove u0, replace the others with u3: members %v, want %v", got, want)
		}
	})
}
