package scim

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// Custom attributes in the SCIM API: an organization's Users endpoint is
// its User resource type, custom attributes included (forOrg), and
// responses withhold what their definitions say a response does not show.

// requestOrg is the organization a request is about: its token's, or for
// /t/{org}/scim/v2/Me, its path's.
func requestOrg(r *http.Request) string {
	if org := principal(r.Context()).Org; org != "" {
		return org
	}
	return r.PathValue("org")
}

// forOrg returns e with the resource type of the request's organization.
func (e endpoint) forOrg(r *http.Request) (endpoint, error) {
	if e.typeFor == nil {
		return e, nil
	}
	rt, err := e.typeFor(r.Context(), requestOrg(r))
	if err != nil {
		return endpoint{}, err
	}
	e.rt = rt
	return e, nil
}

// withholds reports whether responses of e's resource type may need
// attributes taken out of stored documents.
func (e endpoint) withholds() bool {
	return len(e.rt.Custom.Withheld) > 0 || len(e.rt.Custom.Purging) > 0
}

// withhold takes out of doc (a [resources.Document], whose maps it does
// not modify) the custom attributes a response does not show: those
// returned "never" or writeOnly, those returned "request" unless p names
// them (RFC 7643 §7), and the values of removed ones not yet purged.
func withhold(rt schemas.ResourceType, doc map[string]any, p projection) map[string]any {
	out := copyMap(doc)
	for _, a := range rt.Custom.Withheld {
		leaf := a.Leaf()
		if schemas.ReturnedOf(leaf) == schemas.ReturnedRequest && schemas.MutabilityOf(leaf) != schemas.WriteOnly && p.names(rt, a) {
			continue
		}
		removePath(rt, out, a.FullName())
	}
	for _, name := range rt.Custom.Purging {
		for k, v := range out {
			if !strings.HasPrefix(strings.ToLower(k), "urn:") {
				continue
			}
			if strings.EqualFold(k, name) {
				delete(out, k)
				continue
			}
			attr, ok := strings.CutPrefix(strings.ToLower(name), strings.ToLower(k)+":")
			m, isMap := v.(map[string]any)
			if !ok || !isMap {
				continue
			}
			m = copyMap(m)
			for mk := range m {
				if strings.EqualFold(mk, attr) {
					delete(m, mk)
				}
			}
			out[k] = m
		}
	}
	// An extension left without attributes is not shown, nor its URN.
	for k, v := range out {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			if _, isExt := rt.Extension(k); isExt {
				delete(out, k)
			}
		}
	}
	presentSchemas(rt, out)
	return out
}

// names reports whether p's attributes name a, its attribute (for a
// sub-attribute) or its schema.
func (p projection) names(rt schemas.ResourceType, a schemas.Attribute) bool {
	if p.specified[strings.ToLower(a.URN)] || p.specified[strings.ToLower(a.URN+":"+a.Attr.Name())] {
		return true
	}
	for _, path := range p.attributes {
		if strings.EqualFold(path, a.URN) {
			return true
		}
		at, ok := rt.Lookup(path)
		if !ok || at.URN != a.URN || at.Attr.Name() != a.Attr.Name() {
			continue
		}
		if at.Sub == nil || a.Sub != nil && at.Sub.Name() == a.Sub.Name() {
			return true
		}
	}
	return false
}

// customDocs are the discovery documents of the organization's custom
// schemas (RFC 7643 §7), with scimd's "indexed" where set, so that an
// owner may paste one back as a definition.
func customDocs(rt schemas.ResourceType) []map[string]any {
	out := make([]map[string]any, 0, len(rt.Custom.Definitions))
	for _, d := range rt.Custom.Definitions {
		out = append(out, d.Document(true))
	}
	return out
}

// specifiedBy returns the custom attributes a write's body (a resource for
// POST and PUT, operations for PATCH) names, as [projection].specified
// holds them: those it gives a value or an operation's path names.
func specifiedBy(rt schemas.ResourceType, body any) map[string]bool {
	if len(rt.Custom.Definitions) == 0 {
		return nil
	}
	out := map[string]bool{}
	object := func(m map[string]any) {
		for k, v := range m {
			if _, ok := rt.Extension(k); ok {
				sub, _ := v.(map[string]any)
				for name := range sub {
					out[strings.ToLower(k+":"+name)] = true
				}
			} else if a, ok := rt.Lookup(k); ok && !a.Core {
				out[strings.ToLower(a.URN+":"+a.Attr.Name())] = true
			}
		}
	}
	switch b := body.(type) {
	case map[string]any:
		object(b)
	case []resources.PatchOp:
		for _, op := range b {
			path, _, _ := strings.Cut(op.Path, "[")
			if path == "" {
				if m, ok := op.Value.(map[string]any); ok {
					object(m)
				}
			} else if _, ok := rt.Extension(path); ok {
				out[strings.ToLower(path)] = true
			} else if a, ok := rt.Lookup(path); ok && !a.Core {
				out[strings.ToLower(a.URN+":"+a.Attr.Name())] = true
			}
		}
	}
	return out
}
