package resources

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// body is a resource as a client sent it in a POST or PUT, checked against the
// schema and with attribute names made canonical.
type body struct {
	attrs    map[string]any
	password *Secret
	// self reports a write by the customer themselves (/Me): a password they
	// set is their own, not a temporary one.
	self bool
	// put reports a whole resource that replaces the stored one (PUT): what
	// it leaves out is cleared, except what no client may clear.
	replace bool
}

// normalize checks a POST/PUT body against rt (RFC 7643 §2, RFC 7644 §3.3,
// §3.5.1). Names are matched ignoring case and made canonical; values are
// coerced to their declared types (Entra ID sends "True" for true). An
// attribute may be named alone, with its schema's URN
// ("urn:…:core:2.0:User:password"), or inside an object under its schema's
// URN, the core schema's included; naming one attribute twice (in two
// letter cases, or both inside its schema's object and with its URN) is
// ambiguous and refused. readOnly attributes (id, meta, groups,
// accountState) and sub-attributes (the enterprise manager.displayName) are
// ignored as RFC 7644 §3.3 and §3.5.1 say; unknown schema URNs are
// ignored (Entra ID sends Microsoft ones); an unknown attribute of a known
// schema is an error naming it. A multi-valued attribute must be an array
// (RFC 7643 §2.4).
func normalize(rt schemas.ResourceType, raw map[string]any) (body, error) {
	b := body{attrs: make(map[string]any, len(raw))}
	if err := checkSchemas(rt, raw); err != nil {
		return body{}, err
	}
	// given maps the canonical full name of each attribute seen to how the
	// body named it, to refuse a second name for it.
	given := make(map[string]namedAs, len(raw))
	claim := func(name string, as namedAs) error {
		if prev, dup := given[name]; dup {
			return Errorf(InvalidSyntax, "both %s and %s given: they name the same attribute %q; send it once", prev, as, name)
		}
		given[name] = as
		return nil
	}
	// object puts the attributes of an object under the schema URN key.
	object := func(key, urn string, v any) error {
		obj, ok := v.(map[string]any)
		if !ok {
			return Errorf(InvalidSyntax, "%q: expected an object of the attributes of schema %s, got %s", key, urn, describe(v, false))
		}
		var keys [16]string
		for _, k := range appendSortedKeys(keys[:0], obj) {
			a, ok := rt.Lookup(urn + ":" + k)
			if !ok || a.Sub != nil {
				return Errorf(InvalidValue, "unknown attribute %q in schema %s", k, urn)
			}
			if err := claim(a.FullName(), namedAs{key: k, object: key}); err != nil {
				return err
			}
			if err := b.put(b.container(a), a, obj[k]); err != nil {
				return err
			}
		}
		return nil
	}
	var keys [32]string
	for _, key := range appendSortedKeys(keys[:0], raw) {
		v := raw[key]
		if strings.EqualFold(key, "schemas") {
			if err := claim("schemas", namedAs{key: key}); err != nil {
				return body{}, err
			}
			continue
		}
		if ext, ok := rt.Extension(key); ok {
			if v != nil {
				if err := object(key, ext.ID, v); err != nil {
					return body{}, err
				}
			}
			continue
		}
		if strings.EqualFold(key, rt.Schema.ID) {
			// The core attributes under their schema's URN, as extension
			// attributes are under theirs.
			if v != nil {
				if err := object(key, rt.Schema.ID, v); err != nil {
					return body{}, err
				}
			}
			continue
		}
		if _, _, known := rt.SplitURN(key); !known && isURNKey(key) {
			continue // an extension we don't support: ignore, as clients expect
		}
		// A name may carry its schema's URN ("urn:…:core:2.0:User:password").
		a, ok := rt.Lookup(key)
		if !ok && v == nil {
			continue // null is no value: nothing to refuse
		}
		if !ok || a.Sub != nil {
			return body{}, Errorf(InvalidValue, "unknown attribute %q: %s resources have no such attribute", key, rt.Name)
		}
		if err := claim(a.FullName(), namedAs{key: key}); err != nil {
			return body{}, err
		}
		if v == nil {
			continue
		}
		if err := b.put(b.container(a), a, v); err != nil {
			return body{}, err
		}
	}
	for urn, v := range b.attrs {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			if _, isExt := rt.Extension(urn); isExt {
				delete(b.attrs, urn)
			}
		}
	}
	for _, a := range rt.Schema.Attributes {
		if a.Required() && schemas.MutabilityOf(a) != schemas.ReadOnly {
			if _, ok := b.attrs[a.Name()]; !ok {
				return body{}, Errorf(InvalidValue, "attribute %q is required", a.Name())
			}
		}
	}
	return b, nil
}

// namedAs is how a body named an attribute: its key, and the key of the
// schema's object it is in, if any. It is spelt out only in the error of a
// second name for the attribute.
type namedAs struct{ key, object string }

func (n namedAs) String() string {
	if n.object != "" {
		return fmt.Sprintf("%q in the %q object", n.key, n.object)
	}
	return strconv.Quote(n.key)
}

// container returns the map a's top-level attribute goes in: the body's
// attributes, or its extension's object in them.
func (b *body) container(a schemas.Attribute) map[string]any {
	if a.Core {
		return b.attrs
	}
	return subAttrs(b.attrs, a.URN, true)
}

// put coerces v for a and stores it in into, unless a is read-only or the value
// is empty. The password is kept apart.
func (b *body) put(into map[string]any, a schemas.Attribute, v any) error {
	switch schemas.MutabilityOf(a.Attr) {
	case schemas.ReadOnly:
		return nil
	case schemas.WriteOnly:
		if a.Attr.Name() == "password" && a.Core {
			s, ok := v.(string)
			if !ok {
				return Errorf(InvalidValue, "attribute \"password\": expected a string")
			}
			if err := checkNUL("password", s); err != nil {
				return err
			}
			pw := Secret(s)
			b.password = &pw
			return nil
		}
	}
	if _, list := v.([]any); a.Attr.MultiValued() && !list && v != nil {
		// A PATCH may add one value alone; a resource's attribute is its
		// list of values.
		return Errorf(InvalidValue, "attribute %q must be an array of values (RFC 7643 §2.4), got %s", a.FullName(), describe(v, schemas.MutabilityOf(a.Attr) == schemas.WriteOnly))
	}
	cv, err := coerceValue(a, v, dropReadOnly)
	if err != nil {
		return err
	}
	if empty(cv) {
		return nil
	}
	if err := checkPrimary(a, cv); err != nil {
		return err
	}
	into[a.Attr.Name()] = cv
	return nil
}

// checkSchemas requires the core schema URN in "schemas" (RFC 7643 §3).
func checkSchemas(rt schemas.ResourceType, raw map[string]any) error {
	for k, v := range raw {
		if !strings.EqualFold(k, "schemas") {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return Errorf(InvalidSyntax, "attribute \"schemas\": expected an array of schema URNs")
		}
		for _, u := range list {
			if s, ok := u.(string); ok && strings.EqualFold(s, rt.Schema.ID) {
				return nil
			}
		}
	}
	return Errorf(InvalidSyntax, "attribute \"schemas\" must include %q", rt.Schema.ID)
}

// checkPrimary enforces RFC 7643 §2.4: "primary" true at most once.
func checkPrimary(a schemas.Attribute, v any) error {
	list, ok := v.([]any)
	if !ok || !a.Attr.MultiValued() {
		return nil
	}
	n := 0
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && m["primary"] == true {
			n++
		}
	}
	if n > 1 {
		return Errorf(InvalidValue, "attribute %q: at most one value may be primary, got %d", a.FullName(), n)
	}
	return nil
}

// stringAttr returns a top-level string attribute of attrs.
func stringAttr(attrs map[string]any, name string) string {
	s, _ := attrs[name].(string)
	return s
}

// dropEchoedID removes the resource's own "id" and any "schemas" from the
// values of no-path add/replace operations: Okta renames a group with
// {"op":"replace","value":{"id":"<the group's id>","displayName":"…"}}. A
// different id is an attempt to change a read-only attribute.
func dropEchoedID(ops []PatchOp, id string) ([]PatchOp, error) {
	out := make([]PatchOp, len(ops))
	for i, op := range ops {
		out[i] = op
		m, ok := op.Value.(map[string]any)
		if op.Path != "" || !ok {
			continue
		}
		var trimmed map[string]any
		for k, v := range m {
			switch {
			case strings.EqualFold(k, "schemas"):
			case strings.EqualFold(k, "id"):
				if v != id {
					return nil, Errorf(Mutability, "attribute \"id\" is read-only: it cannot be changed")
				}
			default:
				continue
			}
			if trimmed == nil {
				trimmed = make(map[string]any, len(m))
				for k2, v2 := range m {
					trimmed[k2] = v2
				}
			}
			delete(trimmed, k)
		}
		if trimmed != nil {
			out[i].Value = trimmed
		}
	}
	return out, nil
}
