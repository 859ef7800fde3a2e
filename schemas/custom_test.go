package schemas

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDefinition(t *testing.T) {
	d, err := ParseDefinition([]byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Schema"],"meta":{"resourceType":"Schema"},
		"id":"urn:example:acme:User","attributes":[{"name":"tier","type":"string","indexed":true},
		{"name":"home","type":"reference"},{"name":"a","type":"complex","subAttributes":[{"name":"b","type":"boolean"}]}]}`))
	if err != nil {
		t.Fatalf("ParseDefinition: %v", err)
	}
	if a := d.Attributes[0]; a.Mutability != "readWrite" || a.Returned != "default" || a.Uniqueness != "none" || !a.Indexed {
		t.Errorf("defaults: %+v", a)
	}
	if a := d.Attributes[1]; !a.CaseExact || a.ReferenceTypes[0] != "external" {
		t.Errorf("reference defaults: %+v", a)
	}
	if _, err := d.Schema(); err != nil {
		t.Errorf("Schema: %v", err)
	}
	for _, c := range []struct{ def, attr, detail string }{
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"string"},{"name":"A","type":"string"}]}`, "A", "twice"},
		{`{"id":"urn:example:x","attributes":[{"name":"a b","type":"string"}]}`, "a b", "ATTRNAME"},
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"binary"}]}`, "a", "type"},
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"integer","canonicalValues":["1"]}]}`, "a", "canonicalValues"},
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"string","required":true,"mutability":"readOnly"}]}`, "a", "readOnly"},
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"string","multiValued":true,"uniqueness":"server"}]}`, "a", "single-valued"},
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"string","returned":"never","indexed":true}]}`, "a", "indexed"},
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"string","mutability":"sometimes"}]}`, "a", "mutability"},
		{`{"id":"urn:example:x","attributes":[{"name":"a","type":"complex","subAttributes":[{"name":"b","type":"complex","subAttributes":[{"name":"c","type":"string"}]}]}]}`, "a.b", "nested"},
		{`{"id":"urn:example:x","attributes":[]}`, "", "at least one"},
		{`{"id":"urn:example:a/b","attributes":[{"name":"a","type":"string"}]}`, "", "not a URN"},
		{`{"id":"urn:scim:schemas:extension:customer:2.0:User","attributes":[{"name":"a","type":"string"}]}`, "", "built-in"},
		{`{"id":"urn:ietf:params:scim:schemas:extension:x","attributes":[{"name":"a","type":"string"}]}`, "", "IETF"},
	} {
		_, err := ParseDefinition([]byte(c.def))
		var de *DefinitionError
		if !errors.As(err, &de) || de.Syntax || de.Attr != c.attr || !strings.Contains(de.Error(), c.detail) {
			t.Errorf("ParseDefinition(%s) = %v, want an error on attribute %q saying %q", c.def, err, c.attr, c.detail)
		}
	}
	var de *DefinitionError
	if _, err := ParseDefinition([]byte(`{"id":"urn:example:x","attributes":[],"extra":1}`)); !errors.As(err, &de) || !de.Syntax {
		t.Errorf("an unknown field: %v, want a syntax error", err)
	}
	if _, err := ParseDefinition([]byte(`{"id":"urn:example:x","attributes":[{"name":"` + strings.Repeat("a", MaxDefinitionBytes) + `"}]}`)); err == nil {
		t.Errorf("a definition over %d bytes was accepted", MaxDefinitionBytes)
	}
}

func TestCheckChange(t *testing.T) {
	parse := func(attrs string) Definition {
		d, err := ParseDefinition([]byte(`{"id":"urn:example:x","attributes":[` + attrs + `]}`))
		if err != nil {
			t.Fatalf("ParseDefinition: %v", err)
		}
		return d
	}
	prev := parse(`{"name":"a","type":"string"},{"name":"c","type":"complex","subAttributes":[{"name":"s","type":"string"}]}`)
	removed, err := CheckChange(prev, parse(`{"name":"a","type":"string","required":true,"description":"x","canonicalValues":["v"]}`))
	if err != nil || len(removed) != 1 || removed[0] != "urn:example:x:c" {
		t.Errorf("CheckChange (allowed) = %v, %v", removed, err)
	}
	for _, next := range []string{
		`{"name":"a","type":"integer"},{"name":"c","type":"complex","subAttributes":[{"name":"s","type":"string"}]}`,
		`{"name":"A","type":"string"},{"name":"c","type":"complex","subAttributes":[{"name":"s","type":"string"}]}`,
		`{"name":"a","type":"string","caseExact":true},{"name":"c","type":"complex","subAttributes":[{"name":"s","type":"string"}]}`,
		`{"name":"a","type":"string","indexed":true},{"name":"c","type":"complex","subAttributes":[{"name":"s","type":"string"}]}`,
		`{"name":"a","type":"string"},{"name":"c","type":"complex","subAttributes":[{"name":"t","type":"string"}]}`,
		`{"name":"a","type":"string"},{"name":"c","type":"complex","subAttributes":[{"name":"s","type":"boolean"}]}`,
	} {
		if _, err := CheckChange(prev, parse(next)); err == nil {
			t.Errorf("CheckChange to %s: nil, want an error", next)
		}
	}
}

// FuzzParseDefinition: no input panics ParseDefinition, and what it accepts
// builds a schema.
func FuzzParseDefinition(f *testing.F) {
	f.Add([]byte(`{"id":"urn:example:x","attributes":[{"name":"a","type":"complex","subAttributes":[{"name":"b","type":"string","canonicalValues":["x"]}]}]}`))
	f.Add([]byte(`{"id":"urn:example:x","attributes":[{"name":"a","type":"reference","referenceTypes":["User"],"uniqueness":"server"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDefinition(data)
		if err != nil {
			return
		}
		if _, err := d.Schema(); err != nil {
			t.Errorf("ParseDefinition accepted %s, Schema: %v", data, err)
		}
	})
}
