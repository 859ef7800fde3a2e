package scim

import (
	"cmp"
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
	// MaxBodyBytes limits request bodies ([DefaultMaxBodyBytes]).
	MaxBodyBytes int64
	// DefaultCount is the page size when a list request gives none; MaxCount is
	// the largest page served (RFC 7644 §3.4.2.4). Defaults: [DefaultPageSize],
	// [DefaultMaxCount].
	DefaultCount, MaxCount int
	// TokenCacheTTL is how long a verified token is trusted without asking the
	// store again.
	TokenCacheTTL time.Duration
	// MaxBulkOperations and MaxBulkPayload bound one /Bulk request: its number
	// of operations and its body size in bytes (RFC 7644 §3.7.4). Defaults:
	// [DefaultMaxBulkOperations], and MaxBodyBytes: a /Bulk request may be
	// as large as any other request.
	MaxBulkOperations int
	MaxBulkPayload    int64
	// MaxBulkTime bounds the time a /Bulk request runs operations
	// ([DefaultMaxBulkTime]): past it, the operations not started yet are
	// not run and answer 503, so that the response is written while the
	// client still waits for it (the server's write timeout is longer).
	MaxBulkTime time.Duration

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
	// CursorTimeout is how long a pagination cursor stays valid (RFC 9865
	// cursorTimeout); [DefaultCursorTimeout] when 0.
	CursorTimeout time.Duration
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
	// literals are the 405s of routes under a sibling's wildcard, by path
	// (see route.underWildcard).
	literals map[string]handlerFunc
	// cursors signs pagination cursors (cursor.go).
	cursors *cursorSigner
}

// Defaults of [Config]'s limits, where it gives none.
const (
	// DefaultMaxBodyBytes is the request body limit.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultPageSize is the page size of a list request that gives no
	// count (RFC 7644 §3.4.2.4 leaves it to the service provider).
	DefaultPageSize = 100
	// DefaultMaxCount is the largest page, also /ServiceProviderConfig's
	// filter.maxResults.
	DefaultMaxCount = 1000
	// DefaultMaxBulkOperations is a /Bulk request's maxOperations (RFC 7644
	// §3.7.4). It equals [resources.MaxPatchOperations] by choice, not by
	// rule: each bounds what one request asks, and a client that splits one
	// kind of request at 1000 operations may split the other there too. They
	// are two facts: this one is a setting, advertised in
	// /ServiceProviderConfig, while the PATCH bound is fixed, and a PATCH
	// inside /Bulk counts once here and its operations there.
	DefaultMaxBulkOperations = 1000
	// DefaultMaxBulkTime is [Config].MaxBulkTime: well within the 60 s the
	// server gives a response to be written (cmd/scimd), an operation
	// started before it included.
	DefaultMaxBulkTime = 40 * time.Second
)

// NewHandler returns the SCIM API handler.
func NewHandler(cfg Config, users *resources.Users, groups *resources.Groups, tokens resources.TokenStore, log *slog.Logger) *Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.DefaultCount <= 0 {
		cfg.DefaultCount = DefaultPageSize
	}
	if cfg.MaxCount <= 0 {
		cfg.MaxCount = DefaultMaxCount
	}
	if cfg.MaxBulkOperations <= 0 {
		cfg.MaxBulkOperations = DefaultMaxBulkOperations
	}
	if cfg.MaxBulkPayload <= 0 {
		cfg.MaxBulkPayload = cfg.MaxBodyBytes
	}
	if cfg.MaxBulkTime <= 0 {
		cfg.MaxBulkTime = DefaultMaxBulkTime
	}
	if cfg.CursorTimeout <= 0 {
		cfg.CursorTimeout = DefaultCursorTimeout
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	h := &Handler{cfg: cfg, log: log, auth: newAuthenticator(tokens, cfg.TokenCacheTTL, log), users: users, groups: groups, mux: http.NewServeMux(),
		failures: newFailureLimiter(cfg.AuthFailureLimit, cfg.AuthFailureWindow), rates: newTokenLimiter(cfg.TokenRate, cfg.TokenBurst),
		public: newPublicLimiter(cfg.PublicRate, cfg.PublicBurst), literals: map[string]handlerFunc{}}

	h.cursors = &cursorSigner{}
	if keys, ok := tokens.(cursorKeys); ok {
		h.cursors.store = keys
	}
	h.endpoints = []endpoint{h.userEndpoint(), h.groupEndpoint()}
	api := h.requireAuth
	for _, e := range h.endpoints {
		h.route(api, route{path: BasePath + e.rt.Endpoint, get: e.listResources, post: e.createResource})
		h.route(api, route{path: BasePath + e.rt.Endpoint + "/{id}",
			get: e.getResource, put: e.replaceResource, patch: e.patchResource, delete: e.deleteResource})
		h.route(api, route{path: BasePath + e.rt.Endpoint + "/.search", post: e.search, hint: ": send a SearchRequest with POST", underWildcard: true})
	}
	// The service root with and without its slash, not a redirect.
	for _, root := range []string{BasePath + "/{$}", BasePath} {
		h.route(api, route{path: root, get: h.rootQuery, place: "the service root"})
	}
	h.route(api, route{path: BasePath + "/.search", post: h.rootSearch, place: "/.search", hint: ": send a SearchRequest with POST"})
	if admin, ok := tokens.(tokenAdmin); ok {
		h.routeTokens(admin)
	}
	if admin, ok := tokens.(settingsAdmin); ok {
		h.route(api, route{path: SettingsPath, get: h.getSettings(admin), patch: h.patchSettings(admin)})
	}
	h.routeSchemas()
	h.route(api, route{path: BasePath + "/Bulk", post: h.bulk, hint: ": send a BulkRequest with POST"})
	h.route(api, route{path: BasePath + "/Users/{id}/resendInvitation", post: h.resendInvitation, hint: ": POST to send a new invitation or password reset"})
	h.mux.Handle(BasePath+"/Me", h.serve(h.meWithoutOrg))
	h.route(h.customer, route{path: "/t/{org}" + BasePath + "/Me", get: h.getMe, put: h.replaceMe, patch: h.patchMe,
		refused: map[string]handlerFunc{http.MethodDelete: h.deleteMe, http.MethodPost: h.postMe}})
	// Discovery endpoints are read-only and do not filter.
	const readOnly = ": discovery endpoints are read-only"
	h.route(api, route{path: BasePath + "/ServiceProviderConfig", get: withoutFilter(h.serviceProviderConfig), hint: readOnly})
	h.route(api, route{path: BasePath + "/ResourceTypes", get: withoutFilter(h.resourceTypes), hint: readOnly})
	h.route(api, route{path: BasePath + "/ResourceTypes/{name}", get: withoutFilter(h.resourceType), hint: readOnly})
	h.route(api, route{path: BasePath + "/Schemas", get: withoutFilter(h.schemaList), hint: readOnly})
	h.route(api, route{path: BasePath + "/Schemas/{id}", get: withoutFilter(h.schema), hint: readOnly})
	h.mux.Handle("/", h.serve(func(w http.ResponseWriter, r *http.Request) error {
		return resources.Errorf(resources.NotFound, "no SCIM endpoint at %s", r.URL.Path)
	}))
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// route is one path of the API and its handler for each method it allows.
// A GET handler serves HEAD too (net/http drops the body).
type route struct {
	path                          string
	get, post, put, patch, delete handlerFunc
	// refused are methods the path does not allow but answers with a
	// handler of its own, which says why (DELETE /Me: 403), instead of the
	// 405; Allow does not name them.
	refused map[string]handlerFunc
	// place names the path in the detail of a 405 ("PUT is not allowed on
	// <place><hint>"); the request's path when empty. hint says what to do
	// instead.
	place, hint string
	// underWildcard marks a path that is also a value of a sibling's
	// wildcard (/Users/.search of /Users/{id}): ServeMux refuses a pattern
	// without a method for it, so its 405 is registered method by method,
	// and the sibling's 405 hands it the other methods (PROPFIND).
	underWildcard bool
}

// notAllowedMethods are the methods a 405 of an underWildcard route is
// registered for; any other method reaches the sibling's 405, which passes
// it on (see Handler.literals).
var notAllowedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace}

// route registers rt's handlers as method patterns ("GET /scim/v2/Users")
// and, for every other method, a SCIM-shaped 405 naming the methods the path
// serves in Allow (RFC 9110 §15.5.6), HEAD with GET. Both run behind wrap
// (authentication), so a client learns which methods a path allows only once
// authenticated.
func (h *Handler) route(wrap func(http.Handler) http.Handler, rt route) {
	var allow []string
	for _, m := range []struct {
		method string
		f      handlerFunc
	}{{http.MethodGet, rt.get}, {http.MethodPost, rt.post}, {http.MethodPut, rt.put}, {http.MethodPatch, rt.patch}, {http.MethodDelete, rt.delete}} {
		if m.f != nil {
			h.mux.Handle(m.method+" "+rt.path, wrap(h.serve(m.f)))
			allow = append(allow, m.method)
			if m.method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	for m, f := range rt.refused {
		h.mux.Handle(m+" "+rt.path, wrap(h.serve(f)))
	}
	notAllowed := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return protocolError{status: http.StatusMethodNotAllowed, detail: r.Method + " is not allowed on " + cmp.Or(rt.place, r.URL.Path) + rt.hint}
	}
	if !rt.underWildcard {
		h.mux.Handle(rt.path, wrap(h.serve(func(w http.ResponseWriter, r *http.Request) error {
			if literal, ok := h.literals[r.URL.Path]; ok {
				return literal(w, r)
			}
			return notAllowed(w, r)
		})))
		return
	}
	h.literals[rt.path] = notAllowed
	for _, m := range notAllowedMethods {
		if !slices.Contains(allow, m) && rt.refused[m] == nil {
			h.mux.Handle(m+" "+rt.path, wrap(h.serve(notAllowed)))
		}
	}
}

// withoutFilter refuses a filter on the discovery endpoints, which do not
// filter, and say so, lest a client take the whole answer for the matches
// (RFC 7644 §4).
func withoutFilter(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Query().Has("filter") {
			return resources.Errorf(resources.Forbidden, "discovery endpoints do not support filter: request %s without it", r.URL.Path)
		}
		return next(w, r)
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
	// typeFor, when set, is the resource type of an organization (its
	// custom attributes): see forOrg.
	typeFor func(ctx context.Context, org string) (schemas.ResourceType, error)
}

func (h *Handler) userEndpoint() endpoint {
	u := h.users
	return endpoint{
		h: h, rt: u.ResourceType(),
		create: u.Create,
		get: func(ctx context.Context, org, id string, _ projection) (resources.Resource, error) {
			return u.Get(ctx, org, id)
		},
		replace: u.Replace, patch: u.Patch, remove: u.Delete, list: u.List, typeFor: u.TypeFor,
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

func (e endpoint) projection(r *http.Request) projection {
	if r.URL.RawQuery == "" {
		return projection{}
	}
	q := r.URL.Query()
	return parseProjection(q.Get("attributes"), q.Get("excludedAttributes"))
}

// statusOnlyKey marks the context of a request whose answer is its status
// and headers alone: a /Bulk operation, whose result reports those (RFC 7644
// §3.7.3), so that no response body (a group's members) is read or built
// to be thrown away.
type statusOnlyKey struct{}

// withStatusOnly returns ctx marked as statusOnlyKey says.
func withStatusOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, statusOnlyKey{}, true)
}

// statusOnly reports whether a successful answer on ctx has no body.
func statusOnly(ctx context.Context) bool {
	v, _ := ctx.Value(statusOnlyKey{}).(bool)
	return v
}

// respond writes one resource with its ETag (RFC 7644 §3.14); written is the
// request's (a resource or PATCH operations) for a write, whose response
// shows the custom attributes returned "request" that it names.
func (e endpoint) respond(w http.ResponseWriter, r *http.Request, status int, res resources.Resource, written any) error {
	e, err := e.forOrg(r)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", resources.ETag(res.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", resources.Location(e.rt, e.h.cfg.BaseURL, res.ID))
	}
	if statusOnly(r.Context()) {
		w.WriteHeader(status)
		return nil
	}
	p := e.projection(r)
	if written != nil && e.withholds() {
		p.specified = specifiedBy(e.rt, written)
	}
	// Room for the stored document and what a response adds to it.
	body, err := e.render(make([]byte, 0, len(res.Raw)+512), res, p)
	if err != nil {
		return err
	}
	if e.members != nil && res.Members == nil {
		if a := memberAttrs(e.rt, p); a != (resources.RefAttrs{}) {
			return e.streamMembers(w, r, status, body, res.ID, a)
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// render appends the JSON of one resource, projected, to dst. Without a
// projection the stored attributes are copied as they are.
func (e endpoint) render(dst []byte, res resources.Resource, p projection) ([]byte, error) {
	if p.empty() && !e.withholds() {
		return resources.AppendDocument(dst, e.rt, res, e.h.cfg.BaseURL)
	}
	return e.renderProjected(dst, res, p)
}

// renderProjected is render's way with a projection, or with attributes
// to withhold: the attributes decoded, projected, encoded. Apart, so that
// render's res stays on the stack (DecodeAttributes has it escape).
func (e endpoint) renderProjected(dst []byte, res resources.Resource, p projection) ([]byte, error) {
	if err := res.DecodeAttributes(); err != nil {
		return nil, err
	}
	full := resources.Document(e.rt, res, e.h.cfg.BaseURL)
	if e.withholds() {
		full = withhold(e.rt, full, p)
	}
	doc, err := json.Marshal(p.apply(e.rt, full))
	if err != nil {
		return nil, err
	}
	return append(dst, doc...), nil
}

// readObject reads a request body that is one JSON object.
func (e endpoint) readObject(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	data, err := readBody(w, r, e.h.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	return decodeObject(data)
}

// readPatch reads a PatchOp request body (RFC 7644 §3.5.2).
func (e endpoint) readPatch(w http.ResponseWriter, r *http.Request) ([]resources.PatchOp, error) {
	data, err := readBody(w, r, e.h.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	return resources.ParsePatch(data)
}

func (e endpoint) createResource(w http.ResponseWriter, r *http.Request) error {
	raw, err := e.readObject(w, r)
	if err != nil {
		return err
	}
	res, err := e.create(r.Context(), principal(r.Context()).Org, raw)
	if err != nil {
		return err
	}
	return e.respond(w, r, http.StatusCreated, res, raw)
}

func (e endpoint) getResource(w http.ResponseWriter, r *http.Request) error {
	res, err := e.get(r.Context(), principal(r.Context()).Org, r.PathValue("id"), e.projection(r))
	if err != nil {
		return err
	}
	return e.respondRead(w, r, res)
}

// respondRead answers a read: 412 when If-Match names no current version,
// 304 when If-None-Match names the current version (RFC 7644 §3.14, RFC 9110
// §13.2.2), else the resource.
func (e endpoint) respondRead(w http.ResponseWriter, r *http.Request, res resources.Resource) error {
	if im := r.Header.Get("If-Match"); im != "" && !etagMatches(im, res.Version) {
		return resources.Errorf(resources.PreconditionFailed, "If-Match %s does not name the current version of this resource", strconv.Quote(im))
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.Version) {
		w.Header().Set("ETag", resources.ETag(res.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return e.respond(w, r, http.StatusOK, res, nil)
}

func (e endpoint) replaceResource(w http.ResponseWriter, r *http.Request) error {
	return e.replaceOne(w, r, principal(r.Context()).Org, r.PathValue("id"), e.replace)
}

// replaceOne answers a PUT of resource id in org (RFC 7644 §3.5.1) with
// replace: /Users/{id} with the administrators' rules, /Me with the
// customer's.
func (e endpoint) replaceOne(w http.ResponseWriter, r *http.Request, org, id string,
	replace func(ctx context.Context, org, id string, raw map[string]any, ifMatch int64) (resources.Resource, error)) error {
	return writeOne(e, w, r, org, id, e.readObject, replace)
}

func (e endpoint) patchResource(w http.ResponseWriter, r *http.Request) error {
	return e.patchOne(w, r, principal(r.Context()).Org, r.PathValue("id"), e.patch)
}

// patchOne answers a PATCH of resource id in org (RFC 7644 §3.5.2) with
// patch: /Users/{id} and /Groups/{id} with the administrators' rules, /Me
// with the customer's.
func (e endpoint) patchOne(w http.ResponseWriter, r *http.Request, org, id string,
	patch func(ctx context.Context, org, id string, ops []resources.PatchOp, ifMatch int64) (resources.Resource, error)) error {
	return writeOne(e, w, r, org, id, e.readPatch, func(ctx context.Context, org, id string, ops []resources.PatchOp, ifMatch int64) (resources.Resource, error) {
		// The store sees a PATCH as a replace; the audit trail says PATCH.
		res, err := patch(resources.WithAction(ctx, resources.ActionPatch), org, id, ops, ifMatch)
		if err != nil || !e.rt.HasMembers || statusOnly(ctx) {
			return res, err
		}
		// A group write returns neither its full member list nor, for a
		// members-only change, its attributes: load what the response shows.
		return e.get(ctx, org, res.ID, e.projection(r))
	})
}

// writeOne answers a PUT or PATCH of resource id in org: the version
// If-Match pins, the body as read reads it, then write, and the resource
// written.
func writeOne[B any](e endpoint, w http.ResponseWriter, r *http.Request, org, id string,
	read func(http.ResponseWriter, *http.Request) (B, error),
	write func(ctx context.Context, org, id string, body B, ifMatch int64) (resources.Resource, error)) error {
	ifMatch, err := e.ifMatch(r, org, id)
	if err != nil {
		return err
	}
	if err := e.ifNoneMatch(r, org, id); err != nil {
		return err
	}
	body, err := read(w, r)
	if err != nil {
		return err
	}
	res, err := write(r.Context(), org, id, body, ifMatch)
	if err != nil {
		return err
	}
	return e.respond(w, r, http.StatusOK, res, body)
}

func (e endpoint) deleteResource(w http.ResponseWriter, r *http.Request) error {
	org, id := principal(r.Context()).Org, r.PathValue("id")
	ifMatch, err := e.ifMatch(r, org, id)
	if err != nil {
		return err
	}
	if err := e.ifNoneMatch(r, org, id); err != nil {
		return err
	}
	if err := e.remove(r.Context(), org, id, ifMatch); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ifMatch returns the version an If-Match header pins on resource id of
// org, 0 for none or "*" (RFC 7644 §3.14, RFC 9110 §13.1.1). A list of
// several tags pins the one that is current, if any; the write then requires
// that version, so a change in between still fails it. A header that names
// no current version is a PreconditionFailed error (412).
func (e endpoint) ifMatch(r *http.Request, org, id string) (int64, error) {
	header := strings.TrimSpace(r.Header.Get("If-Match"))
	if header == "" {
		return 0, nil
	}
	var versions []int64
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t == "*" {
			return 0, nil
		}
		if v, ok := resources.ParseETag(t); ok {
			versions = append(versions, v)
		}
	}
	if len(versions) == 1 {
		return versions[0], nil
	}
	if len(versions) > 1 {
		cur, err := e.get(r.Context(), org, id, projection{excluded: []string{"members"}})
		if err != nil {
			return 0, err
		}
		if slices.Contains(versions, cur.Version) {
			return cur.Version, nil
		}
	}
	return 0, resources.Errorf(resources.PreconditionFailed, "If-Match %s does not name the current version of this resource: read it again (its ETag) and retry", strconv.Quote(header))
}

// ifNoneMatch fails a write of resource id of org whose If-None-Match
// names its current version, or is "*" (it exists), with 412 (RFC 9110
// §13.1.2: a server "MUST NOT perform the requested method" then). Versions
// only grow, so a tag that was not current when read does not become so
// before the write.
func (e endpoint) ifNoneMatch(r *http.Request, org, id string) error {
	header := strings.TrimSpace(r.Header.Get("If-None-Match"))
	if header == "" {
		return nil
	}
	cur, err := e.get(r.Context(), org, id, projection{excluded: []string{"members"}})
	if err != nil {
		return err
	}
	if etagMatches(header, cur.Version) {
		return resources.Errorf(resources.PreconditionFailed, "If-None-Match %s names the current version of this resource, or any (*): the write is not made", strconv.Quote(header))
	}
	return nil
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

func (e endpoint) listResources(w http.ResponseWriter, r *http.Request) error {
	params, err := e.h.queryParams(r)
	if err != nil {
		return err
	}
	return e.h.writeList(w, r, []endpoint{e}, params)
}
