package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// countingMembers counts the group members read through ScanMembers.
type countingMembers struct {
	*backend.Store
	scanned atomic.Int64
}

func (c *countingMembers) ScanMembers(ctx context.Context, org, id string, fn func([]resources.Ref) error) error {
	return c.Store.ScanMembers(ctx, org, id, func(b []resources.Ref) error {
		c.scanned.Add(int64(len(b)))
		return fn(b)
	})
}

// A group write inside /Bulk reports its status, location and version
// (RFC 7644 §3.7.3): it reads no member to build a response body the
// result does not carry. Before, each operation read (and held) the whole
// member list: a Bulk of renames of a 100k-member group cost 18 MB each.
func TestBulkGroupWritesReadNoMembers(t *testing.T) {
	c := &countingMembers{}
	a := newAPIWith(t, "", storeWrap{groups: func(st *backend.Store) resources.GroupStore { c.Store = st; return c }},
		func(cfg *scim.Config) { cfg.MaxBodyBytes = 1 << 20 })
	var seed []map[string]any
	for i := range 300 {
		seed = append(seed, bulkOp("POST", "/Users", "", "", user(fmt.Sprintf("m%03d@example.com", i), nil)))
	}
	var ids []string
	for _, r := range results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0, seed...))) {
		loc := str(r, "location")
		ids = append(ids, loc[strings.LastIndex(loc, "/")+1:])
	}
	gid := str(a.do("POST", "/Groups", ownerToken, group("Big", ids...)).must(t, http.StatusCreated).body, "id")
	extra := createCustomer(t, a, "extra@example.com", nil)
	c.scanned.Store(0)
	var ops []map[string]any
	for i := range 5 {
		ops = append(ops, bulkOp("PATCH", "/Groups/"+gid, "", "", patch(op("replace", "displayName", fmt.Sprintf("Big %d", i)))))
	}
	ops = append(ops, bulkOp("PATCH", "/Groups/"+gid, "", "", patch(op("add", "members", []any{map[string]any{"value": extra}}))),
		bulkOp("PUT", "/Groups/"+gid, "", "", group("Big again", ids...)),
		bulkOp("POST", "/Groups", "g", "", group("Copy", ids...)),
		bulkOp("PATCH", "/Groups/bulkId:g", "", "", patch(op("replace", "displayName", "Copy 2"))))
	res := results(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0, ops...)))
	for i, r := range res[:len(res)-2] {
		wantResult(t, r, "200", "", "")
		if str(r, "version") == "" || str(r, "location") != a.srv.URL+scim.BasePath+"/Groups/"+gid {
			t.Errorf("result %d = %v, want a version and the group's location", i, r)
		}
	}
	wantResult(t, res[len(res)-2], "201", "", "")
	wantResult(t, res[len(res)-1], "200", "", "")
	if n := c.scanned.Load(); n != 0 {
		t.Errorf("a /Bulk of %d group writes read %d members to build responses it does not return; want 0", len(ops), n)
	}
	// What the results say is what the store holds.
	g := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK)
	if str(g.body, "displayName") != "Big again" || len(g.body["members"].([]any)) != 300 {
		t.Errorf("the group after the Bulk: %s", str(g.body, "displayName"))
	}
	if v := g.header.Get("ETag"); v != str(res[6], "version") {
		t.Errorf("the group's ETag %s, the PUT's result version %s", v, str(res[6], "version"))
	}
	copyID := str(res[7], "location")[strings.LastIndex(str(res[7], "location"), "/")+1:]
	if got := str(a.do("GET", "/Groups/"+copyID, ownerToken, nil).must(t, http.StatusOK).body, "displayName"); got != "Copy 2" {
		t.Errorf("the group the bulkId named: %q, want Copy 2", got)
	}
}

// The PATCH operations of one /Bulk request share one filter budget, the
// one a PATCH has: two operations of 55 × (100 × 10 to parse + 100 × 100
// evaluated) = 605,000 comparisons each, on a customer's 100 addresses,
// cost more than one request may.
func TestBulkFilterBudgetIsPerRequest(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := createCustomer(t, a, "bulkwork@example.com", manyEmails())
		body := func(k int) map[string]any {
			return ops(55, func(i int) map[string]any { return op("remove", costlyPath(k, i), nil) })
		}
		res := results(t, a.do("POST", "/Bulk", collabToken, bulkReq(0,
			bulkOp("PATCH", "/Users/"+id, "", "", body(0)),
			bulkOp("PATCH", "/Users/"+id, "", "", body(1)))))
		wantResult(t, res[0], "200", "", "")
		wantResult(t, res[1], "400", "tooMany", "all of its operations together")
		// A request of its own has a budget of its own.
		a.do("PATCH", "/Users/"+id, collabToken, body(2)).must(t, http.StatusOK)
	}, func(c *scim.Config) { c.MaxBodyBytes = scim.DefaultMaxBodyBytes })
}

// A /Bulk request starts no operation past its time limit: the response is
// written while the client waits, the operations run are reported as
// usual, and those not run answer 503 and were not done.
func TestBulkStopsAtItsTimeLimit(t *testing.T) {
	a := newAPI(t, "", func(cfg *scim.Config) { cfg.MaxBulkTime = 30 * time.Millisecond; cfg.MaxBodyBytes = 1 << 20 })
	id := createCustomer(t, a, "deadline@example.com", nil)
	const n = 1000
	var bops []map[string]any
	for i := range n {
		bops = append(bops, bulkOp("PATCH", "/Users/"+id, "", "", patch(op("replace", "title", fmt.Sprintf("T%d", i)))))
	}
	res := resultsN(t, a.do("POST", "/Bulk", ownerToken, bulkReq(0, bops...)), n)
	ran := 0
	for ran < n && str(res[ran], "status") == "200" {
		ran++
	}
	if ran == 0 || ran == n {
		t.Fatalf("%d of %d operations ran within 30 ms, want some and not all", ran, n)
	}
	for i := ran; i < n; i++ {
		wantResult(t, res[i], "503", "", "ran out of time")
		if str(res[i], "location") == "" {
			t.Errorf("result %d has no location", i)
		}
	}
	if title := str(a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).body, "title"); title != fmt.Sprintf("T%d", ran-1) {
		t.Errorf("title %q after %d operations ran, want T%d", title, ran, ran-1)
	}
}

// A /Bulk request is a request: SCIM_MAX_BODY_BYTES bounds it too, and
// /ServiceProviderConfig advertises that bound as maxPayloadSize.
func TestBulkPayloadIsTheBodyLimit(t *testing.T) {
	a := newAPI(t, "", func(cfg *scim.Config) { cfg.MaxBodyBytes, cfg.MaxBulkPayload = 64<<10, 0 }) // as scimd configures it
	spc := a.do("GET", "/ServiceProviderConfig", readerToken, nil).must(t, http.StatusOK)
	if got := fmt.Sprint(spc.body["bulk"].(map[string]any)["maxPayloadSize"]); got != "65536" {
		t.Errorf("maxPayloadSize = %s, want 65536", got)
	}
	var bops []map[string]any
	for i := range 400 {
		bops = append(bops, bulkOp("POST", "/Users", "", "", user(fmt.Sprintf("pad%04d@example.com", i), map[string]any{"title": strings.Repeat("p", 150)})))
	}
	a.do("POST", "/Bulk", ownerToken, bulkReq(0, bops...)).scimError(t, http.StatusRequestEntityTooLarge, "", "maxPayloadSize (65536 bytes)")
	if got := a.do("GET", "/Users", ownerToken, nil).must(t, http.StatusOK).body["totalResults"]; got != float64(0) {
		t.Errorf("users after the refused Bulk: %v", got)
	}
}
