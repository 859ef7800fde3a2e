package console_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
)

// TestGroupsBrowser walks the Groups flow in Chromium as a collaborator:
// create a group, find a customer and add them, remove them, rename the
// group, then delete it after a wrong and the right typed name, checking
// the store through the SCIM API at each step.
func TestGroupsBrowser(t *testing.T) { browserStores(t, walkGroupsInBrowser) }

func walkGroupsInBrowser(t *testing.T, e *env) {
	ada := e.createCustomer("ada@example.com", "Ada", "Lovelace")
	adam := e.createCustomer("adam@example.com", "Adam", "Smith")
	for _, name := range []string{"Administrators", "Beta testers", "Newsletter", "Premium"} {
		e.createGroup(name, ada)
	}
	e.admin("collab@acme.example", resources.RoleCollaborator)
	ctx := newChromium(t, 1000)
	signInChromium(t, ctx, e, "acme", "collab@acme.example")
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	run("create a group",
		chromedp.Navigate(e.srv.URL+"/t/acme/console/groups"),
		chromedp.WaitVisible(chromedp.ID("displayName")),
		chromedp.SendKeys(chromedp.ID("displayName"), "Early access"),
		chromedp.Click(chromedp.CSS("form.new-group button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("ul.tabs")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := idFromURL(t, loc)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "Group “Early access” created") {
		t.Errorf("after creating: flash %q", got)
	}
	if g := e.groupNamed("Early access"); g == nil || g["id"] != id {
		t.Fatalf("after creating: SCIM has %v, want the group %s", g, id)
	}

	run("find and add two customers",
		chromedp.SendKeys(chromedp.ID("q"), "ada"),
		chromedp.Click(chromedp.CSS("form[role=search] button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("add-"+ada)),
		chromedp.Click(chromedp.ID("add-"+ada)),
		chromedp.Click(chromedp.ID("add-"+adam)),
		chromedp.Click(chromedp.CSS("#candidates + button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("td.row-action button")),
		screenshot(t, "group-members"),
	)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "Added 2 customers to “Early access”") {
		t.Errorf("after adding: flash %q", got)
	}
	for _, u := range []string{ada, adam} {
		if gs := e.userGroups(u); !slices.Contains(gs, id) {
			t.Fatalf("after adding: groups of %s %v lack %s", u, gs, id)
		}
	}

	removeAda := `td.row-action form:has(input[name=user][value="` + ada + `"])`
	run("remove a customer",
		chromedp.Click(chromedp.CSS(removeAda+" button")),
		chromedp.WaitNotPresent(chromedp.CSS(removeAda)),
	)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "Removed ada@example.com") {
		t.Errorf("after removing: flash %q", got)
	}
	if gs := e.userGroups(ada); slices.Contains(gs, id) || len(gs) != 4 {
		t.Fatalf("after removing: ada's groups %v, want the 4 others", gs)
	}
	if gs := e.userGroups(adam); !slices.Equal(gs, []string{id}) {
		t.Fatalf("after removing ada: adam's groups %v, want [%s]", gs, id)
	}

	run("rename the group",
		chromedp.Click(chromedp.CSS("ul.tabs li:first-child a")),
		chromedp.WaitVisible(chromedp.CSS("input#displayName[value='Early access']")),
		chromedp.Clear(chromedp.ID("displayName")),
		chromedp.SendKeys(chromedp.ID("displayName"), "Preview"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]:not(.link)")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if got := textOf(t, ctx, "h1"); got != "Preview" {
		t.Errorf("after renaming: heading %q", got)
	}
	if g := e.groupNamed("Preview"); g == nil || g["id"] != id {
		t.Fatalf("after renaming: SCIM has %v", g)
	}

	run("type a wrong name to delete",
		chromedp.Click(chromedp.CSS("a.button.danger")),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "preview"),
		chromedp.Click(chromedp.CSS("button.danger")),
		chromedp.WaitVisible(chromedp.ID("confirm-error")),
		screenshot(t, "group-delete"),
	)
	if e.groupNamed("Preview") == nil {
		t.Fatal("a wrong typed name deleted the group")
	}
	run("type the right name to delete",
		chromedp.Clear(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "Preview"),
		chromedp.Click(chromedp.CSS("button.danger")),
		chromedp.WaitVisible(chromedp.ID("new-group")),
		screenshot(t, "groups-list"),
	)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "Group “Preview” deleted") {
		t.Errorf("after deleting: flash %q", got)
	}
	if status, _ := e.groupAttr(id, "displayName"); status != 404 {
		t.Errorf("after deleting: GET /Groups/%s = %d, want 404", id, status)
	}
	if gs := e.userGroups(ada); len(gs) != 4 {
		t.Errorf("after deleting: ada's groups %v, want the 4 others", gs)
	}
	if gs := e.userGroups(adam); len(gs) != 0 {
		t.Errorf("after deleting: adam's groups %v, want none (and adam kept)", gs)
	}
}
