package scim_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// eachStoreURL runs fn on the embedded store, a redis-server and the
// package's shared Redis Cluster, giving it the store's URL.
func eachStoreURL(t *testing.T, fn func(t *testing.T, redisURL string)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) { fn(t, "") })
	t.Run("redis", func(t *testing.T) { fn(t, redistest.Start(t)) })
	t.Run("cluster", func(t *testing.T) { fn(t, redistest.SharedCluster(t)) })
}

// pausedPurges is the real store whose purges of removed custom attributes
// do nothing while paused: as a server that stopped before purging leaves
// them.
type pausedPurges struct {
	*backend.Store
	paused atomic.Bool
}

func (p *pausedPurges) PurgeExtensions(ctx context.Context, org string) (int, error) {
	if p.paused.Load() {
		return 0, nil
	}
	return p.Store.PurgeExtensions(ctx, org)
}

// TestCustomAttributesPurgePending: while the purge of a removed attribute
// (or schema) has not finished, its name cannot be defined again (409, and
// the admin API lists it as purging) and its old values show nowhere; once
// the purge is done, it can, and no old value comes back.
func TestCustomAttributesPurgePending(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, redisURL string) {
		p := &pausedPurges{}
		a := newAPIWith(t, redisURL, storeWrap{users: func(s *backend.Store) resources.UserStore { p.Store = s; return p }})
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		u := a.do("POST", "/Users", ownerToken, customUser("jane@example.com", map[string]any{"tier": "gold", "customerNumber": "C-1"})).must(t, http.StatusCreated)
		id := str(u.body, "id")

		p.paused.Store(true)
		s := acmeSchema()
		s["attributes"] = s["attributes"].([]any)[1:] // tier removed
		a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, s).must(t, http.StatusOK)
		list := a.schemaAdmin("GET", "", ownerToken, nil).must(t, http.StatusOK)
		if str(list.body, "purging", 0) != acmeURN+":tier" {
			t.Errorf("purging after the removal = %s", list.raw)
		}
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK); strings.Contains(got.raw, `"tier"`) {
			t.Errorf("a removed attribute's value is shown while its purge is pending: %s", got.raw)
		}
		doc, err := a.store.ReadUser(t.Context(), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc.Raw), `"tier":"gold"`) {
			t.Fatalf("the purge ran although paused: stored %s", doc.Raw)
		}
		again := acmeSchema()
		a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, again).scimError(t, http.StatusConflict, "", "still being purged")
		again["attributes"] = append(s["attributes"].([]any), map[string]any{"name": "TIER", "type": "boolean"})
		a.schemaAdmin("PUT", "/"+acmeURN, ownerToken, again).scimError(t, http.StatusConflict, "", "still being purged")

		// The whole schema removed: its URN is reserved until purged.
		a.schemaAdmin("DELETE", "/"+acmeURN, ownerToken, nil).must(t, http.StatusNoContent)
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).scimError(t, http.StatusConflict, "", "still being purged")

		// The purge resumes (the next change, or a server that starts).
		p.paused.Store(false)
		if n, err := a.store.PurgeExtensions(t.Context(), "acme"); err != nil || n != 2 {
			t.Fatalf("PurgeExtensions = %d, %v; want 2 finished", n, err)
		}
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK); strings.Contains(got.raw, acmeURN) {
			t.Errorf("a purged value came back: %s", got.raw)
		}
		if got := a.do("GET", "/Users?filter="+url.QueryEscape(acmeURN+`:tier pr or `+acmeURN+`:customerNumber pr`), ownerToken, nil); str(got.body, "totalResults") != "0" {
			t.Errorf("filters find purged values: %s", got.raw)
		}
		// The purged claim is free again.
		a.do("POST", "/Users", ownerToken, customUser("x@example.com", map[string]any{"customerNumber": "C-1"})).must(t, http.StatusCreated)
	})
}

// staleTypes is a second server's view of the real store: its check of
// the custom attributes' generation answers the generation it first read
// (its cache stays stale however long the test takes), and it counts the
// user writes the store refused because their definitions changed.
type staleTypes struct {
	*backend.Store
	frozen  atomic.Int64
	refused atomic.Int32
}

func (s *staleTypes) ExtensionGeneration(ctx context.Context, org string) (int64, error) {
	if g := s.frozen.Load(); g != 0 {
		return g, nil
	}
	return s.Store.ExtensionGeneration(ctx, org)
}

func (s *staleTypes) CreateUser(ctx context.Context, org string, u resources.Resource, w resources.UserWrite) (resources.Resource, error) {
	r, err := s.Store.CreateUser(ctx, org, u, w)
	s.count(err)
	return r, err
}

func (s *staleTypes) ReplaceUser(ctx context.Context, org string, u resources.Resource, version int64, w resources.UserWrite) (resources.Resource, error) {
	r, err := s.Store.ReplaceUser(ctx, org, u, version, w)
	s.count(err)
	return r, err
}

func (s *staleTypes) count(err error) {
	if errors.Is(err, resources.ErrSchemaChanged) {
		s.refused.Add(1)
	}
}

// TestCustomAttributesStaleServer: server A cached an organization's
// definitions; server B removes an attribute (its values purged). A's
// writes checked against its stale definitions are refused by the store
// and checked again: a write of the removed attribute is refused as
// unknown, a write of another attribute succeeds, and no value of the
// removed one is stored, indexed or claimed.
func TestCustomAttributesStaleServer(t *testing.T) {
	eachStoreURL(t, func(t *testing.T, redisURL string) {
		b := newAPI(t, redisURL)
		if _, err := b.store.CreateOrg(t.Context(), "acme"); err != nil {
			t.Fatal(err)
		}
		stale := &staleTypes{Store: b.store}
		a := serverOn(t, b.store, stale)
		b.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, http.StatusCreated)
		// A reads the definitions (its cache).
		u := a.do("POST", "/Users", ownerToken, customUser("jane@example.com", map[string]any{"nickname": "j"})).must(t, http.StatusCreated)
		id := str(u.body, "id")
		// remove removes the named attributes through B while A's view stays
		// the one A read last.
		kept := acmeSchema()["attributes"].([]any)
		remove := func(names ...string) {
			t.Helper()
			gen, err := b.store.ExtensionGeneration(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			stale.frozen.Store(gen)
			stale.refused.Store(0)
			var next []any
			for _, a := range kept {
				if !slices.Contains(names, a.(map[string]any)["name"].(string)) {
					next = append(next, a)
				}
			}
			kept = next
			s := acmeSchema()
			s["attributes"] = kept
			b.schemaAdmin("PUT", "/"+acmeURN, ownerToken, s).must(t, http.StatusOK)
		}
		patch := func(op, attr string, value any) response {
			return a.do("PATCH", "/Users/"+id, ownerToken, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": op, "path": acmeURN + ":" + attr, "value": value}},
			})
		}
		refused := func(what string) {
			t.Helper()
			if n := stale.refused.Load(); n != 1 {
				t.Fatalf("%s: writes refused as stale = %d, want 1 (A's view was not stale: the test proves nothing)", what, n)
			}
		}

		remove("tier", "customerNumber")
		a.do("POST", "/Users", ownerToken, customUser("ann@example.com", map[string]any{"tier": "gold", "customerNumber": "C-7"})).
			scimError(t, http.StatusBadRequest, "invalidValue", "unknown attribute")
		refused("POST with removed attributes")

		remove("points")
		patch("add", "points", 7).scimError(t, http.StatusBadRequest, "invalidPath", "points")
		refused("PATCH of a removed attribute")

		remove("consent")
		patched := patch("replace", "nickname", "jj").must(t, http.StatusOK)
		refused("PATCH of another attribute")
		if str(patched.body, acmeURN, "nickname") != "jj" {
			t.Errorf("PATCH through the stale server: %s", patched.raw)
		}

		// Nothing of the removed attributes is stored, indexed or claimed:
		// the store's check finds every index and claim key it has (and
		// would report a removed attribute's key as unknown).
		doc, err := b.store.ReadUser(t.Context(), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if raw := string(doc.Raw); strings.Contains(raw, `"tier"`) || strings.Contains(raw, `"points"`) || strings.Contains(raw, `"consent"`) {
			t.Errorf("a removed attribute's value was written: %s", doc.Raw)
		}
		st, err := b.store.Check(t.Context(), "acme", func(f backend.Finding) { t.Errorf("check: %s", f) })
		if err != nil || st.Users != 1 || st.PendingPurges != 0 {
			t.Errorf("check: %+v, %v; want 1 user, no pending purge", st, err)
		}
		if got := b.do("GET", "/Users?filter="+url.QueryEscape(acmeURN+`:nickname eq "jj"`), ownerToken, nil); str(got.body, "totalResults") != "1" {
			t.Errorf("the stale server's PATCH is not seen by the other: %s", got.raw)
		}
	})
}

// serverOn serves the SCIM API as a second server on store: users store
// through us, with their own cache of each organization's definitions.
func serverOn(t *testing.T, store *backend.Store, us resources.UserStore) *api {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Config.Handler.ServeHTTP(w, r) }))
	h := scim.NewHandler(scim.Config{BaseURL: srv.URL + scim.BasePath, MaxBodyBytes: 64 << 10}, resources.NewUsers(us), resources.NewGroups(store), store, log)
	srv.Config.Handler = scim.Observe(log, nil, h)
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, store: store, handler: srv.Config.Handler}
}
