package resources

import (
	"bytes"
	"encoding/json"
	"errors"
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
// r.Attributes are shared, not copied: treat the result as read-only. A
// resource read for display must have its attributes decoded first
// ([Resource.DecodeAttributes]).
func Document(rt schemas.ResourceType, r Resource, baseURL string) map[string]any {
	doc := make(map[string]any, len(r.Attributes)+5)
	for k, v := range r.Attributes {
		doc[k] = v
	}
	urns := []string{rt.Schema.ID}
	for _, e := range rt.Extensions {
		if usesExtension(rt, r, nil, e.ID) {
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
	if list := r.refs(rt); len(list) > 0 {
		doc[rt.Refs.Attr] = refs(list, baseURL+rt.Refs.Endpoint+"/", rt.Refs.Type)
	}
	return doc
}

// usesExtension reports whether r has attributes of the extension urn that
// responses show, asking r.Attributes or, when a read left them out, raw.
func usesExtension(rt schemas.ResourceType, r Resource, raw []byte, urn string) bool {
	if hidden(rt, urn) {
		return false
	}
	if r.Attributes != nil {
		_, ok := r.Attributes[urn]
		return ok
	}
	return hasMember(raw, urn)
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

// AppendDocument appends the JSON encoding of [Document](rt, r, baseURL) to
// dst. It copies r.Raw, the attributes as stored, instead of encoding them
// again, and writes the rest (schemas, id, meta, groups or members) directly:
// a read answers without a JSON round trip through maps. r.Attributes may be
// nil when r.Raw is set.
func AppendDocument(dst []byte, rt schemas.ResourceType, r Resource, baseURL string) ([]byte, error) {
	raw := r.Raw
	if raw == nil {
		var err error
		if raw, err = json.Marshal(r.Attributes); err != nil {
			return nil, err
		}
	}
	if len(raw) < 2 || raw[0] != '{' {
		return nil, errBadDocument
	}
	dst = append(dst, `{"schemas":[`...)
	dst = appendJSONString(dst, rt.Schema.ID)
	for _, e := range rt.Extensions {
		if usesExtension(rt, r, raw, e.ID) {
			dst = appendJSONString(append(dst, ','), e.ID)
		}
	}
	dst = appendJSONString(append(dst, `],"id":`...), r.ID)
	dst = appendJSONString(append(dst, `,"meta":{"resourceType":`...), rt.Name)
	dst = append(dst, `,"created":"`...)
	dst = r.Created.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","lastModified":"`...)
	dst = r.Modified.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = appendLocation(append(dst, `","location":`...), rt, baseURL, r.ID)
	dst = append(dst, `,"version":"W/\"`...)
	dst = strconv.AppendInt(dst, r.Version, 10)
	dst = append(dst, `\""}`...)
	if refs := r.refs(rt); len(refs) > 0 { // most users are in no group: no prefix to build
		dst = appendRefs(dst, rt.Refs.Attr, refs, baseURL+rt.Refs.Endpoint+"/", rt.Refs.Type)
	}
	if inner := raw[1 : len(raw)-1]; skipSpace(inner, 0) < len(inner) {
		dst = append(dst, ',')
		dst = append(dst, inner...)
	}
	return append(dst, '}'), nil
}

// refs returns the reference list of r that rt.Refs describes.
func (r Resource) refs(rt schemas.ResourceType) []Ref {
	if rt.HasMembers {
		return r.Members
	}
	return r.Groups
}

// appendRefs appends ,"name":[...] for refs, nothing when there are none.
func appendRefs(dst []byte, name string, refs []Ref, prefix, typ string) []byte {
	if len(refs) == 0 {
		return dst
	}
	dst = append(append(append(dst, `,"`...), name...), `":[`...)
	for i, r := range refs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendRef(dst, r, prefix, typ, allRefAttrs)
	}
	return append(dst, ']')
}

// RefAttrs says which sub-attributes of a member (or group) reference a
// response shows.
type RefAttrs struct{ Value, Ref, Type, Display bool }

var allRefAttrs = RefAttrs{true, true, true, true}

// AppendMember appends the JSON object of one member of a group, with the
// sub-attributes a, as [AppendDocument] writes them: for a response that
// streams a group's members instead of holding them all.
func AppendMember(dst []byte, m Ref, baseURL string, a RefAttrs) []byte {
	return appendRef(dst, m, baseURL+"/Users/", "User", a)
}

func appendRef(dst []byte, r Ref, prefix, typ string, a RefAttrs) []byte {
	dst = append(dst, '{')
	sep := func() {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
	}
	if a.Value {
		dst = appendJSONString(append(dst, `"value":`...), r.ID)
	}
	if a.Ref {
		sep()
		dst = appendJSONString(append(dst, `"$ref":`...), prefix+r.ID)
	}
	if a.Type {
		sep()
		dst = appendJSONString(append(dst, `"type":`...), typ)
	}
	if a.Display && r.Display != "" {
		sep()
		dst = appendJSONString(append(dst, `"display":`...), r.Display)
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string. Plain ASCII, by far the most
// common, is copied; anything else is left to encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	if !jsonPlain(s) {
		b, _ := json.Marshal(s) // a string always encodes
		return append(dst, b...)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// jsonPlain reports whether encoding/json writes s as it is, between quotes.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendLocation appends the JSON string of [Location](rt, baseURL, id)
// without building it first, when its parts need no escaping.
func appendLocation(dst []byte, rt schemas.ResourceType, baseURL, id string) []byte {
	if !jsonPlain(baseURL) || !jsonPlain(rt.Endpoint) || !jsonPlain(id) {
		return appendJSONString(dst, Location(rt, baseURL, id))
	}
	dst = append(append(append(append(append(dst, '"'), baseURL...), rt.Endpoint...), '/'), id...)
	return append(dst, '"')
}

var errBadDocument = errors.New("stored document is not a JSON object")

// hasMember reports whether the JSON object doc has a member named name at its
// top level. It assumes doc is valid JSON, as a stored document is, and reads
// it without allocating: answering a read needs to know which extension
// schemas a document uses, not its decoded attributes.
func hasMember(doc []byte, name string) bool {
	// A name that is nowhere in doc, where no escape could spell it
	// otherwise, is not a member's: two quick scans instead of parsing the
	// members (a read looks for each extension of its resource type).
	if name != "" && !containsString(doc, name) && bytes.IndexByte(doc, '\\') < 0 {
		return false
	}
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) || doc[i] != '"' {
			return false // '}' or malformed
		}
		end := skipString(doc, i)
		if keyEquals(doc[i:end], name) {
			return true
		}
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return false
		}
		i = skipValue(doc, i+1)
		i = skipSpace(doc, i)
		if i >= len(doc) || doc[i] != ',' {
			return false
		}
		i++
	}
}

// containsString reports whether s is within b, without converting either.
func containsString(b []byte, s string) bool {
	for i := 0; len(b)-i >= len(s); i++ {
		j := bytes.IndexByte(b[i:len(b)-len(s)+1], s[0])
		if j < 0 {
			return false
		}
		if i += j; string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at or after b[i].
func skipValue(b []byte, i int) int {
	i = skipSpace(b, i)
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the end of the enclosing object: a scalar ended
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// keyEquals reports whether the JSON string quoted (quotes included) is name.
func keyEquals(quoted []byte, name string) bool {
	if len(quoted) == len(name)+2 && string(quoted[1:len(quoted)-1]) == name {
		return true
	}
	if bytes.IndexByte(quoted, '\\') < 0 {
		return false
	}
	var s string // an escaped key: rare, so decode it properly
	return json.Unmarshal(quoted, &s) == nil && s == name
}
