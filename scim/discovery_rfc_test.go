package scim_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestResourceTypeExtensionRequired: RFC 7643 §6, schemaExtensions
// required: "If true, a resource of this type MUST include this schema
// extension"; a custom schema with a required attribute, which POST
// enforces, says so; one without says false.
func TestResourceTypeExtensionRequired(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const req, opt = "urn:example:req:1.0:User", "urn:example:opt:1.0:User"
		a.schemaAdmin("POST", "", ownerToken, map[string]any{"id": req, "name": "Req",
			"attributes": []any{map[string]any{"name": "code", "type": "string", "required": true}}}).must(t, http.StatusCreated)
		a.schemaAdmin("POST", "", ownerToken, map[string]any{"id": opt, "name": "Opt",
			"attributes": []any{map[string]any{"name": "code", "type": "string"}}}).must(t, http.StatusCreated)
		rt := a.do("GET", "/ResourceTypes/User", ownerToken, nil).must(t, http.StatusOK)
		for _, want := range []string{`{"required":true,"schema":"` + req + `"}`, `{"required":false,"schema":"` + opt + `"}`,
			`{"required":false,"schema":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`} {
			if !strings.Contains(rt.raw, want) {
				t.Errorf("/ResourceTypes/User lacks %s: %s", want, rt.raw)
			}
		}
		a.do("POST", "/Users", ownerToken, user("no-ext@example.com", nil)).scimError(t, http.StatusBadRequest, "invalidValue", "is required")
	})
}

// TestBulkBodyNotAnObject: a /Bulk body that is no JSON object is
// invalidSyntax in the client's terms, not Go's.
func TestBulkBodyNotAnObject(t *testing.T) {
	a := newAPI(t, "")
	r := a.do("POST", "/Bulk", ownerToken, []any{})
	r.scimError(t, http.StatusBadRequest, "invalidSyntax", "it is an array")
	if strings.Contains(r.raw, "Go ") || strings.Contains(r.raw, "interface") {
		t.Errorf("the detail names Go types: %s", r.raw)
	}
}
