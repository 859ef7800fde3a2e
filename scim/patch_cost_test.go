package scim_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// ops returns n PATCH operations made by fn from their index.
func ops(n int, fn func(i int) map[string]any) map[string]any {
	list := make([]map[string]any, n)
	for i := range list {
		list[i] = fn(i)
	}
	return patch(list...)
}

// TestPatchOperationLimit: a PATCH of more than resources.MaxPatchOperations
// operations is refused with 413 before any of them is applied, on every
// endpoint that takes one; a PATCH of exactly that many is applied.
func TestPatchOperationLimit(t *testing.T) {
	const detail = "a PATCH request may carry at most 1000 operations; this one has 1001"
	over := resources.MaxPatchOperations + 1
	title := func(i int) map[string]any { return op("replace", "title", fmt.Sprintf("T%d", i)) }
	stores(t, func(t *testing.T, a *api) {
		id := createCustomer(t, a, "ops@example.com", nil)
		before := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)

		a.do("PATCH", "/Users/"+id, ownerToken, ops(over, title)).scimError(t, http.StatusRequestEntityTooLarge, "", detail)
		after := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if after.header.Get("ETag") != before.header.Get("ETag") || after.body["title"] != nil {
			t.Errorf("after a refused PATCH: ETag %s (was %s), title %v; want the user unchanged", after.header.Get("ETag"), before.header.Get("ETag"), after.body["title"])
		}

		r := a.do("PATCH", "/Users/"+id, ownerToken, ops(resources.MaxPatchOperations, title)).must(t, http.StatusOK)
		if got := str(r.body, "title"); got != "T999" {
			t.Errorf("PATCH of %d operations: title = %q, want %q", resources.MaxPatchOperations, got, "T999")
		}

		gid := str(a.do("POST", "/Groups", ownerToken, group("Ops", id)).must(t, http.StatusCreated).body, "id")
		a.do("PATCH", "/Groups/"+gid, ownerToken, ops(over, func(int) map[string]any {
			return op("remove", "members", nil)
		})).scimError(t, http.StatusRequestEntityTooLarge, "", detail)
		if got := str(a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).body, "members", 0, "value"); got != id {
			t.Errorf("after a refused PATCH: the group's first member is %q, want %q", got, id)
		}

		me := activeCustomer(t, a, "me-ops@example.com", nil)
		a.me("PATCH", mePath, basic("me-ops@example.com", newPassword), ops(over, func(i int) map[string]any {
			return op("replace", "name.givenName", fmt.Sprintf("G%d", i))
		})).scimError(t, http.StatusRequestEntityTooLarge, "", detail)
		if got := str(a.do("GET", "/Users/"+me, ownerToken, nil).body, "name", "givenName"); got != "Jane" {
			t.Errorf("after a refused /Me PATCH: givenName = %q, want %q", got, "Jane")
		}

		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("PATCH", "/Users/"+id, "", "", ops(over, title)))))
		wantResult(t, res[0], "413", "", detail)
	})
}

// TestPatchLimitAdvertised: /ServiceProviderConfig advertises the operation
// limit TestPatchOperationLimit enforces, as "patch"."maxOperations" (scimd's
// extension, named as bulk's).
func TestPatchLimitAdvertised(t *testing.T) {
	a := newAPI(t, "")
	r := a.do("GET", "/ServiceProviderConfig", readerToken, nil).must(t, http.StatusOK)
	if got, want := str(r.body, "patch"), fmt.Sprintf(`{"maxOperations":%d,"supported":true}`, resources.MaxPatchOperations); got != want {
		t.Errorf("ServiceProviderConfig patch = %s, want %s", got, want)
	}
}

// TestPatchValueLimitFailsFast: the operation that gives a multi-valued
// attribute its 101st value fails the PATCH (400 invalidValue, naming it),
// and nothing changes.
func TestPatchValueLimitFailsFast(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := createCustomer(t, a, "phones@example.com", nil)
		before := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		a.do("PATCH", "/Users/"+id, ownerToken, ops(500, func(i int) map[string]any {
			return op("add", "phoneNumbers", fmt.Sprintf("+1 555 %07d", i))
		})).scimError(t, http.StatusBadRequest, "invalidValue",
			`attribute "phoneNumbers" would have more than the 100 values a customer may have (operation 101 of 500)`)
		after := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if after.header.Get("ETag") != before.header.Get("ETag") || after.body["phoneNumbers"] != nil {
			t.Errorf("after a refused PATCH: ETag %s (was %s), phoneNumbers %v; want the user unchanged", after.header.Get("ETag"), before.header.Get("ETag"), after.body["phoneNumbers"])
		}
	})
}

// manyTerms returns a value filter of n comparisons "value <op> \"zzN\""
// ("value pr" for pr) joined by "or".
func manyTerms(op string, n int) string {
	return orFilter(n, func(i int) string {
		if op == "pr" {
			return "value pr"
		}
		return fmt.Sprintf(`value %s "zz%d"`, op, i)
	})
}

// TestPatchPathComparisonLimit: the value filter of a PATCH path has a
// query filter's limit of resources.MaxFilterTerms comparisons (400
// invalidPath, nothing written), on users' attributes and groups' members;
// one of exactly that many is applied.
func TestPatchPathComparisonLimit(t *testing.T) {
	detail := fmt.Sprintf("%d comparisons, at most %d", resources.MaxFilterTerms+1, resources.MaxFilterTerms)
	stores(t, func(t *testing.T, a *api) {
		id := createCustomer(t, a, "paths@example.com", nil)
		before := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		over := "emails[" + manyTerms("pr", resources.MaxFilterTerms+1) + "].display"
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("remove", over, nil))).scimError(t, http.StatusBadRequest, "invalidPath", detail)
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("add", "", map[string]any{over: "x"}))).scimError(t, http.StatusBadRequest, "invalidPath", detail)
		after := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if after.header.Get("ETag") != before.header.Get("ETag") {
			t.Errorf("after refused PATCHes: ETag %s, want %s", after.header.Get("ETag"), before.header.Get("ETag"))
		}
		atLimit := "emails[" + manyTerms("co", resources.MaxFilterTerms) + "].display"
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("remove", atLimit, nil))).must(t, http.StatusOK)

		gid := str(a.do("POST", "/Groups", ownerToken, group("Paths", id)).must(t, http.StatusCreated).body, "id")
		a.do("PATCH", "/Groups/"+gid, collabToken, patch(op("remove", "members["+manyTerms("co", resources.MaxFilterTerms+1)+"]", nil))).
			scimError(t, http.StatusBadRequest, "invalidPath", detail)
		a.do("PATCH", "/Groups/"+gid, collabToken, patch(op("remove", "members["+manyTerms("eq", resources.MaxFilterTerms+1)+"]", nil))).
			scimError(t, http.StatusBadRequest, "invalidPath", detail)
		if got := str(a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).body, "members", 0, "value"); got != id {
			t.Errorf("after refused PATCHes: the group's first member is %q, want %q", got, id)
		}
	})
}

// TestPatchFilterWorkBudget: the value filters of one PATCH, parsed and
// evaluated, share one budget of resources.MaxFilterWork comparisons: 91
// paths of 100 comparisons each, on a customer's 100 addresses, cost
// 91 × (100 × 10 to parse + 100 × 100 evaluated) = 1,001,000, more than it
// allows, and the PATCH is 400 tooMany, nothing written; 90 of them fit.
// (That the same path in several
// operations is parsed, and charged, once is resources' TestPatchFilterWork.)
// The budget does not depend on the store, so one store is enough.
func TestPatchFilterWorkBudget(t *testing.T) {
	a := newAPI(t, "", func(c *scim.Config) { c.MaxBodyBytes = scim.DefaultMaxBodyBytes })
	id := createCustomer(t, a, "work@example.com", manyEmails())
	before := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
	a.do("PATCH", "/Users/"+id, collabToken, ops(91, func(i int) map[string]any { return op("remove", costlyPath(0, i), nil) })).
		scimError(t, http.StatusBadRequest, "tooMany", fmt.Sprintf("the filters of this PATCH cost more than the %d comparisons one request may evaluate", resources.MaxFilterWork))
	after := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
	if after.header.Get("ETag") != before.header.Get("ETag") {
		t.Errorf("after a refused PATCH: ETag %s, want %s", after.header.Get("ETag"), before.header.Get("ETag"))
	}
	a.do("PATCH", "/Users/"+id, collabToken, ops(90, func(i int) map[string]any { return op("remove", costlyPath(0, i), nil) })).
		must(t, http.StatusOK)
}

// manyEmails are a customer's attributes with the most addresses one may
// have, for filters evaluated on each.
func manyEmails() map[string]any {
	emails := make([]any, resources.MaxValues)
	for i := range emails {
		emails[i] = map[string]any{"value": fmt.Sprintf("e%d@example.com", i), "type": "other"}
	}
	return map[string]any{"emails": emails}
}

// costlyPath is a PATCH path whose value filter holds the most comparisons
// one may, none matching: k and i make it differ from the others.
func costlyPath(k, i int) string {
	return "emails[" + orFilter(resources.MaxFilterTerms, func(j int) string { return fmt.Sprintf(`value co "zz%d-%d-%d"`, k, i, j) }) + "].display"
}

// TestMePatchPermissionFirst: a customer's operation with a value filter on
// an attribute they may not change is 403 before any operation is applied
// and before its filter is parsed: an unparseable filter is 403, not 400,
// and the editable change before it is not written.
func TestMePatchPermissionFirst(t *testing.T) {
	a := newAPI(t, "")
	id := activeCustomer(t, a, "me-first@example.com", nil)
	const detail = `customers cannot change attribute "emails"`
	auth := basic("me-first@example.com", newPassword)
	a.me("PATCH", mePath, auth, patch(
		op("replace", "nickName", "Jo"),
		op("remove", "emails[value eq].display", nil),
	)).scimError(t, http.StatusForbidden, "", detail)
	a.me("PATCH", mePath, auth, patch(op("add", "", map[string]any{
		"nickName": "Jo", `emails[type eq "work" and ` + manyTerms("co", 50) + `].display`: "x",
	}))).scimError(t, http.StatusForbidden, "", detail)
	if got := str(a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).body, "nickName"); got != "" {
		t.Errorf("after refused /Me PATCHes: nickName = %q, want none", got)
	}
	// Editable attributes take value filters as before.
	a.me("PATCH", mePath, auth, patch(op("add", `phoneNumbers[type eq "work"].value`, "+1 555 0100"))).must(t, http.StatusOK)
}
