package scim_test

// /Bulk's order with waiting operations (planBulk), cases from a review of
// its second try (4c16780): each ran out of request order before the
// waiting rules for POSTs and among waiting operations.

import (
	"net/http"
	"testing"
)

const orderEnt = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// A waiting write, then a DELETE of that resource (waits behind it), then a
// POST re-creating the same userName: the POST did not wait, so it ran
// before the DELETE and failed on uniqueness; the DELETE then ran and the
// customer was gone (the delete-and-create-again loss, back through a
// waiting chain). A POST no waiting operation needs now waits behind them.
func TestBulkOrderWaitingDeleteThenRecreate(t *testing.T) {
	a := newAPI(t, "")
	old := createCustomer(t, a, "carol@example.com", nil)
	res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
		bulkOp("PATCH", "/Users/"+old, "", "", patch(op("replace", orderEnt+":manager", map[string]any{"value": "bulkId:m"}))),
		bulkOp("DELETE", "/Users/"+old, "", "", nil),
		bulkOp("POST", "/Users", "new", "", user("carol@example.com", nil)),
		bulkOp("POST", "/Users", "m", "", user("boss2@example.com", nil)),
	)))
	for i, want := range []string{"200", "204", "201", "201"} {
		if got := str(res[i], "status"); got != want {
			t.Errorf("result %d: status %s, want %s: %v", i, got, want, res[i])
		}
	}
	if n := count(a, t, "/Users", `userName eq "carol@example.com"`); n != 1 {
		t.Errorf("%v users carol@example.com after update, delete, create again; want 1 (the customer was lost)", n)
	}
}

// A waiting rename (PATCH of a group that also adds a user POSTed later),
// then a POST taking the freed name: the POST did not wait, ran first, and
// failed on uniqueness.
func TestBulkOrderWaitingRenameThenPostSameName(t *testing.T) {
	a := newAPI(t, "")
	t.Run("group displayName", func(t *testing.T) {
		gid := str(a.do("POST", "/Groups", ownerToken, group("Sales")).must(t, http.StatusCreated).body, "id")
		res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
			bulkOp("PATCH", "/Groups/"+gid, "", "", patch(
				op("replace", "displayName", "Sales (old)"),
				op("add", "members", []any{map[string]any{"value": "bulkId:u"}}))),
			bulkOp("POST", "/Groups", "", "", group("Sales")),
			bulkOp("POST", "/Users", "u", "", user("seller@example.com", nil)),
		)))
		wantResult(t, res[0], "200", "", "")
		wantResult(t, res[1], "201", "", "")
	})
}

// A waiting POST, then a POST of the same displayName: request order makes
// the first one (the referenced bulkId) win; the plan let the second win.
func TestBulkOrderWaitingPostThenDuplicatePost(t *testing.T) {
	a := newAPI(t, "")
	res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
		bulkOp("POST", "/Groups", "g", "", group("Dup", "bulkId:u")),
		bulkOp("POST", "/Groups", "", "", group("Dup")),
		bulkOp("POST", "/Users", "u", "", user("dup-member@example.com", nil)),
	)))
	wantResult(t, res[0], "201", "", "")
	wantResult(t, res[1], "409", "uniqueness", "")
}

// Two waiting operations freed in the opposite order (each by its own
// POST): W1 frees a name, W2 (listed after) takes it. Request order
// succeeds; the plan ran W2 first.
func TestBulkOrderTwoWaitersSwapOrder(t *testing.T) {
	a := newAPI(t, "")
	g1 := str(a.do("POST", "/Groups", ownerToken, group("Ops")).must(t, http.StatusCreated).body, "id")
	g2 := str(a.do("POST", "/Groups", ownerToken, group("Ops (new)")).must(t, http.StatusCreated).body, "id")
	res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0,
		bulkOp("PATCH", "/Groups/"+g1, "", "", patch(op("replace", "displayName", "Ops (old)"),
			op("add", "members", []any{map[string]any{"value": "bulkId:late"}}))),
		bulkOp("PATCH", "/Groups/"+g2, "", "", patch(op("replace", "displayName", "Ops"),
			op("add", "members", []any{map[string]any{"value": "bulkId:early"}}))),
		bulkOp("POST", "/Users", "early", "", user("early@example.com", nil)),
		bulkOp("POST", "/Users", "late", "", user("late@example.com", nil)),
	)))
	wantResult(t, res[0], "200", "", "")
	wantResult(t, res[1], "200", "", "")
}

// failOnErrors 1: the first operation (waiting for a later POST) fails; in
// request order nothing after it runs, but the plan ran the operations
// listed between it and its POST before it failed.
func TestBulkOrderFailOnErrorsWaitingOpFails(t *testing.T) {
	a := newAPI(t, "")
	results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(1,
		bulkOp("PATCH", "/Groups/no-such-group", "", "", patch(op("add", "members", []any{map[string]any{"value": "bulkId:u"}}))),
		bulkOp("POST", "/Users", "", "", user("between@example.com", nil)),
		bulkOp("POST", "/Users", "u", "", user("referenced@example.com", nil)),
	)))
	if n := count(a, t, "/Users", `userName eq "between@example.com"`); n != 0 {
		t.Errorf("failOnErrors 1, first operation failed: an unrelated POST listed after it ran (%v created)", n)
	}
}
