package console_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestSettingsOnboardingAndUserNames: owners choose the onboarding policy
// and the userName format on the General tab; the New customer form then
// follows the userName rule.
func TestSettingsOnboardingAndUserNames(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		collab := e.admin("helper@acme.com", resources.RoleCollaborator)
		owner.Get(owner.console("settings")).Must(t, http.StatusOK, "Customers from your identity provider",
			`id="onboarding-none" name="onboarding" value="none" checked`, `id="usernames-email" name="userNameFormat" value="email" checked`)

		collab.submit("settings/onboarding", url.Values{"onboarding": {"invite"}}).Must(t, http.StatusForbidden)
		collab.submit("settings/usernames", url.Values{"userNameFormat": {"any"}}).Must(t, http.StatusForbidden)
		owner.submit("settings/onboarding", url.Values{"onboarding": {"sometimes"}}).Must(t, http.StatusBadRequest, "Nothing was changed")
		owner.submit("settings/usernames", url.Values{"userNameFormat": {"login"}}).Must(t, http.StatusBadRequest, "Nothing was changed")
		if s := e.orgSettings(); s.Onboarding != "" || s.UserNameFormat != "" {
			t.Fatalf("settings after refused forms = %+v, want none set", s)
		}

		owner.submit("settings/onboarding", url.Values{"onboarding": {"invite"}}).
			Must(t, http.StatusOK, "now emailed an invitation", `id="onboarding-invite" name="onboarding" value="invite" checked`)
		owner.submit("settings/usernames", url.Values{"userNameFormat": {"any"}}).
			Must(t, http.StatusOK, "New usernames may be any login", `id="usernames-any" name="userNameFormat" value="any" checked`)
		if s := e.orgSettings(); s.Onboarding != "invite" || s.UserNameFormat != "any" {
			t.Errorf("settings = %+v, want invite and any", s)
		}

		// The New customer form: a username field and an email field, which
		// an invitation needs.
		b := owner
		b.Get(b.console("users/new")).Must(t, http.StatusOK, `<label for="userName">Username</label>`, "employee number").
			Lacks(t, "Email (username)")
		form := func(userName, email, method, password string) url.Values {
			v := newUserForm(email, "Ada", "Lovelace", method, password)
			v.Set("userName", userName)
			return v
		}
		b.submit("users/new", form("EMP 7", "ada@example.com", "invite", "")).Must(t, http.StatusBadRequest, "without spaces")
		b.submit("users/new", form("EMP-7", "", "invite", "")).Must(t, http.StatusBadRequest, "the invitation goes there")
		p := b.submit("users/new", form("EMP-7", "ada@example.com", "invite", "")).Must(t, http.StatusOK, "Customer created.", "Step 2 of 2")
		u := e.user(idInURL(t, p.URL))
		if u["userName"] != "EMP-7" {
			t.Errorf("created userName = %v, want EMP-7", u["userName"])
		}
		if last := e.mail.Last(t); last.To != "ada@example.com" {
			t.Errorf("invitation to %q, want ada@example.com", last.To)
		}
		b.submit("users/new", form("emp-7", "", "temporaryPassword", tempPassword)).Must(t, http.StatusConflict, "A customer with this username already exists")
		p = b.submit("users/new", form("EMP-8", "", "temporaryPassword", tempPassword)).Must(t, http.StatusOK, "Customer created.")
		if u := e.user(idInURL(t, p.URL)); u["emails"] != nil {
			t.Errorf("a customer without email got emails %v", u["emails"])
		}

		// Back to email usernames: the form is the usual one again.
		owner.submit("settings/usernames", url.Values{"userNameFormat": {"email"}}).Must(t, http.StatusOK, "must be email addresses")
		b.Get(b.console("users/new")).Must(t, http.StatusOK, "Email (username)").Lacks(t, `<label for="userName">`)
	})
}

// TestTokenOnboardingOverride: a token created in the console may override
// the organization's onboarding policy.
func TestTokenOnboardingOverride(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		owner.Get(owner.console("settings/tokens")).Must(t, http.StatusOK, "Customers it creates without a password method", `<option value="" selected>`)
		owner.submit("settings/tokens", url.Values{"name": {"hr"}, "role": {"collaborator"}, "onboarding": {"none"}}).Must(t, http.StatusCreated)
		owner.submit("settings/tokens", url.Values{"name": {"entra"}, "role": {"collaborator"}, "onboarding": {"invite"}}).Must(t, http.StatusCreated)
		owner.submit("settings/tokens", url.Values{"name": {"plain"}, "role": {"collaborator"}}).Must(t, http.StatusCreated)
		owner.submit("settings/tokens", url.Values{"name": {"odd"}, "role": {"collaborator"}, "onboarding": {"sometimes"}}).Must(t, http.StatusBadRequest, "onboarding")
		got := map[string]string{}
		ts, err := e.store.ListTokens(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range ts {
			got[tok.Name] = tok.Onboarding
		}
		if got["hr"] != "none" || got["entra"] != "invite" || got["plain"] != "" {
			t.Errorf("tokens' onboarding = %v, want hr none, entra invite, plain none set", got)
		}
		if _, ok := got["odd"]; ok {
			t.Errorf("a token with an invalid onboarding was created")
		}
	})
}
