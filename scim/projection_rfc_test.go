package scim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const returnedURN = "urn:example:scim:schemas:extension:returned:1.0:User"

// returnedUser defines badge (returned "always"), card.num (a sub-attribute
// returned "always") and note (returned "request"), and creates a user with
// each set; it returns the user's id and body.
func returnedUser(t *testing.T, a *api) (string, map[string]any) {
	a.schemaAdmin("POST", "", ownerToken, map[string]any{
		"id": returnedURN, "name": "Returned",
		"attributes": []any{
			map[string]any{"name": "badge", "type": "string", "returned": "always"},
			map[string]any{"name": "note", "type": "string", "returned": "request"},
			map[string]any{"name": "card", "type": "complex", "subAttributes": []any{
				map[string]any{"name": "num", "type": "string", "returned": "always"},
				map[string]any{"name": "label", "type": "string"},
			}},
		},
	}).must(t, http.StatusCreated)
	body := user("rv@example.com", map[string]any{
		"schemas":   []string{"urn:ietf:params:scim:schemas:core:2.0:User", returnedURN},
		returnedURN: map[string]any{"badge": "B-1", "note": "vip", "card": map[string]any{"num": "42", "label": "gold"}},
	})
	return str(a.do("POST", "/Users", ownerToken, body).must(t, http.StatusCreated).body, "id"), body
}

// TestProjectionKeepsReturnedAlways: RFC 7643 §7, "always": "The attribute
// is always returned, regardless of the contents of the "attributes"
// parameter"; RFC 7644 §3.4.2.5: excludedAttributes "SHALL have no effect
// on attributes whose schema "returned" setting is "always"".
func TestProjectionKeepsReturnedAlways(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id, _ := returnedUser(t, a)
		for _, q := range []string{
			"/Users/" + id + "?attributes=userName",
			"/Users?attributes=userName",
			"/Users/" + id + "?excludedAttributes=" + url.QueryEscape(returnedURN+":badge,"+returnedURN+":card"),
			"/Users/" + id + "?excludedAttributes=" + url.QueryEscape(returnedURN),
		} {
			r := a.do("GET", q, ownerToken, nil).must(t, http.StatusOK)
			if !strings.Contains(r.raw, `"badge":"B-1"`) || !strings.Contains(r.raw, `"num":"42"`) {
				t.Errorf("GET %s: badge or card.num (returned always) missing: %s", q, r.raw)
			}
			if strings.Contains(r.raw, "gold") || strings.Contains(r.raw, "vip") {
				t.Errorf("GET %s: shows what the projection leaves out: %s", q, r.raw)
			}
		}
		r := a.do("PATCH", "/Users/"+id+"?attributes=id", ownerToken, patch(op("replace", "title", "Boss"))).must(t, http.StatusOK)
		if str(r.body, returnedURN, "badge") != "B-1" {
			t.Errorf("PATCH ?attributes=id: %s, want badge", r.raw)
		}
	})
}

// TestWriteResponseShowsReturnedRequest: RFC 7643 §7, "request": "The
// attribute is returned in response to any PUT, POST, or PATCH operations
// if the attribute was specified by the client"; a read shows it only when
// attributes names it.
func TestWriteResponseShowsReturnedRequest(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id, body := returnedUser(t, a)
		put := a.do("PUT", "/Users/"+id, ownerToken, body).must(t, http.StatusOK)
		pat := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", returnedURN+":note", "vvip"))).must(t, http.StatusOK)
		noPath := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "", map[string]any{returnedURN + ":note": "v3"}))).must(t, http.StatusOK)
		body["userName"] = "rv2@example.com"
		post := a.do("POST", "/Users", ownerToken, body).must(t, http.StatusCreated)
		for name, r := range map[string]response{"POST": post, "PUT": put, "PATCH": pat, "PATCH without path": noPath} {
			if str(r.body, returnedURN, "note") == "" {
				t.Errorf("%s that set note (returned request): the response omits it: %s", name, r.raw)
			}
		}
		other := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "title", "Boss"))).must(t, http.StatusOK)
		get := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		for name, r := range map[string]response{"a PATCH of title": other, "GET": get} {
			if strings.Contains(r.raw, `"note"`) {
				t.Errorf("%s shows note (returned request), which it did not name: %s", name, r.raw)
			}
		}
	})
}

// TestIfNoneMatchOnWrites: RFC 9110 §13.1.2: when If-None-Match names the
// current version (or is "*" and the resource exists), a server "MUST NOT
// perform the requested method", and answers 412 to methods other than GET
// and HEAD.
func TestIfNoneMatchOnWrites(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		c := a.do("POST", "/Users", ownerToken, user("inm@example.com", nil)).must(t, http.StatusCreated)
		id, etag := str(c.body, "id"), c.header.Get("ETag")
		a.do("PUT", "/Users/"+id, ownerToken, user("inm@example.com", map[string]any{"title": "A"}), "If-None-Match", "*").
			must(t, http.StatusPreconditionFailed)
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "title", "B")), "If-None-Match", `W/"99", `+etag).
			must(t, http.StatusPreconditionFailed)
		a.do("DELETE", "/Users/"+id, ownerToken, nil, "If-None-Match", "*").must(t, http.StatusPreconditionFailed)
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK); str(got.body, "title") != "" || got.header.Get("ETag") != etag {
			t.Fatalf("after refused writes the user is %s", got.raw)
		}
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "title", "C")), "If-None-Match", `W/"99"`).must(t, http.StatusOK)
		g := a.do("POST", "/Groups", ownerToken, group("INM")).must(t, http.StatusCreated)
		a.do("PATCH", "/Groups/"+str(g.body, "id"), ownerToken, patch(op("add", "members", []any{map[string]any{"value": id}})), "If-None-Match", g.header.Get("ETag")).
			must(t, http.StatusPreconditionFailed)
	})
}

// TestProjectionSchemasNameOnlyPresentSchemas: RFC 7643 §3, "schemas" lists
// "the namespaces of the SCIM schemas that define the attributes present in
// the current JSON structure": an extension that attributes or
// excludedAttributes leaves out is not named.
func TestProjectionSchemasNameOnlyPresentSchemas(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := str(a.do("POST", "/Users", ownerToken, user("proj@example.com", map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterpriseURN},
			enterpriseURN: map[string]any{"employeeNumber": "7"},
		})).must(t, http.StatusCreated).body, "id")
		for q, want := range map[string]bool{
			"/Users/" + id + "?excludedAttributes=" + url.QueryEscape(enterpriseURN):                     false,
			"/Users/" + id + "?attributes=userName":                                                      false,
			"/Users?attributes=userName&filter=" + url.QueryEscape(`userName eq "proj@example.com"`):     false,
			"/Users/" + id + "?attributes=" + url.QueryEscape(enterpriseURN+":employeeNumber"):           true,
			"/Users/" + id + "?excludedAttributes=userName":                                              true,
			"/Users?excludedAttributes=name&filter=" + url.QueryEscape(`userName eq "proj@example.com"`): true,
		} {
			r := a.do("GET", q, ownerToken, nil).must(t, http.StatusOK)
			doc := r.body
			if list, ok := r.body["Resources"].([]any); ok && len(list) == 1 {
				doc, _ = list[0].(map[string]any)
			}
			_, has := doc[enterpriseURN]
			named := strings.Contains(str(doc, "schemas"), enterpriseURN)
			if has != want || named != want {
				t.Errorf("GET %s: extension present %v, named in schemas %v (%s); want both %v", q, has, named, str(doc, "schemas"), want)
			}
			if !strings.Contains(str(doc, "schemas"), "urn:ietf:params:scim:schemas:core:2.0:User") {
				t.Errorf("GET %s: schemas %s lacks the core schema", q, str(doc, "schemas"))
			}
		}
	})
}
