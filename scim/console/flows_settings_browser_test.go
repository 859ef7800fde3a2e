package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestFlowsSettingsBrowser walks the owners' Settings in Chromium on both
// stores. As an owner: self-registration on and off; API tokens refused
// for a bad and a taken name, created, used, listed with their last use and
// revoked; administrators (the last owner's demotion and removal refused,
// an invalid and a taken address refused, an invitation resent, a role
// changed, a removal); the audit trail paged and filtered by actor,
// resource type and id. As a collaborator: every settings page and every
// owners' form, forged from the page with the session's CSRF token, is
// refused with 403 and changes nothing.
func TestFlowsSettingsBrowser(t *testing.T) {
	inBrowser(t, func(t *testing.T, b *tab) {
		if b.role == resources.RoleOwner {
			walkSettingsAsOwner(t, b)
		} else {
			forgeSettingsAsCollaborator(t, b)
		}
	})
}

func walkSettingsAsOwner(t *testing.T, b *tab) {
	boss := b.e.adminByEmail(b.email)

	t.Run("self-registration", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		toggle := `form[action$="/settings/registration"] button`
		b.open("settings")
		b.submit("turn self-registration on", toggle)
		if !e.orgSettings().SelfRegistration {
			t.Errorf("self-registration is off in the store after turning it on")
		}
		if l := b.value("registration-link"); !strings.HasPrefix(l, e.srv.URL+"/t/acme/accounts/") {
			t.Errorf("the registration link to share is %q", l)
		}
		b.submit("turn self-registration off", toggle)
		if e.orgSettings().SelfRegistration {
			t.Errorf("self-registration is on in the store after turning it off")
		}
		if n := b.count("#registration-link"); n != 0 {
			t.Errorf("the registration link shows while self-registration is off")
		}
	})

	t.Run("tokens", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		create := `form[action$="/settings/tokens"] button[type=submit]`
		before := e.tokenNames()
		b.open("settings/tokens")
		for _, bad := range []struct{ name, want string }{
			{"okta prod", "no spaces"},
			{"owner", "already a token"},
		} {
			b.fill("token-name", bad.name)
			b.choose("token-role", "reader")
			b.submit("create the token "+bad.name, create)
			b.errorShown("token-name", bad.want)
			if v := b.value("token-name"); v != bad.name {
				t.Errorf("the refused name %q comes back as %q", bad.name, v)
			}
			if n := b.count("#token-secret"); n != 0 {
				t.Errorf("a secret shows after the refused name %q", bad.name)
			}
		}
		if got := e.tokenNames(); !equal(got, before) {
			t.Errorf("tokens after refused forms = %v, want %v", got, before)
		}

		b.fill("token-name", "okta-prod")
		b.choose("token-role", "reader")
		b.submit("create a token", create)
		secret := b.value("token-secret")
		if u := b.value("scim-url"); u != e.srv.URL+"/scim/v2" {
			t.Errorf("the SCIM base URL shown is %q", u)
		}
		if got := e.tokenNames(); !slices.Contains(got, "okta-prod reader") {
			t.Errorf("tokens after creating = %v, want okta-prod reader among them", got)
		}
		if status, _ := e.scimAs(secret, "GET", "/Users", nil); status != http.StatusOK {
			t.Errorf("GET /Users with the new reader token = %d", status)
		}
		if status, _ := e.scimAs(secret, "POST", "/Users", map[string]any{"userName": "nope@example.com"}); status != http.StatusForbidden {
			t.Errorf("POST /Users with the new reader token = %d, want 403", status)
		}
		b.open("settings/tokens")
		row := b.rowOf("okta-prod")
		if !strings.Contains(row, "reader") || strings.Contains(row, "never") {
			t.Errorf("the list shows okta-prod as %q, want its role and a last use", row)
		}
		if strings.Contains(b.html(), secret) {
			t.Errorf("the tokens list shows the secret")
		}

		b.submit("revoke", `a[href$="revoke?name=okta-prod"]`)
		b.submit("confirm the revocation", `form[action$="/tokens/revoke"] button.danger`)
		b.shows(".flash", "okta-prod")
		if got := e.tokenNames(); !equal(got, before) {
			t.Errorf("tokens after revoking = %v, want %v", got, before)
		}
		if b.rowOf("okta-prod") != "" {
			t.Errorf("the list still shows okta-prod")
		}
		if status, _ := e.scimAs(secret, "GET", "/Users", nil); status != http.StatusUnauthorized {
			t.Errorf("GET /Users with the revoked token = %d, want 401", status)
		}
	})

	t.Run("administrators", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		before := e.adminEmails()
		// The last owner can be neither demoted nor removed.
		b.open("settings/admins")
		b.choose("role-"+boss.ID, "collaborator")
		b.submit("demote the last owner", `form[action$="/admins/`+boss.ID+`/role"] button`)
		b.shows(".alert", "last owner")
		b.open("settings/admins/" + boss.ID + "/remove")
		b.shows("main", "This is you")
		b.submit("remove the last owner", `main form button.danger`)
		b.shows(".alert", "last owner")
		if got := e.adminEmails(); !equal(got, before) {
			t.Errorf("administrators after the last owner's demotion and removal = %v, want %v", got, before)
		}
		if _, _, err := e.admins.Session(context.Background(), "acme", b.session()); err != nil {
			t.Errorf("the last owner's session after the refusals: %v", err)
		}

		invite := `form[action$="/settings/admins"] button[type=submit]`
		for _, bad := range []struct{ email, want string }{
			{"newcomer at acme.com", "email address"},
			{strings.ToUpper(b.email), "already an administrator"},
		} {
			b.fill("invite-email", bad.email)
			b.submit("invite "+bad.email, invite)
			b.errorShown("invite-email", bad.want)
			if v := b.value("invite-email"); v != bad.email {
				t.Errorf("the refused address %q comes back as %q", bad.email, v)
			}
		}
		if got := e.adminEmails(); !equal(got, before) {
			t.Errorf("administrators after refused invitations = %v, want %v", got, before)
		}

		const newcomer = "newcomer@acme.com"
		mails := len(e.mail.Messages())
		b.fill("invite-email", newcomer)
		b.choose("invite-role", "collaborator")
		b.submit("invite", invite)
		b.shows(".flash", newcomer)
		if !strings.Contains(b.rowOf(newcomer), "invited") {
			t.Errorf("the newcomer's row: %q", b.rowOf(newcomer))
		}
		ad := e.adminByEmail(newcomer)
		if ad.Role != resources.RoleCollaborator || ad.HasPassword {
			t.Errorf("the newcomer in the store: %+v, want an invited collaborator", ad)
		}
		b.submit("resend the invitation", `form[action$="/admins/`+ad.ID+`/resend"] button`)
		b.shows(".flash", newcomer)
		if got := e.mail.Messages(); len(got) != mails+2 || got[mails].To != newcomer || got[mails+1].To != newcomer {
			t.Errorf("%d messages after inviting and resending, want 2 to %s", len(got)-mails, newcomer)
		}

		b.choose("role-"+ad.ID, "owner")
		b.submit("make the newcomer an owner", `form[action$="/admins/`+ad.ID+`/role"] button`)
		b.shows(".flash", newcomer)
		if r := e.adminByEmail(newcomer).Role; r != resources.RoleOwner {
			t.Errorf("the newcomer's role after the change: %s", r)
		}
		b.submit("remove the newcomer", `a[href$="/admins/`+ad.ID+`/remove"]`)
		b.submit("confirm the removal", `main form button.danger`)
		b.shows(".flash", newcomer)
		if got := e.adminEmails(); !equal(got, before) {
			t.Errorf("administrators after the removal = %v, want %v", got, before)
		}
		if b.rowOf(newcomer) != "" {
			t.Errorf("the list still shows the newcomer")
		}
	})

	t.Run("audit trail", func(t *testing.T) {
		b := b.on(t)
		e := b.e
		for i := range 51 {
			e.plainCustomer(fmt.Sprintf("audit%02d@example.com", i))
		}
		changes, err := e.store.Changes(context.Background(), "acme", 1000)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		// count is how many entries of the store match.
		count := func(match func(resources.Change) bool) int {
			n := 0
			for _, c := range changes {
				if match(c) {
					n++
				}
			}
			return n
		}
		rows := `table.audit tbody tr`
		b.open("settings/audit")
		if n := b.count(rows); n != 50 {
			t.Errorf("the audit trail's first page has %d entries, want 50 (of %d)", n, len(changes))
		}
		if w := b.texts(rows + ` td[data-label="Who"]`); len(w) == 0 || w[0] != "API token owner" {
			t.Errorf("the newest entry's actor: %q, want the owner token's", w)
		}
		b.submit("older entries", `a[rel="next"]`)
		if n := b.count(rows); n != min(50, len(changes)-50) {
			t.Errorf("the audit trail's second page has %d entries, want %d", n, min(50, len(changes)-50))
		}
		b.submit("newest entries", `nav.pager a:not([rel])`)
		if n := b.count(rows); n != 50 {
			t.Errorf("back to the newest entries: %d, want 50", n)
		}

		filter := func(who, typ, id string) {
			b.t.Helper()
			b.open("settings/audit")
			b.choose("audit-who", who)
			b.choose("audit-type", typ)
			b.fill("audit-id", id)
			b.submit("filter the audit trail", `form.filters button[type=submit]`)
		}
		// each fails unless every shown entry's column says want.
		each := func(column, want string) {
			b.t.Helper()
			for _, s := range b.texts(rows + ` td[data-label="` + column + `"]`) {
				if !strings.HasPrefix(s, want) {
					t.Errorf("filtered audit entry's %s: %q, want %q", column, s, want)
				}
			}
		}
		filter(resources.AdminActor(boss.ID), "", "")
		if n, want := b.count(rows), count(func(c resources.Change) bool { return c.Who == resources.AdminActor(boss.ID) }); n != want || n == 0 {
			t.Errorf("entries by %s: %d shown, the store has %d", b.email, n, want)
		}
		each("Who", b.email)
		filter("", resources.TypeToken, "")
		if n, want := b.count(rows), count(func(c resources.Change) bool { return c.Type == resources.TypeToken }); n != want || n == 0 {
			t.Errorf("entries about API tokens: %d shown, the store has %d", n, want)
		}
		each("Resource", "API token")
		filter("", "", "okta-prod")
		if n := b.count(rows); n != 2 {
			t.Errorf("entries about okta-prod: %d, want its creation and revocation", n)
		}
		each("Resource", "API token okta-prod")
		b.submit("clear the filter", `form.filters a`)
		if n := b.count(rows); n != 50 {
			t.Errorf("after clearing the filter: %d entries, want 50", n)
		}
	})
}

// forgeSettingsAsCollaborator: a collaborator has no Settings in the
// navigation; each settings page answers 403 "Owners only"; each owners'
// form, sent from the page with the session's CSRF token (by a script, and
// once as a form injected into the page), is refused with 403, and the
// store's administrators, tokens, settings and change log, and the mail
// sent, stay as they were.
func forgeSettingsAsCollaborator(t *testing.T, b *tab) {
	e := b.e
	ctx := context.Background()
	owner := e.adminByEmail(string(resources.RoleOwner) + "@acme.com")
	me := e.adminByEmail(b.email)
	pending, err := e.admins.Invite(ctx, "acme", resources.Admin{}, "pending@acme.com", resources.RoleCollaborator)
	if err != nil {
		t.Fatalf("invite: %v", err)
	}

	b.open("users")
	for _, s := range b.texts("header nav a") {
		if strings.Contains(s, "Settings") {
			t.Errorf("a collaborator's navigation shows %q", s)
		}
	}
	changes := func() int {
		t.Helper()
		cs, err := e.store.Changes(ctx, "acme", 1000)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		return len(cs)
	}
	admins, tokens, settings, log, mails := e.adminEmails(), e.tokenNames(), e.orgSettings(), changes(), len(e.mail.Messages())

	for _, path := range []string{"settings", "settings/tokens", "settings/tokens/revoke?name=owner", "settings/admins",
		"settings/admins/" + owner.ID + "/remove", "settings/audit?who=" + url.QueryEscape(resources.AdminActor(owner.ID))} {
		if a := b.forge("GET", path, nil); a.Status != http.StatusForbidden || !strings.Contains(a.Body, "Owners only") {
			t.Errorf("GET %s as a collaborator = %d, want 403 Owners only", path, a.Status)
		}
	}
	b.open("settings/audit")
	b.shows("h1", "Owners only")
	if strings.Contains(b.text("main"), owner.Email) {
		t.Errorf("the refused audit trail shows the owner's email")
	}

	forms := []struct {
		path string
		form url.Values
	}{
		{"settings/name", url.Values{"displayName": {"Forged Inc."}}},
		{"settings/registration", url.Values{"selfRegistration": {"on"}}},
		{"settings/onboarding", url.Values{"onboarding": {resources.OnboardingNone}}},
		{"settings/usernames", url.Values{"userNameFormat": {"any"}}},
		{"settings/substring-search", url.Values{"substringSearch": {"userName"}}},
		{"settings/tokens", url.Values{"name": {"forged"}, "role": {"owner"}}},
		{"settings/tokens/revoke", url.Values{"name": {"owner"}}},
		{"settings/admins", url.Values{"email": {"forged@acme.com"}, "role": {"owner"}}},
		{"settings/admins/" + me.ID + "/role", url.Values{"role": {"owner"}}},
		{"settings/admins/" + owner.ID + "/role", url.Values{"role": {"collaborator"}}},
		{"settings/admins/" + owner.ID + "/remove", nil},
		{"settings/admins/" + pending.ID + "/resend", nil},
	}
	b.open("users")
	for _, f := range forms {
		a := b.forge("POST", f.path, f.form)
		if a.Status != http.StatusForbidden || !strings.Contains(a.Body, "Owners only") {
			t.Errorf("POST %s as a collaborator = %d, want 403 Owners only", f.path, a.Status)
		}
		if tokenSecretRE.MatchString(a.Body) {
			t.Errorf("POST %s as a collaborator shows a token secret", f.path)
		}
	}
	if st := b.injectForm("settings/tokens", url.Values{"name": {"injected"}, "role": {"owner"}}); st != http.StatusForbidden {
		t.Errorf("a form injected into the page to create a token: status %d, want 403", st)
	}
	b.shows("h1", "Owners only")
	if n := b.count("#token-secret"); n != 0 {
		t.Errorf("the injected form's answer shows a secret")
	}

	if got := e.adminEmails(); !equal(got, admins) {
		t.Errorf("administrators after forged forms = %v, want %v", got, admins)
	}
	if got := e.tokenNames(); !equal(got, tokens) {
		t.Errorf("tokens after forged forms = %v, want %v", got, tokens)
	}
	if got := e.orgSettings(); got != settings {
		t.Errorf("settings after forged forms = %+v, want %+v", got, settings)
	}
	if got := changes(); got != log {
		t.Errorf("%d change-log entries written by forged forms, want none", got-log)
	}
	if got := len(e.mail.Messages()); got != mails {
		t.Errorf("%d messages sent by forged forms, want none", got-mails)
	}
	if r := e.adminByEmail(b.email).Role; r != resources.RoleCollaborator {
		t.Errorf("the collaborator is now %s", r)
	}
}

// rowOf is the text of the first table row of the page that contains
// key, "" when none does.
func (b *tab) rowOf(key string) string {
	b.t.Helper()
	for _, r := range b.texts("tbody tr") {
		if strings.Contains(r, key) {
			return r
		}
	}
	return ""
}
