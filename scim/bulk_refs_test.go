package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/scim"
)

// TestBulkRefsPatchPasswordByPathIsNotAReference: a PATCH operation setting
// the password by path ("password", or its URN form) has its value under
// "value": it is never read as a bulkId reference, and no detail echoes it
// (review of 475af38).
func TestBulkRefsPatchPasswordByPathIsNotAReference(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := createCustomer(t, a, "pw@example.com", nil)
		const secret = "bulkId:S3cret-Xy9!zz"
		// As a single request this is fine.
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "password", secret))).must(t, http.StatusOK)
		for _, path := range []string{"password", "urn:ietf:params:scim:schemas:core:2.0:User:password"} {
			r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("PATCH", "/Users/"+id, "", "", patch(op("replace", path, secret)))))
			res := results(t, r)
			if strings.Contains(r.raw, "S3cret-Xy9!zz") {
				t.Errorf("path %q: the bulk response echoes the password: %s", path, r.raw)
			}
			wantResult(t, res[0], "200", "", "")
		}
	})
}

// TestBulkRefsMemberRefWithBulkID: a member's $ref naming the user by
// bulkId (".../Users/bulkId:u") is resolved with its value (475af38 had
// stopped resolving it: 400).
func TestBulkRefsMemberRefWithBulkID(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for n, ref := range []string{a.srv.URL + scim.BasePath + "/Users/bulkId:u", "Users/bulkId:u"} {
			g := group("Team")
			g["members"] = []any{map[string]any{"value": "bulkId:u", "$ref": ref, "type": "User"}}
			res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("POST", "/Users", "u", "", user(fmt.Sprintf("ref%d@example.com", n), nil)),
				bulkOp("POST", "/Groups", "", "", g))))
			wantResult(t, res[0], "201", "", "")
			wantResult(t, res[1], "201", "", "")
			_ = a.do("DELETE", "/Users/"+lastSegment(str(res[0], "location")), ownerToken, nil)
			_ = a.do("DELETE", "/Groups/"+lastSegment(str(res[1], "location")), ownerToken, nil)
		}
	})
}

// TestBulkRefsPathKeyOutsidePatchIsText: only a PATCH operation's own path
// holds references inside its text; a key "path" elsewhere (a custom
// attribute named path) is stored as sent (review of 475af38).
func TestBulkRefsPathKeyOutsidePatchIsText(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		s := acmeSchema()
		s["attributes"] = append(s["attributes"].([]any), map[string]any{"name": "path", "type": "string"})
		a.schemaAdmin("POST", "", ownerToken, s).must(t, http.StatusCreated)
		const v = "docs/bulkId:u/readme"
		a.do("POST", "/Users", ownerToken, customUser("direct-path@example.com", map[string]any{"path": v})).must(t, http.StatusCreated)
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "u", "", user("target@example.com", nil)),
			bulkOp("POST", "/Users", "", "", customUser("bulk-path@example.com", map[string]any{"path": v})))))
		wantResult(t, res[1], "201", "", "")
		if loc := str(res[1], "location"); loc != "" {
			got := a.do("GET", "/Users/"+lastSegment(loc), ownerToken, nil).must(t, http.StatusOK)
			if p := str(got.body, acmeURN, "path"); p != v {
				t.Errorf("custom attribute path = %q, want %q as sent (a direct POST stores it so)", p, v)
			}
		}
	})
}

// TestBulkRefsNotRunHasLocation: operations not run for lack of time (503)
// have a location as those that ran do (every result but a failed POST's):
// a bulkId path's resource, and an operation refused at decoding whose path
// names a resource (review of 475af38).
func TestBulkRefsNotRunHasLocation(t *testing.T) {
	a := newAPI(t, "", func(cfg *scim.Config) { cfg.MaxBulkTime = time.Nanosecond })
	res := resultsN(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
		bulkOp("POST", "/Users", "u", "", user("late@example.com", nil)),
		bulkOp("PATCH", "/Users/bulkId:u", "", "", patch(op("replace", "title", "x"))),
		bulkOp("PUT", "/Users/some-id", "", "", nil),
	)), 3)
	for _, i := range []int{1, 2} {
		if str(res[i], "status") != "503" && i == 1 {
			t.Logf("result %d: %v", i, res[i])
		}
		if loc := str(res[i], "location"); loc == "" {
			t.Errorf("result %d (%s, status %s) has no location: %v", i, str(res[i], "method"), str(res[i], "status"), res[i])
		}
	}
}

// TestBulkRefsCyclePasswordNotReplaced: in a cycle, a password
// "bulkId:<cycle member>" is a password, not a reference deferred to the
// linking PATCH and replaced by that member's id (review of 475af38).
func TestBulkRefsCyclePasswordNotReplaced(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		mgr := func(ref string) map[string]any { return map[string]any{"value": ref} }
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "ann", "", user("cpw-ann@example.com", map[string]any{"password": "bulkId:bob", ent: map[string]any{"manager": mgr("bulkId:bob")}})),
			bulkOp("POST", "/Users", "bob", "", user("cpw-bob@example.com", map[string]any{ent: map[string]any{"manager": mgr("bulkId:ann")}})),
		)))
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "201", "", "")
		bob := lastSegment(str(res[1], "location"))
		good := a.me("GET", mePath, basic("cpw-ann@example.com", "bulkId:bob"), nil)
		bad := a.me("GET", mePath, basic("cpw-ann@example.com", bob), nil)
		// 401 is a wrong password; any other answer means it was right.
		if good.status == http.StatusUnauthorized || bad.status != http.StatusUnauthorized {
			t.Errorf("ann's password: as sent → %d, bob's id (%s) → %d %s; the password stored is bob's id, not what was sent", good.status, bob, bad.status, bad.raw)
		}
	})
}

// TestBulkRefsFormsStillWork: the reference forms clients send keep
// working: an operation path, Entra ID and Okta member arrays, manager as a
// plain string and in an extension, Path in any case.
func TestBulkRefsFormsStillWork(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		uid := createCustomer(t, a, "sub@example.com", nil)
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("PATCH", "/Groups/bulkId:g", "", "", patch(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": "bulkId:m", "display": "m@example.com"}}})),
			bulkOp("PATCH", "/Users/"+uid, "", "", patch(op("replace", ent+":manager", "bulkId:m"))),
			bulkOp("PATCH", "/Users/"+uid, "", "", patch(map[string]any{"op": "replace", "value": map[string]any{ent + ":manager": map[string]any{"value": "bulkId:m"}}})),
			bulkOp("POST", "/Users", "m", "", user("m@example.com", nil)),
			bulkOp("POST", "/Groups", "g", "", group("G")),
			bulkOp("PATCH", "/Groups/bulkId:g", "", "", patch(map[string]any{"op": "Remove", "Path": `members[value eq "bulkId:m"]`})),
		)))
		for i := range res {
			if s := str(res[i], "status"); s[0] >= '4' {
				t.Errorf("result %d: %v", i, res[i])
			}
		}
	})
}

// TestBulkCustomSecretNotAReference: a custom attribute that is writeOnly
// (returned never) is a secret as a password is: its value "bulkId:…" is
// not a reference, resolved or not, in a POST's data or as the value of a
// PATCH whose path names it, and no response quotes it (review of stop
// 29).
func TestBulkCustomSecretNotAReference(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "kim", "", customUser("kim@example.com", map[string]any{"secretCode": "bulkId:lee"})),
			bulkOp("POST", "/Users", "lee", "", customUser("lee@example.com", map[string]any{"secretCode": "bulkId:Xy9zz"})),
			bulkOp("PATCH", "/Users/bulkId:lee", "", "", patch(op("replace", acmeURN+":secretCode", "bulkId:Qw7vv"))),
		))
		res := resultsN(t, r, 3)
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "201", "", "")
		wantResult(t, res[2], "200", "", "")
		for _, s := range []string{"Xy9zz", "Qw7vv"} {
			if strings.Contains(r.raw, s) {
				t.Errorf("the bulk response quotes a secret (%s): %s", s, r.raw)
			}
		}
		for i, want := range map[int]string{0: "bulkId:lee", 1: "bulkId:Qw7vv"} {
			id := lastSegment(str(res[i], "location"))
			u, err := a.store.ReadUser(t.Context(), "acme", id)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(u.Raw), `"secretCode":"`+want+`"`) {
				t.Errorf("result %d: secretCode is not stored as sent (%q): %s", i, want, u.Raw)
			}
		}
	})
}

const vaultURN = "urn:example:scim:schemas:extension:vault:1.0:User"

// vaultSchema has secrets a bare name does not show: a writeOnly complex
// attribute (its sub-attributes are secrets too, though not marked), a
// multi-valued one, and a secret sub-attribute named "value", as members'
// and managers' references are.
func vaultSchema() map[string]any {
	return map[string]any{"id": vaultURN, "name": "Vault", "attributes": []any{
		map[string]any{"name": "badge", "type": "complex", "mutability": "writeOnly", "returned": "never", "subAttributes": []any{
			map[string]any{"name": "pin", "type": "string"},
			map[string]any{"name": "label", "type": "string"},
		}},
		map[string]any{"name": "keys", "type": "complex", "multiValued": true, "mutability": "writeOnly", "returned": "never", "subAttributes": []any{
			map[string]any{"name": "type", "type": "string"},
			map[string]any{"name": "value", "type": "string"},
		}},
		map[string]any{"name": "apiKey", "type": "complex", "subAttributes": []any{
			map[string]any{"name": "value", "type": "string", "mutability": "writeOnly", "returned": "never"},
			map[string]any{"name": "label", "type": "string"},
		}},
	}}
}

// extUser is a user of the core schema and the extensions urns, with ext,
// when set, as the first one's object.
func extUser(userName string, ext map[string]any, urns ...string) map[string]any {
	u := user(userName, map[string]any{"schemas": append([]string{"urn:ietf:params:scim:schemas:core:2.0:User"}, urns...)})
	if ext != nil {
		u[urns[0]] = ext
	}
	return u
}

func vaultUser(userName string, ext map[string]any) map[string]any {
	return extUser(userName, ext, vaultURN)
}

// TestBulkSecretPaths: a secret is found by its path, not its bare name:
// named by its full path as a member, a sub-attribute of a secret, a PATCH
// path with a value filter; and a secret's name elsewhere ("value" of a
// group's members) is still a reference (review).
func TestBulkSecretPaths(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, vaultSchema()).must(t, http.StatusCreated)
		for _, k := range []string{"urn:ietf:params:scim:schemas:core:2.0:User:password", vaultURN + ":apiKey"} {
			u := vaultUser(fmt.Sprintf("full%d@example.com", len(k)), nil)
			if k != vaultURN+":apiKey" {
				u[k] = "bulkId:Zq8rr"
			} else {
				u[k] = map[string]any{"value": "bulkId:Zq8rr"}
			}
			r := a.do("POST", "/Bulk", ownerToken, bulkReq(0, bulkOp("POST", "/Users", "u", "", u)))
			if strings.Contains(r.raw, "Zq8rr") {
				t.Errorf("member %s: the bulk response quotes a secret: %s", k, r.raw)
			}
		}
		for _, c := range []struct {
			path  string
			value any
		}{
			{vaultURN + ":badge.pin", "bulkId:Zq8rr"},
			{vaultURN + `:keys[type eq "a"].value`, "bulkId:Zq8rr"},
			{vaultURN + `:keys[type eq "a]"]`, map[string]any{"type": "a", "value": "bulkId:Zq8rr"}},
			{vaultURN + ":badge", map[string]any{"pin": "bulkId:Zq8rr"}},
			{vaultURN + ":apiKey", map[string]any{"value": "bulkId:Zq8rr", "label": "k"}},
			{vaultURN, map[string]any{"badge": map[string]any{"pin": "bulkId:Zq8rr"}}},
		} {
			r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("POST", "/Users", "u", "", vaultUser(fmt.Sprintf("p%d@example.com", len(c.path)), map[string]any{
					"badge": map[string]any{"pin": "1", "label": "l"}, "keys": []any{map[string]any{"type": "a", "value": "v"}},
				})),
				bulkOp("PATCH", "/Users/bulkId:u", "", "", patch(op("replace", c.path, c.value))),
			))
			if strings.Contains(r.raw, "Zq8rr") {
				t.Errorf("PATCH %s: the bulk response quotes a secret: %s", c.path, r.raw)
			}
		}
		// A declared bulkId in a secret is not replaced by the id.
		r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "kim", "", vaultUser("kim@example.com", nil)),
			bulkOp("POST", "/Users", "lee", "", vaultUser("lee@example.com", map[string]any{"badge": map[string]any{"pin": "1"}})),
			bulkOp("PATCH", "/Users/bulkId:lee", "", "", patch(op("replace", vaultURN+":badge.pin", "bulkId:kim"))),
			// A group's members and a manager are references, though a
			// secret sub-attribute is named "value".
			bulkOp("POST", "/Groups", "g", "", map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Vaulted",
				"members": []any{map[string]any{"value": "bulkId:kim"}}}),
			bulkOp("PATCH", "/Users/bulkId:lee", "", "", patch(op("replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", map[string]any{"value": "bulkId:kim"}))),
		))
		res := resultsN(t, r, 5)
		wantResult(t, res[2], "200", "", "")
		wantResult(t, res[3], "201", "", "")
		wantResult(t, res[4], "200", "", "")
		kim := lastSegment(str(res[0], "location"))
		u, err := a.store.ReadUser(t.Context(), "acme", lastSegment(str(res[1], "location")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(u.Raw), `"pin":"bulkId:kim"`) || !strings.Contains(string(u.Raw), `"value":"`+kim+`"`) {
			t.Errorf("lee: want badge.pin as sent and manager.value %s: %s", kim, u.Raw)
		}
	})
}
