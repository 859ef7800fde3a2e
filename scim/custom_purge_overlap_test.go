package scim_test

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
)

// slowPurge is a store whose purge of removed custom attributes has not
// finished within the request, as in a large organization (it resumes
// later), while hold is set.
type slowPurge struct {
	*backend.Store
	hold *atomic.Bool
}

func (s slowPurge) PurgeExtensions(ctx context.Context, org string) (int, error) {
	if s.hold.Load() {
		return 0, nil
	}
	return s.Store.PurgeExtensions(ctx, org)
}

// While a removed schema's values are purged, a schema whose URN starts
// like it (either way) is refused with 409, as the removed name itself is:
// the purge would have taken the new schema's index entries and uniqueness
// claims, and responses withheld its values.
func TestSchemaOverlappingAPurgeIsRefused(t *testing.T) {
	for _, c := range []struct{ removed, next, attr string }{
		{"urn:example:x", "urn:example:x:v2", "tier"},
		{"urn:example:x:b", "urn:example:x", "b"},
	} {
		hold := new(atomic.Bool)
		a := newAPIWith(t, "", storeWrap{users: func(s *backend.Store) resources.UserStore { return slowPurge{s, hold} }})
		a.schemaAdmin("POST", "", ownerToken, map[string]any{"id": c.removed, "attributes": []any{
			map[string]any{"name": "a", "type": "string"}}}).must(t, http.StatusCreated)
		hold.Store(true)
		a.schemaAdmin("DELETE", "/"+c.removed, ownerToken, nil).must(t, http.StatusNoContent)
		def := map[string]any{"id": c.next, "attributes": []any{
			map[string]any{"name": c.attr, "type": "string", "indexed": true},
			map[string]any{"name": "number", "type": "string", "uniqueness": "server"}}}
		a.schemaAdmin("POST", "", ownerToken, def).scimError(t, http.StatusConflict, "", "still being purged")
		hold.Store(false)
		if _, err := a.store.PurgeExtensions(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		}
		// Once the purge is done, the schema is accepted, and keeps its values.
		a.schemaAdmin("POST", "", ownerToken, def).must(t, http.StatusCreated)
		u := a.do("POST", "/Users", ownerToken, user("jane@example.com", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", c.next},
			c.next:    map[string]any{c.attr: "gold", "number": "N-1"}})).must(t, http.StatusCreated)
		if got := str(u.body, c.next, c.attr); got != "gold" {
			t.Errorf("%s:%s in the created user = %q, want gold", c.next, c.attr, got)
		}
		list := a.do("GET", "/Users?filter="+url.QueryEscape(c.next+":"+c.attr+` eq "gold"`), ownerToken, nil).must(t, http.StatusOK)
		if str(list.body, "totalResults") != "1" {
			t.Errorf("%s:%s eq gold: %s", c.next, c.attr, list.raw)
		}
	}
}

// The overlap rule is for other schemas: while one of its removed
// attributes is purged, a schema itself may still change (adding an
// attribute), though not bring that attribute back.
func TestSchemaChangesWhileOneOfItsAttributesPurges(t *testing.T) {
	hold := new(atomic.Bool)
	a := newAPIWith(t, "", storeWrap{users: func(s *backend.Store) resources.UserStore { return slowPurge{s, hold} }})
	a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
	hold.Store(true)
	without := acmeSchema()
	without["attributes"] = without["attributes"].([]any)[1:] // tier removed, its purge pending
	a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, without).must(t, http.StatusOK)
	next := acmeSchema()
	next["attributes"] = append(without["attributes"].([]any), map[string]any{"name": "level", "type": "string"})
	a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, next).must(t, http.StatusOK)
	a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, acmeSchema()).scimError(t, http.StatusConflict, "", "still being purged")
}
