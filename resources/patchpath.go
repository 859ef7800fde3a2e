package resources

import (
	"context"
	"strings"
	"sync"

	"github.com/scimd/scimd/schemas"
)

// MaxFilterWork bounds the filter work of one request: a filter's
// comparisons times the resources, values or group members it is evaluated
// on, summed over the request. A comparison evaluated costs about 0.3 µs
// (BenchmarkFilterScan in package backend), so this is about 0.3 s of one
// core. Queries are charged by the store ([Query]); a PATCH is charged for
// the value filters of its paths, parsing included ([filterParseWork]), and
// for member filters evaluated on a group's members. Past it the request
// fails with [TooMany].
const MaxFilterWork = 1_000_000

// filterParseWork is what parsing and checking a value filter costs per
// comparison it reads, in comparisons evaluated: 1 to 2 µs of CPU a
// comparison, for value filters of 1 to 100 comparisons
// (BenchmarkParsePatchPath), against 0.1 to 0.3 µs for one evaluated.
const filterParseWork = 10

// Hints of the [TooMany] answer when a PATCH exceeds [MaxFilterWork].
const (
	pathWorkHint   = "use value filters with fewer comparisons, or send fewer operations with value filters"
	memberWorkHint = "select members with \"value eq\" (members[value eq \"<id>\"], several joined by \"or\": its cost does not grow with the group), or send fewer operations"
)

// patchWork is one PATCH request's filter work: a budget of comparisons,
// charged when a path's value filter is parsed and whenever a filter is
// evaluated, and the paths parsed so far, so that a path is parsed once per
// request however many operations name it and however often the write is
// retried. It is not safe for concurrent use.
type patchWork struct {
	rt     schemas.ResourceType
	budget int
	left   int
	paths  map[string]patchTarget
	// shared, when set, is the budget of the request the PATCH is part
	// of (a /Bulk operation: [WithFilterBudget]), charged as well.
	shared *sharedBudget
}

// newPatchWork returns the work of a PATCH on a resource of type rt that may
// cost budget comparisons, and no more than what is left of ctx's shared
// budget when it has one ([WithFilterBudget]).
func newPatchWork(ctx context.Context, rt schemas.ResourceType, budget int) *patchWork {
	shared, _ := ctx.Value(sharedBudgetKey{}).(*sharedBudget)
	return &patchWork{rt: rt, budget: budget, left: budget, paths: map[string]patchTarget{}, shared: shared}
}

// sharedBudget is a budget of filter comparisons that several PATCHes
// share: those of one /Bulk request. Safe for concurrent use.
type sharedBudget struct {
	mu          sync.Mutex
	total, left int
}

type sharedBudgetKey struct{}

// WithFilterBudget returns ctx with one budget of n filter comparisons that
// every PATCH made on it shares, each within its own [MaxFilterWork] as
// well: a request that makes several (a /Bulk of PATCHes) costs no more
// than one may. Past it a PATCH fails with [TooMany] before the work.
func WithFilterBudget(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, sharedBudgetKey{}, &sharedBudget{total: n, left: n})
}

// take spends n of b (nil: no shared budget), or reports false and spends
// nothing when fewer are left.
func (b *sharedBudget) take(n int) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

// use makes rt the resource type paths resolve against: a write reads its
// organization's type again on every attempt, and when that changed (the
// organization's custom attributes did) the paths parsed so far are
// dropped. The budget spent stays spent.
func (w *patchWork) use(rt schemas.ResourceType) *patchWork {
	if rt.Name != w.rt.Name || rt.Custom.Generation != w.rt.Custom.Generation {
		w.rt = rt
		clear(w.paths)
	}
	return w
}

// target resolves path against the resource type, parsing its value filter
// when this request has not parsed it yet: charged first, so that a filter
// over the budget is refused unparsed.
func (w *patchWork) target(path string) (patchTarget, error) {
	if t, ok := w.paths[path]; ok {
		return t, nil
	}
	p, err := resolvePatchPath(w.rt, path)
	if err != nil {
		return patchTarget{}, err
	}
	if err := w.charge(p.parseWork(), pathWorkHint); err != nil {
		return patchTarget{}, err
	}
	t, err := p.parse()
	if err != nil {
		return patchTarget{}, err
	}
	w.paths[path] = t
	return t, nil
}

// charge spends n comparisons of the budget, or fails with [TooMany], hint
// saying what to send instead, when fewer are left: before the work is done.
func (w *patchWork) charge(n int, hint string) error {
	if n > w.left {
		w.left = 0
		return w.overBudget(hint)
	}
	if !w.shared.take(n) {
		w.left = 0
		return Errorf(TooMany, "the filters of this request's PATCH operations cost more than the %d comparisons one request, all of its operations together, may evaluate (each filter's comparisons times the values or members it is evaluated on, and parsing): %s, or send the operations in several requests", w.shared.total, hint)
	}
	w.left -= n
	return nil
}

// overBudget is the [TooMany] error of a PATCH past its own budget.
func (w *patchWork) overBudget(hint string) error {
	return Errorf(TooMany, "the filters of this PATCH cost more than the %d comparisons one request may evaluate (each filter's comparisons times the values or members it is evaluated on, and parsing): %s", w.budget, hint)
}

// patchPath is a PATCH path resolved up to its value filter, which is left
// unparsed: finding what a path names costs little, parsing its filter may
// cost much.
type patchPath struct {
	t        patchTarget // without its filter
	filtered bool        // the path has a value filter
	l        lexed       // the path from its "[" on, literals replaced
	inner    string      // the value filter, in l's terms
	terms    int         // the value filter's comparisons
}

// resolvePatchPath resolves a PATCH path (RFC 7644 §3.5.2: attrPath or
// valuePath [subAttr]) against rt, ignoring case, checking everything but
// the syntax of its value filter, whose comparisons are counted: at most
// [MaxFilterTerms], as in a query's filter.
func resolvePatchPath(rt schemas.ResourceType, path string) (patchPath, error) {
	s := strings.TrimSpace(path)
	p := patchPath{t: patchTarget{path: path}}
	if s == "" {
		return p, Errorf(InvalidPath, "empty path")
	}
	if len(s) > maxFilterLen {
		return p, Errorf(InvalidPath, "path too long: %d bytes, at most %d", len(s), maxFilterLen)
	}
	if ext, ok := rt.Extension(s); ok {
		p.t.ext = ext.ID
		return p, nil
	}
	open := strings.IndexByte(s, '[')
	if open < 0 {
		a, err := resolve(rt, s)
		if err != nil {
			return p, Errorf(InvalidPath, "path %q: %v", path, err)
		}
		p.t.attr = a
		return p, nil
	}
	l, err := lexLiterals(s[open:])
	if err != nil {
		return p, Errorf(InvalidPath, "path %q: %v", path, err)
	}
	end := strings.IndexByte(l.text, ']')
	if end < 0 {
		return p, Errorf(InvalidPath, "path %q: unclosed \"[\"", path)
	}
	inner, suffix := strings.TrimSpace(l.text[1:end]), l.text[end+1:]
	if strings.Contains(inner, "[") {
		return p, Errorf(InvalidPath, "path %q: value filters cannot be nested", path)
	}
	a, err := resolve(rt, strings.TrimSpace(s[:open]))
	if err != nil {
		return p, Errorf(InvalidPath, "path %q: %v", path, err)
	}
	if err := checkValuePathAttr(a); err != nil {
		return p, Errorf(InvalidPath, "path %q: %v", path, err)
	}
	if !a.Attr.MultiValued() {
		return p, Errorf(InvalidPath, "path %q: %q is not multi-valued: name its sub-attributes without a filter", path, a.FullName())
	}
	p.l, p.inner, p.filtered = l, inner, true
	if p.terms, err = checkComparisons(lexed{text: inner, prefix: l.prefix, lits: l.lits}); err != nil {
		return p, Errorf(InvalidPath, "path %q: value filter: %v: use several operations", path, err)
	}
	p.t.attr = a
	if suffix != "" {
		name, ok := strings.CutPrefix(suffix, ".")
		if !ok {
			return p, Errorf(InvalidPath, "path %q: unexpected %s after the value filter", path, quoteShort(restoreLiterals(l, suffix)))
		}
		sub, ok := schemas.Find(a.Attr.SubAttributes(), name)
		if !ok {
			return p, Errorf(InvalidPath, "path %q: no sub-attribute %q in %s", path, restoreLiterals(l, name), a.Attr.Name())
		}
		p.t.attr.Sub = &sub
	}
	return p, nil
}

// parseWork is what parsing p's value filter costs, in comparisons evaluated.
func (p patchPath) parseWork() int {
	if !p.filtered {
		return 0
	}
	return max(p.terms, 1) * filterParseWork
}

// parse parses p's value filter, if it has one, and returns the target.
func (p patchPath) parse() (patchTarget, error) {
	t := p.t
	if !p.filtered {
		return t, nil
	}
	e, err := parseExpression(p.inner)
	if err != nil {
		return t, Errorf(InvalidPath, "path %q: invalid syntax in value filter %s", t.path, quoteShort(restoreLiterals(p.l, p.inner)))
	}
	whole := t.attr
	whole.Sub = nil
	if t.filter, err = checkElementFilter(whole, p.l, e, ""); err != nil {
		return t, Errorf(InvalidPath, "path %q: %v", t.path, err)
	}
	t.terms = FilterTerms(t.filter)
	return t, nil
}

// parsePatchPath resolves a PATCH path and parses its value filter, without
// a budget: for callers that parse one path of their own.
func parsePatchPath(rt schemas.ResourceType, path string) (patchTarget, error) {
	p, err := resolvePatchPath(rt, path)
	if err != nil {
		return p.t, err
	}
	return p.parse()
}
