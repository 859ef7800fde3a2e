package resources

import (
	"slices"
)

// deepCopy copies the maps and arrays of a decoded JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []map[string]any, []string:
		return deepCopy(elements(x))
	}
	return v
}

// prune deletes nulls, empty objects and empty arrays from m, depth first:
// RFC 7644 §3.5.2 treats them as unassigned, and a document should not keep
// "name": {} after its last sub-attribute is removed.
func prune(m map[string]any) {
	for k, v := range m {
		if pruneValue(&v) {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

// pruneValue prunes *v in place and reports whether it is now empty.
func pruneValue(v *any) bool {
	switch x := (*v).(type) {
	case nil:
		return true
	case map[string]any:
		prune(x)
		return len(x) == 0
	case []any:
		kept := x[:0]
		for _, e := range x {
			if !pruneValue(&e) {
				kept = append(kept, e)
			}
		}
		clear(x[len(kept):])
		*v = kept
		return len(kept) == 0
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// cloneMap deep-copies a JSON document (see deepCopy).
func cloneMap(m map[string]any) map[string]any {
	out, _ := deepCopy(m).(map[string]any)
	return out
}

// subAttrs returns (creating it if asked) the attribute map under key: an
// extension's attributes, or a complex attribute's sub-attributes.
func subAttrs(attrs map[string]any, key string, create bool) map[string]any {
	m, _ := attrs[key].(map[string]any)
	if m == nil && create {
		m = map[string]any{}
		attrs[key] = m
	}
	return m
}
