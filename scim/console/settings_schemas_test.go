package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

const loyaltyURN = "urn:example:scim:schemas:extension:loyalty:1.0:User"

// loyaltySchema is the custom schema the console's tests paste.
const loyaltySchema = `{"id": "` + loyaltyURN + `", "name": "Loyalty",
  "attributes": [
    {"name": "tier", "type": "string", "canonicalValues": ["gold", "silver"], "indexed": true},
    {"name": "number", "type": "string", "uniqueness": "server"},
    {"name": "pin", "type": "string", "mutability": "writeOnly", "returned": "never"},
    {"name": "address", "type": "complex", "subAttributes": [{"name": "city", "type": "string"}]}]}`

// definitions returns acme's custom schemas as stored.
func (e *env) definitions() []schemas.Definition {
	e.t.Helper()
	set, err := e.store.Extensions(context.Background(), "acme")
	if err != nil {
		e.t.Fatalf("Extensions: %v", err)
	}
	var out []schemas.Definition
	for _, raw := range set.Definitions {
		var d schemas.Definition
		if err := json.Unmarshal(raw, &d); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestSettingsSchemas walks the Custom attributes tab through HTTP: a
// schema pasted, refused drafts shown with their detail and kept, an
// attribute added by the form, the values on a customer's page, removals
// confirmed by typing; all audited as the owner. A collaborator is refused
// every page and form.
func TestSettingsSchemas(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		collab := e.admin("helper@acme.com", resources.RoleCollaborator)
		owner.Get(owner.console("settings/schemas")).Must(t, http.StatusOK, "Custom attributes", "There are no custom schemas yet")

		owner.submit("settings/schemas", url.Values{"definition": {"{\"id\": "}}).
			Must(t, http.StatusBadRequest, "There is a problem", `href="#schema-json"`, "send an RFC 7643", `>{&#34;id&#34;: </textarea>`)
		bad := strings.Replace(loyaltySchema, `"type": "complex"`, `"type": "complex", "indexed": true`, 1)
		owner.submit("settings/schemas", url.Values{"definition": {bad}}).
			Must(t, http.StatusBadRequest, "Attribute &#34;address&#34;: only string", "&#34;indexed&#34;: true")
		owner.submit("settings/schemas", url.Values{"definition": {loyaltySchema}}).
			Must(t, http.StatusOK, "Custom schema "+loyaltyURN+" added", "<th scope=\"row\">tier</th>", "indexed, values: gold, silver",
				"address.city", "writeOnly, returned never")
		owner.submit("settings/schemas", url.Values{"definition": {loyaltySchema}}).Must(t, http.StatusConflict, "exists")

		// An attribute by the form: problems on the form, fields kept.
		attr := func(form url.Values) page {
			form.Set("urn", loyaltyURN)
			return owner.submit("settings/schemas/attribute", form)
		}
		owner.Get(owner.console("settings/schemas/attribute?urn="+url.QueryEscape(loyaltyURN))).Must(t, http.StatusOK, "Add an attribute to Loyalty")
		attr(url.Values{"name": {""}, "type": {"string"}}).Must(t, http.StatusBadRequest, "Enter the attribute&#39;s name.")
		attr(url.Values{"name": {"TIER"}, "type": {"boolean"}}).Must(t, http.StatusConflict, "has an attribute &#34;tier&#34; already")
		attr(url.Values{"name": {"points"}, "type": {"integer"}, "canonicalValues": {"1, 2"}, "indexed": {"on"}}).
			Must(t, http.StatusBadRequest, "Attribute &#34;points&#34;: only string", `value="points"`, `<option value="integer" selected>`,
				`id="attr-indexed" name="indexed" checked`, `value="1, 2"`)
		attr(url.Values{"name": {"level"}, "type": {"string"}, "canonicalValues": {" bronze, silver ,"}, "indexed": {"on"}, "returned": {"request"}}).
			Must(t, http.StatusOK, "Attribute level added", "<th scope=\"row\">level</th>", "returned request, indexed, values: bronze, silver")
		defs := e.definitions()
		if len(defs) != 1 || len(defs[0].Attributes) != 5 {
			t.Fatalf("definitions after the form = %+v", defs)
		}
		if a, _ := defs[0].Attr("level"); !a.Indexed || a.Returned != "request" || strings.Join(a.CanonicalValues, "|") != "bronze|silver" || a.Mutability != "readWrite" {
			t.Errorf("level as stored = %+v", a)
		}

		// A customer's values, read-only; writeOnly ones never.
		status, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN, loyaltyURN}, "userName": "jane@example.com",
			loyaltyURN: map[string]any{"tier": "gold", "number": "N-1", "pin": "4321", "level": "bronze", "address": map[string]any{"city": "Ghent"}}})
		if status != http.StatusCreated {
			t.Fatalf("POST /Users = %d %v", status, body)
		}
		id, _ := body["id"].(string)
		owner.Get(owner.console("users/"+id)).Must(t, http.StatusOK, "Custom attributes", "<dt>tier <span class=\"muted\">(Loyalty)</span></dt><dd>gold</dd>",
			"<dd>N-1</dd>", "<dd>city: Ghent</dd>", "<dd>bronze</dd>").Lacks(t, "4321", "pin")

		// Removing an attribute: typed confirmation, then purged.
		confirm := owner.Get(owner.console("settings/schemas/remove?urn=" + url.QueryEscape(loyaltyURN) + "&attr=tier"))
		confirm.Must(t, http.StatusOK, "Remove attribute tier?", "purged", "Type tier to confirm")
		remove := func(attr, typed string) page {
			return owner.submit("settings/schemas/remove", url.Values{"urn": {loyaltyURN}, "attr": {attr}, "confirm": {typed}})
		}
		remove("tier", "Tier").Must(t, http.StatusBadRequest, "That is not tier")
		remove("tier", "tier").Must(t, http.StatusOK, "Attribute tier removed: customers&#39; values of it are purged.").Lacks(t, "<th scope=\"row\">tier</th>")
		if raw := e.rawUser(id); strings.Contains(raw, `"tier"`) || !strings.Contains(raw, `"number":"N-1"`) {
			t.Errorf("stored after removing tier: %s", raw)
		}
		remove("nope", "nope").Must(t, http.StatusNotFound, "has no attribute")
		remove("", "loyalty").Must(t, http.StatusBadRequest, "That is not "+loyaltyURN)
		remove("", loyaltyURN).Must(t, http.StatusOK, "Custom schema "+loyaltyURN+" removed", "There are no custom schemas yet")
		if raw := e.rawUser(id); strings.Contains(raw, loyaltyURN) {
			t.Errorf("stored after removing the schema: %s", raw)
		}
		owner.Get(owner.console("users/"+id)).Must(t, http.StatusOK).Lacks(t, "Custom attributes")

		// Audited as the owner, through the same services as the API.
		want := "admin:" + adminID(t, e, "boss@acme.com")
		log := e.changeLog(loyaltyURN)
		if len(log) != 4 || log[0] != want+" create" || log[1] != want+" replace" || log[3] != want+" delete" {
			t.Errorf("change log of the schema = %v, want create, replace, replace, delete by %s", log, want)
		}
		owner.Get(owner.console("settings/audit?type=Schema")).Must(t, http.StatusOK, "custom schema "+loyaltyURN)

		// A collaborator: every page and form refused, nothing changed.
		collab.Get(collab.console("settings/schemas")).Must(t, http.StatusForbidden, "Owners only")
		collab.Get(collab.console("settings/schemas/attribute?urn="+url.QueryEscape(loyaltyURN))).Must(t, http.StatusForbidden, "Owners only")
		collab.submit("settings/schemas", url.Values{"definition": {loyaltySchema}}).Must(t, http.StatusForbidden, "Owners only")
		if defs := e.definitions(); len(defs) != 0 {
			t.Errorf("a collaborator's forged form defined %+v", defs)
		}
		owner.submit("settings/schemas", url.Values{"definition": {loyaltySchema}}).Must(t, http.StatusOK)
		collab.submit("settings/schemas/attribute", url.Values{"urn": {loyaltyURN}, "name": {"x"}, "type": {"string"}}).Must(t, http.StatusForbidden, "Owners only")
		collab.submit("settings/schemas/remove", url.Values{"urn": {loyaltyURN}, "confirm": {loyaltyURN}}).Must(t, http.StatusForbidden, "Owners only")
		if defs := e.definitions(); len(defs) != 1 || len(defs[0].Attributes) != 4 {
			t.Errorf("after a collaborator's forged forms: %+v", defs)
		}
	})
}

// rawUser returns acme's stored document of user id.
func (e *env) rawUser(id string) string {
	e.t.Helper()
	r, err := e.store.ReadUser(context.Background(), "acme", id)
	if err != nil {
		e.t.Fatalf("ReadUser: %v", err)
	}
	return string(r.Raw)
}

// adminID returns the id of acme's administrator email.
func adminID(t *testing.T, e *env, email string) string {
	t.Helper()
	ads, err := e.admins.List(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ads {
		if a.Email == email {
			return a.ID
		}
	}
	t.Fatalf("no administrator %s", email)
	return ""
}
