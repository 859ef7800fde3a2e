package scim

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// BasePath is where the SCIM API is mounted.
const BasePath = "/scim/v2"

// Config configures the SCIM handler.
type Config struct {
	// BaseURL is the public URL of the SCIM API, BasePath included
	// ("https://scim.example.com/scim/v2"); it prefixes meta.location and the
	// Location header.
	BaseURL string
	// MaxBodyBytes limits request bodies.
	MaxBodyBytes int64
	// DefaultCount is the page size when a list request gives none; MaxCount is
	// the largest page served (RFC 7644 §3.4.2.4).
	DefaultCount, MaxCount int
	// TokenCacheTTL is how long a verified token is trusted without asking the
	// store again.
	TokenCacheTTL time.Duration
	// MaxBulkOperations and MaxBulkPayload bound one /Bulk request: its number
	// of operations and its body size in bytes (RFC 7644 §3.7.4). Defaults:
	// 1000 and 1 MiB.
	MaxBulkOperations int
	MaxBulkPayload    int64

	// AuthFailureLimit failed authentications (a missing or unknown bearer
	// token) from one client address within AuthFailureWindow make every
	// request from that address answer 429, with Retry-After, until the
	// window ends. Defaults: 20 per minute; a negative limit disables it.
	// Counted per process unless shared ([Handler.ShareLimits]).
	AuthFailureLimit  int
	AuthFailureWindow time.Duration
	// TokenRate (requests per second) and TokenBurst bound each API token's
	// requests (a token bucket); beyond them requests answer 429 with
	// Retry-After. A /Bulk request counts once. Defaults: 50 per second, bursts
	// of 200; a negative rate disables it. Per process unless shared, like
	// AuthFailureLimit.
	TokenRate  float64
	TokenBurst int
	// PublicRate (submissions per second) and PublicBurst bound form posts
	// to the public customer pages per client address (see LimitPublic);
	// zero means DefaultPublicRate and DefaultPublicBurst, a negative rate
	// disables it.
	PublicRate  float64
	PublicBurst int
	// TrustForwardedFor makes the client address of the limits the last
	// X-Forwarded-For entry instead of the peer address. Set it only behind a
	// proxy that appends that header; otherwise clients could forge it.
	TrustForwardedFor bool
}

// Handler serves the SCIM API.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	auth   *authenticator
	users  *resources.Users
	groups *resources.Groups
	mux    *http.ServeMux
	// endpoints are the resource types, in the order root queries list them.
	endpoints []endpoint
	// failures and rates are the abuse limits (ratelimit.go); nil when
	// disabled.
	failures *failureLimiter
	rates    *tokenLimiter
	public   *tokenLimiter
}

// NewHandler returns the SCIM API handler.
func NewHandler(cfg Config, users *resources.Users, groups *resources.Groups, tokens resources.TokenStore, log *slog.Logger) *Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.DefaultCount <= 0 {
		cfg.DefaultCount = 100
	}
	if cfg.MaxCount <= 0 {
		cfg.MaxCount = 1000
	}
	if cfg.MaxBulkOperations <= 0 {
		cfg.MaxBulkOperations = 1000
	}
	if cfg.MaxBulkPayload <= 0 {
		cfg.MaxBulkPayload = 1 << 20
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	h := &Handler{cfg: cfg, log: log, auth: newAuthenticator(tokens, cfg.TokenCacheTTL, log), users: users, groups: groups, mux: http.NewServeMux(),
		failures: newFailureLimiter(cfg.AuthFailureLimit, cfg.AuthFailureWindow), rates: newTokenLimiter(cfg.TokenRate, cfg.TokenBurst),
		public: newPublicLimiter(cfg.PublicRate, cfg.PublicBurst)}

	h.endpoints = []endpoint{h.userEndpoint(), h.groupEndpoint()}
	for _, e := range h.endpoints {
		h.mux.Handle(BasePath+e.rt.Endpoint, h.requireAuth(http.HandlerFunc(e.collection)))
		h.mux.Handle(BasePath+e.rt.Endpoint+"/{id}", h.requireAuth(http.HandlerFunc(e.single)))
	}
	for _, e := range h.endpoints {
		h.mux.Handle(BasePath+e.rt.Endpoint+"/.search", h.requireAuth(http.HandlerFunc(e.search)))
	}
	h.mux.Handle(BasePath+"/{$}", h.requireAuth(http.HandlerFunc(h.rootQuery)))
	h.mux.Handle(BasePath, h.requireAuth(http.HandlerFunc(h.rootQuery))) // the service root without its slash, not a redirect
	h.mux.Handle(BasePath+"/.search", h.requireAuth(http.HandlerFunc(h.rootSearch)))
	if admin, ok := tokens.(tokenAdmin); ok {
		h.mux.Handle(AdminPath, h.requireAuth(h.tokens(admin)))
		h.mux.Handle(AdminPath+"/{name}", h.requireAuth(h.tokens(admin)))
	}
	h.mux.Handle(BasePath+"/Bulk", h.requireAuth(http.HandlerFunc(h.bulk)))
	h.mux.Handle(BasePath+"/Users/{id}/resendInvitation", h.requireAuth(http.HandlerFunc(h.resendInvitation)))
	h.mux.Handle(BasePath+"/Me", http.HandlerFunc(h.me))
	h.mux.Handle("/t/{org}"+BasePath+"/Me", http.HandlerFunc(h.me))
	h.mux.Handle(BasePath+"/ServiceProviderConfig", h.requireAuth(readOnly(h.serviceProviderConfig)))
	h.mux.Handle(BasePath+"/ResourceTypes", h.requireAuth(readOnly(h.resourceTypes)))
	h.mux.Handle(BasePath+"/ResourceTypes/{name}", h.requireAuth(readOnly(h.resourceType)))
	h.mux.Handle(BasePath+"/Schemas", h.requireAuth(readOnly(h.schemaList)))
	h.mux.Handle(BasePath+"/Schemas/{id}", h.requireAuth(readOnly(h.schema)))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, "", "no SCIM endpoint at "+r.URL.Path)
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func readOnly(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			writeStatus(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path+": discovery endpoints are read-only")
			return
		}
		// RFC 7644 §4: discovery endpoints do not filter, and say so, lest a
		// client take the whole answer for the matches.
		if r.URL.Query().Has("filter") {
			writeStatus(w, http.StatusForbidden, "", "discovery endpoints do not support filter: request "+r.URL.Path+" without it")
			return
		}
		f(w, r)
	}
}

// endpoint adapts a resource service to HTTP.
type endpoint struct {
	h       *Handler
	rt      schemas.ResourceType
	create  func(ctx context.Context, org string, raw map[string]any) (resources.Resource, error)
	get     func(ctx context.Context, org, id string, p projection) (resources.Resource, error)
	replace func(ctx context.Context, org, id string, raw map[string]any, ifMatch int64) (resources.Resource, error)
	patch   func(ctx context.Context, org, id string, ops []resources.PatchOp, ifMatch int64) (resources.Resource, error)
	remove  func(ctx context.Context, org, id string, ifMatch int64) error
	list    func(ctx context.Context, org string, q resources.Query) (resources.Page, error)
	// members reads a group's members batch by batch, for responses that
	// stream them (see streamMembers); nil for users.
	members func(ctx context.Context, org, id string, fn func([]resources.Ref) error) error
}

func (h *Handler) userEndpoint() endpoint {
	u := h.users
	return endpoint{
		h: h, rt: u.ResourceType(),
		create: u.Create,
		get: func(ctx context.Context, org, id string, _ projection) (resources.Resource, error) {
			return u.Get(ctx, org, id)
		},
		replace: u.Replace, patch: u.Patch, remove: u.Delete, list: u.List,
	}
}

func (h *Handler) groupEndpoint() endpoint {
	g := h.groups
	rt := g.ResourceType()
	return endpoint{
		h: h, rt: rt,
		create: g.Create,
		// A group is read without its members: respond streams them.
		get: func(ctx context.Context, org, id string, _ projection) (resources.Resource, error) {
			return g.Get(ctx, org, id, false)
		},
		replace: g.Replace, patch: g.Patch, remove: g.Delete, list: g.List, members: g.ScanMembers,
	}
}

func (e endpoint) collection(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		e.listResources(w, r)
	case http.MethodPost:
		e.createResource(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeStatus(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path)
	}
}

func (e endpoint) single(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		e.getResource(w, r)
	case http.MethodPut:
		e.replaceResource(w, r)
	case http.MethodPatch:
		e.patchResource(w, r)
	case http.MethodDelete:
		e.deleteResource(w, r)
	default:
		w.Header().Set("Allow", "GET, PUT, PATCH, DELETE")
		writeStatus(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path)
	}
}

func (e endpoint) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, e.h.log, err)
}

func (e endpoint) projection(r *http.Request) projection {
	if r.URL.RawQuery == "" {
		return projection{}
	}
	q := r.URL.Query()
	return parseProjection(q.Get("attributes"), q.Get("excludedAttributes"))
}

// respond writes one resource with its ETag (RFC 7644 §3.14).
func (e endpoint) respond(w http.ResponseWriter, r *http.Request, status int, res resources.Resource) {
	w.Header().Set("ETag", resources.ETag(res.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", resources.Location(e.rt, e.h.cfg.BaseURL, res.ID))
	}
	p := e.projection(r)
	// Room for the stored document and what a response adds to it.
	body, err := e.render(make([]byte, 0, len(res.Raw)+512), res, p)
	if err != nil {
		writeError(w, r, e.h.log, err)
		return
	}
	if e.members != nil && res.Members == nil {
		if a := memberAttrs(e.rt, p); a != (resources.RefAttrs{}) {
			e.streamMembers(w, r, status, body, res.ID, a)
			return
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// render appends the JSON of one resource, projected, to dst. Without a
// projection the stored attributes are copied as they are.
func (e endpoint) render(dst []byte, res resources.Resource, p projection) ([]byte, error) {
	if p.empty() {
		return resources.AppendDocument(dst, e.rt, res, e.h.cfg.BaseURL)
	}
	if err := res.DecodeAttributes(); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(p.apply(e.rt, resources.Document(e.rt, res, e.h.cfg.BaseURL)))
	if err != nil {
		return nil, err
	}
	return append(dst, doc...), nil
}

func (e endpoint) readObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	data, err := readBody(w, r, e.h.cfg.MaxBodyBytes)
	if err == nil {
		var m map[string]any
		if m, err = decodeObject(data); err == nil {
			return m, true
		}
	}
	e.fail(w, r, err)
	return nil, false
}

// readPatch reads a PatchOp request body (RFC 7644 §3.5.2); on failure it
// has answered.
func (e endpoint) readPatch(w http.ResponseWriter, r *http.Request) ([]resources.PatchOp, bool) {
	data, err := readBody(w, r, e.h.cfg.MaxBodyBytes)
	if err == nil {
		var ops []resources.PatchOp
		if ops, err = resources.ParsePatch(data); err == nil {
			return ops, true
		}
	}
	e.fail(w, r, err)
	return nil, false
}

func (e endpoint) createResource(w http.ResponseWriter, r *http.Request) {
	raw, ok := e.readObject(w, r)
	if !ok {
		return
	}
	res, err := e.create(r.Context(), principal(r.Context()).Org, raw)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	e.respond(w, r, http.StatusCreated, res)
}

func (e endpoint) getResource(w http.ResponseWriter, r *http.Request) {
	res, err := e.get(r.Context(), principal(r.Context()).Org, r.PathValue("id"), e.projection(r))
	if err != nil {
		e.fail(w, r, err)
		return
	}
	e.respondRead(w, r, res)
}

// respondRead answers a read: 412 when If-Match names no current version,
// 304 when If-None-Match names the current version (RFC 7644 §3.14, RFC 9110
// §13.2.2), else the resource.
func (e endpoint) respondRead(w http.ResponseWriter, r *http.Request, res resources.Resource) {
	if im := r.Header.Get("If-Match"); im != "" && !etagMatches(im, res.Version) {
		writeStatus(w, http.StatusPreconditionFailed, "", "If-Match "+strconv.Quote(im)+" does not name the current version of this resource")
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.Version) {
		w.Header().Set("ETag", resources.ETag(res.Version))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	e.respond(w, r, http.StatusOK, res)
}

func (e endpoint) replaceResource(w http.ResponseWriter, r *http.Request) {
	ifMatch, ok := e.ifMatch(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	raw, ok := e.readObject(w, r)
	if !ok {
		return
	}
	res, err := e.replace(r.Context(), principal(r.Context()).Org, r.PathValue("id"), raw, ifMatch)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	e.respond(w, r, http.StatusOK, res)
}

func (e endpoint) patchResource(w http.ResponseWriter, r *http.Request) {
	ifMatch, ok := e.ifMatch(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	ops, ok := e.readPatch(w, r)
	if !ok {
		return
	}
	// The store sees a PATCH as a replace; the audit trail says PATCH.
	ctx := resources.WithAction(r.Context(), resources.ActionPatch)
	res, err := e.patch(ctx, principal(ctx).Org, r.PathValue("id"), ops, ifMatch)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	if e.rt.Name == "Group" {
		// A group write returns neither its full member list nor, for a
		// members-only change, its attributes: load what the response shows.
		if res, err = e.get(r.Context(), principal(r.Context()).Org, res.ID, e.projection(r)); err != nil {
			e.fail(w, r, err)
			return
		}
	}
	e.respond(w, r, http.StatusOK, res)
}

func (e endpoint) deleteResource(w http.ResponseWriter, r *http.Request) {
	ifMatch, ok := e.ifMatch(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	if err := e.remove(r.Context(), principal(r.Context()).Org, r.PathValue("id"), ifMatch); err != nil {
		e.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ifMatch returns the version an If-Match header pins on resource id, 0 for
// none or "*" (RFC 7644 §3.14, RFC 9110 §13.1.1). A list of several tags
// pins the one that is current, if any; the write then requires that version,
// so a change in between still fails it. On failure it has answered 412.
func (e endpoint) ifMatch(w http.ResponseWriter, r *http.Request, id string) (int64, bool) {
	header := strings.TrimSpace(r.Header.Get("If-Match"))
	if header == "" {
		return 0, true
	}
	var versions []int64
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t == "*" {
			return 0, true
		}
		if v, ok := resources.ParseETag(t); ok {
			versions = append(versions, v)
		}
	}
	if len(versions) == 1 {
		return versions[0], true
	}
	if len(versions) > 1 {
		cur, err := e.get(r.Context(), principal(r.Context()).Org, id, projection{excluded: []string{"members"}})
		if err != nil {
			e.fail(w, r, err)
			return 0, false
		}
		if slices.Contains(versions, cur.Version) {
			return cur.Version, true
		}
	}
	writeStatus(w, http.StatusPreconditionFailed, "", "If-Match "+strconv.Quote(header)+" does not name the current version of this resource: read it again (its ETag) and retry")
	return 0, false
}

// etagMatches reports whether an If-Match or If-None-Match list names
// version.
func etagMatches(header string, version int64) bool {
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t == "*" {
			return true
		}
		if v, ok := resources.ParseETag(t); ok && v == version {
			return true
		}
	}
	return false
}

// listResponse is a SCIM ListResponse (RFC 7644 §3.4.2).
type listResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults int              `json:"totalResults"`
	ItemsPerPage int              `json:"itemsPerPage"`
	StartIndex   int              `json:"startIndex"`
	Resources    []map[string]any `json:"Resources"`
}

func (e endpoint) listResources(w http.ResponseWriter, r *http.Request) {
	params, err := e.h.queryParams(r)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	e.h.writeList(w, r, []endpoint{e}, params)
}
