package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestSchemasBrowser walks the Custom attributes tab in Chromium as an
// owner (a schema pasted, an attribute added by the form, a customer's
// values shown, an attribute removed by typing its name) and checks the
// store after each step; a collaborator is refused the tab.
func TestSchemasBrowser(t *testing.T) { stores(t, walkSchemasInBrowser) }

func walkSchemasInBrowser(t *testing.T, e *env) {
	ctx := newChromium(t, 1000)
	e.admin("boss@acme.com", resources.RoleOwner)
	e.admin("helper@acme.com", resources.RoleCollaborator)
	signInChromium(t, ctx, e, "acme", "boss@acme.com")
	tab := e.srv.URL + "/t/acme/console/settings/schemas"

	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/t/acme/console/settings"),
		chromedp.Click(chromedp.CSS(`nav.settings-tabs a[href$="/settings/schemas"]`)),
		chromedp.WaitVisible(chromedp.ID("schema-json")),
		// A draft with a mistake: refused with its detail, the text kept.
		chromedp.SendKeys(chromedp.ID("schema-json"), strings.Replace(loyaltySchema, `"string"`, `"text"`, 1)),
		chromedp.Click(chromedp.CSS(`form[action$="/settings/schemas"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("schema-json-error")),
	)
	if err != nil {
		t.Fatalf("paste a bad schema: %v", err)
	}
	if got := textOf(t, ctx, "#schema-json-error"); !strings.Contains(got, `type "text"`) {
		t.Errorf("the form's error = %q", got)
	}
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("schema-json")))
	if err != nil || !strings.Contains(kept, `"text"`) {
		t.Fatalf("the draft was not kept: %q, %v", kept, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("schema-json"), loyaltySchema),
		chromedp.Click(chromedp.CSS(`form[action$="/settings/schemas"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.WaitVisible(chromedp.CSS("table.attributes")),
	)
	if err != nil {
		t.Fatalf("paste the schema: %v", err)
	}
	if defs := e.definitions(); len(defs) != 1 || defs[0].ID != loyaltyURN || len(defs[0].Attributes) != 4 {
		t.Fatalf("definitions after pasting = %+v", defs)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href*="/settings/schemas/attribute"]`)),
		chromedp.WaitVisible(chromedp.ID("attr-name")),
		chromedp.SendKeys(chromedp.ID("attr-name"), "consent"),
		chromedp.SetValue(chromedp.ID("attr-type"), "boolean"),
		chromedp.Click(chromedp.ID("attr-indexed")),
		chromedp.Click(chromedp.CSS(`form[action$="/settings/schemas/attribute"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		screenshot(t, "settings-schemas"),
	)
	if err != nil {
		t.Fatalf("add an attribute: %v", err)
	}
	if got := textOf(t, ctx, "table.attributes"); !strings.Contains(got, "consent") || !strings.Contains(got, "boolean") {
		t.Errorf("attributes shown: %q", got)
	}
	defs := e.definitions()
	if a, ok := defs[0].Attr("consent"); !ok || a.Type != "boolean" || !a.Indexed {
		t.Fatalf("consent as stored = %+v (%v)", a, ok)
	}

	status, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN, loyaltyURN}, "userName": "jane@example.com",
		loyaltyURN: map[string]any{"tier": "silver", "consent": true, "pin": "4321"}})
	if status != http.StatusCreated {
		t.Fatalf("POST /Users = %d %v", status, body)
	}
	id, _ := body["id"].(string)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/t/acme/console/users/"+id), chromedp.WaitVisible(chromedp.CSS("dl.custom-values"))); err != nil {
		t.Fatalf("the customer's page: %v", err)
	}
	if got := textOf(t, ctx, "dl.custom-values"); !strings.Contains(got, "silver") || !strings.Contains(got, "yes") || strings.Contains(got, "4321") {
		t.Errorf("custom values shown: %q", got)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(tab),
		chromedp.Click(chromedp.CSS(`a[href*="/settings/schemas/remove"][href$="attr=tier"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "tier"),
		chromedp.Click(chromedp.ID("confirm-remove")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if err != nil {
		t.Fatalf("remove an attribute: %v", err)
	}
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "purged") {
		t.Errorf("after the removal: %q", got)
	}
	if _, ok := e.definitions()[0].Attr("tier"); ok {
		t.Error("tier is still defined")
	}
	if raw := e.rawUser(id); strings.Contains(raw, `"tier"`) || !strings.Contains(raw, `"consent":true`) {
		t.Errorf("stored after removing tier: %s", raw)
	}

	// A collaborator: no such tab for them.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action$="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="signin"]`)),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	signInChromium(t, ctx, e, "acme", "helper@acme.com")
	if err := chromedp.Do(ctx, chromedp.Navigate(tab), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatalf("collaborator on the tab: %v", err)
	}
	if got := textOf(t, ctx, "h1"); got != "Owners only" {
		t.Errorf("a collaborator on the custom attributes sees %q, want Owners only", got)
	}
	if defs := e.definitions(); len(defs) != 1 || len(defs[0].Attributes) != 4 {
		t.Errorf("definitions at the end = %+v", defs)
	}
}
