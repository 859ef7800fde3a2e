package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/webtest"
)

// tokenSecretRE finds a new token's secret in a page.
var tokenSecretRE = regexp.MustCompile(`scimd_[A-Za-z0-9._-]+_[A-Za-z0-9]{46}`)

// adminByEmail returns acme's administrator of email, failing the test when
// there is none.
func (e *env) adminByEmail(email string) resources.Admin {
	e.t.Helper()
	list, err := e.admins.List(context.Background(), "acme")
	if err != nil {
		e.t.Fatalf("Admins.List: %v", err)
	}
	for _, a := range list {
		if strings.EqualFold(a.Email, email) {
			return a
		}
	}
	e.t.Fatalf("no administrator %s among %v", email, list)
	return resources.Admin{}
}

// adminEmails returns acme's administrators as "email role", by email.
func (e *env) adminEmails() []string {
	e.t.Helper()
	list, err := e.admins.List(context.Background(), "acme")
	if err != nil {
		e.t.Fatalf("Admins.List: %v", err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.Email+" "+string(a.Role))
	}
	return out
}

// orgSettings returns acme's settings as the store holds them.
func (e *env) orgSettings() resources.OrgSettings {
	e.t.Helper()
	s, err := e.store.OrgSettings(context.Background(), "acme")
	if err != nil {
		e.t.Fatalf("OrgSettings: %v", err)
	}
	return s
}

// tokenNames returns acme's tokens as "name role", by name.
func (e *env) tokenNames() []string {
	e.t.Helper()
	ts, err := e.store.ListTokens(context.Background(), "acme")
	if err != nil {
		e.t.Fatalf("ListTokens: %v", err)
	}
	var out []string
	for _, t := range ts {
		out = append(out, t.Name+" "+string(t.Role))
	}
	return out
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestSettingsGeneral(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		register := e.srv.URL + "/t/acme/accounts/register"

		p := owner.Get(owner.console("settings")).Must(t, http.StatusOK, "General settings", "Self-registration is off",
			`href="/t/acme/console/settings/tokens"`, `href="/t/acme/console/settings/admins"`, `href="/t/acme/console/settings/audit"`,
			`aria-current="page">General`)
		p.Lacks(t, register)
		if s := owner.Get(register); s.Status != http.StatusNotFound {
			t.Errorf("registration page while off: status %d, want 404", s.Status)
		}

		// The organization's name: shown in the console's bar once saved.
		p = owner.submit("settings/name", url.Values{"displayName": {"  Acme Inc.  "}})
		p.Must(t, http.StatusOK, "The organization is now named “Acme Inc.”.", `<span class="org-name">Acme Inc.</span>`, `value="Acme Inc."`)
		if got := e.orgSettings().DisplayName; got != "Acme Inc." {
			t.Errorf("display name = %q, want Acme Inc.", got)
		}

		// Bad names: shown on the form, kept, nothing changed.
		for _, bad := range []struct{ name, value, want string }{
			{"too long", strings.Repeat("a", resources.MaxOrgDisplayNameLength+1), "at most 100 characters"},
			{"control character", "Acme\x07Inc", "cannot contain control characters"},
		} {
			t.Run(bad.name, func(t *testing.T) {
				p := owner.submit("settings/name", url.Values{"displayName": {bad.value}})
				p.Must(t, http.StatusBadRequest, bad.want, `href="#displayName"`, `aria-invalid="true"`, "autofocus")
				if !strings.Contains(p.Body, `value="`+html.EscapeString(bad.value)) && bad.name == "too long" {
					t.Errorf("the refused name is not kept in the field")
				}
				if got := e.orgSettings().DisplayName; got != "Acme Inc." {
					t.Errorf("display name after a refused name = %q, want Acme Inc.", got)
				}
			})
		}

		// Self-registration on: the link to share is shown, and works.
		p = owner.submit("settings/registration", url.Values{"selfRegistration": {"on"}})
		p.Must(t, http.StatusOK, "Self-registration is on", register, "Turn self-registration off")
		if !e.orgSettings().SelfRegistration {
			t.Errorf("self-registration is off after turning it on")
		}
		owner.Get(register).Must(t, http.StatusOK)

		// A value that is neither on nor off changes nothing.
		owner.submit("settings/registration", url.Values{"selfRegistration": {"maybe"}}).Must(t, http.StatusBadRequest, "Nothing was changed")
		if !e.orgSettings().SelfRegistration {
			t.Errorf("self-registration changed by a refused form")
		}

		p = owner.submit("settings/registration", url.Values{"selfRegistration": {"off"}})
		p.Must(t, http.StatusOK, "Self-registration is off:", "Turn self-registration on").Lacks(t, register)
		if e.orgSettings().SelfRegistration {
			t.Errorf("self-registration is on after turning it off")
		}

		// Clearing the name shows the slug again.
		owner.submit("settings/name", url.Values{"displayName": {""}}).Must(t, http.StatusOK, "name is cleared")
		if got := e.orgSettings().DisplayName; got != "" {
			t.Errorf("display name after clearing = %q, want none", got)
		}

		// A form without its CSRF token changes nothing.
		p = owner.Post(owner.console("settings/name"), url.Values{"displayName": {"Forged"}})
		p.Must(t, http.StatusForbidden)
		if got := e.orgSettings().DisplayName; got != "" {
			t.Errorf("display name after a forged form = %q, want none", got)
		}
	})
}

func TestSettingsCollaboratorForbidden(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		collab := e.admin("helper@acme.com", resources.RoleCollaborator)
		invited := "Invited@acme.com"
		owner.submit("settings/admins", url.Values{"email": {invited}, "role": {"collaborator"}}).Must(t, http.StatusOK)
		boss, pending := e.adminByEmail("boss@acme.com"), e.adminByEmail(invited)
		mails := len(e.mail.Messages())

		// The navigation has no Settings link for a collaborator.
		collab.Get(collab.console("account")).Must(t, http.StatusOK).Lacks(t, `href="/t/acme/console/settings"`)

		beforeAdmins, beforeTokens, beforeSettings := e.adminEmails(), e.tokenNames(), e.orgSettings()
		for _, path := range []string{"settings", "settings/tokens", "settings/tokens/revoke?name=owner", "settings/admins",
			"settings/admins/" + boss.ID + "/remove", "settings/audit"} {
			collab.Get(collab.console(path)).Must(t, http.StatusForbidden, "Owners only")
		}
		for _, f := range []struct {
			path string
			form url.Values
		}{
			{"settings/name", url.Values{"displayName": {"Hijacked"}}},
			{"settings/registration", url.Values{"selfRegistration": {"on"}}},
			{"settings/substring-search", url.Values{"substringSearch": {"userName"}}},
			{"settings/tokens", url.Values{"name": {"stolen"}, "role": {"owner"}}},
			{"settings/tokens/revoke", url.Values{"name": {"owner"}}},
			{"settings/admins", url.Values{"email": {"friend@acme.com"}, "role": {"owner"}}},
			{"settings/admins/" + e.adminByEmail("helper@acme.com").ID + "/role", url.Values{"role": {"owner"}}},
			{"settings/admins/" + boss.ID + "/role", url.Values{"role": {"collaborator"}}},
			{"settings/admins/" + boss.ID + "/remove", nil},
			{"settings/admins/" + pending.ID + "/resend", nil},
		} {
			p := collab.submit(f.path, f.form)
			p.Must(t, http.StatusForbidden, "Owners only")
			if tokenSecretRE.MatchString(p.Body) {
				t.Errorf("POST %s shows a token secret", f.path)
			}
		}
		if got := e.adminEmails(); !equal(got, beforeAdmins) {
			t.Errorf("administrators after forged forms = %v, want %v", got, beforeAdmins)
		}
		if got := e.tokenNames(); !equal(got, beforeTokens) {
			t.Errorf("tokens after forged forms = %v, want %v", got, beforeTokens)
		}
		if got := e.orgSettings(); got != beforeSettings {
			t.Errorf("settings after forged forms = %+v, want %+v", got, beforeSettings)
		}
		if got := len(e.mail.Messages()); got != mails {
			t.Errorf("%d messages sent by forged forms, want none", got-mails)
		}
		// The owner's session still works: nothing ended it.
		owner.Get(owner.console("settings")).Must(t, http.StatusOK)
	})
}

func TestSettingsTokens(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		boss := e.adminByEmail("boss@acme.com")

		p := owner.Get(owner.console("settings/tokens")).Must(t, http.StatusOK, "API tokens", "<th scope=\"row\">owner</th>", "Create token")
		p.Lacks(t, resources.HashToken(webtest.OwnerToken))

		// Created: the secret is in the answer to the form, once, with the
		// SCIM base URL.
		p = owner.submit("settings/tokens", url.Values{"name": {"entra-id"}, "role": {"collaborator"}})
		p.Must(t, http.StatusCreated, "API token created", "only time it is shown", e.srv.URL+"/scim/v2", "Tenant URL", "Okta", `data-copy="token-secret"`)
		secret := tokenSecretRE.FindString(p.Body)
		if secret == "" {
			t.Fatalf("no secret on the created page:\n%s", p.Body)
		}
		if strings.Contains(p.URL, secret) || strings.Contains(fmt.Sprint(p.Header), secret) {
			t.Errorf("the secret is in the URL or a header")
		}
		if got := strings.Count(p.Body, secret); got != 1 {
			t.Errorf("the secret appears %d times on its page, want once", got)
		}
		for _, c := range owner.Client.Jar.Cookies(mustURL(t, e.srv.URL+"/t/acme/console/")) {
			if strings.Contains(c.Value, secret) {
				t.Errorf("cookie %s holds the secret", c.Name)
			}
		}
		if !equal(e.tokenNames(), []string{"entra-id collaborator", "owner owner"}) {
			t.Errorf("tokens = %v", e.tokenNames())
		}

		// The token works against the API, with its role.
		if status, body := e.scimAs(secret, "GET", "/Users", nil); status != http.StatusOK {
			t.Errorf("GET /Users with the new token = %d %v", status, body)
		}
		status, body := e.scimAs(secret, "POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": "jo@example.com"})
		if status != http.StatusCreated {
			t.Errorf("POST /Users with the collaborator token = %d %v", status, body)
		}

		// The list shows it with its last use; never its secret again.
		p = owner.Get(owner.console("settings/tokens")).Must(t, http.StatusOK, `<th scope="row">entra-id</th>`, "collaborator")
		p.Lacks(t, secret, resources.HashToken(resources.Secret(secret)))
		if row := rowOf(p.Body, "entra-id"); strings.Contains(row, "never") {
			t.Errorf("the used token's row says never used: %s", row)
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the logs hold the token's secret")
		}

		// A reader token reads and cannot write.
		p = owner.submit("settings/tokens", url.Values{"name": {"hr.reader"}, "role": {"reader"}}).Must(t, http.StatusCreated)
		reader := tokenSecretRE.FindString(p.Body)
		if status, _ := e.scimAs(reader, "GET", "/Users", nil); status != http.StatusOK {
			t.Errorf("GET /Users with the reader token = %d", status)
		}
		if status, _ := e.scimAs(reader, "POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": "x@example.com"}); status != http.StatusForbidden {
			t.Errorf("POST /Users with the reader token = %d, want 403", status)
		}

		// Bad input: shown on the form, kept, nothing created.
		before := e.tokenNames()
		for _, bad := range []struct {
			name, role string
			status     int
			want       []string
		}{
			{"", "collaborator", http.StatusBadRequest, []string{"Enter a name for the token.", `href="#token-name"`}},
			{"okta prod", "collaborator", http.StatusBadRequest, []string{"no spaces", `value="okta prod"`}},
			{"admin:1", "owner", http.StatusBadRequest, []string{"no spaces", `value="admin:1"`}},
			{strings.Repeat("x", 65), "owner", http.StatusBadRequest, []string{"at most 64"}},
			{"entra-id", "reader", http.StatusConflict, []string{"There is already a token named “entra-id”", `value="entra-id"`}},
			{"okta", "superuser", http.StatusBadRequest, []string{"Choose the token&#39;s role", `href="#token-role"`, `value="okta"`}},
			{"okta", "", http.StatusBadRequest, []string{"Choose the token&#39;s role"}},
		} {
			p := owner.submit("settings/tokens", url.Values{"name": {bad.name}, "role": {bad.role}})
			p.Must(t, bad.status, bad.want...)
			if tokenSecretRE.MatchString(p.Body) {
				t.Errorf("refused token %q: a secret is shown", bad.name)
			}
		}
		if got := e.tokenNames(); !equal(got, before) {
			t.Errorf("tokens after refused forms = %v, want %v", got, before)
		}

		// Revoke: a confirmation page, then the token fails.
		owner.Get(owner.console("settings/tokens/revoke?name=entra-id")).Must(t, http.StatusOK, "Revoke API token “entra-id”?", "Revoke token entra-id", "Cancel")
		owner.submit("settings/tokens/revoke", url.Values{"name": {"entra-id"}}).
			Must(t, http.StatusOK, "API token “entra-id” is revoked").Lacks(t, `<th scope="row">entra-id</th>`)
		if status, _ := e.scimAs(secret, "GET", "/Users", nil); status != http.StatusUnauthorized {
			t.Errorf("GET /Users with the revoked token = %d, want 401", status)
		}
		owner.submit("settings/tokens/revoke", url.Values{"name": {"entra-id"}}).Must(t, http.StatusNotFound, "no API token named “entra-id”")
		owner.Get(owner.console("settings/tokens/revoke?name=nope")).Must(t, http.StatusNotFound, "Token not found")

		// Names a path would clean away are revoked all the same.
		owner.submit("settings/tokens", url.Values{"name": {".."}, "role": {"reader"}}).Must(t, http.StatusCreated)
		owner.Get(owner.console("settings/tokens/revoke?name=..")).Must(t, http.StatusOK, "Revoke token ..")
		owner.submit("settings/tokens/revoke", url.Values{"name": {".."}}).Must(t, http.StatusOK, "API token “..” is revoked")

		// The audit trail has the console's token changes, by the owner.
		want := []string{resources.AdminActor(boss.ID) + " create", resources.AdminActor(boss.ID) + " delete"}
		if got := e.changeLog("entra-id"); !equal(got, want) {
			t.Errorf("change log of entra-id = %v, want %v", got, want)
		}
		if strings.Contains(e.logs.String(), secret) || strings.Contains(e.logs.String(), reader) {
			t.Errorf("the logs hold a token's secret")
		}
	})
}

// rowOf returns the table row of a page whose header cell is name.
func rowOf(body, name string) string {
	i := strings.Index(body, `<th scope="row">`+name)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</tr>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSettingsAdmins(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		helper := e.admin("helper@acme.com", resources.RoleCollaborator)
		boss := e.adminByEmail("boss@acme.com")

		p := owner.Get(owner.console("settings/admins")).Must(t, http.StatusOK, "Administrators", "boss@acme.com", "(you)", "helper@acme.com", "Send invitation")
		if row := rowOf(p.Body, "boss@acme.com"); !strings.Contains(row, "active") || strings.Contains(row, "Resend invitation") {
			t.Errorf("the owner's row: %s", row)
		}

		// Invite: mail, listed as invited, accept through the mail.
		p = owner.submit("settings/admins", url.Values{"email": {"new@acme.com"}, "role": {"collaborator"}})
		p.Must(t, http.StatusOK, "Invitation sent to new@acme.com")
		if row := rowOf(p.Body, "new@acme.com"); !strings.Contains(row, "invited") || !strings.Contains(row, "Resend invitation") {
			t.Errorf("the invited administrator's row: %s", row)
		}
		m := e.mail.Last(t)
		if m.To != "new@acme.com" {
			t.Errorf("invitation to %q, want new@acme.com", m.To)
		}
		first := inviteLinkRE.FindString(m.Text)

		// Resend: another mail with another link; both work until used.
		p = owner.submit("settings/admins/"+e.adminByEmail("new@acme.com").ID+"/resend", nil).Must(t, http.StatusOK, "A new invitation is on its way to new@acme.com")
		if m := e.mail.Last(t); m.To != "new@acme.com" || inviteLinkRE.FindString(m.Text) == first {
			t.Errorf("resent invitation: to %q, same link %v", m.To, inviteLinkRE.FindString(m.Text) == first)
		}
		newcomer := e.browser()
		newcomer.org = "acme"
		acc := newcomer.Get(inviteLinkRE.FindString(e.mail.Last(t).Text)).Must(t, http.StatusOK, "new@acme.com")
		newcomer.Post(strings.TrimPrefix(acc.URL, e.srv.URL), url.Values{"csrf": {acc.Hidden(t, "csrf")},
			"password": {adminPassword}, "confirm": {adminPassword}}).Must(t, http.StatusOK)
		if a := e.adminByEmail("new@acme.com"); !a.HasPassword || a.Role != resources.RoleCollaborator {
			t.Errorf("after accepting: %+v", a)
		}
		p = owner.Get(owner.console("settings/admins"))
		if row := rowOf(p.Body, "new@acme.com"); !strings.Contains(row, "active") || strings.Contains(row, "Resend invitation") {
			t.Errorf("the accepted administrator's row: %s", row)
		}
		// Resending to someone with a password is refused on the list.
		owner.submit("settings/admins/"+e.adminByEmail("new@acme.com").ID+"/resend", nil).Must(t, http.StatusConflict, "already chosen a password", "Nothing was changed")

		// Bad invitations: on the form, kept, nothing created or sent.
		before, mails := e.adminEmails(), len(e.mail.Messages())
		for _, bad := range []struct {
			email, role string
			status      int
			want        []string
		}{
			{"", "collaborator", http.StatusBadRequest, []string{"Enter the email address", `href="#invite-email"`}},
			{"not-an-address", "collaborator", http.StatusBadRequest, []string{"Enter an email address such as", `value="not-an-address"`}},
			{"HELPER@acme.com", "owner", http.StatusConflict, []string{"HELPER@acme.com is already an administrator", `value="HELPER@acme.com"`}},
			{"third@acme.com", "reader", http.StatusBadRequest, []string{"Choose a role", `href="#invite-role"`, `value="third@acme.com"`}},
		} {
			owner.submit("settings/admins", url.Values{"email": {bad.email}, "role": {bad.role}}).Must(t, bad.status, bad.want...)
		}
		if got := e.adminEmails(); !equal(got, before) {
			t.Errorf("administrators after refused invitations = %v, want %v", got, before)
		}
		if got := len(e.mail.Messages()); got != mails {
			t.Errorf("%d messages sent by refused invitations", got-mails)
		}

		// The last owner can be neither demoted nor removed.
		owner.submit("settings/admins/"+boss.ID+"/role", url.Values{"role": {"collaborator"}}).
			Must(t, http.StatusConflict, html.EscapeString(resources.ErrLastOwner.Detail))
		owner.Get(owner.console("settings/admins/"+boss.ID+"/remove")).Must(t, http.StatusOK, "This is you.", "Remove boss@acme.com")
		owner.submit("settings/admins/"+boss.ID+"/remove", nil).Must(t, http.StatusConflict, html.EscapeString(resources.ErrLastOwner.Detail))
		if got := e.adminByEmail("boss@acme.com"); got.Role != resources.RoleOwner {
			t.Errorf("the last owner's role = %s, want owner", got.Role)
		}
		owner.Get(owner.console("settings")).Must(t, http.StatusOK)

		// A bad role changes nothing.
		h := e.adminByEmail("helper@acme.com")
		owner.submit("settings/admins/"+h.ID+"/role", url.Values{"role": {"reader"}}).Must(t, http.StatusBadRequest, "Choose a role")
		owner.submit("settings/admins/no-such-id/role", url.Values{"role": {"owner"}}).Must(t, http.StatusNotFound)

		// Promote the helper: they reach the settings at their next request.
		owner.submit("settings/admins/"+h.ID+"/role", url.Values{"role": {"owner"}}).Must(t, http.StatusOK, "helper@acme.com is now an owner.")
		if got := e.adminByEmail("helper@acme.com").Role; got != resources.RoleOwner {
			t.Errorf("helper's role = %s, want owner", got)
		}
		helper.Get(helper.console("settings")).Must(t, http.StatusOK, "General settings")

		// Now boss may step down; the console leads them out of the settings.
		p = owner.submit("settings/admins/"+boss.ID+"/role", url.Values{"role": {"collaborator"}})
		p.Must(t, http.StatusOK, "You are now a collaborator")
		owner.Get(owner.console("settings")).Must(t, http.StatusForbidden)

		// Removing an administrator signs their browser out.
		newcomerID := e.adminByEmail("new@acme.com").ID
		helper.Get(helper.console("settings/admins/"+newcomerID+"/remove")).Must(t, http.StatusOK, "Remove new@acme.com", "signed out at once")
		helper.submit("settings/admins/"+newcomerID+"/remove", nil).Must(t, http.StatusOK, "new@acme.com is removed").Lacks(t, "new@acme.com</th>")
		if got := e.adminEmails(); !equal(got, []string{"boss@acme.com collaborator", "helper@acme.com owner"}) {
			t.Errorf("administrators after the removal = %v", got)
		}
		p = newcomer.Get(newcomer.console("account"))
		if !strings.Contains(p.URL, "/console/signin") {
			t.Errorf("the removed administrator's browser reached %s, want the sign-in page", p.URL)
		}
		newcomer.submit("account/password", url.Values{"current": {adminPassword}, "password": {"another good passphrase"}, "confirm": {"another good passphrase"}}).
			Must(t, http.StatusUnauthorized)
		owner.submit("settings/admins/"+newcomerID+"/remove", nil).Must(t, http.StatusForbidden) // boss is a collaborator now
		helper.submit("settings/admins/"+newcomerID+"/remove", nil).Must(t, http.StatusNotFound, "no longer in the organization")

		// The audit trail names the owners who did it, by email.
		want := []string{resources.AdminActor(boss.ID) + " create"}
		if got := e.changeLog(newcomerID); len(got) < 2 || got[0] != want[0] || got[len(got)-1] != resources.AdminActor(h.ID)+" delete" {
			t.Errorf("change log of the newcomer = %v, want it created by boss and deleted by helper", got)
		}
	})
}

func TestSettingsInvitationMailDown(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		e.mail.SetFail(true)
		p := owner.submit("settings/admins", url.Values{"email": {"late@acme.com"}, "role": {"owner"}})
		p.Must(t, http.StatusServiceUnavailable, "late@acme.com is added as an owner, but the invitation email could not be sent", "Resend invitation")
		late := e.adminByEmail("late@acme.com")
		if late.HasPassword || late.Role != resources.RoleOwner {
			t.Errorf("the administrator added without a mail: %+v", late)
		}
		owner.submit("settings/admins/"+late.ID+"/resend", nil).Must(t, http.StatusServiceUnavailable)
		e.mail.SetFail(false)
		owner.submit("settings/admins/"+late.ID+"/resend", nil).Must(t, http.StatusOK, "A new invitation is on its way to late@acme.com")
		if m := e.mail.Last(t); m.To != "late@acme.com" || inviteLinkRE.FindString(m.Text) == "" {
			t.Errorf("the resent invitation: %+v", m)
		}
	})
}

func TestSettingsAudit(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		boss := e.adminByEmail("boss@acme.com")
		ctx := context.Background()

		owner.submit("settings/name", url.Values{"displayName": {"Acme Inc."}}).Must(t, http.StatusOK)
		owner.submit("settings/tokens", url.Values{"name": {"okta"}, "role": {"collaborator"}}).Must(t, http.StatusCreated)
		owner.submit("settings/admins", url.Values{"email": {"new@acme.com"}, "role": {"collaborator"}}).Must(t, http.StatusOK)
		newID := e.adminByEmail("new@acme.com").ID
		customer := e.createCustomer("jane@example.com", "Jane", "Doe")
		// A customer's own change, as the self-service pages record it.
		if _, err := e.store.SetSelfRegistration(resources.WithActor(ctx, resources.CustomerActor(customer)), "acme", true); err != nil {
			t.Fatal(err)
		}

		p := owner.Get(owner.console("settings/audit")).Must(t, http.StatusOK, "Audit trail",
			"boss@acme.com", "setting: organization name", "API token okta", "administrator new@acme.com",
			"API token owner", `href="/t/acme/console/users/`+customer+`"`, "customer "+customer, "setting: self-registration")
		p.Lacks(t, "admin:"+boss.ID+"<", "Older entries", "Newest entries")
		if !regexp.MustCompile(`boss@acme.com</td>\s*<td data-label="What">created</td>\s*<td data-label="Resource">API token okta</td>`).MatchString(p.Body) {
			t.Errorf("no row saying boss created the okta token:\n%s", p.Body)
		}

		// Filters: by actor, by resource type and id.
		p = owner.Get(owner.console("settings/audit?who=" + url.QueryEscape(resources.AdminActor(boss.ID))))
		p.Must(t, http.StatusOK, "API token okta", "administrator new@acme.com", "Clear the filter").Lacks(t, "API token owner</td>", `href="/t/acme/console/users/`+customer)
		p = owner.Get(owner.console("settings/audit?type=Token"))
		p.Must(t, http.StatusOK, "API token okta").Lacks(t, "administrator new@acme.com", "setting: organization name")
		p = owner.Get(owner.console("settings/audit?type=Administrator&id="+newID)).Must(t, http.StatusOK, "administrator new@acme.com").Lacks(t, ">API token okta</td>")
		p = owner.Get(owner.console("settings/audit?who=" + url.QueryEscape(resources.CustomerActor(customer))))
		p.Must(t, http.StatusOK, "setting: self-registration", `<option value="customer:`+customer+`" selected>customer `+customer).Lacks(t, ">API token okta</td>")
		owner.Get(owner.console("settings/audit?who=nobody")).Must(t, http.StatusOK, "No entries match this filter.")

		// Paging: 50 a page, then older entries.
		for i := range 60 {
			if _, err := e.store.SetSelfRegistration(resources.WithActor(ctx, resources.AdminActor(boss.ID)), "acme", i%2 == 0); err != nil {
				t.Fatal(err)
			}
		}
		p = owner.Get(owner.console("settings/audit")).Must(t, http.StatusOK, "Older entries").Lacks(t, "Newest entries")
		if got := strings.Count(p.Body, "<tr>") - 1; got != 50 {
			t.Errorf("first page has %d entries, want 50", got)
		}
		older := regexp.MustCompile(`href="(\?before=[^"]+)"`).FindStringSubmatch(p.Body)
		if older == nil {
			t.Fatalf("no link to older entries")
		}
		p = owner.Get(owner.console("settings/audit"+html.UnescapeString(older[1]))).Must(t, http.StatusOK, "Newest entries", "API token okta")
		if strings.Count(p.Body, "<tr>") < 2 {
			t.Errorf("the older page has no entries")
		}
		owner.Get(owner.console("settings/audit?before=not-a-seq")).Must(t, http.StatusBadRequest)

		// A filtered page keeps its filter on the next.
		p = owner.Get(owner.console("settings/audit?type=Settings"))
		if m := regexp.MustCompile(`href="(\?before=[^"]+)"`).FindStringSubmatch(p.Body); m == nil || !strings.Contains(m[1], "type=Settings") {
			t.Errorf("the filtered page's older link = %v, want it to keep type=Settings", m)
		}
	})
}

// TestSettingsAuditTokenNamedLikeBuiltIn: a token named "cli" is shown as
// that API token, not as the scimd command.
func TestSettingsAuditTokenNamedLikeBuiltIn(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		const secret = "token-named-cli-0123456789"
		if err := e.store.PutToken(context.Background(), resources.Token{Org: "acme", Name: "cli", Role: resources.RoleCollaborator,
			Hash: resources.HashToken(resources.Secret(secret)), Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if status, body := e.scimAs(secret, "POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": "cli-made@example.com"}); status != http.StatusCreated {
			t.Fatalf("POST /Users as the token named cli = %d %v", status, body)
		}
		p := owner.Get(owner.console("settings/audit")).Must(t, http.StatusOK)
		if !regexp.MustCompile(`API token cli</td>\s*<td data-label="What">created</td>`).MatchString(p.Body) {
			t.Errorf("no row saying the API token cli created a customer:\n%s", p.Body)
		}
		p.Lacks(t, "the scimd command")
	})
}
