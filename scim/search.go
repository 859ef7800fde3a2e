package scim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// listParams are the query parameters of a list or search (RFC 7644 §3.4.2,
// §3.4.3), from a query string or a SearchRequest body.
type listParams struct {
	filter            string
	sortBy, sortOrder string
	startIndex, count int
	proj              projection
	acrossTypes       bool
	// cursor, when set, asks for cursor pagination (RFC 9865): "" for the
	// first page (see cursor.go).
	cursor *string
}

// queryParams reads list parameters from the query string (RFC 7644 §3.4.2).
func (h *Handler) queryParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	p := listParams{
		filter: q.Get("filter"), sortBy: q.Get("sortBy"), sortOrder: q.Get("sortOrder"),
		proj: parseProjection(q.Get("attributes"), q.Get("excludedAttributes")),
	}
	if q.Has("cursor") {
		c := q.Get("cursor")
		p.cursor = &c
		return h.cursorParams(p, q.Has("startIndex"), q.Has("count"), q.Get("count"))
	}
	var err error
	if p.startIndex, err = intParam(q, "startIndex", 1); err != nil {
		return listParams{}, err
	}
	if p.count, err = intParam(q, "count", h.cfg.DefaultCount); err != nil {
		return listParams{}, err
	}
	return h.clamp(p), nil
}

func intParam(q url.Values, name string, def int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, resources.Errorf(resources.InvalidValue, "%s must be an integer, got %q", name, s)
	}
	return n, nil
}

// clamp applies RFC 7644 §3.4.2.4: startIndex below 1 is 1, a negative count
// is 0, and no page exceeds MaxCount.
func (h *Handler) clamp(p listParams) listParams {
	p.startIndex = max(p.startIndex, 1)
	p.count = min(max(p.count, 0), h.cfg.MaxCount)
	return p
}

// searchRequest is the body of POST /.search (RFC 7644 §3.4.3).
type searchRequest struct {
	Schemas            []string `json:"schemas"`
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
	Filter             string   `json:"filter"`
	SortBy             string   `json:"sortBy"`
	SortOrder          string   `json:"sortOrder"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
	Cursor             *string  `json:"cursor"` // RFC 9865 §3
}

// searchParams reads list parameters from a SearchRequest body.
func (h *Handler) searchParams(w http.ResponseWriter, r *http.Request) (listParams, error) {
	data, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		return listParams{}, err
	}
	raw, err := decodeObject(data)
	if err != nil {
		return listParams{}, err
	}
	// Member names are case-insensitive (RFC 7643 §2.1): fold them to the
	// struct's before decoding.
	folded := map[string]any{}
	for k, v := range raw {
		for _, name := range []string{"schemas", "attributes", "excludedAttributes", "filter", "sortBy", "sortOrder", "startIndex", "count", "cursor"} {
			if strings.EqualFold(k, name) {
				if _, twice := folded[name]; twice {
					return listParams{}, resources.Errorf(resources.InvalidSyntax, "invalid SearchRequest: it names %q twice (names are case-insensitive, RFC 7643 §2.1): send it once", name)
				}
				if s, ok := v.(string); ok && (name == "attributes" || name == "excludedAttributes") {
					v = []any{s} // one string of comma-separated names, as in a query string
				}
				folded[name] = v
			}
		}
	}
	data, _ = json.Marshal(folded)
	var sr searchRequest
	if err := json.Unmarshal(data, &sr); err != nil {
		return listParams{}, resources.Errorf(resources.InvalidSyntax, "invalid SearchRequest: %s", schemas.JSONProblem(err))
	}
	if !slices.ContainsFunc(sr.Schemas, func(s string) bool { return strings.EqualFold(s, schemas.SearchRequestURN) }) {
		return listParams{}, resources.Errorf(resources.InvalidSyntax, "a search body must have \"schemas\": [%q]", schemas.SearchRequestURN)
	}
	p := listParams{
		filter: sr.Filter, sortBy: sr.SortBy, sortOrder: sr.SortOrder, startIndex: 1, count: h.cfg.DefaultCount,
		proj: projection{attributes: trimAll(sr.Attributes), excluded: trimAll(sr.ExcludedAttributes)},
	}
	if sr.Cursor != nil {
		p.cursor = sr.Cursor
		count := ""
		if sr.Count != nil {
			count = strconv.Itoa(*sr.Count)
		}
		return h.cursorParams(p, sr.StartIndex != nil, sr.Count != nil, count)
	}
	if sr.StartIndex != nil {
		p.startIndex = *sr.StartIndex
	}
	if sr.Count != nil {
		p.count = *sr.Count
	}
	return h.clamp(p), nil
}

func trimAll(list []string) []string {
	var out []string
	for _, s := range list {
		out = append(out, splitList(s)...)
	}
	return out
}

// search serves POST /{ResourceType}/.search (RFC 7644 §3.4.3).
func (e endpoint) search(w http.ResponseWriter, r *http.Request) error {
	params, err := e.h.searchParams(w, r)
	if err != nil {
		return err
	}
	return e.h.writeList(w, r, []endpoint{e}, params)
}

// rootQuery serves GET on the service root: a query across every resource
// type (RFC 7644 §3.4.2.1).
func (h *Handler) rootQuery(w http.ResponseWriter, r *http.Request) error {
	params, err := h.queryParams(r)
	if err != nil {
		return err
	}
	params.acrossTypes = true
	return h.writeList(w, r, h.endpoints, params)
}

// rootSearch serves POST /.search across every resource type.
func (h *Handler) rootSearch(w http.ResponseWriter, r *http.Request) error {
	params, err := h.searchParams(w, r)
	if err != nil {
		return err
	}
	params.acrossTypes = true
	return h.writeList(w, r, h.endpoints, params)
}

// maxRootDepth bounds startIndex+count of a query across resource types.
const maxRootDepth = 10000

// typedQuery is one resource type's part of a (possibly root) query.
type typedQuery struct {
	e endpoint
	q resources.Query
}

// plan parses the filter and sort of p for each endpoint. On a root query an
// attribute that one resource type's schema lacks is, for its resources, an
// attribute without a value (RFC 7644 §3.4.2.1): a filter on it is false
// (the type may drop out), and they sort as having no value; only an
// attribute that no type has is the client's error.
func (h *Handler) plan(eps []endpoint, p listParams) ([]typedQuery, error) {
	f := strings.TrimSpace(p.filter)
	var across []resources.TypeFilter
	if p.acrossTypes && f != "" {
		rts := make([]schemas.ResourceType, len(eps))
		for i, e := range eps {
			rts[i] = e.rt
		}
		var err error
		if across, err = resources.ParseFilterAcross(rts, f, h.cfg.BaseURL); err != nil {
			return nil, err
		}
	}
	sortBy := strings.TrimSpace(p.sortBy)
	if _, err := resources.ParseSort(eps[0].rt, "", p.sortOrder); err != nil {
		return nil, err // a bad sortOrder is wrong whatever the types
	}
	if p.acrossTypes && sortBy != "" && !slices.ContainsFunc(eps, func(e endpoint) bool { _, has := e.rt.Lookup(sortBy); return has }) {
		_, err := resources.ParseSort(eps[0].rt, p.sortBy, p.sortOrder) // no type has it: the first one's error
		return nil, err
	}
	var out []typedQuery
	for i, e := range eps {
		q := resources.Query{StartIndex: p.startIndex, Count: p.count}
		switch {
		case across != nil && across[i].Expr == nil && !across[i].All:
			continue // none of this type's resources can match
		case across != nil:
			q.Filter = across[i].Expr
		case f != "":
			expr, err := resources.ParseFilter(e.rt, f, h.cfg.BaseURL)
			if err != nil {
				return nil, err
			}
			q.Filter = expr
		}
		s, err := resources.ParseSort(e.rt, p.sortBy, p.sortOrder)
		if err != nil {
			if _, has := e.rt.Lookup(sortBy); !p.acrossTypes || has {
				return nil, err
			}
			// This type's resources have no value to sort by: unsorted, they
			// go where resources without a value go.
		}
		q.Sort = s
		// A list returns a group's members only when asked for them by name
		// (attributes=members), a deliberate deviation from their "returned":
		// "default": a page of large groups would be a response of millions
		// of members, identity providers read members with GET
		// /Groups/{id}, and many large SCIM servers leave them out of lists
		// (draft-zollner-scim-group-members). Even asked for, a page holds
		// at most the store's MaxListMembers.
		q.WithMembers = e.rt.HasMembers && p.proj.asks(e.rt, "members")
		// The results are only rendered, except that a sorted query across
		// types merges them by their decoded sort keys.
		q.RawOnly = !p.acrossTypes || q.Sort == nil
		if e.typeFor != nil {
			q.Type = &e.rt // the organization's custom attributes
		}
		out = append(out, typedQuery{e, q})
	}
	return out, nil
}

// writeList runs a list over one or more resource types and writes the
// ListResponse.
func (h *Handler) writeList(w http.ResponseWriter, r *http.Request, eps []endpoint, p listParams) error {
	eps = slices.Clone(eps)
	for i := range eps {
		var err error
		if eps[i], err = eps[i].forOrg(r); err != nil {
			return err
		}
	}
	tqs, err := h.plan(eps, p)
	if err != nil {
		return err
	}
	if p.cursor != nil {
		return h.writeCursorList(w, r, tqs, p)
	}
	org := principal(r.Context()).Org
	type item = listItem
	var items []item
	total := 0
	if len(tqs) == 1 {
		page, err := tqs[0].e.list(r.Context(), org, tqs[0].q)
		if err != nil {
			return err
		}
		total = page.Total
		for _, res := range page.Resources {
			items = append(items, item{tqs[0].e, res})
		}
	} else {
		// Across types: each type's first startIndex+count-1 results, merged
		// (by the sort key when sorting, else users then groups), then paged.
		// That costs the depth of the page, so the depth is bounded.
		if p.startIndex-1 > maxRootDepth-p.count {
			return resources.Errorf(resources.TooMany,
				"a query across resource types pages at most %d results deep (startIndex+count); query /Users or /Groups for deeper pages", maxRootDepth)
		}
		var all []item
		type sortKey struct {
			key     any
			present bool
		}
		var keys []sortKey
		var order *resources.Sort
		for _, tq := range tqs {
			q := tq.q
			q.StartIndex, q.Count = 1, p.startIndex-1+p.count
			page, err := tq.e.list(r.Context(), org, q)
			if err != nil {
				return err
			}
			total += page.Total
			order = cmp.Or(order, q.Sort)
			for _, res := range page.Resources {
				all = append(all, item{tq.e, res})
				var k sortKey
				if q.Sort != nil {
					k.key, k.present = q.Sort.SortKey(resources.Document(tq.e.rt, res, ""))
				}
				keys = append(keys, k)
			}
		}
		if order != nil {
			idx := make([]int, len(all))
			for i := range idx {
				idx[i] = i
			}
			slices.SortStableFunc(idx, func(a, b int) int {
				return order.Compare(keys[a].key, keys[a].present, keys[b].key, keys[b].present)
			})
			sorted := make([]item, len(all))
			for i, j := range idx {
				sorted[i] = all[j]
			}
			all = sorted
		}
		lo := min(p.startIndex-1, len(all))
		items = all[lo:min(lo+p.count, len(all))]
	}
	return writeListResponse(w, listPage{total: total, startIndex: p.startIndex, items: items}, p.proj)
}

// listItem is one resource of a list page, with the endpoint that renders it.
type listItem struct {
	e   endpoint
	res resources.Resource
}

// listPage is a ListResponse to write: startIndex 0 (a cursor page) is left
// out, and so are empty cursors.
type listPage struct {
	total, startIndex int
	next, previous    string
	items             []listItem
}

// writeListResponse writes a ListResponse (RFC 7644 §3.4.2, RFC 9865 §2)
// directly around the rendered resources, which encoding/json would
// otherwise scan again.
func writeListResponse(w http.ResponseWriter, lp listPage, proj projection) error {
	buf := make([]byte, 0, 256+len(lp.items)*1024)
	buf = append(buf, `{"schemas":["`+schemas.ListResponseURN+`"],"totalResults":`...)
	buf = strconv.AppendInt(buf, int64(lp.total), 10)
	buf = append(buf, `,"itemsPerPage":`...)
	buf = strconv.AppendInt(buf, int64(len(lp.items)), 10)
	if lp.startIndex > 0 {
		buf = append(buf, `,"startIndex":`...)
		buf = strconv.AppendInt(buf, int64(lp.startIndex), 10)
	}
	// Cursors hold only RFC 3986 unreserved characters: no JSON escaping.
	if lp.previous != "" {
		buf = append(buf, `,"previousCursor":"`...)
		buf = append(buf, lp.previous...)
		buf = append(buf, '"')
	}
	if lp.next != "" {
		buf = append(buf, `,"nextCursor":"`...)
		buf = append(buf, lp.next...)
		buf = append(buf, '"')
	}
	buf = append(buf, `,"Resources":[`...)
	var err error
	for i, it := range lp.items {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = it.e.render(buf, it.res, proj); err != nil {
			return err
		}
	}
	buf = append(buf, "]}\n"...)
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
	return nil
}
