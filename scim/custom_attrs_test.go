package scim_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
)

const acmeURN = "urn:example:scim:schemas:extension:acme:1.0:User"

// acmeSchema is a custom schema with one attribute of each kind the tests
// need.
func acmeSchema() map[string]any {
	return map[string]any{
		"id": acmeURN, "name": "AcmeUser", "description": "Acme's customer data",
		"attributes": []any{
			map[string]any{"name": "tier", "type": "string", "canonicalValues": []any{"gold", "silver"}, "indexed": true},
			map[string]any{"name": "customerNumber", "type": "string", "uniqueness": "server", "caseExact": true},
			map[string]any{"name": "nickname", "type": "string"},
			map[string]any{"name": "points", "type": "integer"},
			map[string]any{"name": "consent", "type": "boolean", "indexed": true},
			map[string]any{"name": "joined", "type": "dateTime"},
			map[string]any{"name": "secretCode", "type": "string", "returned": "never", "mutability": "writeOnly"},
			map[string]any{"name": "internalNote", "type": "string", "returned": "request"},
			map[string]any{"name": "origin", "type": "string", "mutability": "immutable"},
			map[string]any{"name": "labels", "type": "string", "multiValued": true, "indexed": true},
			map[string]any{"name": "address", "type": "complex", "subAttributes": []any{
				map[string]any{"name": "city", "type": "string", "indexed": true},
				map[string]any{"name": "zip", "type": "string"},
			}},
		},
	}
}

// schemaAdmin sends a request to the custom schema API.
func (a *api) schemaAdmin(method, path, token string, body any) response {
	a.t.Helper()
	return a.send(method, scim.SchemasPath+path, "Bearer "+token, body)
}

func customUser(userName string, ext map[string]any) map[string]any {
	return user(userName, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", acmeURN},
		acmeURN:   ext,
	})
}

func TestCustomAttributes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		if got := str(created.body, "attributes", 0, "indexed"); got != "true" {
			t.Errorf("created definition: tier indexed = %q, want true; %s", got, created.raw)
		}
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).scimError(t, http.StatusConflict, "uniqueness", "exists")

		// Discovery: this organization only.
		doc := a.do("GET", "/Schemas/"+acmeURN, ownerToken, nil).must(t, http.StatusOK)
		if str(doc.body, "attributes", 1, "uniqueness") != "server" || str(doc.body, "meta", "resourceType") != "Schema" {
			t.Errorf("/Schemas/{urn} = %s", doc.raw)
		}
		rt := a.do("GET", "/ResourceTypes/User", ownerToken, nil).must(t, http.StatusOK)
		if !strings.Contains(rt.raw, `{"required":false,"schema":"`+acmeURN+`"}`) {
			t.Errorf("/ResourceTypes/User does not list the custom schema: %s", rt.raw)
		}
		a.do("GET", "/Schemas/"+acmeURN, otherToken, nil).must(t, http.StatusNotFound)
		if other := a.do("GET", "/ResourceTypes/User", otherToken, nil); strings.Contains(other.raw, acmeURN) {
			t.Errorf("another organization sees the custom schema: %s", other.raw)
		}
		if other := a.do("GET", "/Schemas", otherToken, nil); strings.Contains(other.raw, acmeURN) {
			t.Errorf("another organization's /Schemas lists the custom schema")
		}

		// Create with values; returned never/request are withheld.
		jane := a.do("POST", "/Users", ownerToken, customUser("jane@example.com", map[string]any{
			"tier": "Gold", "customerNumber": "C-1", "points": 10, "consent": "True", "joined": "2024-01-02T03:04:05Z",
			"secretCode": "s3cret", "internalNote": "vip", "origin": "shop", "labels": []any{"a", "b"},
			"address": map[string]any{"city": "Ghent", "zip": "9000"},
		})).must(t, http.StatusCreated)
		id := str(jane.body, "id")
		if str(jane.body, acmeURN, "tier") != "Gold" || str(jane.body, acmeURN, "consent") != "true" || str(jane.body, acmeURN, "points") != "10" {
			t.Errorf("created user: %s", jane.raw)
		}
		// returned "request": shown in the response to the write that set it
		// (RFC 7643 §7), not in reads that do not ask for it.
		if strings.Contains(jane.raw, "s3cret") || str(jane.body, acmeURN, "internalNote") != "vip" {
			t.Errorf("response shows a returned never attribute, or not the returned request attribute it set: %s", jane.raw)
		}
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK); strings.Contains(got.raw, "internalNote") {
			t.Errorf("a read shows a returned request attribute it did not ask for: %s", got.raw)
		}
		if !strings.Contains(str(jane.body, "schemas"), acmeURN) {
			t.Errorf("schemas = %s, want the custom URN", str(jane.body, "schemas"))
		}
		asked := a.do("GET", "/Users/"+id+"?attributes="+url.QueryEscape(acmeURN+":internalNote"), ownerToken, nil).must(t, http.StatusOK)
		if str(asked.body, acmeURN, "internalNote") != "vip" || strings.Contains(asked.raw, "s3cret") {
			t.Errorf("attributes=internalNote: %s", asked.raw)
		}
		proj := a.do("GET", "/Users/"+id+"?attributes="+url.QueryEscape(acmeURN+":address.city"), ownerToken, nil).must(t, http.StatusOK)
		if str(proj.body, acmeURN, "address", "city") != "Ghent" || str(proj.body, acmeURN, "address", "zip") != "" || str(proj.body, "userName") != "" {
			t.Errorf("attributes=address.city: %s", proj.raw)
		}
		excl := a.do("GET", "/Users/"+id+"?excludedAttributes="+url.QueryEscape(acmeURN+":tier"), ownerToken, nil).must(t, http.StatusOK)
		if str(excl.body, acmeURN, "tier") != "" || str(excl.body, acmeURN, "nickname") != "" && str(excl.body, acmeURN, "customerNumber") != "C-1" {
			t.Errorf("excludedAttributes=tier: %s", excl.raw)
		}

		// Type errors, canonical values, uniqueness.
		a.do("POST", "/Users", ownerToken, customUser("x@example.com", map[string]any{"points": "many"})).scimError(t, 400, "invalidValue", "points")
		a.do("POST", "/Users", ownerToken, customUser("x@example.com", map[string]any{"tier": "bronze"})).scimError(t, 400, "invalidValue", "canonicalValues")
		a.do("POST", "/Users", ownerToken, customUser("x@example.com", map[string]any{"unknown": 1})).scimError(t, 400, "invalidValue", "unknown")
		a.do("POST", "/Users", ownerToken, customUser("x@example.com", map[string]any{"customerNumber": "C-1"})).scimError(t, 409, "uniqueness", "customerNumber")
		bob := a.do("POST", "/Users", ownerToken, customUser("bob@example.com", map[string]any{"customerNumber": "c-1", "tier": "silver",
			"nickname": "bobby", "labels": []any{"b", "c"}, "address": map[string]any{"city": "Paris"}})).must(t, http.StatusCreated)
		bobID := str(bob.body, "id")

		// PATCH add/replace/remove on custom paths; immutable and readOnly.
		a.do("PATCH", "/Users/"+bobID, ownerToken, patch(op("replace", acmeURN+":nickname", "rob"), op("add", acmeURN+":points", 3))).must(t, http.StatusOK)
		got := a.do("PATCH", "/Users/"+bobID, ownerToken, patch(op("remove", acmeURN+":nickname", nil), op("replace", acmeURN+":address.city", "Lyon"))).must(t, http.StatusOK)
		if str(got.body, acmeURN, "nickname") != "" || str(got.body, acmeURN, "points") != "3" || str(got.body, acmeURN, "address", "city") != "Lyon" {
			t.Errorf("after PATCH: %s", got.raw)
		}
		a.do("PATCH", "/Users/"+bobID, ownerToken, patch(op("replace", acmeURN+":customerNumber", "C-1"))).scimError(t, 409, "uniqueness", "customerNumber")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", acmeURN+":origin", "other"))).scimError(t, 400, "mutability", "origin")
		a.do("PATCH", "/Users/"+bobID, ownerToken, patch(op("add", acmeURN+":origin", "store"))).must(t, http.StatusOK) // a first value may be set
		// PUT keeps the immutable value it leaves out, refuses a change.
		put := a.do("PUT", "/Users/"+id, ownerToken, customUser("jane@example.com", map[string]any{"tier": "silver", "customerNumber": "C-1"})).must(t, http.StatusOK)
		if str(put.body, acmeURN, "origin") != "shop" || str(put.body, acmeURN, "points") != "" {
			t.Errorf("after PUT: %s", put.raw)
		}
		a.do("PUT", "/Users/"+id, ownerToken, customUser("jane@example.com", map[string]any{"origin": "web"})).scimError(t, 400, "mutability", "origin")
		// The uniqueness claim follows the value: the old one is free.
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", acmeURN+":customerNumber", "C-2"))).must(t, http.StatusOK)
		a.do("PATCH", "/Users/"+bobID, ownerToken, patch(op("replace", acmeURN+":customerNumber", "C-1"))).must(t, http.StatusOK)
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", acmeURN+":tier", "gold"), op("replace", acmeURN+":labels", []any{"a", "b"}))).must(t, http.StatusOK)
		a.do("PATCH", "/Users/"+bobID, ownerToken, patch(op("add", acmeURN+":consent", true))).must(t, http.StatusOK)

		// Filters: indexed (tier, consent, labels, address.city) and not.
		for _, c := range []struct {
			filter string
			want   []string
		}{
			{acmeURN + `:tier eq "GOLD"`, []string{"jane@example.com"}},
			{acmeURN + `:tier sw "s"`, []string{"bob@example.com"}},
			{acmeURN + `:tier pr`, []string{"jane@example.com", "bob@example.com"}},
			{acmeURN + `:consent eq true`, []string{"bob@example.com"}},
			{acmeURN + `:labels eq "c"`, []string{"bob@example.com"}},
			{acmeURN + `:labels eq "b"`, []string{"jane@example.com", "bob@example.com"}},
			{acmeURN + `:address.city eq "lyon"`, []string{"bob@example.com"}},
			// Value filters on indexed attributes are planned onto the
			// indexes like the comparisons they stand for.
			{acmeURN + `:labels[value eq "C"]`, []string{"bob@example.com"}},
			{acmeURN + `:labels[value sw "a" or value eq "c"]`, []string{"jane@example.com", "bob@example.com"}},
			{acmeURN + `:labels[value eq "a" and value eq "b"]`, []string{}},
			{acmeURN + `:address[city eq "LYON"]`, []string{"bob@example.com"}},
			{acmeURN + `:customerNumber eq "C-1"`, []string{"bob@example.com"}},
			{acmeURN + `:customerNumber co "-2"`, []string{"jane@example.com"}},
			{acmeURN + `:points gt 1`, []string{"bob@example.com"}},
			{acmeURN + `:origin pr and ` + acmeURN + `:tier eq "silver"`, []string{"bob@example.com"}},
			{`userName sw "j" and ` + acmeURN + `:tier pr`, []string{"jane@example.com"}},
		} {
			list := a.do("GET", "/Users?filter="+url.QueryEscape(c.filter), ownerToken, nil).must(t, http.StatusOK)
			var names []string
			res, _ := list.body["Resources"].([]any)
			for _, r := range res {
				names = append(names, str(r, "userName"))
			}
			// Unsorted results come in the order of the index read (value,
			// then id: backend's Queries), not creation: compared as sets.
			slices.Sort(names)
			if strings.Join(names, ",") != strings.Join(slices.Sorted(slices.Values(c.want)), ",") {
				t.Errorf("filter %s = %v, want %v", c.filter, names, c.want)
			}
		}
		a.do("GET", "/Users?filter="+url.QueryEscape(acmeURN+`:tier eq "gold"`), otherToken, nil).scimError(t, 400, "invalidFilter", "")
		sorted := a.do("GET", "/Users?sortBy="+url.QueryEscape(acmeURN+":tier")+"&sortOrder=descending", ownerToken, nil).must(t, http.StatusOK)
		if str(sorted.body, "Resources", 0, "userName") != "bob@example.com" {
			t.Errorf("sortBy tier descending: first is %s", str(sorted.body, "Resources", 0, "userName"))
		}
	})
}

func TestCustomAttributesAdmin(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("GET", "", collabToken, nil).scimError(t, 403, "", "owner")
		a.schemaAdmin("POST", "", readerToken, acmeSchema()).scimError(t, 403, "", "owner")
		bad := func(mutate func(m map[string]any), scimType, detail string) {
			t.Helper()
			s := acmeSchema()
			mutate(s)
			a.schemaAdmin("POST", "", ownerToken, s).scimError(t, 400, scimType, detail)
		}
		attr := func(i int, k string, v any) func(map[string]any) {
			return func(m map[string]any) { m["attributes"].([]any)[i].(map[string]any)[k] = v }
		}
		bad(func(m map[string]any) { m["id"] = "not a urn" }, "invalidValue", "not a URN")
		bad(func(m map[string]any) { m["id"] = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" }, "invalidValue", "built-in")
		bad(func(m map[string]any) { m["bogus"] = 1 }, "invalidSyntax", "bogus")
		bad(attr(0, "name", "1tier"), "invalidValue", "1tier")
		bad(attr(0, "type", "binary"), "invalidValue", "tier")
		bad(attr(3, "canonicalValues", []any{"1"}), "invalidValue", "points")
		bad(attr(3, "indexed", true), "invalidValue", "points")
		bad(attr(2, "uniqueness", "global"), "invalidValue", "nickname")
		bad(func(m map[string]any) {
			m["attributes"].([]any)[10].(map[string]any)["subAttributes"].([]any)[0] = map[string]any{"name": "deep", "type": "complex",
				"subAttributes": []any{map[string]any{"name": "x", "type": "string"}}}
		}, "invalidValue", "address.deep")
		a.schemaAdmin("POST", "", ownerToken, "{").scimError(t, 400, "invalidSyntax", "")

		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		list := a.schemaAdmin("GET", "", ownerToken, nil).must(t, http.StatusOK)
		if str(list.body, "definitions", 0, "id") != acmeURN {
			t.Errorf("list = %s", list.raw)
		}
		// Changes: what may and may not change.
		change := func(mutate func(m map[string]any)) response {
			s := acmeSchema()
			mutate(s)
			return a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, s)
		}
		change(attr(2, "type", "integer")).scimError(t, 400, "invalidValue", "add a new attribute")
		change(attr(2, "caseExact", true)).scimError(t, 400, "invalidValue", "nickname")
		change(attr(0, "indexed", false)).scimError(t, 400, "invalidValue", "indexed")
		change(func(m map[string]any) {
			m["attributes"].([]any)[10].(map[string]any)["subAttributes"] = []any{map[string]any{"name": "city", "type": "string", "indexed": true}}
		}).scimError(t, 400, "invalidValue", "subAttributes")
		change(attr(2, "required", true)).must(t, http.StatusOK)
		a.do("POST", "/Users", ownerToken, customUser("r@example.com", map[string]any{"tier": "gold"})).scimError(t, 400, "invalidValue", "nickname")
		a.do("POST", "/Users", ownerToken, customUser("r@example.com", map[string]any{"nickname": "r"})).must(t, http.StatusCreated)
		change(attr(0, "canonicalValues", []any{"gold", "silver", "bronze"})).must(t, http.StatusOK)
		a.do("POST", "/Users", ownerToken, customUser("s@example.com", map[string]any{"nickname": "s", "tier": "bronze"})).must(t, http.StatusCreated)
		change(attr(2, "mutability", "readOnly")).must(t, http.StatusOK)
		a.do("PATCH", "/Users?filter=x", ownerToken, nil).must(t, http.StatusMethodNotAllowed)
	})
}

func TestCustomAttributesRemoval(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		u := a.do("POST", "/Users", ownerToken, customUser("jane@example.com", map[string]any{"tier": "gold", "customerNumber": "C-1", "nickname": "j"})).must(t, http.StatusCreated)
		id := str(u.body, "id")
		// Remove one attribute (tier: indexed): it vanishes, then may be defined again.
		s := acmeSchema()
		s["attributes"] = s["attributes"].([]any)[1:]
		a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, s).must(t, http.StatusOK)
		got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if strings.Contains(got.raw, `"tier"`) || str(got.body, acmeURN, "nickname") != "j" {
			t.Errorf("after removing tier: %s", got.raw)
		}
		a.do("GET", "/Users?filter="+url.QueryEscape(acmeURN+`:tier eq "gold"`), ownerToken, nil).scimError(t, 400, "invalidFilter", "")
		a.do("POST", "/Users", ownerToken, customUser("x@example.com", map[string]any{"tier": "gold"})).scimError(t, 400, "invalidValue", "tier")
		// Defined again (the purge is done): no old value comes back, the index is empty.
		s["attributes"] = append(s["attributes"].([]any), map[string]any{"name": "tier", "type": "boolean", "indexed": true})
		a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, s).must(t, http.StatusOK)
		if got := a.do("GET", "/Users/"+id, ownerToken, nil); strings.Contains(got.raw, `"tier"`) {
			t.Errorf("a removed value came back: %s", got.raw)
		}
		if list := a.do("GET", "/Users?filter="+url.QueryEscape(acmeURN+`:tier pr`), ownerToken, nil); str(list.body, "totalResults") != "0" {
			t.Errorf("tier pr after redefinition: %s", list.raw)
		}
		// Remove the schema: the values and the uniqueness claims go.
		a.schemaAdmin("DELETE", "/"+acmeURN, ownerToken, nil).must(t, http.StatusNoContent)
		a.schemaAdmin("GET", "/"+acmeURN, ownerToken, nil).must(t, http.StatusNotFound)
		got = a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if strings.Contains(got.raw, acmeURN) {
			t.Errorf("after removing the schema: %s", got.raw)
		}
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		a.do("POST", "/Users", ownerToken, customUser("x@example.com", map[string]any{"customerNumber": "C-1"})).must(t, http.StatusCreated)
		if got := a.do("GET", "/Users/"+id, ownerToken, nil); strings.Contains(got.raw, acmeURN) {
			t.Errorf("a purged value came back: %s", got.raw)
		}
		changes, err := a.store.Changes(t.Context(), "acme", 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range changes {
			if c.Type == "Schema" && c.ResourceID == acmeURN && c.Who == "token:owner" {
				n++
			}
		}
		if n != 5 {
			t.Errorf("audited schema changes = %d, want 5: %+v", n, changes)
		}
	})
}
