package resources

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
)

// TestAppendDocumentEqualsDocument: the fast encoder says exactly what
// Document says, with and without the stored raw attributes.
func TestAppendDocumentEqualsDocument(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	attrs := map[string]any{
		"userName":                "a@example.com",
		"name":                    map[string]any{"givenName": "A \"quoted\" é"},
		schemas.EnterpriseUserURN: map[string]any{"department": "Sales"},
		schemas.CustomerUserURN:   map[string]any{"accountState": "active"},
	}
	raw, _ := json.Marshal(attrs)
	cases := map[string]struct {
		rt schemas.ResourceType
		r  Resource
	}{
		"user with raw":    {schemas.Users(), Resource{ID: "u1", Attributes: attrs, Raw: raw, Version: 3, Created: created, Modified: created, Groups: []Ref{{ID: "g1", Display: "G"}}}},
		"user without raw": {schemas.Users(), Resource{ID: "u1", Attributes: attrs, Version: 1, Created: created, Modified: created}},
		"user raw only":    {schemas.Users(), Resource{ID: "u1", Raw: raw, Version: 4, Created: created, Modified: created}},
		"raw only, no extensions": {schemas.Users(), Resource{ID: "u3", Raw: []byte(`{"userName":"c@example.com","x":{"urn:scim:schemas:extension:customer:2.0:User":1}}`),
			Version: 1, Created: created, Modified: created}},
		"group with members": {schemas.Groups(), Resource{ID: "g1", Attributes: map[string]any{"displayName": "G"}, Version: 2, Created: created, Modified: created, Members: []Ref{{ID: "u1"}, {ID: "u2", Display: "b"}}}},
		"refs that need escaping": {schemas.Groups(), Resource{ID: "g3", Attributes: map[string]any{"displayName": "<G>"}, Version: 12, Created: created, Modified: created,
			Members: []Ref{{ID: "u\"1", Display: "Sales & \"Ops\" é\n\u2028"}}}},
		"empty attributes": {schemas.Groups(), Resource{ID: "g2", Attributes: map[string]any{}, Raw: []byte("{}"), Version: 1, Created: created, Modified: created}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fast, err := AppendDocument([]byte("prefix"), c.rt, c.r, "https://x/scim/v2")
			if err != nil {
				t.Fatalf("AppendDocument: %v", err)
			}
			var got, want any
			if err := json.Unmarshal(fast[len("prefix"):], &got); err != nil {
				t.Fatalf("AppendDocument wrote invalid JSON %s: %v", fast, err)
			}
			full := c.r
			if err := full.DecodeAttributes(); err != nil {
				t.Fatalf("DecodeAttributes: %v", err)
			}
			slow, _ := json.Marshal(Document(c.rt, full, "https://x/scim/v2"))
			_ = json.Unmarshal(slow, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("AppendDocument = %s\nDocument = %s", fast, slow)
			}
		})
	}
}

func TestHasMember(t *testing.T) {
	doc := ` { "a" : 1, "b\u0063" : {"c": [1, "}", {"d": 2}]}, "e\"": "x,\"y", "f": [ ], "g" : null }`
	tests := []struct {
		doc  string
		name string
		want bool
	}{
		{doc, "a", true},
		{doc, "bc", true},
		{doc, "c", false}, // nested, not top level
		{doc, "d", false},
		{doc, `e"`, true},
		{doc, "f", true},
		{doc, "g", true},
		{doc, "x", false},
		{`{}`, "a", false},
		{`[{"a":1}]`, "a", false},
		{`{"a":{"b":1}}`, "b", false},
		{`{"x":"a","a":true}`, "a", true},
	}
	for _, tt := range tests {
		if got := hasMember([]byte(tt.doc), tt.name); got != tt.want {
			t.Errorf("hasMember(%s, %q) = %v, want %v", tt.doc, tt.name, got, tt.want)
		}
	}
}
