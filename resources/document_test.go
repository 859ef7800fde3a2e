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
		"user with raw":      {schemas.Users(), Resource{ID: "u1", Attributes: attrs, Raw: raw, Version: 3, Created: created, Modified: created, Groups: []Ref{{ID: "g1", Display: "G"}}}},
		"user without raw":   {schemas.Users(), Resource{ID: "u1", Attributes: attrs, Version: 1, Created: created, Modified: created}},
		"group with members": {schemas.Groups(), Resource{ID: "g1", Attributes: map[string]any{"displayName": "G"}, Version: 2, Created: created, Modified: created, Members: []Ref{{ID: "u1"}, {ID: "u2", Display: "b"}}}},
		"empty attributes":   {schemas.Groups(), Resource{ID: "g2", Attributes: map[string]any{}, Raw: []byte("{}"), Version: 1, Created: created, Modified: created}},
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
			slow, _ := json.Marshal(Document(c.rt, c.r, "https://x/scim/v2"))
			_ = json.Unmarshal(slow, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("AppendDocument = %s\nDocument = %s", fast, slow)
			}
		})
	}
}
