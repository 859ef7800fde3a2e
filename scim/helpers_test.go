package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// Tokens of the test organizations.
const (
	ownerToken  = "owner-token-0123456789"
	collabToken = "collab-token-0123456789"
	readerToken = "reader-token-0123456789"
	otherToken  = "other-org-token-0123456789"
)

// api is a running scimd SCIM handler on a real store.
type api struct {
	t       testing.TB
	srv     *httptest.Server
	store   *backend.Store
	url     string       // the store's redis URL; "" for the embedded store
	handler http.Handler // what srv serves, for a test that calls it directly
}

// stores runs fn on the API served on each store every API test group runs
// on (the embedded store, a redis-server, a Redis Cluster: see
// redistest.EachStore); opts adjust the handler's configuration.
func stores(t *testing.T, fn func(t *testing.T, a *api), opts ...func(*scim.Config)) {
	t.Helper()
	redistest.EachStore(t, func(t *testing.T, url string) { fn(t, newAPI(t, url, opts...)) })
}

// newAPI serves the SCIM API on a store at redisURL ("" for embedded); opts
// adjust the handler's configuration.
func newAPI(tb testing.TB, redisURL string, opts ...func(*scim.Config)) *api {
	tb.Helper()
	return newAPIWith(tb, redisURL, storeWrap{}, opts...)
}

// storeWrap has a test's wrappers of the store, through which the user and
// group services store when they are set.
type storeWrap struct {
	users  func(*backend.Store) resources.UserStore
	groups func(*backend.Store) resources.GroupStore
}

// newAPIWith is newAPI whose services store through wrap's wrappers.
func newAPIWith(tb testing.TB, redisURL string, wrap storeWrap, opts ...func(*scim.Config)) *api {
	tb.Helper()
	ctx := context.Background()
	store, err := backend.Open(ctx, redisURL)
	if err != nil {
		tb.Fatalf("backend.Open(%q): %v", redisURL, err)
	}
	tb.Cleanup(func() { store.Close() })
	for _, tok := range []struct {
		secret, org string
		role        resources.Role
	}{
		{ownerToken, "acme", resources.RoleOwner},
		{collabToken, "acme", resources.RoleCollaborator},
		{readerToken, "acme", resources.RoleReader},
		{otherToken, "globex", resources.RoleOwner},
	} {
		err := store.PutToken(ctx, resources.Token{Org: tok.org, Name: string(tok.role), Role: tok.role,
			Hash: resources.HashToken(resources.Secret(tok.secret)), Created: time.Now()})
		if err != nil {
			tb.Fatalf("PutToken: %v", err)
		}
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var srv *httptest.Server
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Config.Handler.ServeHTTP(w, r) })
	srv = httptest.NewServer(h)
	// A small body limit, cheap to exceed; /Bulk keeps the default 1 MiB
	// (scimd gives it the body limit, SCIM_MAX_BODY_BYTES).
	cfg := scim.Config{BaseURL: srv.URL + scim.BasePath, MaxBodyBytes: 64 << 10, MaxBulkPayload: scim.DefaultMaxBodyBytes}
	for _, o := range opts {
		o(&cfg)
	}
	var userStore resources.UserStore = store
	if wrap.users != nil {
		userStore = wrap.users(store)
	}
	var groupStore resources.GroupStore = store
	if wrap.groups != nil {
		groupStore = wrap.groups(store)
	}
	handler := scim.NewHandler(cfg, resources.NewUsers(userStore), resources.NewGroups(groupStore), store, log)
	srv.Config.Handler = scim.Observe(log, nil, handler)
	tb.Cleanup(srv.Close)
	return &api{t: tb, srv: srv, store: store, url: redisURL, handler: srv.Config.Handler}
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request as token; body may be a string (sent as is) or a value
// encoded as JSON.
func (a *api) do(method, path, token string, body any, headers ...string) response {
	a.t.Helper()
	authorization := ""
	if token != "" {
		authorization = "Bearer " + token
	}
	return a.send(method, scim.BasePath+path, authorization, body, headers...)
}

// send sends a request to path (relative to the server root) with the given
// Authorization header; body may be a string (sent as is) or a value encoded
// as JSON; headers are name, value pairs.
func (a *api) send(method, path, authorization string, body any, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			a.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatalf("NewRequest: %v", err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out.body); err != nil {
			a.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, data)
		}
	}
	return out
}

// must fails the test unless the response has status want.
func (r response) must(tb testing.TB, want int) response {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status = %d, want %d; body: %s", r.status, want, r.raw)
	}
	return r
}

// scimError checks a SCIM error response.
func (r response) scimError(tb testing.TB, status int, scimType, detailContains string) {
	tb.Helper()
	r.must(tb, status)
	if got := r.body["status"]; got != itoa(status) {
		tb.Errorf("error status = %v, want %q", got, itoa(status))
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		tb.Errorf("scimType = %q, want %q; body: %s", got, scimType, r.raw)
	}
	if d, _ := r.body["detail"].(string); !strings.Contains(d, detailContains) {
		tb.Errorf("detail = %q, want it to contain %q", d, detailContains)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		tb.Errorf("Content-Type = %q, want application/scim+json", ct)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// str walks a decoded JSON document by keys and indexes and returns a string.
func str(v any, path ...any) string {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return ""
			}
			v = l[k]
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func user(userName string, extra map[string]any) map[string]any {
	u := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Jane", "familyName": "Doe"},
	}
	for k, v := range extra {
		u[k] = v
	}
	return u
}

func group(name string, memberIDs ...string) map[string]any {
	var members []any
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	g := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name}
	if members != nil {
		g["members"] = members
	}
	return g
}

func patch(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}
