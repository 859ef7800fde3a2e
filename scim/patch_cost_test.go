package scim_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/scimd/scimd/resources"
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
