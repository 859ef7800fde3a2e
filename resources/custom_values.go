package resources

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// The rules of custom attributes' values beyond their types, which
// validation and PATCH enforce as they do for every attribute: what a
// removed schema or attribute left in a stored document goes, a PUT keeps
// immutable and readOnly values it leaves out, immutable values do not
// change, and a value that changes must be one of the attribute's
// canonicalValues when it has any.

// checkCustom enforces those rules on b, a write of cur (nil: a creation)
// checked against rt.
func checkCustom(rt schemas.ResourceType, b body, cur *Resource) error {
	if rt.Schema.ID == "" {
		return nil // no resource type: a write that never carries custom attributes
	}
	dropRemoved(rt, b.attrs)
	for _, d := range rt.Custom.Definitions {
		next, _ := b.attrs[d.ID].(map[string]any)
		var prev map[string]any
		if cur != nil {
			prev, _ = cur.Attributes[d.ID].(map[string]any)
		}
		for _, def := range d.Attributes {
			a, ok := rt.Lookup(d.ID + ":" + def.Name)
			if !ok {
				continue
			}
			key := a.Attr.Name()
			was, now := prev[key], next[key]
			mut := schemas.MutabilityOf(a.Attr)
			if b.replace && now == nil && was != nil && (mut == schemas.Immutable || mut == schemas.ReadOnly) {
				// A PUT that leaves out an immutable or readOnly value keeps
				// it: the client could not have set it otherwise.
				next = subAttrs(b.attrs, d.ID, true)
				next[key] = was
				continue
			}
			if mut == schemas.Immutable && was != nil && now != nil && !sameImmutable(a.Attr, now, was) {
				return immutableError(rt, a.FullName())
			}
			if reflect.DeepEqual(was, now) {
				continue
			}
			if err := checkCanonical(a, now, was); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropRemoved deletes from attrs what rt no longer defines: the object of a
// removed custom schema, and removed attributes of a custom schema's
// object. The store purges them from every document; a write that read a
// document before the purge reached it must not write them back.
func dropRemoved(rt schemas.ResourceType, attrs map[string]any) {
	for k, v := range attrs {
		if !isURNKey(k) || strings.EqualFold(k, rt.Schema.ID) {
			continue
		}
		ext, ok := rt.Extension(k)
		if !ok {
			delete(attrs, k)
			continue
		}
		m, ok := v.(map[string]any)
		if !ok || !rt.IsCustom(ext.ID) {
			continue
		}
		for name := range m {
			if _, ok := schemas.Find(ext.Attributes, name); !ok {
				delete(m, name)
			}
		}
		if len(m) == 0 {
			delete(attrs, k)
		}
	}
}

// checkCanonical requires the values v of a (a string attribute, or a
// complex one with string sub-attributes) to be among their canonicalValues,
// when they have any, ignoring case unless caseExact: those that are new,
// not those the stored values was already held.
func checkCanonical(a schemas.Attribute, v, was any) error {
	old := elements(was)
	// held reports whether the stored value had x (of sub-attribute sub,
	// "" for a value itself): a value canonical when it was written stays,
	// though the owner narrowed canonicalValues since (for later values).
	held := func(sub string, x any) bool {
		return slices.ContainsFunc(old, func(o any) bool {
			if sub == "" {
				return reflect.DeepEqual(o, x)
			}
			m, _ := o.(map[string]any)
			return m != nil && reflect.DeepEqual(m[sub], x)
		})
	}
	for _, e := range elements(v) {
		if m, ok := e.(map[string]any); ok {
			for _, sub := range a.Attr.SubAttributes() {
				if held(sub.Name(), m[sub.Name()]) {
					continue
				}
				if err := canonical(sub, a.FullName()+"."+sub.Name(), m[sub.Name()]); err != nil {
					return err
				}
			}
			continue
		}
		if held("", e) {
			continue
		}
		if err := canonical(a.Attr, a.FullName(), e); err != nil {
			return err
		}
	}
	return nil
}

func canonical(attr schema.CoreAttribute, name string, v any) error {
	s, ok := v.(string)
	values := attr.CanonicalValues()
	if !ok || len(values) == 0 {
		return nil
	}
	if slices.ContainsFunc(values, func(c string) bool { return c == s || !attr.CaseExact() && strings.EqualFold(c, s) }) {
		return nil
	}
	return Errorf(InvalidValue, "attribute %q: %q is not one of its canonicalValues (%s)", name, shorten(s), strings.Join(values, ", "))
}

// keepRequired refuses a change (a PATCH) that leaves a required custom
// attribute of rt without the value it had in before: removed, replaced by
// an empty array, its values all removed by a filter, or its extension
// removed (RFC 7644 §3.5.2.2: an attribute that "is removed or becomes
// unassigned and is defined as a required attribute" is 400 mutability).
// One that had no value may stay without.
func keepRequired(rt schemas.ResourceType, before, after map[string]any) error {
	for _, d := range rt.Custom.Definitions {
		was, _ := before[d.ID].(map[string]any)
		is, _ := after[d.ID].(map[string]any)
		for _, def := range d.Attributes {
			if def.Required && !empty(was[def.Name]) && empty(is[def.Name]) {
				return Errorf(Mutability, "attribute %q is required: a PATCH cannot remove its value, only replace it", fmt.Sprintf("%s:%s", d.ID, def.Name))
			}
		}
	}
	return nil
}

// checkRequired requires the custom attributes of rt that are required to
// have a value in attrs, a whole resource a client sent (POST, PUT).
// Customers stored before an attribute became required keep lacking it
// until such a write.
func checkRequired(rt schemas.ResourceType, attrs map[string]any) error {
	for _, d := range rt.Custom.Definitions {
		ext, _ := attrs[d.ID].(map[string]any)
		for _, def := range d.Attributes {
			if !def.Required {
				continue
			}
			if v, ok := ext[def.Name]; !ok || empty(v) {
				return Errorf(InvalidValue, "attribute %q is required", fmt.Sprintf("%s:%s", d.ID, def.Name))
			}
		}
	}
	return nil
}
