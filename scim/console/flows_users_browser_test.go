package console_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestFlowsUsersBrowser walks Manage > Users in Chromium as an owner and as
// a collaborator, on both stores: the list with its paging and searches;
// the New customer wizard refusing an invalid address, a weak password and
// a taken email, then finishing with a temporary password and a group, and
// with an invitation; the customer's page (a stale name edit from a second
// browser, the Groups tab assigning and unassigning, a password reset and a
// resent invitation, disabling and enabling); and the deletion refusing a
// wrong username.
func TestFlowsUsersBrowser(t *testing.T) { inBrowser(t, walkUsers) }

func walkUsers(t *testing.T, b *tab) {
	e, p := b.e, string(b.role)
	jane := e.createCustomer(p+".jane@example.com", "Jane", "Doe")
	readers, writers := e.createGroup(p+" readers", jane), e.createGroup(p+" writers")
	for i := range 26 {
		e.namedCustomer(fmt.Sprintf("%s.page%02d@example.com", p, i), "Pat", fmt.Sprintf("%s%02d", p, i))
	}

	t.Run("list", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("users")
		total := e.userCount()
		rows := b.texts("tbody tr td:first-child")
		if len(rows) != 25 || rows[0] != p+".page25@example.com" {
			t.Errorf("the list's first page: %d rows from %q, want 25, newest (%s.page25) first", len(rows), rows, p)
		}
		b.shows("nav.pager", fmt.Sprintf("1–25 of %d", total))
		b.submit("the next page", `a[rel="next"]`)
		if n := b.count("tbody tr"); n != min(25, total-25) {
			t.Errorf("the list's second page has %d rows, want %d", n, min(25, total-25))
		}
		b.shows("nav.pager", fmt.Sprintf("26–%d of %d", min(50, total), total))
	})

	t.Run("search", func(t *testing.T) {
		b := b.on(t)
		search := func(q string) []string {
			b.t.Helper()
			b.open("users")
			b.fill("q", q)
			b.submit("search "+q, `form[role=search] button[type=submit]`)
			return b.texts("tbody tr td:first-child")
		}
		// By the start of the email: newest first, paged.
		rows := search(p + ".page")
		if len(rows) != 25 || rows[0] != p+".page25@example.com" || rows[24] != p+".page01@example.com" {
			t.Errorf("search %s.page: %q, want page25 to page01", p, rows)
		}
		b.shows("nav.pager", "1–25 of 26")
		b.submit("the search's next page", `a[rel="next"]`)
		if rows := b.texts("tbody tr td:first-child"); !slices.Equal(rows, []string{p + ".page00@example.com"}) {
			t.Errorf("the search's second page: %q, want page00 only", rows)
		}
		if q := b.value("q"); q != p+".page" {
			t.Errorf("the search box on page 2 holds %q", q)
		}
		// By first and last name.
		if rows := search("Pat " + p + "07"); !slices.Equal(rows, []string{p + ".page07@example.com"}) {
			t.Errorf("search by first and last name: %q, want page07 only", rows)
		}
		// A row: email, name, state in words, number of groups, created.
		search(p + ".jane")
		cells := b.texts("tbody tr:first-child td")
		if len(cells) != 5 || cells[0] != p+".jane@example.com" || cells[1] != "Jane Doe" || cells[2] != "Must change password" || cells[3] != "1" || cells[4] == "" {
			t.Errorf("jane's row: %q", cells)
		}
		if rows := search(p + ".nobody"); len(rows) != 0 {
			t.Errorf("a search matching nobody lists %q", rows)
		}
	})

	ada := p + ".ada@example.com"
	var adaID string
	t.Run("new customer refused", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		before := e.userCount()
		next := `main form[method=post] button[type=submit]`
		b.open("users/new")
		b.fill("email", "ada at example.com")
		b.fill("givenName", "Ada")
		b.fill("familyName", "Lovelace")
		b.submit("an invalid address", next)
		b.errorShown("email", "email address")
		if g, f, m := b.value("givenName"), b.value("familyName"), b.value("email"); g != "Ada" || f != "Lovelace" || m != "ada at example.com" {
			t.Errorf("after an invalid address the form holds %q %q %q, want what was typed", m, g, f)
		}

		b.fill("email", ada)
		b.click("#method-temporaryPassword")
		b.fill("password", "password1")
		b.submit("a weak password", next)
		b.errorShown("password", "password")
		if m, pw := b.value("email"), b.value("password"); m != ada || pw != "" {
			t.Errorf("after a weak password the form holds email %q and password %q, want the email kept and the password not", m, pw)
		}
		if !eval[bool](b, `document.getElementById("method-temporaryPassword").checked`) {
			t.Errorf("after a weak password the method is no longer the temporary password")
		}
		if strings.Contains(b.html(), "password1") {
			t.Errorf("the refused password is in the page")
		}

		b.fill("email", p+".jane@example.com")
		b.click("#method-invite")
		b.submit("a taken email", next)
		b.errorShown("email", "already exists")
		if got := e.userCount(); got != before {
			t.Errorf("%d customers after refused forms, want %d", got, before)
		}
		if e.userByName(ada) != "" {
			t.Errorf("a refused form created %s", ada)
		}
	})

	const temporary = "violet-kettle-harbor-9317"
	t.Run("new customer with a temporary password", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("users/new")
		b.fill("email", ada)
		b.fill("givenName", "Ada")
		b.fill("familyName", "Lovelace")
		b.click("#method-temporaryPassword")
		b.fill("password", temporary)
		b.submit("next", `main form[method=post] button[type=submit]`)
		b.click("#group-" + readers)
		b.submit("finish", `button[value="finish"]`)
		b.shows(".flash", "Temporary password set; the customer must change it at first sign-in")
		if strings.Contains(b.html(), temporary) {
			t.Errorf("the temporary password is in the customer's page")
		}
		adaID = e.userByName(ada)
		u := e.user(adaID)
		if u == nil {
			t.Fatalf("no customer %s after Finish", ada)
		}
		if s := customerExt(u)["accountState"]; s != schemas.AccountStatePasswordChangeRequired {
			t.Errorf("%s's accountState = %v, want %s", ada, s, schemas.AccountStatePasswordChangeRequired)
		}
		if g, f := names(u); g != "Ada" || f != "Lovelace" {
			t.Errorf("%s's name = %q %q", ada, g, f)
		}
		if gs := e.userGroups(adaID); !slices.Equal(gs, []string{readers}) {
			t.Errorf("%s's groups = %v, want %s readers", ada, gs, p)
		}
	})
	if adaID == "" {
		t.Fatal("no customer to go on with")
	}

	t.Run("new customer with a generated password", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		cy := p + ".cy@example.com"
		b.open("users/new")
		b.fill("email", cy)
		b.fill("givenName", "Cy")
		b.fill("familyName", "Young")
		b.click("#method-temporaryPassword")
		b.click(`button[data-generate="password"]`)
		generated := b.value("password")
		if !regexp.MustCompile(`^([a-hjkmnp-z2-9]{4}-){3}[a-hjkmnp-z2-9]{4}$`).MatchString(generated) {
			t.Errorf("Generate filled the password field with %q, want four groups of four letters and digits, as the page's suggestion", generated)
		}
		if !eval[bool](b, `document.getElementById("password").type === "text"`) {
			t.Errorf("after Generate the password is not shown to copy")
		}
		b.shows("#password-generated", "generated")
		b.submit("next", `main form[method=post] button[type=submit]`)
		b.submit("finish", `button[value="finish"]`)
		b.shows(".flash", "Temporary password set")
		if strings.Contains(b.html(), generated) {
			t.Errorf("the generated password is in the customer's page")
		}
		if _, err := resources.NewUsers(e.store).Authenticate(context.Background(), "acme", cy, resources.Secret(generated)); err != nil {
			t.Errorf("%s cannot sign in with the generated password: %v", cy, err)
		}
	})

	bob := p + ".bob@example.com"
	t.Run("new customer invited", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		mails := len(e.mail.Messages())
		b.open("users/new")
		b.fill("email", bob)
		b.fill("givenName", "Bob")
		b.fill("familyName", "Stone")
		b.click("#method-invite")
		b.submit("next", `main form[method=post] button[type=submit]`)
		b.submit("finish without groups", `button[value="finish"]`)
		b.shows(".flash", "Invitation sent to "+bob)
		b.shows("dd.state", "Invited")
		u := e.user(e.userByName(bob))
		if u == nil {
			t.Fatalf("no customer %s after Finish", bob)
		}
		if s := customerExt(u)["accountState"]; s != schemas.AccountStatePendingInvitation {
			t.Errorf("%s's accountState = %v, want %s", bob, s, schemas.AccountStatePendingInvitation)
		}
		if gs, _ := u["groups"].([]any); len(gs) != 0 {
			t.Errorf("%s's groups = %v, want none", bob, gs)
		}
		if got := e.mail.Messages(); len(got) != mails+1 || got[mails].To != bob {
			t.Errorf("%d messages after inviting, want 1 to %s", len(got)-mails, bob)
		}
	})
	saveName := `main form[action$="/users/` + adaID + `"] button[type=submit]`

	t.Run("stale edit", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("users/" + adaID)
		// A second administrator, in a browser of their own, saves first.
		other := e.signedIn(t, "second-"+p+"@acme.com", resources.RoleCollaborator)
		other.open("users/" + adaID)
		other.fill("givenName", "Augusta")
		other.submit("save in the second browser", saveName)
		other.shows(".flash", "Name saved")

		b.fill("familyName", "King")
		b.submit("save a stale form", saveName)
		b.shows(".alert", "changed by someone else")
		b.shows("main", "King")
		if g, f := b.value("givenName"), b.value("familyName"); g != "Augusta" || f != "Lovelace" {
			t.Errorf("the stale form shows %q %q, want the current Augusta Lovelace", g, f)
		}
		if g, f := names(e.user(adaID)); g != "Augusta" || f != "Lovelace" {
			t.Errorf("after a stale save the store has %q %q, want the other administrator's Augusta Lovelace", g, f)
		}
		// Saved again from the current values, it goes through.
		b.fill("familyName", "King")
		b.submit("save again", saveName)
		b.shows(".flash", "Name saved")
		if g, f := names(e.user(adaID)); g != "Augusta" || f != "King" {
			t.Errorf("after saving again the store has %q %q, want Augusta King", g, f)
		}
	})

	t.Run("groups tab", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("users/" + adaID)
		b.submit("the Groups tab", `.tabs a[href$="/groups"]`)
		b.click("#group-" + writers)
		b.submit("add a group", `form[method=post][action$="/groups"] button[type=submit]`)
		b.shows(".flash", p+" writers")
		if gs := e.userGroups(adaID); len(gs) != 2 || !slices.Contains(gs, readers) || !slices.Contains(gs, writers) {
			t.Errorf("after assigning: groups %v, want readers and writers", gs)
		}
		b.submit("unassign a group", `form[action$="/groups/remove"]:has(input[name=group][value="`+readers+`"]) button`)
		b.shows(".flash", p+" readers")
		if gs := e.userGroups(adaID); !slices.Equal(gs, []string{writers}) {
			t.Errorf("after unassigning: groups %v, want writers only", gs)
		}
		if slices.Contains(e.members(readers), adaID) {
			t.Errorf("%s readers still lists the customer", p)
		}
		if strings.Contains(b.text("main table"), p+" readers") {
			t.Errorf("the Groups tab still lists %s readers: %q", p, b.text("main table"))
		}
	})

	t.Run("password reset and invitation", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		mails := len(e.mail.Messages())
		b.open("users/" + adaID)
		b.submit("send a password reset link", `form[action$="/invitation"] button`)
		b.shows(".flash", ada)
		if got := e.mail.Messages(); len(got) != mails+1 || got[len(got)-1].To != ada {
			t.Errorf("after a password reset: %d messages, the last to %q; want one more, to %s", len(got), e.mail.Last(t).To, ada)
		}
		if s := customerExt(e.user(adaID))["accountState"]; s != schemas.AccountStatePasswordChangeRequired {
			t.Errorf("a password reset changed the accountState to %v", s)
		}

		bobID := e.userByName(bob)
		if bobID == "" {
			t.Fatalf("no customer %s to invite again", bob)
		}
		first := e.mail.Last(t)
		b.open("users/" + bobID)
		b.shows("dd.state", "Invited")
		b.submit("resend the invitation", `form[action$="/invitation"] button`)
		b.shows(".flash", "Invitation sent to "+bob)
		last := e.mail.Last(t)
		if last.To != bob || last.Text == first.Text {
			t.Errorf("after resending: the last message is to %q (a new one: %v), want a new invitation to %s", last.To, last.Text != first.Text, bob)
		}
		if s := customerExt(e.user(bobID))["accountState"]; s != schemas.AccountStatePendingInvitation {
			t.Errorf("after resending the accountState is %v, want %s", s, schemas.AccountStatePendingInvitation)
		}
	})

	t.Run("disable and enable", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("users/" + adaID)
		b.submit("disable", `form[action$="/active"] button`)
		b.shows("dd.state", "Disabled")
		if a := e.user(adaID)["active"]; a != false {
			t.Errorf("after Disable: active = %v", a)
		}
		b.submit("enable", `form[action$="/active"] button`)
		if s := b.text("dd.state"); s == "Disabled" {
			t.Errorf("after Enable the state reads %q", s)
		}
		if a := e.user(adaID)["active"]; a != true {
			t.Errorf("after Enable: active = %v", a)
		}
	})

	t.Run("delete", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		b.open("users/" + adaID)
		b.submit("the deletion page", `a[href$="/delete"]`)
		b.fill("confirm", p+".someone@example.com")
		if !eval[bool](b, `document.getElementById("confirm-delete").disabled`) {
			t.Errorf("Confirm is enabled with another username typed")
		}
		// Sent anyway, as a browser without the page's script would.
		eval[bool](b, `!(document.getElementById("confirm-delete").disabled = false)`)
		b.submit("confirm with a wrong username", "#confirm-delete")
		b.errorShown("confirm", ada)
		if e.user(adaID) == nil {
			t.Fatalf("a wrong username deleted the customer")
		}
		b.fill("confirm", ada)
		b.submit("confirm", "#confirm-delete")
		b.shows(".flash", ada)
		if e.user(adaID) != nil {
			t.Errorf("the customer is still there after Confirm")
		}
		if slices.Contains(e.members(writers), adaID) {
			t.Errorf("%s writers still lists the deleted customer", p)
		}
		if e.user(jane) == nil {
			t.Errorf("another customer is gone")
		}
	})
}
