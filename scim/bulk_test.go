package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

const bulkRequestURN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

// bulkReq returns a BulkRequest of ops; failOnErrors is left out when 0.
func bulkReq(failOnErrors int, ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	b := map[string]any{"schemas": []string{bulkRequestURN}, "Operations": list}
	if failOnErrors != 0 {
		b["failOnErrors"] = failOnErrors
	}
	return b
}

// bulkOp returns one bulk operation; bulkID, version and data are left out
// when empty.
func bulkOp(method, path, bulkID, version string, data map[string]any) map[string]any {
	o := map[string]any{"method": method, "path": path}
	if bulkID != "" {
		o["bulkId"] = bulkID
	}
	if version != "" {
		o["version"] = version
	}
	if data != nil {
		o["data"] = data
	}
	return o
}

// results returns the Operations of a BulkResponse, checking its envelope.
func results(tb testing.TB, r response) []map[string]any {
	tb.Helper()
	r.must(tb, http.StatusOK)
	if got := str(r.body, "schemas", 0); got != "urn:ietf:params:scim:api:messages:2.0:BulkResponse" {
		tb.Errorf("schemas = %q, want the BulkResponse URN", got)
	}
	list, ok := r.body["Operations"].([]any)
	if !ok {
		tb.Fatalf("BulkResponse has no Operations array: %s", r.raw)
	}
	out := make([]map[string]any, len(list))
	for i, o := range list {
		out[i], _ = o.(map[string]any)
	}
	return out
}

// resultsN is [results], which must be n.
func resultsN(tb testing.TB, r response, n int) []map[string]any {
	tb.Helper()
	res := results(tb, r)
	if len(res) != n {
		tb.Fatalf("%d results, want %d: %s", len(res), n, r.raw)
	}
	return res
}

// wantResult checks one operation result: its status, and for an error the
// scimType and a part of the detail of its response.
func wantResult(tb testing.TB, res map[string]any, status, scimType, detail string) {
	tb.Helper()
	if got := str(res, "status"); got != status {
		tb.Errorf("%s %s: status = %q, want %q; result: %v", str(res, "method"), str(res, "bulkId"), got, status, res)
		return
	}
	if status[0] < '4' {
		if res["response"] != nil {
			tb.Errorf("successful operation has a response: %v", res)
		}
		return
	}
	if got := str(res, "response", "status"); got != status {
		tb.Errorf("response.status = %q, want %q", got, status)
	}
	if got := str(res, "response", "scimType"); got != scimType {
		tb.Errorf("response.scimType = %q, want %q; result: %v", got, scimType, res)
	}
	if got := str(res, "response", "detail"); !strings.Contains(got, detail) {
		tb.Errorf("response.detail = %q, want it to contain %q", got, detail)
	}
}

// count returns totalResults of a filtered list.
func count(a *api, tb testing.TB, endpoint, filter string) float64 {
	tb.Helper()
	r := a.do("GET", endpoint+"?filter="+urlQuery(filter), ownerToken, nil).must(tb, 200)
	n, _ := r.body["totalResults"].(float64)
	return n
}

func TestBulkForwardReferences(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		// The group comes first and names users created later in the request.
		r := a.do("POST", "/Bulk", collabToken, bulkReq(0,
			bulkOp("POST", "/Groups", "team", "", group("Team", "bulkId:ann", "bulkId:bob")),
			bulkOp("POST", "/Users", "ann", "", user("ann@example.com", nil)),
			bulkOp("post", "/users", "bob", "", user("bob@example.com", nil)),
			// Path and PATCH filter references to a user created above.
			bulkOp("PATCH", "/Users/bulkId:bob", "", "", patch(op("replace", "displayName", "Bob"))),
			bulkOp("PATCH", "/Groups/bulkId:team", "", "", patch(op("remove", `members[value eq "bulkId:ann"]`, nil))),
		))
		res := results(t, r)
		if len(res) != 5 {
			t.Fatalf("got %d results, want 5: %s", len(res), r.raw)
		}
		for i, want := range []struct{ method, bulkID, status string }{
			{"POST", "team", "201"}, {"POST", "ann", "201"}, {"POST", "bob", "201"}, {"PATCH", "", "200"}, {"PATCH", "", "200"},
		} {
			if str(res[i], "method") != want.method || str(res[i], "bulkId") != want.bulkID {
				t.Errorf("result %d = %v, want method %s bulkId %q (request order)", i, res[i], want.method, want.bulkID)
			}
			wantResult(t, res[i], want.status, "", "")
			if loc := str(res[i], "location"); !strings.HasPrefix(loc, a.srv.URL+"/scim/v2/") {
				t.Errorf("result %d location = %q", i, loc)
			}
			if v := str(res[i], "version"); !strings.HasPrefix(v, `W/"`) {
				t.Errorf("result %d version = %q, want an ETag", i, v)
			}
		}
		id := func(i int) string { loc := str(res[i], "location"); return loc[strings.LastIndex(loc, "/")+1:] }
		gid, ann, bob := id(0), id(1), id(2)
		if !strings.HasSuffix(str(res[3], "location"), "/Users/"+bob) || !strings.HasSuffix(str(res[4], "location"), "/Groups/"+gid) {
			t.Errorf("bulkId paths not resolved in locations: %v, %v", res[3], res[4])
		}
		g := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, 200)
		if got := memberIDs(g.body); !equal(got, []string{bob}) {
			t.Errorf("group members = %v, want [%s] (ann %s removed by a filter on her bulkId)", got, bob, ann)
		}
		if strings.Contains(g.raw, "bulkId:") {
			t.Errorf("a bulkId reference was stored: %s", g.raw)
		}
		b := a.do("GET", "/Users/"+bob, ownerToken, nil).must(t, 200)
		if str(b.body, "displayName") != "Bob" || !equal(groupIDs(b.body), []string{gid}) {
			t.Errorf("bob = %s", b.raw)
		}
		if v := b.header.Get("ETag"); v != str(res[3], "version") {
			t.Errorf("PATCH result version = %q, GET ETag = %q", str(res[3], "version"), v)
		}
	})
}

func TestBulkVersions(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := a.do("POST", "/Users", ownerToken, user("v@example.com", nil)).must(t, 201)
		uid, uver := str(u.body, "id"), u.header.Get("ETag")
		gone := a.do("POST", "/Users", ownerToken, user("gone@example.com", nil)).must(t, 201)
		goneID, goneVer := str(gone.body, "id"), gone.header.Get("ETag")
		keep := a.do("POST", "/Users", ownerToken, user("keep@example.com", nil)).must(t, 201)
		keepID := str(keep.body, "id")
		a.do("PATCH", "/Users/"+keepID, ownerToken, patch(op("replace", "displayName", "Kept"))).must(t, 200)
		g := a.do("POST", "/Groups", ownerToken, group("Versioned")).must(t, 201)
		gid, gver := str(g.body, "id"), g.header.Get("ETag")

		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("PATCH", "/Users/"+uid, "", uver, patch(op("replace", "displayName", "Vee"))),
			bulkOp("PATCH", "/Groups/"+gid, "", gver, patch(op("add", "members", []any{map[string]any{"value": uid}}))),
			bulkOp("DELETE", "/Users/"+goneID, "", goneVer, nil),
			// keep's version moved on: both are refused and change nothing.
			bulkOp("PATCH", "/Users/"+keepID, "", str(keep.body, "meta", "version"), patch(op("replace", "displayName", "Lost"))),
			bulkOp("DELETE", "/Users/"+keepID, "", str(keep.body, "meta", "version"), nil),
			bulkOp("PUT", "/Users/"+uid, "", `W/"not-a-version"`, user("v@example.com", nil)),
		)))
		if len(res) != 6 {
			t.Fatalf("got %d results, want 6", len(res))
		}
		wantResult(t, res[0], "200", "", "")
		wantResult(t, res[1], "200", "", "")
		wantResult(t, res[2], "204", "", "")
		wantResult(t, res[3], "412", "", "")
		wantResult(t, res[4], "412", "", "")
		wantResult(t, res[5], "412", "", "not-a-version")
		if got := str(res[2], "location"); got != a.srv.URL+"/scim/v2/Users/"+goneID {
			t.Errorf("DELETE location = %q", got)
		}
		if got := str(res[3], "location"); got != a.srv.URL+"/scim/v2/Users/"+keepID {
			t.Errorf("failed PATCH location = %q, want the resource's", got)
		}
		a.do("GET", "/Users/"+goneID, ownerToken, nil).must(t, 404)
		k := a.do("GET", "/Users/"+keepID, ownerToken, nil).must(t, 200)
		if str(k.body, "displayName") != "Kept" {
			t.Errorf("a refused PATCH changed the user: %s", k.raw)
		}
		v := a.do("GET", "/Users/"+uid, ownerToken, nil).must(t, 200)
		if str(v.body, "displayName") != "Vee" || !equal(groupIDs(v.body), []string{gid}) {
			t.Errorf("user after bulk = %s", v.raw)
		}
	})
}

func TestBulkFailOnErrors(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("taken@example.com", nil)).must(t, 201)
		ops := []map[string]any{
			bulkOp("POST", "/Users", "a", "", user("a@example.com", nil)),
			bulkOp("POST", "/Users", "dup", "", user("TAKEN@example.com", nil)),
			bulkOp("DELETE", "/Users/no-such-id", "", "", nil),
			bulkOp("POST", "/Users", "b", "", user("b@example.com", nil)),
		}
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(1, ops...)))
		if len(res) != 2 {
			t.Fatalf("failOnErrors 1: got %d results, want 2 (stop after the first error): %v", len(res), res)
		}
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "409", "uniqueness", "already taken")
		if res[1]["location"] != nil {
			t.Errorf("failed POST has a location: %v", res[1])
		}
		if n := count(a, t, "/Users", `userName eq "b@example.com"`); n != 0 {
			t.Errorf("an operation after failOnErrors was reached ran: %v users b", n)
		}
		if n := count(a, t, "/Users", `userName eq "taken@example.com"`); n != 1 {
			t.Errorf("the failed POST changed something: %v users taken", n)
		}

		// Without failOnErrors every operation runs; with 2, the second error stops.
		ops[0] = bulkOp("POST", "/Users", "c", "", user("c@example.com", nil))
		res = results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0, ops...)))
		if len(res) != 4 {
			t.Fatalf("no failOnErrors: got %d results, want 4", len(res))
		}
		wantResult(t, res[2], "404", "", "no-such-id")
		wantResult(t, res[3], "201", "", "")
		ops[0] = bulkOp("POST", "/Users", "d", "", user("d@example.com", nil))
		ops[3] = bulkOp("POST", "/Users", "e", "", user("e@example.com", nil))
		if res = results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(2, ops...))); len(res) != 3 {
			t.Errorf("failOnErrors 2: got %d results, want 3", len(res))
		}
		if n := count(a, t, "/Users", `userName eq "e@example.com"`); n != 0 {
			t.Errorf("failOnErrors 2 ran the operation after the second error")
		}
	})
}

func TestBulkReferenceErrors(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("taken@example.com", nil)).must(t, 201)
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			// A and B name each other: a cycle.
			bulkOp("POST", "/Groups", "A", "", group("Cycle A", "bulkId:B")),
			bulkOp("POST", "/Groups", "B", "", group("Cycle B", "bulkId:A")),
			// A group that names itself.
			bulkOp("POST", "/Groups", "self", "", group("Self", "bulkId:self")),
			// Depends on the cycle; not on it.
			bulkOp("PATCH", "/Groups/bulkId:A", "", "", patch(op("replace", "displayName", "Renamed"))),
			// Nothing declares "ghost".
			bulkOp("POST", "/Groups", "", "", group("Ghostly", "bulkId:ghost")),
			bulkOp("DELETE", "/Users/bulkId:ghost", "", "", nil),
			// Its POST fails.
			bulkOp("POST", "/Users", "dup", "", user("taken@example.com", nil)),
			bulkOp("POST", "/Groups", "", "", group("Orphan", "bulkId:dup")),
		)))
		if len(res) != 8 {
			t.Fatalf("got %d results, want 8: %v", len(res), res)
		}
		// The cycles are tried (RFC 7644 §3.7.1) and fail: groups have
		// users as members, not groups. B is refused for naming A; A, created
		// first, is deleted again with the rest of its cycle; "self" likewise.
		wantResult(t, res[0], "409", "", `bulkId "A" was undone: it is on a circular reference among bulkIds "A", "B"`)
		wantResult(t, res[1], "400", "invalidValue", "members")
		wantResult(t, res[2], "400", "invalidValue", "members")
		wantResult(t, res[3], "409", "", `bulkId "A" cannot be resolved`)
		wantResult(t, res[4], "409", "", `no POST operation in this request declares it`)
		wantResult(t, res[5], "409", "", `"ghost"`)
		wantResult(t, res[6], "409", "uniqueness", "")
		wantResult(t, res[7], "409", "", `the POST that declares it failed`)
		if n := a.do("GET", "/Groups", ownerToken, nil).must(t, 200).body["totalResults"]; n != float64(0) {
			t.Errorf("failed operations created %v groups", n)
		}
		if n := a.do("GET", "/Users", ownerToken, nil).must(t, 200).body["totalResults"]; n != float64(1) {
			t.Errorf("users = %v, want 1", n)
		}
	})
}

// TestBulkResolvesCycles: two users that are each other's manager, and a
// group of both, in one request (RFC 7644 §3.7.1: the provider "MUST try to
// resolve circular cross-references"). The first user is created without its
// manager, which a PATCH adds once the second exists.
func TestBulkResolvesCycles(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		manager := func(ref string) map[string]any {
			return map[string]any{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"manager": map[string]any{"value": ref}}}
		}
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Groups", "team", "", group("Team", "bulkId:ann", "bulkId:bob")),
			bulkOp("POST", "/Users", "ann", "", user("ann@example.com", manager("bulkId:bob"))),
			bulkOp("POST", "/Users", "bob", "", user("bob@example.com", manager("bulkId:ann"))),
		)))
		for i := range 3 {
			wantResult(t, res[i], "201", "", "")
		}
		ann := a.do("GET", "/Users/"+lastSegment(str(res[1], "location")), ownerToken, nil).must(t, 200)
		bob := a.do("GET", "/Users/"+lastSegment(str(res[2], "location")), ownerToken, nil).must(t, 200)
		const ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		if got := str(ann.body, ext, "manager", "value"); got != str(bob.body, "id") {
			t.Errorf("ann's manager = %q, want bob %q", got, str(bob.body, "id"))
		}
		if got := str(bob.body, ext, "manager", "value"); got != str(ann.body, "id") {
			t.Errorf("bob's manager = %q, want ann %q", got, str(ann.body, "id"))
		}
		if got := str(res[1], "version"); got != `W/"2"` { // created, then her manager added (joining the team comes after)
			t.Errorf("ann's bulk result version %q, want W/\"2\", her version once her manager was added", got)
		}
		team := a.do("GET", "/Groups/"+lastSegment(str(res[0], "location")), ownerToken, nil).must(t, 200)
		if got := memberIDs(team.body); len(got) != 2 {
			t.Errorf("team members = %v, want ann and bob", got)
		}
	})
}

// TestBulkCycleAllOrNothing: when the PATCH that links one resource of a
// cycle fails, none of the cycle's resources is kept: the others name it.
func TestBulkCycleAllOrNothing(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		manager := func(m map[string]any) map[string]any {
			return map[string]any{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"manager": m}}
		}
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			// manager.displayName is readOnly: the PATCH that adds it fails.
			bulkOp("POST", "/Users", "a", "", user("cyc-a@example.com", manager(map[string]any{"value": "bulkId:b", "displayName": "Boss"}))),
			bulkOp("POST", "/Users", "b", "", user("cyc-b@example.com", manager(map[string]any{"value": "bulkId:a"}))),
		)))
		wantResult(t, res[0], "400", "mutability", "")
		wantResult(t, res[1], "409", "", `bulkId "b" was undone`)
		if n := count(a, t, "/Users", `userName sw "cyc-"`); n != 0 {
			t.Errorf("%v users of the failed cycle were kept, want none", n)
		}
	})
}

// TestBulkFailedOperationsHaveALocation: RFC 7644 §3.7.3 requires location
// on every result but a failed POST's.
func TestBulkFailedOperationsHaveALocation(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("DELETE", "/Users/no-such-user", "", "", nil),
			bulkOp("PUT", "/Users/no-such-user", "", "", nil),
		)))
		for i, want := range []struct{ status, scimType string }{{"404", ""}, {"400", "invalidSyntax"}} {
			wantResult(t, res[i], want.status, want.scimType, "")
			if loc := str(res[i], "location"); !strings.HasSuffix(loc, "/Users/no-such-user") {
				t.Errorf("result %d location = %q, want the resource's URL", i, loc)
			}
		}
	})
}

func lastSegment(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }

func TestBulkNamesIgnoreCase(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		body := `{"SCHEMAS":["URN:ietf:params:scim:api:messages:2.0:bulkrequest"],"FailOnErrors":"1","operations":[
			{"Method":"post","PATH":"/USERS","BulkID":"u","DATA":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"case@example.com"}},
			{"method":"POST","path":"/Groups","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Case","members":[{"value":"bulkId:u"}]}}]}`
		res := results(t, a.do("POST", "/Bulk", ownerToken, body))
		if len(res) != 2 {
			t.Fatalf("got %d results, want 2", len(res))
		}
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "201", "", "")
		if str(res[0], "bulkId") != "u" || !strings.Contains(str(res[0], "location"), "/scim/v2/Users/") {
			t.Errorf("result = %v", res[0])
		}
	})
}

func TestBulkRejectedAsAWhole(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		many := make([]map[string]any, 1001)
		for i := range many {
			many[i] = bulkOp("POST", "/Users", "", "", user(fmt.Sprintf("m%d@example.com", i), nil))
		}
		big := user("big@example.com", map[string]any{"displayName": strings.Repeat("x", 1<<20)})
		cases := []struct {
			name     string
			token    string
			body     any
			status   int
			scimType string
			detail   string
		}{
			{"duplicate bulkId", ownerToken, bulkReq(0,
				bulkOp("POST", "/Users", "same", "", user("x1@example.com", nil)),
				bulkOp("POST", "/Users", "same", "", user("x2@example.com", nil))), 400, "invalidValue", `"same"`},
			{"too many operations", ownerToken, bulkReq(0, many...), 413, "", "maxOperations is 1000"},
			{"payload too large", ownerToken, bulkReq(0, bulkOp("POST", "/Users", "", "", big)), 413, "", "maxPayloadSize (1048576 bytes)"},
			{"not JSON", ownerToken, `{"schemas":`, 400, "invalidSyntax", "JSON"},
			{"not an object", ownerToken, `[]`, 400, "invalidSyntax", "BulkRequest"},
			{"no schemas", ownerToken, map[string]any{"Operations": []any{}}, 400, "invalidSyntax", "schemas"},
			{"Operations missing", ownerToken, map[string]any{"schemas": []string{bulkRequestURN}}, 400, "invalidSyntax", "Operations"},
			{"operation not an object", ownerToken, map[string]any{"schemas": []string{bulkRequestURN}, "Operations": []any{"POST"}}, 400, "invalidSyntax", "Operations[0]"},
			{"method missing", ownerToken, bulkReq(0, map[string]any{"path": "/Users"}), 400, "invalidSyntax", "Operations[0].method"},
			{"data not an object", ownerToken, bulkReq(0, map[string]any{"method": "POST", "path": "/Users", "data": "x"}), 400, "invalidSyntax", "Operations[0].data"},
			{"failOnErrors not an integer", ownerToken, map[string]any{"schemas": []string{bulkRequestURN}, "failOnErrors": 1.5, "Operations": []any{}}, 400, "invalidSyntax", "failOnErrors"},
			{"reader", readerToken, bulkReq(0, bulkOp("POST", "/Users", "", "", user("r@example.com", nil))), 403, "", "may only read"},
			{"no token", "", bulkReq(0, bulkOp("POST", "/Users", "", "", user("n@example.com", nil))), 401, "", "Bearer"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a.do("POST", "/Bulk", c.token, c.body).scimError(t, c.status, c.scimType, c.detail)
			})
		}
		if n := a.do("GET", "/Users", ownerToken, nil).must(t, 200).body["totalResults"]; n != float64(0) {
			t.Errorf("refused bulk requests created %v users", n)
		}
		a.do("GET", "/Bulk", readerToken, nil).scimError(t, 405, "", "POST")
	})
}

func TestBulkOperationTargets(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		other := a.do("POST", "/Users", otherToken, user("globex@example.com", nil)).must(t, 201)
		otherID := str(other.body, "id")
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("PATCH", "/Users/"+otherID, "", "", patch(op("replace", "displayName", "Stolen"))),
			bulkOp("DELETE", "/Users/"+otherID, "", "", nil),
			bulkOp("POST", "/Bulk", "", "", bulkReq(0)),
			bulkOp("GET", "/Users", "", "", nil),
			bulkOp("PUT", "/Schemas/x", "", "", map[string]any{}),
			bulkOp("POST", "/Users/x", "", "", user("p@example.com", nil)),
			bulkOp("DELETE", "/Users", "", "", nil),
			bulkOp("PATCH", "/Users/.search", "", "", patch(op("replace", "displayName", "x"))),
			bulkOp("POST", "/Users", "", "", nil),
			bulkOp("PATCH", "/Users/"+otherID, "", "", map[string]any{"Operations": "x"}),
		)))
		if len(res) != 10 {
			t.Fatalf("got %d results, want 10", len(res))
		}
		wantResult(t, res[0], "404", "", otherID)
		wantResult(t, res[1], "404", "", otherID)
		wantResult(t, res[2], "400", "invalidValue", "only /Users and /Groups")
		wantResult(t, res[3], "400", "invalidValue", "GET")
		wantResult(t, res[4], "400", "invalidValue", "/Schemas/x")
		wantResult(t, res[5], "400", "invalidValue", "POST creates")
		wantResult(t, res[6], "400", "invalidValue", "/Users/{id}")
		wantResult(t, res[7], "400", "invalidValue", "/Users/.search")
		wantResult(t, res[8], "400", "invalidSyntax", "needs data")
		wantResult(t, res[9], "400", "invalidSyntax", "")
		got := a.do("GET", "/Users/"+otherID, otherToken, nil).must(t, 200)
		if str(got.body, "displayName") == "Stolen" {
			t.Errorf("another organization's user was changed: %s", got.raw)
		}
	})
}

func TestBulkAdvertised(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		r := a.do("GET", "/ServiceProviderConfig", readerToken, nil).must(t, 200)
		if got := str(r.body, "bulk"); got != `{"maxOperations":1000,"maxPayloadSize":1048576,"supported":true}` {
			t.Errorf("bulk = %s", got)
		}
	})
}

// leavingClient is a user store through which the client of a /Bulk request
// leaves mid-way: once its creates-th CreateUser (or replaces-th ReplaceUser)
// has returned, it cancels the request's context.
type leavingClient struct {
	*backend.Store
	creates, replaces int64 // 0: never
	cancel            context.CancelFunc
	nCreate, nReplace atomic.Int64
}

func (l *leavingClient) CreateUser(ctx context.Context, org string, u resources.Resource, w resources.UserWrite) (resources.Resource, error) {
	res, err := l.Store.CreateUser(ctx, org, u, w)
	if l.nCreate.Add(1) == l.creates {
		l.cancel()
	}
	return res, err
}

func (l *leavingClient) ReplaceUser(ctx context.Context, org string, u resources.Resource, version int64, w resources.UserWrite) (resources.Resource, error) {
	res, err := l.Store.ReplaceUser(ctx, org, u, version, w)
	if l.nReplace.Add(1) == l.replaces {
		l.cancel()
	}
	return res, err
}

// TestBulkCycleClientLeaves: a cycle of 20 users, each the next one's
// manager, whose client leaves while the users are created or while their
// managers are linked. The cycle is all or nothing: it stops at once, and
// what it created is deleted again, although the request's context is gone.
func TestBulkCycleClientLeaves(t *testing.T) {
	const n = 20
	const ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ops := make([]map[string]any, n)
	for i := range ops {
		manager := map[string]any{ext: map[string]any{"manager": map[string]any{"value": fmt.Sprintf("bulkId:u%d", (i+1)%n)}}}
		ops[i] = bulkOp("POST", "/Users", fmt.Sprintf("u%d", i), "", user(fmt.Sprintf("left-%02d@example.com", i), manager))
	}
	body, err := json.Marshal(bulkReq(0, ops...))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name              string
		creates, replaces int64
	}{
		{"while creating", 5, 0},
		{"while linking", 0, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			redistest.EachStore(t, func(t *testing.T, url string) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				l := &leavingClient{creates: c.creates, replaces: c.replaces, cancel: cancel}
				a := newAPIWith(t, url, storeWrap{users: func(st *backend.Store) resources.UserStore { l.Store = st; return l }})
				req := httptest.NewRequestWithContext(ctx, "POST", scim.BasePath+"/Bulk", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+ownerToken)
				req.Header.Set("Content-Type", "application/scim+json")
				a.handler.ServeHTTP(httptest.NewRecorder(), req)
				if ctx.Err() == nil {
					t.Fatalf("the client never left: %d creates, %d replaces", l.nCreate.Load(), l.nReplace.Load())
				}
				if got := count(a, t, "/Users", `userName sw "left-"`); got != 0 {
					t.Errorf("%v users of the cycle are left after its client left, want none", got)
				}
				// The cycle stopped when the client left: no operation ran after.
				if c.creates > 0 && l.nCreate.Load() != c.creates {
					t.Errorf("%d creates ran, want %d: the cycle went on after its client left", l.nCreate.Load(), c.creates)
				}
				if c.replaces > 0 && (l.nCreate.Load() != n || l.nReplace.Load() != c.replaces) {
					t.Errorf("%d creates and %d replaces ran, want %d and %d", l.nCreate.Load(), l.nReplace.Load(), n, c.replaces)
				}
			})
		})
	}
}

// TestBulkTextIsNotAReference: "bulkId:" followed by no name (a space, a
// quote) is text, as in a single POST; a reference inside a longer string
// still resolves. A failOnErrors beyond 32 bits is taken as very large.
func TestBulkTextIsNotAReference(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "f", "", user("free@example.com", map[string]any{"title": "Ask bulkId: desk", "nickName": `say "bulkId:"`})),
			bulkOp("POST", "/Groups", "g", "", group("G")),
			bulkOp("PATCH", "/Groups/bulkId:g", "", "", patch(op("add", "members", []any{map[string]any{"value": "bulkId:f"}}))),
		)))
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[2], "200", "", "")
		u := a.do("GET", "/Users/"+lastSegment(str(res[0], "location")), ownerToken, nil).must(t, 200)
		if str(u.body, "title") != "Ask bulkId: desk" || str(u.body, "nickName") != `say "bulkId:"` || str(u.body, "groups", 0, "display") != "G" {
			t.Errorf("user created through /Bulk = %s", u.raw)
		}
		b := bulkReq(0, bulkOp("DELETE", "/Users/none", "", "", nil))
		b["failOnErrors"] = int64(1) << 40
		if r := a.do("POST", "/Bulk", ownerToken, b).must(t, 200); len(results(t, r)) != 1 {
			t.Errorf("failOnErrors 2^40: %s", r.raw)
		}
	})
}

// TestBulkCycleInvitesOnlyWhenKept: customers created by a circular
// reference are invited once the cycle is kept; an undone cycle (one of its
// operations failed: its customers are deleted) invites nobody.
func TestBulkCycleInvitesOnlyWhenKept(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, users *resources.Users, mails mailbox) {
		a.setting(t, ownerToken, map[string]any{"onboarding": "invite"}).must(t, http.StatusOK)
		const ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		manager := func(m map[string]any) map[string]any { return map[string]any{ext: map[string]any{"manager": m}} }
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "a", "", user("cyc-a@example.com", manager(map[string]any{"value": "bulkId:b", "displayName": "Boss"}))),
			bulkOp("POST", "/Users", "b", "", user("cyc-b@example.com", manager(map[string]any{"value": "bulkId:a"}))),
		)))
		wantResult(t, res[0], "400", "mutability", "")
		wantResult(t, res[1], "409", "", "was undone")
		if n := count(a, t, "/Users", `userName sw "cyc-"`); n != 0 {
			t.Fatalf("%v users of the undone cycle kept", n)
		}
		for _, m := range mails.Messages() {
			t.Errorf("invitation mailed to %s, whose creation was undone", m.To)
		}
		res = results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "c", "", user("cyc-c@example.com", manager(map[string]any{"value": "bulkId:d"}))),
			bulkOp("POST", "/Users", "d", "", user("cyc-d@example.com", manager(map[string]any{"value": "bulkId:c"}))),
		)))
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "201", "", "")
		var to []string
		for _, m := range mails.Messages() {
			to = append(to, m.To)
		}
		if strings.Join(to, ",") != "cyc-c@example.com,cyc-d@example.com" {
			t.Errorf("invitations mailed to %v, want cyc-c and cyc-d once each", to)
		}
		u := a.do("GET", "/Users/"+lastSegment(str(res[1], "location")), ownerToken, nil).must(t, http.StatusOK)
		if got := str(u.body, "urn:scim:schemas:extension:customer:2.0:User", "accountState"); got != "pendingInvitation" {
			t.Errorf("accountState = %q, want pendingInvitation", got)
		}
	})
}

// TestBulkTextContainingBulkID: "bulkId:" inside a longer string is a
// reference only in a PATCH path (RFC 7644 §3.7.2 replaces "the string
// "bulkId:qwerty""), and a password is never one: a password or a title
// that a direct POST stores as sent is stored so inside /Bulk too, and no
// detail quotes the password (review).
func TestBulkTextContainingBulkID(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		extra := map[string]any{"password": "S3cret-bulkId:Xy9!zz", "title": "Liaison (see bulkId:ops)"}
		a.do("POST", "/Users", ownerToken, user("direct@example.com", extra)).must(t, http.StatusCreated)
		r := a.do("POST", "/Bulk", ownerToken, bulkReq(0, bulkOp("POST", "/Users", "b", "", user("bulk@example.com", extra))))
		res := results(t, r)
		wantResult(t, res[0], "201", "", "")
		if strings.Contains(r.raw, "Xy9!zz") {
			t.Errorf("the bulk response echoes part of the password: %s", r.raw)
		}
		if id := lastSegment(str(res[0], "location")); id != "" {
			if got := str(a.do("GET", "/Users/"+id, ownerToken, nil).body, "title"); got != "Liaison (see bulkId:ops)" {
				t.Errorf("title = %q, want it as sent", got)
			}
		}
	})
}

// TestBulkFailedNonPostHasLocation: RFC 7644 §3.7.3 (and the README:
// "location on every result but a failed POST's"): a failed PATCH, PUT or
// DELETE whose path names its resource by a bulkId that does not resolve
// has its path as sent for location (review).
func TestBulkFailedNonPostHasLocation(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("taken@example.com", nil)).must(t, http.StatusCreated)
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("DELETE", "/Users/bulkId:ghost", "", "", nil),
			bulkOp("POST", "/Users", "dup", "", user("taken@example.com", nil)),
			bulkOp("PATCH", "/Users/bulkId:dup", "", "", patch(op("replace", "title", "x"))),
		)))
		for _, i := range []int{0, 2} {
			if str(res[i], "status")[0] < '4' {
				t.Fatalf("result %d did not fail: %v", i, res[i])
			}
			if loc := str(res[i], "location"); loc == "" {
				t.Errorf("result %d (%s, failed %s) has no location: %v", i, str(res[i], "method"), str(res[i], "status"), res[i])
			}
		}
	})
}

// TestBulkIdRefusesReferenceEnds: a bulkId holding a character that ends a
// reference inside a PATCH path's filter (a space, a quote, /,;()[]{}?#&=)
// could be declared and never referenced there: it is refused at once,
// saying which characters to use, rather than a later "cannot be resolved"
// (review).
func TestBulkIdRefusesReferenceEnds(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for _, id := range []string{"user 1", "emp#2", "k=3", "dept/4", "a,b"} {
			a.do("POST", "/Bulk", ownerToken, bulkReq(0, bulkOp("POST", "/Users", id, "", user("x@example.com", nil)))).
				scimError(t, http.StatusBadRequest, "invalidValue", "use letters, digits, - or _")
		}
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("POST", "/Users", "emp-2_x.y", "", user("ok@example.com", nil)),
			bulkOp("POST", "/Groups", "", "", group("G", "bulkId:emp-2_x.y")))))
		wantResult(t, res[0], "201", "", "")
		wantResult(t, res[1], "201", "", "")
	})
}

// TestBulkKeepsRequestOrder: an operation that references a POST later in
// the request waits for it, and nothing runs before the client put it (RFC
// 7644 §3.7: "the same stateful result ... as for non-optimized
// processing"). Before, the referenced POST ran first, before the
// operations listed between (review):
//   - delete a customer and create them again, a group listed first naming
//     the new one: the new POST ran before the DELETE and failed on
//     uniqueness, then the DELETE ran, and the customer was gone;
//   - a group renamed, freeing its name for a POST after it;
//   - failOnErrors 1: a POST listed after the first error ran, because an
//     operation before the error named it.
//
// A waiting operation does not let later operations on the resources it
// writes pass it either (a review of a first try, 9967c41, reverted): a
// member added then removed, a title written twice, keep their order.
func TestBulkKeepsRequestOrder(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		t.Run("delete and create again", func(t *testing.T) {
			old := createCustomer(t, a, "alice@example.com", nil)
			res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("POST", "/Groups", "g", "", group("Admins", "bulkId:new")),
				bulkOp("DELETE", "/Users/"+old, "", "", nil),
				bulkOp("POST", "/Users", "new", "", user("alice@example.com", nil)),
			)))
			if len(res) != 3 {
				t.Fatalf("got %d results, want 3", len(res))
			}
			wantResult(t, res[0], "201", "", "")
			wantResult(t, res[1], "204", "", "")
			wantResult(t, res[2], "201", "", "")
			if n := count(a, t, "/Users", `userName eq "alice@example.com"`); n != 1 {
				t.Errorf("after delete-and-recreate there are %v users alice@example.com, want 1 (the customer was lost)", n)
			}
		})
		t.Run("rename frees the name", func(t *testing.T) {
			gid := str(a.do("POST", "/Groups", ownerToken, group("Team")).must(t, http.StatusCreated).body, "id")
			uid := createCustomer(t, a, "lead@example.com", nil)
			res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("PATCH", "/Groups/bulkId:t", "", "", patch(op("add", "members", []any{map[string]any{"value": uid}}))),
				bulkOp("PATCH", "/Groups/"+gid, "", "", patch(op("replace", "displayName", "Team (old)"))),
				bulkOp("POST", "/Groups", "t", "", group("Team")),
			)))
			wantResult(t, res[1], "200", "", "")
			wantResult(t, res[2], "201", "", "")
			wantResult(t, res[0], "200", "", "")
		})
		t.Run("failOnErrors", func(t *testing.T) {
			results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(1,
				bulkOp("POST", "/Groups", "g", "", group("Late", "bulkId:u")),
				bulkOp("DELETE", "/Users/no-such-user", "", "", nil),
				bulkOp("POST", "/Users", "u", "", user("after-the-error@example.com", nil)),
			)))
			if n := count(a, t, "/Users", `userName eq "after-the-error@example.com"`); n != 0 {
				t.Errorf("failOnErrors 1: the POST listed after the first error ran (%v users created)", n)
			}
		})
		t.Run("a waiting member add, then a remove", func(t *testing.T) {
			gid := str(a.do("POST", "/Groups", ownerToken, group("Wait")).must(t, http.StatusCreated).body, "id")
			res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("PATCH", "/Groups/"+gid, "", "", patch(op("add", "members", []any{map[string]any{"value": "bulkId:u"}}))),
				bulkOp("PATCH", "/Groups/"+gid, "", "", patch(op("remove", "members", nil))),
				bulkOp("POST", "/Users", "u", "", user("waiter@example.com", nil)),
			)))
			for i := range 3 {
				if str(res[i], "status")[0] >= '4' {
					t.Logf("result %d: %v", i, res[i])
				}
			}
			g := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK)
			if got := memberIDs(g.body); len(got) != 0 {
				t.Errorf("members after add(bulkId:u) then remove-all = %v, want none: the add ran after the remove", got)
			}
		})
		t.Run("a waiting write, then a later write", func(t *testing.T) {
			id := createCustomer(t, a, "order@example.com", nil)
			const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
			results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
				bulkOp("PATCH", "/Users/"+id, "", "", patch(op("replace", "title", "A"), op("replace", ent+":manager", map[string]any{"value": "bulkId:m"}))),
				bulkOp("PATCH", "/Users/"+id, "", "", patch(op("replace", "title", "B"))),
				bulkOp("POST", "/Users", "m", "", user("boss@example.com", nil)),
			)))
			if got := str(a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).body, "title"); got != "B" {
				t.Errorf("title = %q, want B (the later operation in the request)", got)
			}
		})
	})
}
