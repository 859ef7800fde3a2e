package scim

import (
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// projection is the attributes / excludedAttributes of a request (RFC 7644
// §3.4.2.5, §3.9).
type projection struct {
	attributes []string
	excluded   []string
	// specified are the custom attributes a write's body set or changed,
	// "urn:…:name" in lower case, or a whole extension's URN: a response to
	// it shows them even when returned "request" (RFC 7643 §7).
	specified map[string]bool
}

func (p projection) empty() bool { return len(p.attributes) == 0 && len(p.excluded) == 0 }

func parseProjection(attributes, excluded string) projection {
	return projection{attributes: splitList(attributes), excluded: splitList(excluded)}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// excludes reports whether the projection certainly leaves out the top-level
// attribute name, so that it need not be loaded (e.g. a group's members).
func (p projection) excludes(rt schemas.ResourceType, name string) bool {
	if len(p.attributes) > 0 {
		for _, a := range p.attributes {
			if at, ok := rt.Lookup(a); ok && at.Attr.Name() == name {
				return false
			}
		}
		return true
	}
	for _, a := range p.excluded {
		if at, ok := rt.Lookup(a); ok && at.Attr.Name() == name && at.Sub == nil {
			return true
		}
	}
	return false
}

// asks reports whether the projection's attributes name the top-level
// attribute name, or one of its sub-attributes.
func (p projection) asks(rt schemas.ResourceType, name string) bool {
	return len(p.attributes) > 0 && !p.excludes(rt, name)
}

// apply returns doc projected. Attributes returned "always" stay (RFC 7643
// §7, RFC 7644 §3.4.2.5: excludedAttributes has no effect on them): id,
// schemas, and the custom ones so defined; "never" ones are never in doc to
// begin with.
func (p projection) apply(rt schemas.ResourceType, doc map[string]any) map[string]any {
	if len(p.attributes) == 0 && len(p.excluded) == 0 {
		return doc
	}
	var out map[string]any
	if len(p.attributes) > 0 {
		out = map[string]any{"schemas": doc["schemas"], "id": doc["id"]}
		for _, path := range p.attributes {
			copyPath(rt, doc, out, path)
		}
	} else {
		out = make(map[string]any, len(doc))
		for k, v := range doc {
			out[k] = v
		}
		for _, path := range p.excluded {
			removePath(rt, out, path)
		}
	}
	for _, a := range rt.Custom.Always {
		copyPath(rt, doc, out, a.FullName())
	}
	out = withoutEmpty(rt, out)
	presentSchemas(rt, out)
	return out
}

// presentSchemas narrows doc's "schemas" to the URNs of what doc holds: the
// resource's own schema, and each extension whose attributes are present.
// RFC 7643 §3: "schemas" lists "the namespaces of the SCIM schemas that
// define the attributes present in the current JSON structure".
func presentSchemas(rt schemas.ResourceType, doc map[string]any) {
	urns, ok := doc["schemas"].([]string)
	if !ok {
		return
	}
	kept := make([]string, 0, len(urns))
	for _, u := range urns {
		if _, isExt := rt.Extension(u); isExt {
			if _, present := doc[u]; !present {
				continue
			}
		}
		kept = append(kept, u)
	}
	doc["schemas"] = kept
}

// withoutEmpty drops what projecting sub-attributes left empty: a complex
// value without a sub-attribute ("name":{}), a multi-valued one without
// values, an extension without attributes. RFC 7643 §2.5: an attribute
// without a value is unassigned, and is not returned.
func withoutEmpty(rt schemas.ResourceType, doc map[string]any) map[string]any {
	for k, v := range doc {
		if _, isExt := rt.Extension(k); isExt {
			if m, ok := v.(map[string]any); ok {
				kept := make(map[string]any, len(m)) // m may be the document's own
				for ek, ev := range m {
					if !isEmptyValue(ev) {
						kept[ek] = ev
					}
				}
				doc[k], v = kept, kept
			}
		}
		if k != "schemas" && k != "id" && isEmptyValue(v) {
			delete(doc, k)
		}
	}
	return doc
}

// isEmptyValue reports whether v is an empty object, or a list of nothing
// but empty objects.
func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		for _, e := range x {
			if !isEmptyValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

// target resolves a projection path to the container key in doc (the
// attribute, or the extension URN) and the attribute and sub-attribute names.
func target(rt schemas.ResourceType, path string) (ext, attr, sub string, ok bool) {
	if e, found := rt.Extension(path); found {
		return e.ID, "", "", true
	}
	a, found := rt.Lookup(path)
	if !found {
		return "", "", "", false
	}
	if !a.Core {
		ext = a.URN
	}
	if a.Sub != nil {
		sub = a.Sub.Name()
	}
	return ext, a.Attr.Name(), sub, true
}

func copyPath(rt schemas.ResourceType, doc, out map[string]any, path string) {
	ext, attr, sub, ok := target(rt, path)
	if !ok {
		return
	}
	src, dst := doc, out
	if ext != "" {
		m, _ := doc[ext].(map[string]any)
		if m == nil {
			return
		}
		if attr == "" {
			out[ext] = m
			return
		}
		d, _ := out[ext].(map[string]any)
		if d == nil {
			d = map[string]any{}
			out[ext] = d
		}
		src, dst = m, d
	}
	v, present := src[attr]
	if !present {
		return
	}
	if sub == "" {
		dst[attr] = v
		return
	}
	switch x := v.(type) {
	case map[string]any:
		d, _ := dst[attr].(map[string]any)
		if d == nil {
			d = map[string]any{}
			dst[attr] = d
		}
		if sv, ok := x[sub]; ok {
			d[sub] = sv
		}
	case []any:
		prev, _ := dst[attr].([]any)
		list := make([]any, len(x))
		for i, e := range x {
			m := map[string]any{}
			if i < len(prev) {
				m, _ = prev[i].(map[string]any)
			}
			if em, ok := e.(map[string]any); ok {
				if sv, ok := em[sub]; ok {
					m[sub] = sv
				}
			}
			list[i] = m
		}
		dst[attr] = list
	}
}

func removePath(rt schemas.ResourceType, out map[string]any, path string) {
	ext, attr, sub, ok := target(rt, path)
	if !ok || (ext == "" && (attr == "id" || attr == "schemas")) {
		return
	}
	container := out
	if ext != "" {
		if attr == "" {
			delete(out, ext)
			return
		}
		m, _ := out[ext].(map[string]any)
		if m == nil {
			return
		}
		container = copyMap(m)
		out[ext] = container
	}
	if sub == "" {
		delete(container, attr)
		return
	}
	switch x := container[attr].(type) {
	case map[string]any:
		m := copyMap(x)
		delete(m, sub)
		container[attr] = m
	case []any:
		list := make([]any, len(x))
		for i, e := range x {
			if em, ok := e.(map[string]any); ok {
				em = copyMap(em)
				delete(em, sub)
				list[i] = em
			} else {
				list[i] = e
			}
		}
		container[attr] = list
	}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// memberAttrs returns the sub-attributes of a group's members that p
// shows; none when it leaves members out.
func memberAttrs(rt schemas.ResourceType, p projection) resources.RefAttrs {
	all := resources.RefAttrs{Value: true, Ref: true, Type: true, Display: true}
	set := func(a *resources.RefAttrs, sub string, v bool) {
		switch strings.ToLower(sub) {
		case "value":
			a.Value = v
		case "$ref":
			a.Ref = v
		case "type":
			a.Type = v
		case "display":
			a.Display = v
		}
	}
	if p.excludes(rt, "members") {
		return resources.RefAttrs{}
	}
	if len(p.attributes) > 0 {
		var a resources.RefAttrs
		for _, path := range p.attributes {
			if at, ok := rt.Lookup(path); ok && at.Attr.Name() == "members" {
				if at.Sub == nil {
					return all
				}
				set(&a, at.Sub.Name(), true)
			}
		}
		return a
	}
	a := all
	for _, path := range p.excluded {
		if at, ok := rt.Lookup(path); ok && at.Attr.Name() == "members" && at.Sub != nil {
			set(&a, at.Sub.Name(), false)
		}
	}
	return a
}
