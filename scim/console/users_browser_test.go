package console_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
)

// TestBrowserUsers walks Manage > Users in Chromium as a collaborator: the
// list, the New customer wizard (a taken email first, then an invitation),
// its groups step, Finish, the customer's page, a name edit, the Groups tab
// and the deletion confirmed by typing the username.
func TestBrowserUsers(t *testing.T) { browserStores(t, walkUsersInBrowser) }

func walkUsersInBrowser(t *testing.T, e *env) {
	ctx := newChromium(t, 1024)
	e.admin("collaborator@acme.com", resources.RoleCollaborator)
	signInChromium(t, ctx, e, "acme", "collaborator@acme.com")
	taken := e.createCustomer("jane.doe@example.com", "Jane", "Doe")
	e.createCustomer("sam.lee@example.com", "Sam", "Lee")
	readers := e.createGroup("Readers", taken)
	e.createGroup("Writers")
	const email = "ada.lovelace@example.com"

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// clear empties a text field, as selecting its text and deleting does.
	clear := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](`document.getElementById(`+strconv.Quote(id)+`).value = ""`)(ctx, target)
			return err
		})
	}
	submit := chromedp.Click(chromedp.CSS("main form[method=post] button[type=submit]"))

	run("the list",
		chromedp.Navigate(e.srv.URL+"/t/acme/console/users"),
		chromedp.WaitVisible(chromedp.CSS("table")),
		screenshot(t, "users-list"),
	)
	if s := textOf(t, ctx, "tbody"); !strings.Contains(s, "jane.doe@example.com") || !strings.Contains(s, "Must change password") {
		t.Errorf("the list shows %q", s)
	}
	// 390 px wide: nothing overflows sideways.
	run("narrow", chromedp.EmulateViewport(390, 844))
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 390 {
		t.Errorf("at 390 px the list is %d px wide (%v)", w, err)
	}
	run("wide", chromedp.EmulateViewport(1024, 900))

	// The wizard, filled in with a temporary password first: its field,
	// hidden while Invite is chosen, shows with the policy and a suggestion.
	hidden := func() bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("password").offsetParent === null`))
		if err != nil {
			t.Fatalf("password visibility: %v", err)
		}
		return v
	}
	run("the form",
		chromedp.Click(chromedp.CSS(`a[href$="/console/users/new"]`)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("givenName"), "Ada"),
		chromedp.SendKeys(chromedp.ID("familyName"), "Lovelace"),
	)
	if !hidden() {
		t.Errorf("the temporary password shows while Invite is chosen")
	}
	run("temporary password method", chromedp.Click(chromedp.ID("method-temporaryPassword")), screenshot(t, "users-new"))
	if hidden() {
		t.Errorf("the temporary password is hidden while its method is chosen")
	}
	// A taken email is shown on the form, focused, the rest kept.
	run("a taken email",
		chromedp.Click(chromedp.ID("method-invite")),
		clear("email"),
		chromedp.SendKeys(chromedp.ID("email"), "jane.doe@example.com"),
		submit,
		chromedp.WaitVisible(chromedp.ID("email-error")),
	)
	if focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || focused != "email" {
		t.Errorf("after a taken email the focus is on %q (%v), want the email field", focused, err)
	}
	if s := textOf(t, ctx, "#email-error"); !strings.Contains(s, "already exists") {
		t.Errorf("email error %q", s)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("givenName"))); err != nil || v != "Ada" {
		t.Errorf("first name after the error: %q (%v), want it kept", v, err)
	}
	run("next",
		clear("email"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		submit,
		chromedp.WaitVisible(chromedp.CSS(`button[value="finish"]`)),
	)
	if s := textOf(t, ctx, ".flash"); !strings.Contains(s, "Invitation sent to "+email) {
		t.Errorf("step 2 flash %q", s)
	}
	id := e.userByName(email)
	if id == "" {
		t.Fatalf("no customer %s after Next", email)
	}
	run("groups step",
		chromedp.Click(chromedp.ID("group-"+readers)),
		screenshot(t, "users-new-groups"),
		chromedp.Click(chromedp.CSS(`button[value="finish"]`)),
		chromedp.WaitVisible(chromedp.ID("givenName")),
		screenshot(t, "user-page"),
	)
	if s := textOf(t, ctx, ".flash"); !strings.Contains(s, "Invitation sent to "+email) || !strings.Contains(s, "Added to the group Readers") {
		t.Errorf("customer page flash %q", s)
	}
	if !slices.Contains(e.members(readers), id) {
		t.Errorf("Readers lacks the new customer")
	}

	// Edit the name.
	run("edit the name",
		clear("givenName"),
		chromedp.SendKeys(chromedp.ID("givenName"), "Augusta Ada"),
		chromedp.Click(chromedp.CSS(`main form[action$="/users/`+id+`"] button`)),
	)
	waitText(t, ctx, ".flash", "Name saved.")
	if g, f := names(e.user(id)); g != "Augusta Ada" || f != "Lovelace" {
		t.Errorf("after editing: %q %q", g, f)
	}

	// The Groups tab.
	run("groups tab",
		chromedp.Click(chromedp.CSS(`.tabs a[href$="/groups"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/groups/remove"]`)),
		screenshot(t, "user-groups"),
	)
	if s := textOf(t, ctx, "main"); !strings.Contains(s, "Readers") || !strings.Contains(s, "already assigned") {
		t.Errorf("groups tab %q", s)
	}

	// Delete: Confirm is disabled until the username is typed exactly.
	run("delete page",
		chromedp.Click(chromedp.CSS(`.tabs a:not([aria-current])`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/delete"]`)),
		chromedp.Click(chromedp.CSS(`a[href$="/delete"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		// user-delete.js is deferred: it runs before the document completes,
		// possibly after the field shows.
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.readyState === "complete"`)(ctx, target)
			return err
		}),
		chromedp.SendKeys(chromedp.ID("confirm"), "ada.lovelace"),
	)
	disabled := func() bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("confirm-delete").disabled`))
		if err != nil {
			t.Fatalf("confirm button: %v", err)
		}
		return v
	}
	if !disabled() {
		t.Errorf("Confirm is enabled before the username is typed whole")
	}
	run("type the username", chromedp.SendKeys(chromedp.ID("confirm"), "@example.com"), screenshot(t, "user-delete"))
	if disabled() {
		t.Errorf("Confirm is disabled with the username typed")
	}
	run("confirm",
		chromedp.Click(chromedp.ID("confirm-delete")),
		chromedp.WaitVisible(chromedp.CSS("table")),
	)
	if s := textOf(t, ctx, ".flash"); s != "Customer "+email+" was deleted." {
		t.Errorf("after deleting: flash %q", s)
	}
	if e.user(id) != nil {
		t.Errorf("customer %s still exists after Confirm", id)
	}
	if st, _ := e.scim("GET", "/Users/"+taken, nil); st != http.StatusOK {
		t.Errorf("another customer is gone: %d", st)
	}
}

// waitText waits until the text of the first element matching css
// contains want, as a page loaded after a click does.
func waitText(t *testing.T, ctx context.Context, css, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(css)+`) || {}).innerText || ""`))
		if err == nil && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s shows %q (%v), want %q", css, s, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
