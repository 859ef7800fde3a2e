package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const tokensURN = "urn:example:scim:schemas:extension:review:1.0:User"
const entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func tokensSchema() map[string]any {
	return map[string]any{"id": tokensURN, "name": "Review", "attributes": []any{
		map[string]any{"name": "tokens", "type": "complex", "multiValued": true, "subAttributes": []any{
			map[string]any{"name": "type", "type": "string"},
			map[string]any{"name": "secret", "type": "string", "mutability": "writeOnly", "returned": "never"},
		}},
		map[string]any{"name": "pin", "type": "string", "mutability": "writeOnly", "returned": "never"},
	}}
}

func tokensUser(userName string, ext map[string]any) map[string]any {
	return extUser(userName, ext, tokensURN, entURN)
}

// TestBulkSecretKeysArePaths: the keys of a PATCH value without a path
// (or of a schema URN path's value) are PATCH paths too, with value filters
// and spaces; a secret they name is no reference either (review of
// d07d567).
func TestBulkSecretKeysArePaths(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, tokensSchema()).must(t, http.StatusCreated)
		filtered := tokensURN + `:tokens[type eq "a"].secret`
		for i, c := range []struct {
			name, path string
			value      any
		}{
			{"control: no path, ext object", "", map[string]any{tokensURN: map[string]any{"pin": "bulkId:Zq8rr"}}},
			{"control: no path, full path key", "", map[string]any{tokensURN + ":PIN": "bulkId:Zq8rr"}},
			{"control: path with filter", filtered, "bulkId:Zq8rr"},
			{"no path, key with value filter", "", map[string]any{filtered: "bulkId:Zq8rr"}},
			{"no path, key with filter, object value", "", map[string]any{tokensURN + `:tokens[type eq "a"]`: map[string]any{"secret": "bulkId:Zq8rr"}}},
			{"ext URN path, key with value filter", tokensURN, map[string]any{`tokens[type eq "a"].secret`: "bulkId:Zq8rr"}},
			{"no path, password key with a space", "", map[string]any{"password ": "bulkId:Zq8rr"}},
			{"no path, pin key with a space", "", map[string]any{tokensURN + ":pin ": "bulkId:Zq8rr"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
					bulkOp("POST", "/Users", "u", "", tokensUser(fmt.Sprintf("k%d@example.com", i), map[string]any{
						"tokens": []any{map[string]any{"type": "a", "secret": "s"}}})),
					bulkOp("PATCH", "/Users/bulkId:u", "", "", patch(op("replace", c.path, c.value))),
				))
				if strings.Contains(r.raw, "Zq8rr") {
					t.Errorf("the bulk response quotes a secret: %s", r.raw)
				}
			})
		}
		// A declared bulkId in a secret named by a filtered no-path key is
		// replaced by an id.
		r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "kim", "", tokensUser("kim@example.com", nil)),
			bulkOp("POST", "/Users", "lee", "", tokensUser("lee@example.com", map[string]any{
				"tokens": []any{map[string]any{"type": "a", "secret": "s"}}})),
			bulkOp("PATCH", "/Users/bulkId:lee", "", "", patch(op("replace", "", map[string]any{filtered: "bulkId:kim"}))),
		))
		res := results(t, r)
		wantResult(t, res[2], "200", "", "")
		u, err := a.store.ReadUser(t.Context(), "acme", lastSegment(str(res[1], "location")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(u.Raw), `"secret":"bulkId:kim"`) {
			t.Errorf("tokens.secret not stored as sent (bulkId:kim): %s", u.Raw)
		}
	})
}

// TestBulkSecretsInCycle: in a cycle, a secret in an extension stays
// literal, and a manager named by its full path (a "urn:" member that is no
// schema's object) is still linked (review of d07d567).
func TestBulkSecretsInCycle(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, tokensSchema()).must(t, http.StatusCreated)
		kim := tokensUser("kim@example.com", map[string]any{"pin": "bulkId:lee", "tokens": []any{map[string]any{"type": "a", "secret": "bulkId:lee"}}})
		kim[entURN] = map[string]any{"manager": map[string]any{"value": "bulkId:lee"}}
		lee := tokensUser("lee@example.com", nil)
		lee[entURN] = map[string]any{"manager": map[string]any{"value": "bulkId:kim"}}
		r := a.do("POST", "/Bulk", ownerToken, bulkReq(0, bulkOp("POST", "/Users", "kim", "", kim), bulkOp("POST", "/Users", "lee", "", lee)))
		res := results(t, r)
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "201", "", "")
		u, err := a.store.ReadUser(t.Context(), "acme", lastSegment(str(res[0], "location")))
		if err != nil {
			t.Fatal(err)
		}
		leeID := lastSegment(str(res[1], "location"))
		if !strings.Contains(string(u.Raw), `"pin":"bulkId:lee"`) || !strings.Contains(string(u.Raw), `"secret":"bulkId:lee"`) || !strings.Contains(string(u.Raw), `"value":"`+leeID+`"`) {
			t.Errorf("kim: %s", u.Raw)
		}

		// The manager as a full-path member.
		ann := tokensUser("ann@example.com", nil)
		ann[entURN+":manager"] = map[string]any{"value": "bulkId:bob"}
		bob := tokensUser("bob@example.com", nil)
		bob[entURN+":manager"] = map[string]any{"value": "bulkId:ann"}
		r = a.do("POST", "/Bulk", ownerToken, bulkReq(0, bulkOp("POST", "/Users", "ann", "", ann), bulkOp("POST", "/Users", "bob", "", bob)))
		res = results(t, r)
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "201", "", "")
	})
}

// TestBulkSecretPathsKeepReferences: what is not a secret still resolves
// (path-less PATCH values with schema, core and full-path keys, a schema
// URN path, a multi-valued secret added as an array stays literal, filters
// holding \"], other letter cases, PUT, a group's members) (review of
// d07d567).
func TestBulkSecretPathsKeepReferences(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, tokensSchema()).must(t, http.StatusCreated)
		for i, c := range []struct {
			op, path string
			value    any
		}{
			{"replace", tokensURN + `:tokens[type eq "a\"]"].secret`, "bulkId:Zq8rr"},
			{"replace", strings.ToUpper(tokensURN) + `:TOKENS[type eq "a"].SECRET`, "bulkId:Zq8rr"},
			{"add", tokensURN + `:tokens`, []any{map[string]any{"type": "b", "secret": "bulkId:Zq8rr"}}},
			{"add", strings.ToUpper(tokensURN), map[string]any{"PIN": "bulkId:Zq8rr", "tokens": []any{map[string]any{"type": "b", "SECRET": "bulkId:Zq8rr"}}}},
			{"replace", "", map[string]any{strings.ToUpper(tokensURN): map[string]any{"tokens": []any{map[string]any{"secret": "bulkId:Zq8rr"}}}}},
		} {
			r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("POST", "/Users", "u", "", tokensUser(fmt.Sprintf("c%d@example.com", i), map[string]any{
					"tokens": []any{map[string]any{"type": "a", "secret": "s"}}})),
				bulkOp("PATCH", "/Users/bulkId:u", "", "", patch(op(c.op, c.path, c.value))),
			))
			if strings.Contains(r.raw, "Zq8rr") {
				t.Errorf("%d %s: quotes a secret: %s", i, c.path, r.raw)
			}
		}
		// PUT with a secret and a manager; groups' members by no-path PATCH and filter.
		put := tokensUser("kim@example.com", map[string]any{"pin": "bulkId:Zq8rr"})
		r := a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "kim", "", tokensUser("kim@example.com", nil)),
			bulkOp("PUT", "/Users/bulkId:kim", "", "", put),
		))
		if strings.Contains(r.raw, "Zq8rr") {
			t.Errorf("PUT quotes a secret: %s", r.raw)
		}
		put = tokensUser("lee@example.com", map[string]any{"pin": "bulkId:kim"})
		put[entURN] = map[string]any{"manager": map[string]any{"value": "bulkId:kim"}}
		r = a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "kim", "", tokensUser("kim2@example.com", nil)),
			bulkOp("POST", "/Users", "lee", "", tokensUser("lee@example.com", nil)),
			bulkOp("PUT", "/Users/bulkId:lee", "", "", put),
			bulkOp("POST", "/Groups", "g", "", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "G"}),
			bulkOp("PATCH", "/Groups/bulkId:g", "", "", patch(op("add", "", map[string]any{"members": []any{map[string]any{"value": "bulkId:kim"}}}))),
			bulkOp("PATCH", "/Groups/bulkId:g", "", "", patch(op("remove", `members[value eq "bulkId:kim"]`, nil))),
			bulkOp("PATCH", "/Groups/bulkId:g", "", "", patch(op("add", "members", []any{map[string]any{"value": "bulkId:lee"}}))),
		))
		res := results(t, r)
		for i, want := range []string{"201", "201", "200", "201", "204", "204", "204"} {
			if got := str(res[i], "status"); got != want && !(want == "204" && got == "200") {
				t.Errorf("op %d: %s: %v", i, got, res[i])
			}
		}
		kim := lastSegment(str(res[0], "location"))
		u, _ := a.store.ReadUser(t.Context(), "acme", lastSegment(str(res[1], "location")))
		if !strings.Contains(string(u.Raw), `"pin":"bulkId:kim"`) || !strings.Contains(string(u.Raw), `"value":"`+kim+`"`) {
			t.Errorf("lee: %s", u.Raw)
		}
		g := a.do("GET", "/Groups/"+lastSegment(str(res[3], "location")), ownerToken, nil)
		if !strings.Contains(g.raw, lastSegment(str(res[1], "location"))) || strings.Contains(g.raw, kim) {
			t.Errorf("group: %s", g.raw)
		}
	})
}
