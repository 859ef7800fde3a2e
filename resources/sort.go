package resources

import (
	"fmt"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Sort is a parsed sortBy/sortOrder (RFC 7644 §3.4.2.3).
type Sort struct {
	// Attr is the attribute sorted by. For a complex multi-valued attribute
	// named without a sub-attribute ("emails"), Sub is its "value".
	Attr       schemas.Attribute
	Descending bool
}

// ParseSort parses sortBy and sortOrder. An empty sortBy means no sorting; an
// empty sortOrder is ascending.
func ParseSort(rt schemas.ResourceType, sortBy, sortOrder string) (*Sort, error) {
	sortBy = strings.TrimSpace(sortBy)
	desc := false
	switch strings.ToLower(strings.TrimSpace(sortOrder)) {
	case "", "ascending":
	case "descending":
		desc = true
	default:
		return nil, Errorf(InvalidValue, "sortOrder must be \"ascending\" or \"descending\", got %q", sortOrder)
	}
	if sortBy == "" {
		return nil, nil
	}
	a, ok := rt.Lookup(sortBy)
	if !ok {
		return nil, Errorf(InvalidValue, "sortBy: %s resources have no attribute %q", rt.Name, sortBy)
	}
	if a.Sub == nil && schemas.IsComplex(a.Attr) {
		sub, ok := schemas.Find(a.Attr.SubAttributes(), "value")
		if !ok {
			return nil, Errorf(InvalidValue, "sortBy: %q is complex; name one of its sub-attributes, such as %s.%s", a.FullName(), a.Attr.Name(), a.Attr.SubAttributes()[0].Name())
		}
		a.Sub = &sub
	}
	if schemas.IsSecret(a.Attr) || schemas.IsSecret(a.Leaf()) {
		return nil, Errorf(InvalidValue, "sortBy: %q is never returned and cannot be sorted by", a.FullName())
	}
	return &Sort{Attr: a, Descending: desc}, nil
}

// SortKey returns the value doc (a [Document]) sorts by, and whether it has
// one. A multi-valued attribute sorts by its primary value, or its first
// (RFC 7644 §3.4.2.3); strings of attributes that are not caseExact sort
// ignoring case; dateTimes sort as instants.
func (s Sort) SortKey(doc map[string]any) (any, bool) {
	container := doc
	if !s.Attr.Core {
		container, _ = doc[s.Attr.URN].(map[string]any)
	}
	v, ok := container[s.Attr.Attr.Name()]
	if !ok || v == nil {
		return nil, false
	}
	if list, isList := v.([]any); isList {
		if len(list) == 0 {
			return nil, false
		}
		v = list[0]
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && m["primary"] == true {
				v = e
				break
			}
		}
	}
	if s.Attr.Sub != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[s.Attr.Sub.Name()]; !ok || v == nil {
			return nil, false
		}
	}
	leaf := s.Attr.Leaf()
	switch x := v.(type) {
	case string:
		if schemas.TypeOf(leaf) == schemas.TypeDateTime {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return t, true
			}
		}
		if !leaf.CaseExact() {
			return strings.ToLower(x), true
		}
		return x, true
	case float64, bool:
		return x, true
	}
	return nil, false
}

// Compare orders two resources by their keys from [Sort.SortKey] (key and
// whether it is present), in s's order. A resource without a value sorts
// after every value: last when ascending, first when descending (RFC 7644
// §3.4.2.3). A nil s keeps every pair equal.
func (s *Sort) Compare(a any, aOK bool, b any, bOK bool) int {
	if s == nil {
		return 0
	}
	var c int
	switch {
	case aOK && bOK:
		c = CompareSortKeys(a, b)
	case aOK:
		c = -1
	case bOK:
		c = 1
	}
	if s.Descending {
		c = -c
	}
	return c
}

// CompareSortKeys orders two present keys from [Sort.SortKey] of the same
// attribute, ascending.
func CompareSortKeys(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	}
	// Values of different types (a dateTime that does not parse, say): order
	// by type, so that the order stays total.
	return strings.Compare(fmt.Sprintf("%T", a), fmt.Sprintf("%T", b))
}
