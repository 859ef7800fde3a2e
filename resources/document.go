package resources

import (
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

// ETag returns the entity tag of a resource version (RFC 7644 §3.14). It is
// weak: equal tags mean semantically equal resources.
func ETag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ParseETag returns the version an entity tag names, accepting weak and strong
// forms. ok is false for a tag scimd never issued.
func ParseETag(tag string) (version int64, ok bool) {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
	tag = strings.Trim(tag, `"`)
	v, err := strconv.ParseInt(tag, 10, 64)
	return v, err == nil && v > 0
}

// Location returns the URL of a resource: baseURL (the SCIM base, without a
// trailing slash) followed by the endpoint and id.
func Location(rt schemas.ResourceType, baseURL, id string) string {
	return baseURL + rt.Endpoint + "/" + id
}

// Document returns the full SCIM representation of r: every attribute it has,
// before any projection. Write-only attributes are never in it. Maps in
// r.Attributes are shared, not copied: treat the result as read-only.
func Document(rt schemas.ResourceType, r Resource, baseURL string) map[string]any {
	doc := make(map[string]any, len(r.Attributes)+5)
	for k, v := range r.Attributes {
		doc[k] = v
	}
	urns := []string{rt.Schema.ID}
	for _, e := range rt.Extensions {
		if _, ok := r.Attributes[e.ID]; ok && !hidden(rt, e.ID) {
			urns = append(urns, e.ID)
		}
	}
	doc["schemas"] = urns
	doc["id"] = r.ID
	doc["meta"] = map[string]any{
		"resourceType": rt.Name,
		"created":      r.Created.UTC().Format(time.RFC3339Nano),
		"lastModified": r.Modified.UTC().Format(time.RFC3339Nano),
		"location":     Location(rt, baseURL, r.ID),
		"version":      ETag(r.Version),
	}
	switch rt.Name {
	case "User":
		if len(r.Groups) > 0 {
			doc["groups"] = refs(r.Groups, baseURL+"/Groups/", "direct")
		}
	case "Group":
		if len(r.Members) > 0 {
			doc["members"] = refs(r.Members, baseURL+"/Users/", "User")
		}
	}
	return doc
}

func hidden(rt schemas.ResourceType, urn string) bool {
	for _, h := range rt.Hidden {
		if h == urn {
			return true
		}
	}
	return false
}

func refs(rs []Ref, prefix, typ string) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		m := map[string]any{"value": r.ID, "$ref": prefix + r.ID, "type": typ}
		if r.Display != "" {
			m["display"] = r.Display
		}
		out[i] = m
	}
	return out
}
