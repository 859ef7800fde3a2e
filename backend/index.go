package backend

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// kind is a resource type as the store sees it: its keys, its indexes, and
// what it does differently, stated here rather than as branches on its name.
type kind struct {
	name    string // "user", "group": the key segment
	rt      schemas.ResourceType
	indexes []indexAttr
	paths   map[string]indexPath
	// unique is the attribute whose values (folded) are unique among the
	// resources; taken is the detail, formatted with unique and its value,
	// of a write refused because another resource holds the value.
	unique, taken string
	// uniqueUserName: unique is the users' userName, whose folded values
	// the userName hashes keep unique (usernames.go; its index, until they
	// are ready), and "<unique> eq" is one script round trip
	// (findUserNameSrc). Otherwise the hash uniqueHash does.
	uniqueUserName bool
	// display is what a resource's disp field holds (see the key layout).
	display func(attrs map[string]any) string
	// refKey is the key segment of a resource's references: a user's groups
	// or, when rt.HasMembers, a group's members (which may be millions:
	// loaded only when asked for, within MaxListMembers).
	refKey string
	// groupRefs: the references are a user's groups. Their names and
	// renames are part of the user's version (luaUserGroups), so every read
	// loads them.
	groupRefs bool
	// sparsePending: the organization still has the lexicographic index
	// an earlier version kept of the sparse boolean (ix:user:active), whose
	// exceptions set is being built (Store.Upgrade): queries do not plan
	// onto it meanwhile.
	sparsePending bool
	// createdScored: meta.created is the score in the ordering set
	// (created.go), a user's; createdPending: the organization still has
	// the earlier index of it, being converted (Store.Upgrade), which
	// queries read meanwhile.
	createdScored, createdPending bool
	// counted is the count of these resources in a check's [CheckStats].
	counted func(*CheckStats) *int
	// substring are the indexed attributes with a trigram index too (an
	// organization's substringSearch setting, substring.go), and
	// substringReady the names of those whose index is built.
	substring      []indexAttr
	substringReady []string
}

// userKind and groupKind state the indexed attributes once: the store keeps
// these indexes, the planner reads them, [kind.indexHint] names them in
// errors, and the package documentation lists them (checked by a test).
func userKind() kind {
	return newKind(kind{
		name: "user", rt: schemas.Users(), display: userDisplay,
		unique: "userName", taken: "%s %q is already taken", uniqueUserName: true,
		refKey: "ugroups:", groupRefs: true, createdScored: true, counted: func(st *CheckStats) *int { return &st.Users },
	}, "userName", "externalId", "emails.value", "name.givenName", "name.familyName", "displayName", "active",
		"meta.created", "meta.lastModified")
}

func groupKind() kind {
	return newKind(kind{
		name: "group", rt: schemas.Groups(), display: groupDisplay,
		unique: "displayName", taken: "%s %q is already taken by another group",
		refKey: "members:", counted: func(st *CheckStats) *int { return &st.Groups },
	}, "displayName", "externalId", "meta.created", "meta.lastModified")
}

func newKind(k kind, indexed ...string) kind {
	k.indexes = indexAttrs(k.rt, indexed...)
	k.paths = indexPaths(k.rt, k.indexes)
	return k
}

// uniqueHash is the key, after the organization's prefix, of the hash that
// keeps k.unique unique: value (see uniqueKey) -> id. Unless
// k.uniqueUserName: the users' one is a legacy key (see legacyKeys).
func (k *kind) uniqueHash() string { return "unique:" + k.name + ":" + k.unique }

// uniqueIndex is the key, after the organization's prefix, of k.unique's
// index.
func (k *kind) uniqueIndex() string { return "ix:" + k.name + ":" + k.unique }

// indexAttr is an attribute with a lexicographic filter index: a sorted set
// "ix:<kind>:<name>" of members value NUL id, all scored 0.
type indexAttr struct {
	name      string // canonical full name, e.g. "name.givenName"
	typ       schemas.AttributeType
	caseExact bool
	// meta indexes (meta.created, meta.lastModified) are kept by the scripts.
	meta bool
	// multi is set for attributes of multi-valued parents (emails.value): one
	// resource may hold several entries.
	multi bool
	// urn is the extension schema of a custom attribute's index, whose
	// name is then the full name (extensions.go).
	urn string
	// sparse: a boolean nearly every resource holds true (a user's
	// active), kept not in a lexicographic index but as the set of the
	// exceptions, inactive:<kind> (active.go).
	sparse bool
}

func indexAttrs(rt schemas.ResourceType, names ...string) []indexAttr {
	out := make([]indexAttr, 0, len(names))
	for _, n := range names {
		a, ok := rt.Lookup(n)
		if !ok {
			panic("backend: no attribute " + n) // a programming error, caught by every test
		}
		leaf := a.Leaf()
		out = append(out, indexAttr{
			name:      a.FullName(),
			typ:       schemas.TypeOf(leaf),
			caseExact: leaf.CaseExact(),
			meta:      strings.HasPrefix(n, "meta."),
			multi:     a.Sub != nil && a.Attr.MultiValued(),
			sparse:    n == sparseAttr,
		})
	}
	return out
}

// indexHint names the first indexed attributes of k, for error details.
func (k *kind) indexHint() string {
	var names []string
	for _, ix := range k.indexes {
		if !ix.meta && len(names) < 3 {
			names = append(names, ix.name)
		}
	}
	return strings.Join(names, ", ") + ", ..." + k.substringHint()
}

// indexPaths maps every spelling of the indexed attributes' paths, in lower
// case, to their index: "name.givenname", "urn:...:core:2.0:user:name.givenname".
// A complex attribute whose "value" is indexed maps too, with whole set.
func indexPaths(rt schemas.ResourceType, indexes []indexAttr) map[string]indexPath {
	out := map[string]indexPath{}
	for _, ix := range indexes {
		for _, p := range []string{ix.name, rt.Schema.ID + ":" + ix.name} {
			p = strings.ToLower(p)
			out[p] = indexPath{ix: ix}
			if parent, ok := strings.CutSuffix(p, ".value"); ok {
				if a, ok := rt.Lookup(parent); ok && a.Sub == nil && schemas.IsComplex(a.Attr) {
					out[parent] = indexPath{ix: ix, whole: true}
				}
			}
		}
	}
	return out
}

type indexPath struct {
	ix    indexAttr
	whole bool
}

// indexOf returns the index of the attribute a comparison compares, if it
// has one.
func (k *kind) indexOf(c *resources.Comparison) (ix indexAttr, whole, ok bool) {
	ip, ok := k.paths[strings.ToLower(c.Attr.FullName())]
	return ip.ix, ip.whole, ok
}

// indexEntries returns entryList's entries as JSON, for the write scripts.
func (k *kind) indexEntries(attrs map[string]any) string {
	return entriesJSON(k.entryList(attrs))
}

// entriesJSON returns index entries (a flat list) as JSON.
func entriesJSON(entries []string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(entries) // strings always encode
	return strings.TrimSpace(buf.String())
}

// entryList returns the flat list attr, value, attr, value... of a
// document's entries in the non-meta indexes. Values holding NUL are not
// indexed: NUL separates value and id. A sparse boolean has none (see
// activeState).
func (k *kind) entryList(attrs map[string]any) []string {
	entries := []string{}
	for _, ix := range k.indexes {
		if ix.meta || ix.sparse {
			continue
		}
		seen := map[string]bool{}
		for _, v := range ix.values(attrs) {
			var s string
			switch ix.typ {
			case schemas.TypeBoolean:
				b, ok := resources.ParseBool(v)
				if !ok {
					continue
				}
				s = "false"
				if b {
					s = "true"
				}
			default:
				str, ok := v.(string)
				if !ok {
					continue
				}
				s = str
				if !ix.caseExact {
					s = strings.ToLower(s)
				}
			}
			if strings.IndexByte(s, 0) >= 0 || seen[s] {
				continue
			}
			seen[s] = true
			entries = append(entries, ix.name, s)
		}
	}
	return append(entries, k.trigramEntries(attrs)...)
}

// values returns the values of ix's attribute in a document: one per
// element of a multi-valued attribute or parent.
func (ix indexAttr) values(attrs map[string]any) []any {
	if ix.urn == "" {
		return attrValues(attrs, ix.name)
	}
	ext, _ := attrs[ix.urn].(map[string]any)
	var out []any
	for _, v := range attrValues(ext, ix.name[len(ix.urn)+1:]) {
		if list, ok := v.([]any); ok {
			out = append(out, list...)
		} else {
			out = append(out, v)
		}
	}
	return out
}

// attrValues returns the values at a dotted path of core attributes; for a
// multi-valued parent, one per element.
func attrValues(attrs map[string]any, path string) []any {
	name, sub, hasSub := strings.Cut(path, ".")
	v, ok := attrs[name]
	if !ok || v == nil {
		return nil
	}
	if !hasSub {
		return []any{v}
	}
	var out []any
	add := func(m map[string]any) {
		if x, ok := m[sub]; ok && x != nil {
			out = append(out, x)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		add(v)
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				add(m)
			}
		}
	case []map[string]any:
		for _, m := range v {
			add(m)
		}
	}
	return out
}

// uniqueKey returns the key of a value in a uniqueness hash (for a user's
// userName, the same lower case as indexEntries gives a value that is not
// caseExact, which the userName index holds too): uniqueness is
// case-insensitive.
func uniqueKey(attrs map[string]any, name string) (key, value string) {
	value, _ = attrs[name].(string)
	return resources.FoldCase(value), value // the folding resources checks immutability with
}

// userDisplay is how a user is shown in its groups' members: its displayName
// if set, else its userName.
func userDisplay(attrs map[string]any) string {
	if d, _ := attrs["displayName"].(string); d != "" {
		return d
	}
	u, _ := attrs["userName"].(string)
	return u
}

// groupDisplay is how a group is shown in its members' groups: its
// displayName.
func groupDisplay(attrs map[string]any) string {
	d, _ := attrs["displayName"].(string)
	return d
}
