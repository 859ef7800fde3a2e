package console

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// A customer's values of the organization's custom attributes, shown
// read-only on the customer's page: they are set by the identity provider
// or HR system that owns them (or with PATCH), not typed in the console.
// writeOnly and returned "never" values are never shown.

// customValue is one custom attribute's value as a customer's page shows it.
type customValue struct {
	// Schema is the schema's name (its URN when it has none); Name the
	// attribute's.
	Schema, Name, Value string
}

// customValues returns a customer's values (attrs, the stored document) of
// the custom attributes defs define, in their order.
func customValues(defs []schemas.Definition, attrs map[string]any) []customValue {
	var out []customValue
	for _, d := range defs {
		ext, _ := lookupFold(attrs, d.ID).(map[string]any)
		if ext == nil {
			continue
		}
		for _, a := range d.Attributes {
			if hidden(a) {
				continue
			}
			v := lookupFold(ext, a.Name)
			if v == nil {
				continue
			}
			out = append(out, customValue{Schema: displaySchema(d), Name: a.Name, Value: formatValue(a, v)})
		}
	}
	return out
}

// hidden reports whether a's values are never shown.
func hidden(a schemas.AttributeDef) bool {
	return a.Returned == string(schemas.ReturnedNever) || a.Mutability == string(schemas.WriteOnly)
}

// lookupFold returns m's value of key, ignoring case (attribute names and
// URNs are case-insensitive, RFC 7643 §2.1).
func lookupFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// formatValue is a value of a in words: a list's elements and a complex
// value's sub-attributes separated by commas.
func formatValue(a schemas.AttributeDef, v any) string {
	if list, ok := v.([]any); ok {
		parts := make([]string, 0, len(list))
		for _, e := range list {
			parts = append(parts, formatValue(schemas.AttributeDef{Type: a.Type, SubAttributes: a.SubAttributes}, e))
		}
		return strings.Join(parts, "; ")
	}
	if m, ok := v.(map[string]any); ok {
		var parts []string
		for _, s := range a.SubAttributes {
			if sv := lookupFold(m, s.Name); sv != nil && !hidden(s) {
				parts = append(parts, s.Name+": "+formatValue(s, sv))
			}
		}
		return strings.Join(parts, ", ")
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
