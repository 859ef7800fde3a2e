package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// operation is one kind of request that is measured.
type operation struct {
	name string
	// request sends one request; an error counts against the operation.
	request func(ctx context.Context) error
}

// baselineOperation GETs the baseline server's document, with the same
// client and headers as the SCIM requests.
func baselineOperation(c scimClient, baseURL string) operation {
	c.base = baseURL
	return operation{name: "baseline", request: func(ctx context.Context) error {
		_, err := c.expect(ctx, http.MethodGet, "/", nil, http.StatusOK)
		return err
	}}
}

// operationNames are the names of [scimOperations], in the order they run.
var operationNames = []string{"get", "filter", "create", "patch", "member-add", "member-add-lean", "list"}

// scimOperations are the measured SCIM requests, drawing users at random
// from pool; only those named in only, unless it is empty.
func scimOperations(c scimClient, pool userPool, groupID string, only []string) []operation {
	ops := everyOperation(c, pool, groupID)
	if len(only) == 0 {
		return ops
	}
	return slices.DeleteFunc(ops, func(op operation) bool { return !slices.Contains(only, op.name) })
}

func everyOperation(c scimClient, pool userPool, groupID string) []operation {
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	var created atomic.Int64
	pick := func() int { return rand.IntN(pool.size()) }
	return []operation{
		{name: "get", request: func(ctx context.Context) error {
			_, err := c.expect(ctx, http.MethodGet, "/Users/"+url.PathEscape(pool.ids[pick()]), nil, http.StatusOK)
			return err
		}},
		{name: "filter", request: func(ctx context.Context) error {
			q := url.Values{"filter": {fmt.Sprintf("userName eq %q", pool.names[pick()])}}
			_, err := c.expect(ctx, http.MethodGet, "/Users?"+q.Encode(), nil, http.StatusOK)
			return err
		}},
		{name: "create", request: func(ctx context.Context) error {
			n := created.Add(1)
			body := userBody(fmt.Sprintf("load-%s-%d@example.com", runID, n), fmt.Sprintf("load-%s-%d", runID, n), "Created")
			_, err := c.expect(ctx, http.MethodPost, "/Users", body, http.StatusCreated)
			return err
		}},
		{name: "patch", request: func(ctx context.Context) error {
			body := patchBody(patchOp{Op: "replace", Path: "name.givenName", Value: "Given" + strconv.Itoa(rand.IntN(1e6))})
			// RFC 7644 §3.5.2: 200 with the resource, or 204.
			_, err := c.expect(ctx, http.MethodPatch, "/Users/"+url.PathEscape(pool.ids[pick()]), body, http.StatusOK, http.StatusNoContent)
			return err
		}},
		{name: "member-add", request: func(ctx context.Context) error {
			// Entra ID's shape, with its "$ref": null.
			member := []map[string]any{{"$ref": nil, "value": pool.ids[pick()]}}
			body := patchBody(patchOp{Op: "Add", Path: "members", Value: member})
			_, err := c.expect(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(groupID), body, http.StatusOK, http.StatusNoContent)
			return err
		}},
		{name: "member-add-lean", request: func(ctx context.Context) error {
			// The same, asking for the group without its member list: the
			// write is O(1); only the response of plain member-add grows with
			// the group.
			member := []map[string]any{{"$ref": nil, "value": pool.ids[pick()]}}
			body := patchBody(patchOp{Op: "Add", Path: "members", Value: member})
			_, err := c.expect(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(groupID)+"?excludedAttributes=members", body, http.StatusOK, http.StatusNoContent)
			return err
		}},
		{name: "list", request: func(ctx context.Context) error {
			q := url.Values{"startIndex": {strconv.Itoa(1 + pick())}, "count": {"100"}}
			_, err := c.expect(ctx, http.MethodGet, "/Users?"+q.Encode(), nil, http.StatusOK)
			return err
		}},
	}
}

// patchOp is one operation of a PATCH request (RFC 7644 §3.5.2).
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// patchBody is a PatchOp message.
func patchBody(ops ...patchOp) []byte {
	b, _ := json.Marshal(map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": ops,
	})
	return b
}
