package scim_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/notify/mailtest"
)

// onboardingStores runs fn on onboardingAPI on each store (redistest.EachStore).
func onboardingStores(t *testing.T, fn func(t *testing.T, a *api, users *resources.Users, mails mailbox)) {
	t.Helper()
	redistest.EachStore(t, func(t *testing.T, url string) {
		a, users, mails, _ := onboardingAPI(t, url)
		fn(t, a, users, mails)
	})
}

type mailbox = *mailtest.Mailbox

// lastTokenOf returns the invitation token in a mail's text.
func lastTokenOf(tb testing.TB, text string) string {
	tb.Helper()
	m := regexp.MustCompile(`/t/acme/accounts/invite\?token=([A-Za-z0-9_-]{43})`).FindStringSubmatch(text)
	if m == nil {
		tb.Fatalf("no invitation link in %q", text)
	}
	return m[1]
}

func q(filter string) string { return url.QueryEscape(filter) }

// setting changes the organization's settings through the admin API.
func (a *api) setting(tb testing.TB, token string, body map[string]any) response {
	tb.Helper()
	return a.send("PATCH", scim.SettingsPath, "Bearer "+token, body)
}

func accountStateOf(r response) string { return str(r.body, customerURN, "accountState") }

// TestOnboardingPolicy: customers created without passwordSetup (as
// identity providers create them) follow the organization's policy: "none"
// (the default) gives the truthful noPassword and sends nothing, "invite"
// invites those with an address.
func TestOnboardingPolicy(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, users *resources.Users, mails mailbox) {
		r := a.send("GET", scim.SettingsPath, "Bearer "+readerToken, nil).must(t, http.StatusOK)
		if r.body["onboarding"] != "none" || r.body["userNameFormat"] != "email" {
			t.Errorf("default settings = %s, want onboarding none, userNameFormat email", r.raw)
		}
		r = a.do("POST", "/Users", ownerToken, user("pushed@example.com", nil)).must(t, http.StatusCreated)
		if got := accountStateOf(r); got != "noPassword" {
			t.Errorf("accountState of a customer created without passwordSetup under onboarding none = %q, want noPassword", got)
		}
		if n := len(mails.Messages()); n != 0 {
			t.Errorf("onboarding none sent %d mails", n)
		}

		// Only owners change it; values are checked; unknown fields refused.
		a.setting(t, collabToken, map[string]any{"onboarding": "invite"}).scimError(t, http.StatusForbidden, "", "only an owner")
		a.setting(t, readerToken, map[string]any{"onboarding": "invite"}).must(t, http.StatusForbidden)
		a.setting(t, ownerToken, map[string]any{"onboarding": "always"}).scimError(t, http.StatusBadRequest, "invalidValue", `onboarding "always"`)
		a.setting(t, ownerToken, map[string]any{"expiresAt": "x"}).scimError(t, http.StatusBadRequest, "invalidSyntax", `"expiresAt" cannot be changed here`)
		r = a.setting(t, ownerToken, map[string]any{"onboarding": "invite"}).must(t, http.StatusOK)
		if r.body["onboarding"] != "invite" {
			t.Errorf("PATCH settings answered %s", r.raw)
		}
		// Another organization keeps its own.
		if r := a.send("GET", scim.SettingsPath, "Bearer "+otherToken, nil).must(t, http.StatusOK); r.body["onboarding"] != "none" {
			t.Errorf("globex's onboarding = %v after acme's change", r.body["onboarding"])
		}

		r = a.do("POST", "/Users", ownerToken, user("entra@example.com", nil)).must(t, http.StatusCreated)
		if got, setup := accountStateOf(r), str(r.body, customerURN, "passwordSetup"); got != "pendingInvitation" || setup != "invite" {
			t.Errorf("created under onboarding invite: accountState %q, passwordSetup %q; want pendingInvitation, invite", got, setup)
		}
		msgs := mails.Messages()
		if len(msgs) != 1 || msgs[0].To != "entra@example.com" {
			t.Fatalf("mails after an invite-policy creation = %+v, want one to entra@example.com", msgs)
		}
		token := lastTokenOf(t, msgs[0].Text)
		if _, err := users.AcceptInvitation(context.Background(), "acme", resources.Secret(token), "Entra-Chosen-Pass-7"); err != nil {
			t.Fatalf("AcceptInvitation: %v", err)
		}
		if got := accountStateOf(a.do("GET", "/Users/"+str(r.body, "id"), ownerToken, nil)); got != "active" {
			t.Errorf("accountState after accepting = %q, want active", got)
		}
		// An explicit passwordSetup still wins over the policy.
		r = a.do("POST", "/Users", ownerToken, user("temp@example.com", map[string]any{"password": "Temporary-Pass-42x",
			customerURN: map[string]any{"passwordSetup": "temporaryPassword"}})).must(t, http.StatusCreated)
		if got := accountStateOf(r); got != "passwordChangeRequired" {
			t.Errorf("temporaryPassword under onboarding invite: accountState %q", got)
		}

		// The audit trail has the change, by the owner token.
		entries, err := a.store.ChangesBefore(context.Background(), "acme", "", 50)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range entries {
			found = found || c.Type == resources.TypeSettings && c.ResourceID == "onboarding" && c.Who == "token:owner"
		}
		if !found {
			t.Errorf("no Settings onboarding entry by token:owner in the change log: %+v", entries)
		}
	})
}

// TestAccountStateDisabled: accountState is "disabled" whenever active is
// false, and the state the account had comes back when it is enabled.
func TestAccountStateDisabled(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, users *resources.Users, mails mailbox) {
		cases := []struct {
			name  string
			body  map[string]any
			state string
		}{
			{"temporary password", user("temp@example.com", map[string]any{"active": false, "password": "Temporary-Pass-42x"}), "passwordChangeRequired"},
			{"invited", user("inv@example.com", map[string]any{"active": false, customerURN: map[string]any{"passwordSetup": "invite"}}), "pendingInvitation"},
			{"no password", user("none@example.com", map[string]any{"active": false}), "noPassword"},
		}
		for _, c := range cases {
			r := a.do("POST", "/Users", ownerToken, c.body).must(t, http.StatusCreated)
			id := str(r.body, "id")
			if got, when := accountStateOf(r), str(r.body, customerURN, "stateWhenEnabled"); got != "disabled" || when != c.state {
				t.Errorf("%s created disabled: accountState %q, stateWhenEnabled %q; want disabled, %s", c.name, got, when, c.state)
			}
			r = a.do("PATCH", "/Users/"+id, ownerToken, patch(map[string]any{"op": "replace", "path": "active", "value": true})).must(t, http.StatusOK)
			if got, when := accountStateOf(r), str(r.body, customerURN, "stateWhenEnabled"); got != c.state || when != "" {
				t.Errorf("%s enabled: accountState %q, stateWhenEnabled %q; want %s and none", c.name, got, when, c.state)
			}
			r = a.do("PATCH", "/Users/"+id, ownerToken, patch(map[string]any{"op": "replace", "path": "active", "value": false})).must(t, http.StatusOK)
			if got := accountStateOf(r); got != "disabled" {
				t.Errorf("%s disabled again: accountState %q", c.name, got)
			}
		}
		// A created-disabled invitee got its invitation (an identity
		// provider creating accounts ahead of a start date).
		if n := len(mails.Messages()); n != 1 {
			t.Errorf("%d mails, want the one invitation", n)
		}
		// Clients can find disabled accounts by their state.
		r := a.do("GET", `/Users?filter=`+q(`urn:scim:schemas:extension:customer:2.0:User:accountState eq "disabled"`), ownerToken, nil).must(t, http.StatusOK)
		if r.body["totalResults"] != float64(3) {
			t.Errorf("accountState eq disabled found %v, want 3", r.body["totalResults"])
		}
		// Resending to a disabled account without a password invites it, and
		// it still reads disabled.
		id := str(a.do("POST", "/Users", ownerToken, user("later@example.com", map[string]any{"active": false})).must(t, http.StatusCreated).body, "id")
		r = a.do("POST", "/Users/"+id+"/resendInvitation", ownerToken, nil).must(t, http.StatusOK)
		if got, when := accountStateOf(r), str(r.body, customerURN, "stateWhenEnabled"); got != "disabled" || when != "pendingInvitation" {
			t.Errorf("resend to a disabled account: accountState %q, stateWhenEnabled %q", got, when)
		}
		// The discovery document lists every value.
		r = a.do("GET", "/Schemas/"+customerURN, ownerToken, nil).must(t, http.StatusOK)
		for _, v := range []string{"disabled", "noPassword", "pendingInvitation", "invitationNotDelivered", "passwordChangeRequired", "pendingConfirmation", "active"} {
			if !strings.Contains(r.raw, `"`+v+`"`) {
				t.Errorf("/Schemas customer extension lacks accountState %q", v)
			}
		}
	})
}

// TestPasswordSetupLater: setting passwordSetup on a customer without a
// password starts that onboarding; on one with a password it is 400
// mutability.
func TestPasswordSetupLater(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, users *resources.Users, mails mailbox) {
		ctx := context.Background()
		setup := func(v string) map[string]any {
			return patch(map[string]any{"op": "add", "path": customerURN + ":passwordSetup", "value": v})
		}
		id := str(a.do("POST", "/Users", ownerToken, user("hr@example.com", nil)).must(t, http.StatusCreated).body, "id")
		r := a.do("PATCH", "/Users/"+id, ownerToken, setup("invite")).must(t, http.StatusOK)
		if got := accountStateOf(r); got != "pendingInvitation" {
			t.Errorf("PATCH add passwordSetup invite: accountState %q, want pendingInvitation", got)
		}
		if msgs := mails.Messages(); len(msgs) != 1 || msgs[0].To != "hr@example.com" {
			t.Fatalf("mails after passwordSetup invite was set = %+v, want one to hr@example.com", msgs)
		}
		// Now it is set: immutable.
		a.do("PATCH", "/Users/"+id, ownerToken, setup("temporaryPassword")).scimError(t, http.StatusBadRequest, "mutability", "is immutable")

		// PATCH replace with a temporary password.
		id = str(a.do("POST", "/Users", ownerToken, user("okta@example.com", nil)).must(t, http.StatusCreated).body, "id")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(map[string]any{"op": "replace", "path": customerURN + ":passwordSetup", "value": "temporaryPassword"})).
			scimError(t, http.StatusBadRequest, "invalidValue", "requires the attribute \"password\"")
		r = a.do("PATCH", "/Users/"+id, ownerToken, patch(
			map[string]any{"op": "replace", "path": customerURN + ":passwordSetup", "value": "temporaryPassword"},
			map[string]any{"op": "replace", "path": "password", "value": "Temporary-Pass-42x"})).must(t, http.StatusOK)
		if got := accountStateOf(r); got != "passwordChangeRequired" {
			t.Errorf("passwordSetup temporaryPassword set later: accountState %q", got)
		}

		// PUT: the same.
		r = a.do("POST", "/Users", ownerToken, user("put@example.com", nil)).must(t, http.StatusCreated)
		id = str(r.body, "id")
		body := user("put@example.com", map[string]any{customerURN: map[string]any{"passwordSetup": "invite"}})
		r = a.do("PUT", "/Users/"+id, ownerToken, body).must(t, http.StatusOK)
		if got := accountStateOf(r); got != "pendingInvitation" {
			t.Errorf("PUT with passwordSetup invite: accountState %q", got)
		}
		if n := len(mails.Messages()); n != 2 {
			t.Errorf("%d mails, want 2 (the PATCH's and the PUT's invitations)", n)
		}

		// A customer with a password and no passwordSetup (self-registered).
		if _, err := a.store.SetSelfRegistration(ctx, "acme", true); err != nil {
			t.Fatal(err)
		}
		if err := users.Register(ctx, "acme", resources.Registration{Email: "self@example.com", GivenName: "Sel", FamilyName: "Reg", Password: "Registered-Pass-99"}); err != nil {
			t.Fatal(err)
		}
		r = a.do("GET", "/Users?filter="+q(`userName eq "self@example.com"`), ownerToken, nil).must(t, http.StatusOK)
		id = str(r.body, "Resources", 0, "id")
		a.do("PATCH", "/Users/"+id, ownerToken, setup("invite")).scimError(t, http.StatusBadRequest, "mutability", "has a password already")
		a.do("PUT", "/Users/"+id, ownerToken, user("self@example.com", map[string]any{customerURN: map[string]any{"passwordSetup": "invite"}})).
			scimError(t, http.StatusBadRequest, "mutability", "resendInvitation")
	})
}

// TestUserNameFormatAny: an organization whose userNameFormat is "any"
// takes logins that are not addresses, mails its customers at their emails,
// and says so in /Schemas; other organizations keep email userNames.
func TestUserNameFormatAny(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, users *resources.Users, mails mailbox) {
		a.do("POST", "/Users", ownerToken, user("EMP-001", nil)).scimError(t, http.StatusBadRequest, "invalidValue", "must be an email address")
		desc := func(token string) string {
			r := a.do("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", token, nil).must(t, http.StatusOK)
			for _, at := range r.body["attributes"].([]any) {
				if m := at.(map[string]any); m["name"] == "userName" {
					return m["description"].(string)
				}
			}
			return ""
		}
		if d := desc(ownerToken); !strings.Contains(d, "email address") {
			t.Errorf("userName description under email = %q", d)
		}
		a.setting(t, ownerToken, map[string]any{"userNameFormat": "whatever"}).scimError(t, http.StatusBadRequest, "invalidValue", "userNameFormat")
		a.setting(t, ownerToken, map[string]any{"userNameFormat": "any"}).must(t, http.StatusOK)
		if d := desc(readerToken); !strings.Contains(d, "login") || strings.Contains(d, "email address, used") {
			t.Errorf("userName description under any = %q", d)
		}
		if d := desc(otherToken); !strings.Contains(d, "email address") {
			t.Errorf("another organization's userName description = %q, want the email rule", d)
		}
		r := a.do("GET", "/Schemas", ownerToken, nil).must(t, http.StatusOK)
		if !strings.Contains(r.raw, "The customer's login") {
			t.Errorf("/Schemas does not describe the organization's rule")
		}

		r = a.do("POST", "/Users", ownerToken, user("EMP-001", nil)).must(t, http.StatusCreated)
		id := str(r.body, "id")
		if _, has := r.body["emails"]; has || accountStateOf(r) != "noPassword" {
			t.Errorf("a login that is no address: emails %v, accountState %q; want none, noPassword", r.body["emails"], accountStateOf(r))
		}
		a.do("POST", "/Users", ownerToken, user("emp-001", nil)).scimError(t, http.StatusConflict, "uniqueness", "")
		a.do("POST", "/Users", ownerToken, user("EMP 002", nil)).scimError(t, http.StatusBadRequest, "invalidValue", "a space")
		a.do("POST", "/Users", ownerToken, user("", nil)).scimError(t, http.StatusBadRequest, "invalidValue", "required")
		a.do("POST", "/Users", ownerToken, user("jаne", nil)).scimError(t, http.StatusBadRequest, "invalidValue", "mixes letters")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(map[string]any{"op": "replace", "path": "userName", "value": "EMP-009"})).
			scimError(t, http.StatusBadRequest, "mutability", "immutable")
		// An address as login still gets it as its email.
		r = a.do("POST", "/Users", ownerToken, user("jane@example.com", nil)).must(t, http.StatusCreated)
		if got := str(r.body, "emails", 0, "value"); got != "jane@example.com" {
			t.Errorf("emails of an address login = %q", got)
		}

		// An invitation needs an address: 400, nothing created.
		a.do("POST", "/Users", ownerToken, user("okta.login", map[string]any{customerURN: map[string]any{"passwordSetup": "invite"}})).
			scimError(t, http.StatusBadRequest, "invalidValue", "no email address")
		a.do("GET", "/Users?filter="+q(`userName eq "okta.login"`), ownerToken, nil).must(t, http.StatusOK)
		a.do("POST", "/Users/"+id+"/resendInvitation", ownerToken, nil).scimError(t, http.StatusBadRequest, "invalidValue", "no email address")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(map[string]any{"op": "add", "path": customerURN + ":passwordSetup", "value": "invite"})).
			scimError(t, http.StatusBadRequest, "invalidValue", "no email address")

		// The address: primary, else work, else the first.
		for _, c := range []struct {
			login  string
			emails []any
			want   string
		}{
			{"u-primary", []any{map[string]any{"value": "home@example.com", "type": "home"}, map[string]any{"value": "p@example.com", "type": "other", "primary": true}}, "p@example.com"},
			{"u-work", []any{map[string]any{"value": "home@example.com", "type": "home"}, map[string]any{"value": "w@example.com", "type": "work"}}, "w@example.com"},
			{"u-first", []any{map[string]any{"value": "first@example.com", "type": "home"}, map[string]any{"value": "second@example.com"}}, "first@example.com"},
		} {
			a.do("POST", "/Users", ownerToken, user(c.login, map[string]any{"emails": c.emails,
				customerURN: map[string]any{"passwordSetup": "invite"}})).must(t, http.StatusCreated)
			msgs := mails.Messages()
			if got := msgs[len(msgs)-1].To; got != c.want {
				t.Errorf("invitation of %s went to %q, want %q", c.login, got, c.want)
			}
		}
		// Under onboarding invite, a customer with no address is noPassword.
		a.setting(t, ownerToken, map[string]any{"onboarding": "invite"}).must(t, http.StatusOK)
		if got := accountStateOf(a.do("POST", "/Users", ownerToken, user("EMP-003", nil)).must(t, http.StatusCreated)); got != "noPassword" {
			t.Errorf("no address under onboarding invite: accountState %q, want noPassword", got)
		}
		// Back to email: stored logins stay, new ones must be addresses.
		a.setting(t, ownerToken, map[string]any{"userNameFormat": "email"}).must(t, http.StatusOK)
		a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		a.do("POST", "/Users", ownerToken, user("EMP-004", nil)).must(t, http.StatusBadRequest)
	})
}

// TestOnboardingPerToken: a token created with its own onboarding policy
// applies it to the customers it creates, whatever the organization's.
func TestOnboardingPerToken(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, users *resources.Users, mails mailbox) {
		mint := func(name, onboarding string) string {
			r := a.send("POST", scim.AdminPath, "Bearer "+ownerToken, map[string]any{"name": name, "role": "collaborator", "onboarding": onboarding}).must(t, http.StatusCreated)
			if r.body["onboarding"] != onboarding {
				t.Errorf("created token answers onboarding %v, want %q", r.body["onboarding"], onboarding)
			}
			return str(r.body, "token")
		}
		entra, hr := mint("entra", "invite"), mint("hr", "none")
		a.send("POST", scim.AdminPath, "Bearer "+ownerToken, map[string]any{"name": "x", "role": "reader", "onboarding": "maybe"}).
			scimError(t, http.StatusBadRequest, "invalidValue", `onboarding "maybe"`)
		r := a.send("GET", scim.AdminPath, "Bearer "+ownerToken, nil).must(t, http.StatusOK)
		if !strings.Contains(r.raw, `"name":"entra","role":"collaborator"`) || !strings.Contains(r.raw, `"onboarding":"invite"`) {
			t.Errorf("token list does not show the override: %s", r.raw)
		}

		state := func(token, userName string) string {
			return accountStateOf(a.do("POST", "/Users", token, user(userName, nil)).must(t, http.StatusCreated))
		}
		if got := state(entra, "e1@example.com"); got != "pendingInvitation" {
			t.Errorf("created by the invite token under the organization's none: %q, want pendingInvitation", got)
		}
		if got := state(hr, "h1@example.com"); got != "noPassword" {
			t.Errorf("created by the none token: %q, want noPassword", got)
		}
		a.setting(t, ownerToken, map[string]any{"onboarding": "invite"}).must(t, http.StatusOK)
		if got := state(hr, "h2@example.com"); got != "noPassword" {
			t.Errorf("created by the none token under the organization's invite: %q, want noPassword", got)
		}
		if got := state(collabToken, "c1@example.com"); got != "pendingInvitation" {
			t.Errorf("created by a token without override under invite: %q, want pendingInvitation", got)
		}
		// Through /Bulk too.
		bulk := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": []any{
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "u", "data": user("b1@example.com", nil)}}}
		a.do("POST", "/Bulk", hr, bulk).must(t, http.StatusOK)
		r = a.do("GET", "/Users?filter="+q(`userName eq "b1@example.com"`), ownerToken, nil).must(t, http.StatusOK)
		if got := str(r.body, "Resources", 0, customerURN, "accountState"); got != "noPassword" {
			t.Errorf("created through /Bulk by the none token: %q, want noPassword", got)
		}
		to := map[string]bool{}
		for _, m := range mails.Messages() {
			to[m.To] = true
		}
		if !to["e1@example.com"] || !to["c1@example.com"] || to["h1@example.com"] || to["h2@example.com"] || to["b1@example.com"] {
			t.Errorf("invitations went to %v, want e1 and c1 only", to)
		}
	})
}
