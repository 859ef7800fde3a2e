package resources

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// CoerceValue checks v against the attribute a points at and returns it in
// canonical form: the sub-attribute when a.Sub is set, else the whole
// attribute, whose value is a []any of its values when it is multi-valued (a
// single value is wrapped). Errors are [InvalidValue] details naming
// a.FullName(), or [Mutability] for a readOnly sub-attribute.
//
// Booleans may be JSON booleans or the strings "true" and "false" in any case
// (Entra ID sends "True"). Complex values are objects whose member names are
// made canonical; an unknown sub-attribute is an error, null members are
// dropped, and a bare value for a complex attribute with a "value"
// sub-attribute stands for {"value": v} (Entra ID sends the manager's id
// alone). A readOnly sub-attribute with a value is refused, as a PATCH path
// naming it is: the client would lose what it sent without a word.
// dateTimes must be RFC 3339; numbers are float64. The value of a
// server-unique attribute (userName, a group's displayName) is trimmed of
// surrounding spaces. null coerces to nil, meaning unassigned.
func CoerceValue(a schemas.Attribute, v any) (any, error) {
	return coerceValue(a, v, refuseReadOnly)
}

// readOnlyRule says what coercion does with a readOnly sub-attribute given a
// value inside a complex value (manager.displayName of the enterprise
// extension).
type readOnlyRule int

const (
	// refuseReadOnly refuses it ([Mutability]): PATCH, whose operations
	// name what they change. No identity provider is known to send one
	// (testdata/replay/entra-id.json: Entra ID sends the manager as a bare
	// id or {"value": id}), scimd never stores or shows one, so no client
	// echoes one back.
	refuseReadOnly readOnlyRule = iota
	// dropReadOnly ignores it: POST and PUT, whose bodies are whole
	// resources (RFC 7644 §3.3, §3.5.1: readOnly values SHALL be ignored).
	dropReadOnly
)

// coerceValue is [CoerceValue] with the readOnly rule ro.
func coerceValue(a schemas.Attribute, v any, ro readOnlyRule) (any, error) {
	if a.Sub != nil {
		return coerceAttr(*a.Sub, valueName{last: a.FullName()}, v, ro)
	}
	return coerceAttr(a.Attr, valueName{last: a.FullName()}, v, ro)
}

// valueName names the value being coerced in errors: the name of the
// complex attribute it is in, if any, a dot and its own. Joined only for an
// error, instead of for every sub-attribute of every value.
type valueName struct{ parent, last string }

func (n valueName) String() string {
	if n.parent == "" {
		return n.last
	}
	return n.parent + "." + n.last
}

// coerceAttr coerces the value of attr, named name in errors: an array of
// values when attr is multi-valued.
func coerceAttr(attr schema.CoreAttribute, name valueName, v any, ro readOnlyRule) (any, error) {
	if !attr.MultiValued() || v == nil {
		return coerceOne(attr, name, v, ro)
	}
	in := elements(v)
	out := make([]any, 0, len(in))
	for _, e := range in {
		if e == nil {
			continue
		}
		if _, nested := e.([]any); nested {
			return nil, Errorf(InvalidValue, "attribute %q: expected an array of values, got an array of arrays", name.String())
		}
		cv, err := coerceOne(attr, name, e, ro)
		if err != nil {
			return nil, err
		}
		out = append(out, cv)
	}
	return out, nil
}

// coerceOne coerces a single value of attr (one element if it is
// multi-valued), named name in errors.
func coerceOne(attr schema.CoreAttribute, name valueName, v any, ro readOnlyRule) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func(want string) error {
		return Errorf(InvalidValue, "attribute %q: expected %s, got %s", name.String(), want, describe(v, schemas.IsSecret(attr)))
	}
	switch typ := schemas.TypeOf(attr); typ {
	case schemas.TypeComplex:
		m, ok := v.(map[string]any)
		if !ok {
			sub, hasValue := schemas.Find(attr.SubAttributes(), "value")
			switch v.(type) {
			case []any, map[string]any:
			default:
				if hasValue {
					cv, err := coerceOne(sub, valueName{parent: name.String(), last: "value"}, v, ro)
					if err != nil {
						return nil, err
					}
					return map[string]any{"value": cv}, nil
				}
			}
			return nil, bad("an object")
		}
		out := make(map[string]any, len(m))
		// seen pairs each sub-attribute given with the key that named it,
		// in an array of the stack: a value has a few members, and a
		// member that names no sub-attribute or one named already ends it.
		var seenBuf [8]struct{ sub, key string }
		seen := seenBuf[:0]
		var keys [8]string
		for _, k := range appendSortedKeys(keys[:0], m) {
			sub, ok := schemas.Find(attr.SubAttributes(), k)
			if !ok {
				return nil, Errorf(InvalidValue, "attribute %q: unknown sub-attribute %q", name.String(), k)
			}
			for _, s := range seen {
				if s.sub == sub.Name() {
					return nil, Errorf(InvalidValue, "attribute %q: sub-attribute %q given twice, as %q and %q", name.String(), sub.Name(), s.key, k)
				}
			}
			seen = append(seen, struct{ sub, key string }{sub.Name(), k})
			subName := valueName{parent: name.String(), last: sub.Name()}
			if schemas.MutabilityOf(sub) == schemas.ReadOnly {
				if ro == refuseReadOnly && m[k] != nil {
					return nil, Errorf(Mutability, "attribute %q is read-only: leave it out of the value", subName.String())
				}
				continue
			}
			cv, err := coerceAttr(sub, subName, m[k], ro)
			if err != nil {
				return nil, err
			}
			if cv != nil {
				out[sub.Name()] = cv
			}
		}
		return out, nil
	case schemas.TypeBoolean:
		b, ok := ParseBool(v)
		if !ok {
			return nil, bad("a boolean")
		}
		return b, nil
	case schemas.TypeInteger, schemas.TypeDecimal:
		f, ok := toFloat(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad("a number")
		}
		if typ == schemas.TypeInteger && f != math.Trunc(f) {
			return nil, bad("an integer")
		}
		// JSON numbers are exact integers below 2^53 (RFC 7493 §2.2):
		// from there, a value may be stored as another (2^53 + 1 reads as
		// 2^53), and two distinct unique values collide.
		if typ == schemas.TypeInteger && math.Abs(f) >= 1<<53 {
			return nil, bad("an integer from -(2^53-1) to 2^53-1 (9007199254740991); keep larger numbers in a string attribute")
		}
		if _, isFloat := v.(float64); isFloat {
			return v, nil // as decoded: no need to box f again
		}
		return f, nil
	case schemas.TypeDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, bad("an RFC 3339 date and time")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, bad("an RFC 3339 date and time")
		}
		return v, nil
	}
	// string, reference, binary
	s, ok := v.(string)
	if !ok {
		return nil, bad("a string")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, checkNUL(name.String(), s)
	}
	if schemas.UniquenessOf(attr) == schemas.UniquenessServer {
		// userName, a group's displayName: surrounding spaces are no part
		// of a name, on any write, so that uniqueness, immutability and
		// filters all see the same name.
		if trimmed := strings.TrimSpace(s); trimmed != s {
			return trimmed, nil
		}
	}
	// v holds s already: returning it spares boxing s again.
	return v, nil
}

// checkNUL refuses a string value holding NUL, the attribute named name's:
// the stores' indexes cannot hold it (NUL separates value and id there), so
// such a value would be found by one filter and not by another.
func checkNUL(name, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return Errorf(InvalidValue, "attribute %q must not contain the NUL character (\\u0000)", name)
	}
	return nil
}

// describe names a value for an error message; secret values are described
// by their type only.
func describe(v any, secret bool) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		if secret {
			return "a string"
		}
		return quoteShort(x)
	case bool:
		if secret {
			return "a boolean"
		}
		return strconv.FormatBool(x)
	case float64:
		if secret {
			return "a number"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	if secret {
		return "a value"
	}
	return quoteShort(fmt.Sprint(v))
}
