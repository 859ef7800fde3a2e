package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// Custom attributes: an organization's owners define extension schemas for
// its Users at run time (README "Custom attributes"). A definition is the
// schema representation of RFC 7643 §7, as /Schemas shows it, plus scimd's
// attribute characteristic "indexed". [ParseDefinition] checks one strictly;
// [Definition.Schema] turns it into the elimity schema that validation,
// PATCH, projection and filtering use like any built-in extension's.

// Bounds of custom attribute definitions: what one organization may define.
const (
	// MaxDefinitionBytes bounds the JSON of one definition.
	MaxDefinitionBytes = 64 << 10
	// MaxDefinitions bounds an organization's extension schemas.
	MaxDefinitions = 20
	// MaxAttributes bounds the top-level attributes of one schema.
	MaxAttributes = 100
	// MaxSubAttributes bounds the sub-attributes of one complex attribute.
	MaxSubAttributes = 20
	// MaxIndexed bounds the indexed attributes of an organization: each
	// costs every write of a User a sorted-set update.
	MaxIndexed = 10
	// MaxUnique bounds the attributes with uniqueness "server" of an
	// organization: each costs every write of a User a hash update.
	MaxUnique = 5
	// MaxCanonicalValues bounds the canonicalValues of one attribute.
	MaxCanonicalValues = 100
	maxNameLen         = 64
	maxURNLen          = 200
	maxDescriptionLen  = 1024
	maxCanonicalLen    = 256
)

// Definition is an organization's extension schema for Users (RFC 7643 §7).
type Definition struct {
	ID          string          `json:"id"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Attributes  []AttributeDef  `json:"attributes"`
	Schemas     []string        `json:"schemas,omitempty"` // accepted as /Schemas shows it; not kept
	Meta        json.RawMessage `json:"meta,omitempty"`    // accepted as /Schemas shows it; not kept
}

// AttributeDef is one attribute of a [Definition], with RFC 7643 §7's
// characteristics and scimd's Indexed.
type AttributeDef struct {
	Name            string         `json:"name"`
	Type            string         `json:"type"`
	Description     string         `json:"description,omitempty"`
	MultiValued     bool           `json:"multiValued"`
	Required        bool           `json:"required"`
	CaseExact       bool           `json:"caseExact"`
	Mutability      string         `json:"mutability"`
	Returned        string         `json:"returned"`
	Uniqueness      string         `json:"uniqueness"`
	CanonicalValues []string       `json:"canonicalValues,omitempty"`
	ReferenceTypes  []string       `json:"referenceTypes,omitempty"`
	SubAttributes   []AttributeDef `json:"subAttributes,omitempty"`
	// Indexed asks scimd to keep a filter index of the attribute's values
	// (string, reference and boolean attributes).
	Indexed bool `json:"indexed,omitempty"`
}

// DefinitionError is what is wrong with a definition: Syntax reports JSON
// that is not a definition at all (RFC 7644 scimType invalidSyntax),
// otherwise a value is wrong (invalidValue). Attr names the offending
// attribute ("loyalty.tier"), when there is one.
type DefinitionError struct {
	Syntax bool
	Attr   string
	Detail string
}

// Error implements error.
func (e *DefinitionError) Error() string {
	if e.Attr != "" {
		return fmt.Sprintf("attribute %q: %s", e.Attr, e.Detail)
	}
	return e.Detail
}

func defErr(attr, format string, args ...any) error {
	return &DefinitionError{Attr: attr, Detail: fmt.Sprintf(format, args...)}
}

// builtinURNs are the schemas an organization cannot define.
var builtinURNs = []string{UserURN, GroupURN, EnterpriseUserURN, CustomerUserURN, WSO2URN}

// urnPattern is RFC 8141's URN: "urn", a namespace identifier, a
// namespace-specific string, without '/', '%', '?' and '#' (a URN is a
// path segment of the admin API: /admin/v1/schemas/{urn}).
var urnPattern = regexp.MustCompile(`^(?i:urn):[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:[A-Za-z0-9()+,\-.:=@;$_!*']+$`)

// attrNamePattern is RFC 7643 §2.1's ATTRNAME.
var attrNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

var (
	knownTypes      = []string{"string", "boolean", "integer", "decimal", "dateTime", "reference", "complex"}
	knownMutability = []string{"readWrite", "readOnly", "immutable", "writeOnly"}
	knownReturned   = []string{"default", "always", "never", "request"}
)

// ParseDefinition reads a definition from JSON and checks it: the URN's
// syntax and that it is no built-in one, attribute names (RFC 7643 §2.1),
// known types and characteristics, complex attributes one level deep,
// canonicalValues only where values are strings, and the bounds above.
// Omitted characteristics take RFC 7643 §7's defaults. The result is
// canonical: ready to store and to compare.
func ParseDefinition(data []byte) (Definition, error) {
	if len(data) > MaxDefinitionBytes {
		return Definition{}, &DefinitionError{Detail: fmt.Sprintf("the definition is %d bytes, more than the %d a schema may have", len(data), MaxDefinitionBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Definition
	err := dec.Decode(&d)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return Definition{}, &DefinitionError{Syntax: true, Detail: JSONProblem(err) +
			`; send an RFC 7643 §7 schema: {"id": "urn:...", "name": "...", "attributes": [{"name": "...", "type": "string", ...}]}`}
	}
	d.Schemas, d.Meta = nil, nil
	if err := d.check(); err != nil {
		return Definition{}, err
	}
	return d, nil
}

func (d *Definition) check() error {
	if err := CheckURN(d.ID); err != nil {
		return err
	}
	if len(d.Name) > maxNameLen*2 || len(d.Description) > maxDescriptionLen {
		return &DefinitionError{Detail: fmt.Sprintf("name (at most %d bytes) or description (at most %d bytes) is too long", maxNameLen*2, maxDescriptionLen)}
	}
	if len(d.Attributes) == 0 {
		return &DefinitionError{Detail: "a schema needs at least one attribute in \"attributes\""}
	}
	if len(d.Attributes) > MaxAttributes {
		return &DefinitionError{Detail: fmt.Sprintf("%d attributes, more than the %d a schema may have", len(d.Attributes), MaxAttributes)}
	}
	return checkAttrs(d.Attributes, "")
}

// CheckURN checks the id of a definition: an RFC 8141 URN that is neither
// a built-in schema nor in the IETF's SCIM namespace.
func CheckURN(urn string) error {
	if len(urn) > maxURNLen || !urnPattern.MatchString(urn) || strings.HasSuffix(urn, ":") {
		return &DefinitionError{Detail: fmt.Sprintf("id %q is not a URN (RFC 8141: urn:<namespace>:<name>, at most %d bytes, e.g. urn:example:scim:schemas:extension:acme:1.0:User)", shorten(urn), maxURNLen)}
	}
	for _, b := range builtinURNs {
		if strings.EqualFold(urn, b) {
			return &DefinitionError{Detail: fmt.Sprintf("id %q is a built-in schema: choose a URN of your own", urn)}
		}
	}
	if strings.HasPrefix(strings.ToLower(urn), "urn:ietf:params:scim:") {
		return &DefinitionError{Detail: fmt.Sprintf("id %q is in the IETF's SCIM namespace (urn:ietf:params:scim:), reserved for standard schemas: choose a URN of your own", urn)}
	}
	return nil
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// checkAttrs checks attrs, the attributes of a schema (parent "") or the
// sub-attributes of parent, filling in defaults.
func checkAttrs(attrs []AttributeDef, parent string) error {
	seen := map[string]string{}
	for i := range attrs {
		a := &attrs[i]
		name := a.Name
		if parent != "" {
			name = parent + "." + a.Name
		}
		if !attrNamePattern.MatchString(a.Name) || len(a.Name) > maxNameLen {
			return defErr(name, "not an attribute name: a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1 ATTRNAME), at most %d bytes", maxNameLen)
		}
		if prev, dup := seen[strings.ToLower(a.Name)]; dup {
			return defErr(name, "defined twice (as %q and %q): names are case-insensitive", prev, a.Name)
		}
		seen[strings.ToLower(a.Name)] = a.Name
		if err := checkAttr(a, name, parent != ""); err != nil {
			return err
		}
	}
	return nil
}

func checkAttr(a *AttributeDef, name string, sub bool) error {
	if !slices.Contains(knownTypes, a.Type) {
		return defErr(name, "type %q: want one of %s", a.Type, strings.Join(knownTypes, ", "))
	}
	if len(a.Description) > maxDescriptionLen {
		return defErr(name, "description longer than %d bytes", maxDescriptionLen)
	}
	a.Mutability = cmpOr(a.Mutability, string(ReadWrite))
	a.Returned = cmpOr(a.Returned, string(ReturnedDefault))
	a.Uniqueness = cmpOr(a.Uniqueness, string(UniquenessNone))
	if !slices.Contains(knownMutability, a.Mutability) {
		return defErr(name, "mutability %q: want one of %s", a.Mutability, strings.Join(knownMutability, ", "))
	}
	if !slices.Contains(knownReturned, a.Returned) {
		return defErr(name, "returned %q: want one of %s", a.Returned, strings.Join(knownReturned, ", "))
	}
	switch Uniqueness(a.Uniqueness) {
	case UniquenessNone:
	case UniquenessServer:
		if sub || a.MultiValued || !slices.Contains([]string{"string", "reference", "integer"}, a.Type) {
			return defErr(name, "uniqueness \"server\" is supported on single-valued top-level string, reference and integer attributes only")
		}
	case UniquenessGlobal:
		return defErr(name, "uniqueness \"global\" cannot be enforced across organizations: use \"server\" (unique within the organization) or \"none\"")
	default:
		return defErr(name, "uniqueness %q: want none or server", a.Uniqueness)
	}
	if a.Required && Mutability(a.Mutability) == ReadOnly {
		return defErr(name, "required and readOnly: no client could ever set it")
	}
	if sub && (a.Required || a.MultiValued) {
		return defErr(name, "sub-attributes cannot be required or multiValued; make the parent required or multiValued")
	}
	if a.Indexed {
		if !slices.Contains([]string{"string", "reference", "boolean"}, a.Type) {
			return defErr(name, "only string, reference and boolean attributes can be indexed (indexes order values as text); leave it unindexed: filters on it scan at most the server's bound of customers")
		}
		if Returned(a.Returned) == ReturnedNever || Mutability(a.Mutability) == WriteOnly {
			return defErr(name, "a writeOnly or returned \"never\" attribute cannot be indexed: filters would reveal its values")
		}
	}
	switch a.Type {
	case "string":
	case "reference":
		if len(a.ReferenceTypes) == 0 {
			a.ReferenceTypes = []string{"external"}
		}
		for _, r := range a.ReferenceTypes {
			if !slices.Contains([]string{"external", "uri", "User", "Group"}, r) {
				return defErr(name, "referenceTypes %q: want external, uri, User or Group", r)
			}
		}
		a.CaseExact = true // RFC 7643 §2.3.7: references are case-exact
	default:
		if a.CaseExact {
			return defErr(name, "caseExact applies to string attributes, not to %s ones", a.Type)
		}
	}
	if a.Type != "reference" && len(a.ReferenceTypes) > 0 {
		return defErr(name, "referenceTypes apply to reference attributes only")
	}
	if len(a.CanonicalValues) > 0 {
		if a.Type != "string" && a.Type != "reference" {
			return defErr(name, "canonicalValues apply to string and reference attributes only (a %s attribute's values are not strings)", a.Type)
		}
		if len(a.CanonicalValues) > MaxCanonicalValues {
			return defErr(name, "%d canonicalValues, more than %d", len(a.CanonicalValues), MaxCanonicalValues)
		}
		seen := map[string]bool{}
		for _, v := range a.CanonicalValues {
			k := v
			if !a.CaseExact {
				k = strings.ToLower(v)
			}
			if v == "" || len(v) > maxCanonicalLen || seen[k] || strings.IndexByte(v, 0) >= 0 {
				return defErr(name, "canonicalValues must be distinct non-empty strings of at most %d bytes (%q)", maxCanonicalLen, shorten(v))
			}
			seen[k] = true
		}
	}
	if a.Type != "complex" {
		if len(a.SubAttributes) > 0 {
			return defErr(name, "subAttributes apply to complex attributes only")
		}
		return nil
	}
	if sub {
		return defErr(name, "complex attributes cannot be nested: a sub-attribute must be simple (RFC 7643 §2.3.8)")
	}
	if a.Indexed || a.CaseExact {
		return defErr(name, "a complex attribute is not indexed or caseExact itself: mark its sub-attributes")
	}
	if len(a.SubAttributes) == 0 || len(a.SubAttributes) > MaxSubAttributes {
		return defErr(name, "a complex attribute needs 1 to %d subAttributes", MaxSubAttributes)
	}
	return checkAttrs(a.SubAttributes, name)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Schema returns the elimity schema of d, which must have come from
// [ParseDefinition].
func (d Definition) Schema() (schema.Schema, error) {
	doc := d.Document(false)
	raw, err := json.Marshal(doc)
	if err != nil {
		return schema.Schema{}, err
	}
	var s schema.Schema
	if err := s.UnmarshalJSON(raw); err != nil {
		return schema.Schema{}, fmt.Errorf("schema %s: %w", d.ID, err)
	}
	return s, nil
}

// Document returns d as /Schemas shows it (RFC 7643 §7): every
// characteristic spelt out, and scimd's "indexed" on indexed attributes
// when withIndexed is set.
func (d Definition) Document(withIndexed bool) map[string]any {
	doc := map[string]any{"id": d.ID, "name": d.Name, "description": d.Description, "attributes": attrDocs(d.Attributes, withIndexed)}
	return doc
}

func attrDocs(attrs []AttributeDef, withIndexed bool) []map[string]any {
	out := make([]map[string]any, len(attrs))
	for i, a := range attrs {
		m := map[string]any{
			"name": a.Name, "type": a.Type, "description": a.Description, "multiValued": a.MultiValued,
			"required": a.Required, "caseExact": a.CaseExact, "mutability": a.Mutability, "returned": a.Returned,
			"uniqueness": a.Uniqueness,
		}
		if len(a.CanonicalValues) > 0 {
			m["canonicalValues"] = a.CanonicalValues
		}
		if len(a.ReferenceTypes) > 0 {
			m["referenceTypes"] = a.ReferenceTypes
		}
		if len(a.SubAttributes) > 0 {
			m["subAttributes"] = attrDocs(a.SubAttributes, withIndexed)
		}
		if a.Indexed && withIndexed {
			m["indexed"] = true
		}
		out[i] = m
	}
	return out
}

// Attr returns d's top-level attribute named name, ignoring case.
func (d Definition) Attr(name string) (AttributeDef, bool) {
	for _, a := range d.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
	}
	return AttributeDef{}, false
}

// CheckChange checks that next may replace prev, a definition of the same
// URN that customers may already use: an attribute that stays keeps its
// spelling, type, multiValued, caseExact, uniqueness, indexed and set of
// sub-attributes (their type and those facts too), because stored values
// and indexes depend on them; description, required, mutability, returned
// and canonicalValues may change. It returns the full names of the
// attributes next removes, whose values are then purged.
func CheckChange(prev, next Definition) (removed []string, err error) {
	if prev.ID != next.ID {
		return nil, &DefinitionError{Detail: fmt.Sprintf("id %q cannot become %q: a schema's URN (and its letter case) is its identity; add a new schema instead", prev.ID, next.ID)}
	}
	for _, old := range prev.Attributes {
		now, ok := next.Attr(old.Name)
		if !ok {
			removed = append(removed, prev.ID+":"+old.Name)
			continue
		}
		if err := sameShape(old, now, old.Name); err != nil {
			return nil, err
		}
	}
	return removed, nil
}

// sameShape reports how now differs from old in what cannot change.
func sameShape(old, now AttributeDef, name string) error {
	what := ""
	switch {
	case old.Name != now.Name:
		what = fmt.Sprintf("its name's spelling (%q to %q)", old.Name, now.Name)
	case old.Type != now.Type:
		what = fmt.Sprintf("type (%s to %s)", old.Type, now.Type)
	case old.MultiValued != now.MultiValued:
		what = "multiValued"
	case old.CaseExact != now.CaseExact:
		what = "caseExact"
	case old.Uniqueness != now.Uniqueness:
		what = "uniqueness"
	case old.Indexed != now.Indexed:
		what = "indexed"
	case len(old.SubAttributes) != len(now.SubAttributes):
		what = "its set of subAttributes"
	}
	if what != "" {
		return defErr(name, "%s cannot change once the attribute exists (stored values and indexes depend on it): remove the attribute and add a new one with another name, or add a new attribute", what)
	}
	for _, s := range old.SubAttributes {
		n, ok := findDef(now.SubAttributes, s.Name)
		if !ok {
			return defErr(name, "its set of subAttributes cannot change once the attribute exists (%q is gone): add a new attribute instead", s.Name)
		}
		if err := sameShape(s, n, name+"."+s.Name); err != nil {
			return err
		}
	}
	return nil
}

func findDef(attrs []AttributeDef, name string) (AttributeDef, bool) {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
	}
	return AttributeDef{}, false
}

// Custom is what an organization's custom attributes add to its User
// resource type beyond the extension schemas themselves: what the store
// indexes and keeps unique, and what responses withhold.
type Custom struct {
	// Generation counts the changes of the organization's definitions; a
	// write made with the resource type of an older generation is refused
	// by the store and retried, so that no value of a removed attribute is
	// written after its removal.
	Generation int64
	// Definitions are the organization's extension schemas.
	Definitions []Definition
	// Indexed and Unique are the attributes the store indexes and keeps
	// unique (uniqueness "server").
	Indexed, Unique []Attribute
	// Withheld are the attributes returned "never" or "request", which a
	// response shows only when asked for (request) or never.
	Withheld []Attribute
	// Always are the attributes returned "always", which a response shows
	// whatever its attributes and excludedAttributes (RFC 7643 §7).
	Always []Attribute
	// Purging are the full names of removed schemas (a URN) and attributes
	// (URN:name) whose stored values are still being purged: responses
	// leave them out.
	Purging []string
	// Substring are the attributes the organization's substringSearch
	// setting opts in to a trigram index: writes keep their trigram
	// entries. SubstringReady are those whose index is complete (its build
	// is done): only they answer co and ew filters.
	Substring, SubstringReady []string
}

// WithCustom returns rt with an organization's definitions as extensions.
// gen is their generation; purging lists what is being purged (see
// [Custom]).
func (rt ResourceType) WithCustom(defs []Definition, gen int64, purging []string) (ResourceType, error) {
	out := rt
	out.Extensions = slices.Clone(rt.Extensions)
	out.Custom = Custom{Generation: gen, Definitions: defs, Purging: purging}
	for _, d := range defs {
		s, err := d.Schema()
		if err != nil {
			return ResourceType{}, err
		}
		out.Extensions = append(out.Extensions, s)
	}
	for _, d := range defs {
		for _, a := range d.Attributes {
			attr, ok := out.Lookup(d.ID + ":" + a.Name)
			if !ok {
				return ResourceType{}, fmt.Errorf("schema %s: attribute %s not found", d.ID, a.Name)
			}
			if a.Indexed {
				out.Custom.Indexed = append(out.Custom.Indexed, attr)
			}
			if a.Uniqueness == string(UniquenessServer) {
				out.Custom.Unique = append(out.Custom.Unique, attr)
			}
			if a.Returned == string(ReturnedNever) || a.Returned == string(ReturnedRequest) || a.Mutability == string(WriteOnly) {
				out.Custom.Withheld = append(out.Custom.Withheld, attr)
			} else if a.Returned == string(ReturnedAlways) {
				out.Custom.Always = append(out.Custom.Always, attr)
			}
			for _, s := range a.SubAttributes {
				sub, ok := out.Lookup(d.ID + ":" + a.Name + "." + s.Name)
				if !ok {
					return ResourceType{}, fmt.Errorf("schema %s: attribute %s.%s not found", d.ID, a.Name, s.Name)
				}
				if s.Indexed {
					out.Custom.Indexed = append(out.Custom.Indexed, sub)
				}
				if s.Returned == string(ReturnedNever) || s.Returned == string(ReturnedRequest) || s.Mutability == string(WriteOnly) {
					out.Custom.Withheld = append(out.Custom.Withheld, sub)
				} else if s.Returned == string(ReturnedAlways) {
					out.Custom.Always = append(out.Custom.Always, sub)
				}
			}
		}
	}
	return out, nil
}

// ExtensionRequired reports whether a resource of rt must include the
// extension urn (RFC 7643 §6 schemaExtensions.required): a custom schema
// with a required attribute, which POST and PUT require.
func (rt ResourceType) ExtensionRequired(urn string) bool {
	for _, d := range rt.Custom.Definitions {
		if strings.EqualFold(d.ID, urn) {
			return slices.ContainsFunc(d.Attributes, func(a AttributeDef) bool { return a.Required })
		}
	}
	return false
}

// IsCustom reports whether urn is one of rt's custom extension schemas.
func (rt ResourceType) IsCustom(urn string) bool {
	for _, d := range rt.Custom.Definitions {
		if strings.EqualFold(d.ID, urn) {
			return true
		}
	}
	return false
}

// URNOverlap reports a URN of urns that a is a prefix of (followed by ':'),
// or that is one of a, ignoring case: attribute paths
// ("<urn>:<attribute>") could not tell the two apart.
func URNOverlap(a string, urns []string) (string, bool) {
	la := strings.ToLower(a)
	for _, u := range urns {
		lu := strings.ToLower(u)
		if lu != la && (strings.HasPrefix(lu, la+":") || strings.HasPrefix(la, lu+":")) {
			return u, true
		}
	}
	return "", false
}

// BuiltinURNs returns the URNs of the built-in schemas.
func BuiltinURNs() []string { return slices.Clone(builtinURNs) }
