package resources

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/schemas"
)

// PatchOp is one decoded PATCH operation (RFC 7644 §3.5.2).
type PatchOp struct {
	// Op is "add", "replace" or "remove", in lower case whatever the client sent.
	Op string
	// Path is the target path as sent; empty when absent.
	Path string
	// Value is the decoded JSON value: nil for null or when absent.
	Value any
	// HasValue reports whether the operation had a "value" member, null included.
	HasValue bool
}

// MaxPatchOperations bounds the operations of one PATCH request on every
// endpoint (/Users, /Groups, /Me, PATCH inside /Bulk). Identity providers
// send a few, one per changed attribute, members listed in the values
// (testdata/replay); 1000 is /Bulk's default maxOperations too, by choice
// (see scim.DefaultMaxBulkOperations), not one rule: a PATCH inside /Bulk
// counts once there, and its operations here. Over it is
// [TooLarge], 413: no scimType of RFC 7644 §3.12 fits, and 413 is what RFC
// 7644 §3.7.4 gives a /Bulk request over maxOperations (RFC 9110 §15.5.14).
const MaxPatchOperations = 1000

// ParsePatch decodes the body of a PATCH request (RFC 7644 §3.5.2). The body
// must be a JSON object whose "schemas" holds the PatchOp message URN and whose
// "Operations" is a non-empty array of at most [MaxPatchOperations] operations.
// Member names and op values are matched ignoring case: Entra ID sends
// "Operations" and "Replace". Malformed bodies are [InvalidSyntax]; an add or
// replace without a value is [InvalidValue]; too many operations is
// [TooLarge], before any of them is looked at.
func ParsePatch(body []byte) ([]PatchOp, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, Errorf(InvalidSyntax, "PATCH body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Errorf(InvalidSyntax, "PATCH body is not valid JSON: data after the top-level object")
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, Errorf(InvalidSyntax, "PATCH body must be a JSON object")
	}
	sch, ok, err := member(m, "schemas", "PATCH body")
	if err != nil {
		return nil, err
	}
	if !ok || !containsFold(sch, schemas.PatchOpURN) {
		return nil, Errorf(InvalidSyntax, "PATCH body: \"schemas\" must contain %q", schemas.PatchOpURN)
	}
	rawOps, ok, err := member(m, "Operations", "PATCH body")
	if err != nil {
		return nil, err
	}
	list, isList := rawOps.([]any)
	if !ok || !isList || len(list) == 0 {
		return nil, Errorf(InvalidSyntax, "PATCH body: \"Operations\" must be a non-empty array of operations")
	}
	if len(list) > MaxPatchOperations {
		return nil, Errorf(TooLarge, "a PATCH request may carry at most %d operations; this one has %d: send them in several requests", MaxPatchOperations, len(list))
	}
	ops := make([]PatchOp, len(list))
	for i, r := range list {
		where := fmt.Sprintf("Operations[%d]", i)
		om, ok := r.(map[string]any)
		if !ok {
			return nil, Errorf(InvalidSyntax, "%s: expected an object with \"op\", \"path\" and \"value\"", where)
		}
		opv, _, err := member(om, "op", where)
		if err != nil {
			return nil, err
		}
		name, _ := opv.(string)
		name = strings.ToLower(name)
		if name != "add" && name != "replace" && name != "remove" {
			return nil, Errorf(InvalidSyntax, "%s: \"op\" must be \"add\", \"replace\" or \"remove\", got %s", where, describe(opv, false))
		}
		op := PatchOp{Op: name}
		pv, _, err := member(om, "path", where)
		if err != nil {
			return nil, err
		}
		if pv != nil {
			p, ok := pv.(string)
			if !ok {
				return nil, Errorf(InvalidPath, "%s: \"path\" must be a string, got %s", where, describe(pv, false))
			}
			op.Path = p
		}
		if op.Value, op.HasValue, err = member(om, "value", where); err != nil {
			return nil, err
		}
		if name != "remove" && !op.HasValue {
			return nil, Errorf(InvalidValue, "%s: %q needs a \"value\"", where, name)
		}
		ops[i] = op
	}
	return ops, nil
}

// member returns the member of m named name, ignoring case. Two members whose
// names differ only in case are ambiguous and refused.
func member(m map[string]any, name, where string) (any, bool, error) {
	var (
		found string
		v     any
		ok    bool
	)
	for k, x := range m {
		if !strings.EqualFold(k, name) {
			continue
		}
		if ok {
			a, b := min(k, found), max(k, found)
			return nil, false, Errorf(InvalidSyntax, "%s: both %q and %q given", where, a, b)
		}
		found, v, ok = k, x, true
	}
	return v, ok, nil
}

// containsFold reports whether v is an array holding s, ignoring case.
func containsFold(v any, s string) bool {
	list, _ := v.([]any)
	for _, e := range list {
		if x, ok := e.(string); ok && strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ApplyPatch applies ops in order to a copy of doc and returns the result
// (RFC 7644 §3.5.2). doc holds a resource's stored attributes (canonical names,
// extensions under their URN, no id, meta, schemas, groups or members) and is
// not modified. It is all or nothing: on error there is no result. When ctx is
// done (the client left) it stops within [cancelCheckEvery] operations and
// returns ctx's error.
//
// Paths and the names inside values are matched ignoring case; values are
// coerced with [CoerceValue]. readOnly attributes cannot be targeted
// ([Mutability]); an immutable attribute may only be "changed" to the value it
// has; a writeOnly attribute such as password lands in the result for the
// caller to take out. Empty objects and arrays are removed from the result, as
// RFC 7644 §3.5.2 makes them equivalent to unassigned.
//
// Rules beyond the RFC's letter, for identity providers: an add or replace of
// "emails[type eq \"work\"].value" that matches no value creates one from the
// filter's equalities (Entra ID); a remove of a multi-valued attribute with a
// value removes only the values equal on the given sub-attributes (Entra ID's
// legacy member removal, applied to every multi-valued attribute); setting
// "primary" true on one value removes it from the others (RFC 7643 §2.4).
//
// The operation that would give a multi-valued attribute more than
// [MaxValues] values fails ([InvalidValue]), even if a later one would remove
// some: the write would be refused anyway, and each operation on a
// multi-valued attribute costs as much as its values.
//
// The value filters of the paths, parsed and evaluated, may cost at most
// [MaxFilterWork] comparisons in all; past that the operation about to
// exceed it fails with [TooMany] before it does the work.
func ApplyPatch(ctx context.Context, rt schemas.ResourceType, doc map[string]any, ops []PatchOp) (map[string]any, error) {
	return applyPatch(ctx, newPatchWork(ctx, rt, MaxFilterWork), doc, ops)
}

// applyPatch is [ApplyPatch] charging the request's work, which also knows
// the resource type.
func applyPatch(ctx context.Context, work *patchWork, doc map[string]any, ops []PatchOp) (map[string]any, error) {
	rt := work.rt
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, _ := deepCopy(doc).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	p := patcher{rt: rt, work: work, doc: out, ops: len(ops), immutable: immutableAttributes(rt)}
	for i, op := range ops {
		if i > 0 && i%cancelCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("PATCH stopped after %d of %d operations: %w", i, len(ops), err)
			}
		}
		p.at = i
		if err := p.apply(op); err != nil {
			return nil, err
		}
	}
	prune(out)
	return out, nil
}

// cancelCheckEvery is how many operations [ApplyPatch] applies between two
// looks at its context: an operation takes microseconds, a look less, and
// the client that left is noticed within a millisecond or so.
const cancelCheckEvery = 64

// patcher applies operations to doc, which it owns.
type patcher struct {
	rt   schemas.ResourceType
	work *patchWork
	doc  map[string]any
	// at is the index of the operation being applied, of ops in all.
	at, ops int
	// immutable are the resource type's immutable attributes, found once
	// for all operations; before holds their values before the operation
	// being applied.
	immutable []schemas.Attribute
	before    []immutableValue
}

// patchTarget is a resolved PATCH path.
type patchTarget struct {
	path string
	// ext is set when the path is an extension schema URN: the target is all
	// of that extension's attributes.
	ext  string
	attr schemas.Attribute
	// filter is the value filter of a value path, whose comparisons name
	// attr with the sub-attribute they compare, and terms its comparisons:
	// what evaluating it on one value costs.
	filter Filter
	terms  int
}

func (p *patcher) apply(op PatchOp) error {
	p.snapshotImmutables()
	var err error
	switch strings.ToLower(op.Op) {
	case "add", "replace":
		if op.Path == "" {
			err = p.applyNoPath(strings.ToLower(op.Op), op.Value)
			break
		}
		var t patchTarget
		if t, err = p.work.target(op.Path); err == nil {
			err = p.set(strings.ToLower(op.Op), t, op.Value)
		}
	case "remove":
		// RFC 7644 §3.5.2.2: a remove without a path fails with noTarget.
		if op.Path == "" {
			return Errorf(NoTarget, "remove needs a \"path\" naming what to remove")
		}
		var t patchTarget
		if t, err = p.work.target(op.Path); err == nil {
			err = p.remove(t, op.Value)
		}
	default:
		return Errorf(InvalidSyntax, "unknown PATCH op %q: expected add, replace or remove", op.Op)
	}
	if err != nil {
		return err
	}
	return p.checkImmutables()
}

// applyNoPath applies an add or replace whose target is the resource itself:
// every member of value is a path of its own (RFC 7644 §3.5.2.1, §3.5.2.3).
// Entra ID writes keys such as "name.givenName" and
// "emails[type eq \"work\"].value"; Okta writes {"active": false}.
func (p *patcher) applyNoPath(op string, value any) error {
	m, ok := value.(map[string]any)
	if !ok {
		return Errorf(InvalidValue, "%s without \"path\": \"value\" must be an object of attributes, got %s", op, describe(value, false))
	}
	for _, k := range sortedKeys(m) {
		if strings.EqualFold(k, "schemas") {
			continue
		}
		t, err := p.work.target(k)
		if err != nil {
			return err
		}
		if err := p.set(op, t, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// set applies an add or replace of v at t.
func (p *patcher) set(op string, t patchTarget, v any) error {
	// RFC 7644 §3.5.2: null is equivalent to unassigned.
	if v == nil {
		return p.remove(t, nil)
	}
	if t.ext != "" {
		m, ok := v.(map[string]any)
		if !ok {
			return Errorf(InvalidValue, "extension %q: expected an object of its attributes, got %s", t.ext, describe(v, false))
		}
		for _, k := range sortedKeys(m) {
			if strings.EqualFold(k, "schemas") {
				continue
			}
			sub, err := p.work.target(t.ext + ":" + k)
			if err != nil {
				return err
			}
			if err := p.set(op, sub, m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := checkWritable(t); err != nil {
		return err
	}
	a := t.attr
	c := p.container(a, true)
	key := a.Attr.Name()
	if t.filter != nil {
		return p.setFiltered(op, t, c, v)
	}
	switch {
	case a.Sub != nil && a.Attr.MultiValued():
		// No filter: the sub-attribute of every value, or of a new value if
		// there is none.
		cv, err := CoerceValue(a, v)
		if err != nil {
			return err
		}
		elems := elements(c[key])
		if len(elems) == 0 {
			c[key] = []any{map[string]any{a.Sub.Name(): cv}}
			return nil
		}
		var touched []int
		for i, e := range elems {
			if m, ok := e.(map[string]any); ok {
				m[a.Sub.Name()] = deepCopy(cv)
				touched = append(touched, i)
			}
		}
		if err := normalizePrimary(a, elems, touched); err != nil {
			return err
		}
		c[key] = elems
	case a.Sub != nil:
		cv, err := CoerceValue(a, v)
		if err != nil {
			return err
		}
		subAttrs(c, key, true)[a.Sub.Name()] = cv
	case a.Attr.MultiValued():
		cv, err := CoerceValue(a, v)
		if err != nil {
			return err
		}
		add := elements(cv)
		if op == "replace" {
			// RFC 7644 §3.5.2.3: without a filter, all values are replaced.
			if err := p.checkValues(a, len(add)); err != nil {
				return err
			}
			c[key] = add
			return normalizePrimary(a, add, indexes(len(add)))
		}
		// RFC 7644 §3.5.2.1: values are added; one already there is not
		// added twice.
		elems := slices.Clone(elements(c[key]))
		var touched []int
		for _, e := range add {
			i := slices.IndexFunc(elems, func(x any) bool { return reflect.DeepEqual(x, e) })
			if i < 0 {
				elems = append(elems, e)
				i = len(elems) - 1
				if err := p.checkValues(a, len(elems)); err != nil {
					return err
				}
			}
			touched = append(touched, i)
		}
		if err := normalizePrimary(a, elems, touched); err != nil {
			return err
		}
		c[key] = elems
	case schemas.IsComplex(a.Attr):
		// RFC 7644 §3.5.2.1, §3.5.2.3: sub-attributes given replace or add
		// to those present; the others are left unchanged.
		cv, err := CoerceValue(a, v)
		if err != nil {
			return err
		}
		m := subAttrs(c, key, true)
		for k, x := range cv.(map[string]any) {
			m[k] = x
		}
	default:
		cv, err := CoerceValue(a, v)
		if err != nil {
			return err
		}
		c[key] = cv
	}
	return nil
}

// setFiltered applies an add or replace to the values of a multi-valued
// attribute that t's filter selects.
func (p *patcher) setFiltered(op string, t patchTarget, c map[string]any, v any) error {
	a := t.attr
	key := a.Attr.Name()
	elems := slices.Clone(elements(c[key]))
	if err := p.work.charge(len(elems)*t.terms, pathWorkHint); err != nil {
		return err
	}
	var matched []int
	for i, e := range elems {
		if matchElement(e, t.filter) {
			matched = append(matched, i)
		}
	}
	whole := schemas.Attribute{URN: a.URN, Core: a.Core, Attr: a.Attr}
	if a.Sub != nil {
		cv, err := CoerceValue(a, v)
		if err != nil {
			return err
		}
		if len(matched) == 0 {
			// Entra ID: an update of emails[type eq "work"].value when there
			// is no work email creates it.
			elem, err := p.newElement(t, whole)
			if err != nil {
				return err
			}
			elem[a.Sub.Name()] = cv
			elems = append(elems, elem)
			matched = []int{len(elems) - 1}
			if err := p.checkValues(a, len(elems)); err != nil {
				return err
			}
		}
		for _, i := range matched {
			if m, ok := elems[i].(map[string]any); ok {
				m[a.Sub.Name()] = deepCopy(cv)
			}
		}
	} else {
		if !schemas.IsComplex(a.Attr) {
			return Errorf(InvalidPath, "path %q: a value filter on %q selects values that cannot be updated in place: use a path without a filter", t.path, a.FullName())
		}
		cv, err := coerceOne(a.Attr, valueName{last: a.FullName()}, v, refuseReadOnly)
		if err != nil {
			return err
		}
		nv, ok := cv.(map[string]any)
		if !ok {
			return Errorf(InvalidValue, "attribute %q: expected one value (an object), got %s", a.FullName(), describe(v, false))
		}
		switch {
		case len(matched) == 0 && op == "replace":
			// RFC 7644 §3.5.2.3: a value filter that matches nothing is noTarget.
			return Errorf(NoTarget, "path %q: no value of %s matches the filter", t.path, a.Attr.Name())
		case len(matched) == 0:
			elem, err := p.newElement(t, whole)
			if err != nil {
				return err
			}
			for k, x := range nv {
				elem[k] = x
			}
			elems = append(elems, elem)
			matched = []int{len(elems) - 1}
			if err := p.checkValues(a, len(elems)); err != nil {
				return err
			}
		case op == "replace":
			for _, i := range matched {
				elems[i] = deepCopy(nv)
			}
		default:
			for _, i := range matched {
				if m, ok := elems[i].(map[string]any); ok {
					for k, x := range nv {
						m[k] = deepCopy(x)
					}
				}
			}
		}
	}
	if err := normalizePrimary(a, elems, matched); err != nil {
		return err
	}
	c[key] = elems
	return nil
}

// newElement returns a new value for a filtered add or replace that matched
// nothing, made of the filter's equalities, or [NoTarget] when the filter is
// not made of equalities alone.
func (p *patcher) newElement(t patchTarget, whole schemas.Attribute) (map[string]any, error) {
	eqs := map[string]any{}
	if !equalities(t.filter, eqs) {
		return nil, Errorf(NoTarget, "path %q: no value of %s matches the filter, and a value can only be created from a filter of \"eq\" comparisons", t.path, t.attr.Attr.Name())
	}
	cv, err := CoerceValue(whole, []any{eqs})
	if err != nil {
		return nil, err
	}
	return elements(cv)[0].(map[string]any), nil
}

// equalities collects into eqs the sub-attribute values a filter of "eq"
// comparisons joined by "and" requires. It reports false for any other filter.
func equalities(f Filter, eqs map[string]any) bool {
	switch e := f.(type) {
	case *Comparison:
		if e.Op != filter.EQ || e.Value == nil {
			return false
		}
		name := e.relativeName()
		if old, ok := eqs[name]; ok && !reflect.DeepEqual(old, e.Value) {
			return false
		}
		eqs[name] = e.Value
		return true
	case *Logical:
		return e.Op == filter.AND && equalities(e.Left, eqs) && equalities(e.Right, eqs)
	}
	return false
}

// remove applies a remove at t (RFC 7644 §3.5.2.2). Removing what is not
// there is not an error. v, when not nil, selects the values of a
// multi-valued attribute to remove.
func (p *patcher) remove(t patchTarget, v any) error {
	if t.ext != "" {
		m, _ := p.doc[t.ext].(map[string]any)
		for k := range m {
			if a, err := resolve(p.rt, t.ext+":"+k); err != nil || schemas.MutabilityOf(a.Attr) != schemas.ReadOnly {
				delete(m, k)
			}
		}
		return nil
	}
	if err := checkWritable(t); err != nil {
		return err
	}
	a := t.attr
	if schemas.MutabilityOf(a.Attr) == schemas.Immutable || a.Sub != nil && schemas.MutabilityOf(*a.Sub) == schemas.Immutable {
		return immutableError(p.rt, a.FullName())
	}
	if a.Attr.Required() && a.Sub == nil && t.filter == nil {
		return Errorf(Mutability, "attribute %q is required and cannot be removed", a.FullName())
	}
	c := p.container(a, false)
	key := a.Attr.Name()
	if c == nil || c[key] == nil {
		return nil
	}
	switch {
	case t.filter != nil:
		if err := p.work.charge(len(elements(c[key]))*t.terms, pathWorkHint); err != nil {
			return err
		}
		var kept []any
		for _, e := range elements(c[key]) {
			if !matchElement(e, t.filter) {
				kept = append(kept, e)
			} else if a.Sub != nil {
				if m, ok := e.(map[string]any); ok {
					delete(m, a.Sub.Name())
				}
				kept = append(kept, e)
			}
		}
		c[key] = kept
	case a.Sub != nil:
		for _, e := range attrValues(a.Attr, c[key]) {
			if m, ok := e.(map[string]any); ok {
				delete(m, a.Sub.Name())
			}
		}
	case a.Attr.MultiValued() && v != nil:
		// Entra ID's legacy form: {"op":"Remove","path":"emails","value":[{"value":"x"}]}
		// removes the values equal on the sub-attributes given.
		cv, err := CoerceValue(a, v)
		if err != nil {
			return err
		}
		sel := elements(cv)
		var kept []any
		for _, e := range elements(c[key]) {
			if !slices.ContainsFunc(sel, func(s any) bool { return sameOn(a.Attr, s, e) }) {
				kept = append(kept, e)
			}
		}
		c[key] = kept
	default:
		delete(c, key)
	}
	return nil
}

// sameOn reports whether value e of attr equals selector s on every
// sub-attribute s gives (or equals it, for a simple attribute).
func sameOn(attr schema.CoreAttribute, s, e any) bool {
	sm, ok1 := s.(map[string]any)
	em, ok2 := e.(map[string]any)
	if !ok1 || !ok2 {
		return compare(attr, filter.EQ, e, s)
	}
	if len(sm) == 0 {
		return false
	}
	for k, x := range sm {
		sub, ok := schemas.Find(attr.SubAttributes(), k)
		if !ok || !compare(sub, filter.EQ, em[k], x) {
			return false
		}
	}
	return true
}

// container returns the map holding a's top-level attribute, creating the
// extension object if create is set.
func (p *patcher) container(a schemas.Attribute, create bool) map[string]any {
	if a.Core {
		return p.doc
	}
	m, ok := p.doc[a.URN].(map[string]any)
	if !ok && create {
		m = map[string]any{}
		p.doc[a.URN] = m
	}
	return m
}

// checkValues fails the operation being applied when it gives a's
// multi-valued attribute n values, more than [MaxValues]: at once, so that
// no later operation pays for the values the write would refuse.
func (p *patcher) checkValues(a schemas.Attribute, n int) error {
	if n <= MaxValues {
		return nil
	}
	name := schemas.Attribute{URN: a.URN, Core: a.Core, Attr: a.Attr}.FullName()
	return Errorf(InvalidValue, "attribute %q would have more than the %d values a customer may have (operation %d of %d): remove values before adding more", name, MaxValues, p.at+1, p.ops)
}

// checkWritable refuses a target that is readOnly (RFC 7643 §2.2).
func checkWritable(t patchTarget) error {
	a := t.attr
	if schemas.MutabilityOf(a.Attr) == schemas.ReadOnly {
		return Errorf(Mutability, "attribute %q is read-only", schemas.Attribute{URN: a.URN, Core: a.Core, Attr: a.Attr}.FullName())
	}
	if a.Sub != nil && schemas.MutabilityOf(*a.Sub) == schemas.ReadOnly {
		return Errorf(Mutability, "attribute %q is read-only", a.FullName())
	}
	return nil
}

// immutableValue is the value of an immutable attribute before an operation.
type immutableValue struct {
	attr  schemas.Attribute
	value any
}

// immutableAttributes returns the immutable top-level attributes of rt.
// Immutable sub-attributes of multi-valued attributes (those of Group
// members) are not tracked: members are changed through [MemberChange].
func immutableAttributes(rt schemas.ResourceType) []schemas.Attribute {
	var out []schemas.Attribute
	urns := []string{rt.Schema.ID}
	for _, e := range rt.Extensions {
		urns = append(urns, e.ID)
	}
	for _, urn := range urns {
		for _, attr := range rt.AttributesOf(urn) {
			if schemas.MutabilityOf(attr) == schemas.Immutable {
				out = append(out, schemas.Attribute{URN: urn, Core: urn == rt.Schema.ID, Attr: attr})
			}
		}
	}
	return out
}

// snapshotImmutables records in p.before the values the immutable attributes
// have in p.doc before an operation.
func (p *patcher) snapshotImmutables() {
	p.before = p.before[:0]
	for _, a := range p.immutable {
		c := p.container(a, false)
		p.before = append(p.before, immutableValue{attr: a, value: deepCopy(c[a.Attr.Name()])})
	}
}

// checkImmutables compares the immutable attributes with their values before
// an operation (RFC 7643 §2.2: immutable values SHALL NOT be updated). A value
// that only differs in case, for an attribute that is not caseExact, is put
// back as it was: Entra ID resends userName on every sync. An attribute that
// had no value may be given one, as a PUT may: what §2.2 forbids is changing
// a value (a customer created without passwordSetup gets one later).
func (p *patcher) checkImmutables() error {
	for _, b := range p.before {
		c := p.container(b.attr, b.value != nil)
		now := c[b.attr.Attr.Name()]
		if reflect.DeepEqual(now, b.value) || b.value == nil {
			continue
		}
		if b.value == nil || now == nil || !sameImmutable(b.attr.Attr, now, b.value) {
			return immutableError(p.rt, b.attr.FullName())
		}
		c[b.attr.Attr.Name()] = b.value
	}
	return nil
}

// sameImmutable reports whether now is the value was of the immutable
// attribute attr: a string that is not caseExact compares under [FoldCase],
// as uniqueness does.
func sameImmutable(attr schema.CoreAttribute, now, was any) bool {
	a, ok1 := now.(string)
	b, ok2 := was.(string)
	if ok1 && ok2 && !attr.CaseExact() {
		return FoldCase(a) == FoldCase(b)
	}
	return reflect.DeepEqual(now, was)
}

func immutableError(rt schemas.ResourceType, name string) error {
	return Errorf(Mutability, "attribute %q is immutable: it cannot be changed once the %s is created", name, strings.ToLower(rt.Name))
}

// normalizePrimary keeps "primary" true on at most one value of a
// multi-valued attribute (RFC 7643 §2.4). When the operation made one of the
// touched values primary, the others lose it; making several primary at once
// is [InvalidValue].
func normalizePrimary(a schemas.Attribute, elems []any, touched []int) error {
	winner, n := -1, 0
	for _, i := range touched {
		if m, ok := elems[i].(map[string]any); ok && m["primary"] == true {
			if n++; winner < 0 {
				winner = i
			}
		}
	}
	if n > 1 {
		return Errorf(InvalidValue, "attribute %q: at most one value may be primary, got %d", schemas.Attribute{URN: a.URN, Core: a.Core, Attr: a.Attr}.FullName(), n)
	}
	if winner < 0 {
		return nil
	}
	for i, e := range elems {
		if m, ok := e.(map[string]any); ok && i != winner && m["primary"] == true {
			delete(m, "primary")
		}
	}
	return nil
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
