package accounts_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// A password-reset link is good for the password it was sent to replace: a
// customer who replaces their temporary password on the change-password
// page ends it, as every other new password does. Before, whoever held the
// old email could still set the password afterwards.
func TestResetLinkEndsWithTemporaryPasswordChange(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.createCustomer("temp@example.com", tempPass)
		e.browser().forgot("temp@example.com")
		link := lastLink(t, e.mail)

		b := e.browser()
		change := b.signIn("temp@example.com", tempPass).Must(t, http.StatusOK, "Choose a new password")
		b.Post("/t/acme/accounts/change-password", url.Values{"csrf": {change.Hidden(t, "csrf")},
			"password": {newPass}, "confirm": {newPass}}).Must(t, http.StatusOK, "all set")

		other := e.browser()
		form := other.Get(link)
		if form.Status != http.StatusNotFound {
			t.Errorf("GET of the reset link after the password changed = %d, want 404", form.Status)
		}
		if form.Status == http.StatusOK {
			const attacker = "Attacker-Chosen-Pass-9"
			other.Post("/t/acme/accounts/invite?token="+url.QueryEscape(tokenOf(t, form)), url.Values{"csrf": {form.Hidden(t, "csrf")},
				"password": {attacker}, "confirm": {attacker}})
			if st := e.me("acme", "temp@example.com", attacker); st == http.StatusOK {
				t.Errorf("the old reset link replaced the password the customer chose")
			}
		}
		if st := e.me("acme", "temp@example.com", newPass); st != http.StatusOK {
			t.Errorf("GET /Me with the password the customer chose = %d, want 200", st)
		}
	})
}

// A disable between a customer's sign-in (the password checked) and the
// start of the session (the stamp read) refuses the session: bound to the
// stamp after the disable, it would work again once the account is enabled.
func TestDisableDuringSignInStartsNoSession(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.activeCustomer("jane@example.com")
		users := resources.NewUsers(e.store)
		sessions := resources.NewCustomerSessions(e.store, users)
		self, err := users.Authenticate(ctx, "acme", "jane@example.com", chosen)
		if err != nil {
			t.Fatal(err)
		}
		if st, body := e.scim("PATCH", "/Users/"+id, patch("replace", "active", false)); st != http.StatusOK {
			t.Fatalf("disable = %d %v", st, body)
		}
		secret, err := sessions.Start(ctx, "acme", self)
		if st, body := e.scim("PATCH", "/Users/"+id, patch("replace", "active", true)); st != http.StatusOK {
			t.Fatalf("enable = %d %v", st, body)
		}
		if !errors.Is(err, resources.ErrCustomerSignedOut) {
			t.Errorf("Start after a disable = %v, want ErrCustomerSignedOut", err)
			if _, err := sessions.User(ctx, "acme", secret); err == nil {
				t.Errorf("the session works after the account is enabled again")
			}
		}
		// A sign-in after all that works.
		self, err = users.Authenticate(ctx, "acme", "jane@example.com", chosen)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Start(ctx, "acme", self); err != nil {
			t.Errorf("Start = %v", err)
		}
	})
}

// One password policy everywhere: a password made of the customer's own
// name is refused through /Me as on the customer pages (and the console).
func TestMePasswordPolicyIsThePages(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		const weak = "Zamborsky1987!" // the customer's family name and a year
		u := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "zed@example.com",
			"name": map[string]any{"givenName": "Quixley", "familyName": "Zamborsky"}, "password": tempPass}
		if st, body := e.scim("POST", "/Users", u); st != http.StatusCreated {
			t.Fatalf("POST /Users = %d %v", st, body)
		}
		b := e.browser()
		change := b.signIn("zed@example.com", tempPass).Must(t, http.StatusOK, "Choose a new password")
		b.Post("/t/acme/accounts/change-password", url.Values{"csrf": {change.Hidden(t, "csrf")},
			"password": {weak}, "confirm": {weak}}).Must(t, http.StatusBadRequest, "too easy to guess")

		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"` + weak + `"}]}`
		req, _ := http.NewRequest("PATCH", e.srv.URL+"/t/acme/scim/v2/Me", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json")
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("zed@example.com:"+tempPass)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(out), "invalidValue") || strings.Contains(string(out), weak) {
			t.Errorf("PATCH /Me with a password made of the customer's name = %d %s, want 400 invalidValue without the password", resp.StatusCode, out)
		}
		// An administrator's temporary password follows the same policy.
		if st, _ := e.scim("POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "zoe@example.com",
			"name": map[string]any{"givenName": "Quixley", "familyName": "Zamborsky"}, "password": weak}); st != http.StatusBadRequest {
			t.Errorf("POST /Users with a password made of the customer's name = %d, want 400", st)
		}
	})
}

// Disabling an account ends its sessions and password-change tickets for
// good: enabling it again does not bring back a session an administrator
// disabled the account over (a stolen one, say), even one that made no
// request while the account was disabled.
func TestDisableEndsSessionsForGood(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.activeCustomer("jane@example.com")
		b := e.browser()
		b.signIn("jane@example.com", chosen).Must(t, http.StatusOK, "Your account")

		tempID := e.createCustomer("temp@example.com", tempPass)
		tb := e.browser()
		tb.signIn("temp@example.com", tempPass).Must(t, http.StatusOK, "Choose a new password")

		// A change other than a disable keeps both.
		for _, u := range []string{id, tempID} {
			if st, body := e.scim("PATCH", "/Users/"+u, patch("replace", "name.givenName", "Renamed")); st != http.StatusOK {
				t.Fatalf("PATCH name = %d %v", st, body)
			}
		}
		b.Get("/t/acme/accounts/profile").Must(t, http.StatusOK, "Your account")

		for _, u := range []string{id, tempID} {
			for _, active := range []bool{false, true} {
				if st, body := e.scim("PATCH", "/Users/"+u, patch("replace", "active", active)); st != http.StatusOK {
					t.Fatalf("PATCH active %v = %d %v", active, st, body)
				}
			}
		}
		b.signedOut(t, "session started before the account was disabled")
		if p := tb.Get("/t/acme/accounts/change-password"); p.Status != http.StatusForbidden {
			t.Errorf("change-password with a ticket issued before the account was disabled = %d, want 403", p.Status)
		}
		// Signing in again works as before.
		e.browser().signIn("jane@example.com", chosen).Must(t, http.StatusOK, "Your account")
		e.browser().signIn("temp@example.com", tempPass).Must(t, http.StatusOK, "Choose a new password")
	})
}

// The public pages email an account at most once per
// [resources.Onboarding].MailEvery, however many addresses ask: repeated
// forgot-password requests send one link, which stays good; registering an
// address that has an account tells its owner once; registering a pending
// registration again within the window changes nothing (its link and
// password stay).
func TestPublicPagesMailOncePerWindow(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		e := newEnvWith(t, url, func(o *resources.Onboarding) { o.MailEvery = time.Minute })
		e.enable("acme", true)
		e.activeCustomer("jane@example.com")
		before := len(e.mail.Messages())
		e.browser().forgot("jane@example.com")
		first := lastLink(t, e.mail)
		for range 4 {
			e.browser().forgot("JANE@example.com")
		}
		if n := len(e.mail.Messages()) - before; n != 1 {
			t.Errorf("5 forgot-password requests within a second mailed %d reset links to one account, want 1", n)
		}
		if p := e.browser().Get(first); p.Status != http.StatusOK {
			t.Errorf("the first reset link = %d after the repeated requests, want 200", p.Status)
		}

		e.activeCustomer("kim@example.com")
		before = len(e.mail.Messages())
		for range 3 {
			e.register("acme", "kim@example.com", "Kim", "Lee", regPass, regPass)
		}
		if n := len(e.mail.Messages()) - before; n != 1 {
			t.Errorf("3 registrations of an existing account's address mailed it %d times, want 1", n)
		}

		before = len(e.mail.Messages())
		e.register("acme", "new@example.com", "Nora", "New", regPass, regPass)
		link := confirmLink(t, e.mail, "new@example.com")
		e.register("acme", "new@example.com", "Mallory", "Other", otherPass, otherPass)
		if n := len(e.mail.Messages()) - before; n != 1 {
			t.Errorf("registering a new address twice within the window sent %d messages, want 1", n)
		}
		ids := e.usersNamed("new@example.com")
		if len(ids) != 1 {
			t.Fatalf("users named new@example.com: %v", ids)
		}
		if _, u := e.scim("GET", "/Users/"+ids[0], nil); !strings.Contains(fmt.Sprint(u["name"]), "Nora") {
			t.Errorf("the registration within the window replaced the first: %v", u["name"])
		}
		e.browser().Get(link).Must(t, http.StatusOK)
	})
}
