package accounts_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/scim/webtest"
)

// forgot submits the forgot-password form of acme for email with b and
// waits for the work it started after its answer.
func (b *browser) forgot(email string) page {
	b.e.t.Helper()
	form := b.Get("/t/acme/accounts/forgot-password").Must(b.e.t, http.StatusOK, "Forgot your password?")
	p := b.Post("/t/acme/accounts/forgot-password", url.Values{"csrf": {form.Hidden(b.e.t, "csrf")}, "email": {email}})
	b.e.pages.Wait()
	return p
}

// sameAnswer is what every accepted forgot-password form leads to.
const sameAnswer = "If an account with a password exists for the address you entered, we sent it a link"

// TestForgotPassword: the sign-in page links to the form; an account with a
// password gets a reset link (the address matched ignoring case), which sets
// a new password once; a second request revokes the first link.
func TestForgotPassword(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.activeCustomer("forgetful@example.com")
		b := e.browser()
		b.Get("/t/acme/accounts/login").Must(t, http.StatusOK, `<a href="forgot-password">Forgot your password?</a>`)
		sent := len(e.mail.Messages())
		answer := b.forgot("  Forgetful@EXAMPLE.com ")
		answer.Must(t, http.StatusOK, "Check your email", sameAnswer)
		if !strings.HasSuffix(answer.URL, "/t/acme/accounts/reset-requested") {
			t.Errorf("forgot-password led to %s, want reset-requested", answer.URL)
		}
		msgs := e.mail.Messages()
		if len(msgs) != sent+1 || msgs[len(msgs)-1].To != "forgetful@example.com" {
			t.Fatalf("messages after the form: %d (want %d), last %+v", len(msgs), sent+1, msgs[len(msgs)-1].To)
		}
		first := lastLink(t, e.mail)
		b.forgot("forgetful@example.com")
		second := lastLink(t, e.mail)
		if first == second {
			t.Fatal("the second request sent the same link")
		}
		b.Get(first).Must(t, http.StatusNotFound, "not valid")
		if st := e.me("acme", "forgetful@example.com", chosen); st != http.StatusOK {
			t.Errorf("GET /Me with the password before the reset = %d, want 200 (it works until the link is used)", st)
		}
		form := b.Get(second).Must(t, http.StatusOK, "Choose a new password")
		b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
			"password": {newPass}, "confirm": {newPass}}).Must(t, http.StatusOK, "all set")
		if st := e.me("acme", "forgetful@example.com", newPass); st != http.StatusOK {
			t.Errorf("GET /Me with the new password = %d, want 200", st)
		}
		if st := e.me("acme", "forgetful@example.com", chosen); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the old password = %d, want 401", st)
		}
		b.Get(second).Must(t, http.StatusNotFound, "not valid")
		if s := e.state(id); s != "active" {
			t.Errorf("accountState = %q, want active", s)
		}
	})
}

// TestForgotPasswordSameAnswer: an unknown address, one of another
// organization, an account waiting for its invitation and a disabled
// account get the very answer an account with a password gets, and no
// mail; nothing is logged with the address.
func TestForgotPasswordSameAnswer(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.createCustomer("invited@example.com", "invite")
		disabled := e.activeCustomer("disabled@example.com")
		if st, body := e.scim("PATCH", "/Users/"+disabled, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}}); st != http.StatusOK {
			t.Fatalf("PATCH active false = %d %v", st, body)
		}
		if st, body := e.scimAs(webtest.OtherToken, "POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "globex.only@example.com", "password": tempPass}); st != http.StatusCreated {
			t.Fatalf("POST /Users (globex) = %d %v", st, body)
		}
		e.activeCustomer("has.password@example.com")
		b := e.browser()
		want := b.forgot("has.password@example.com").Must(t, http.StatusOK, sameAnswer)
		for _, email := range []string{"nobody@example.com", "globex.only@example.com", "invited@example.com", "disabled@example.com", "not an address"} {
			sent := len(e.mail.Messages())
			got := b.forgot(email)
			if got.Status != want.Status || got.URL != want.URL || got.Body != want.Body {
				t.Errorf("forgot %q = %d at %s, want the answer an account gets (%d at %s):\n%s", email, got.Status, got.URL, want.Status, want.URL, got.Body)
			}
			if n := len(e.mail.Messages()); n != sent {
				t.Errorf("forgot %q sent %d messages, want none", email, n-sent)
			}
			if strings.Contains(e.logs.String(), email) {
				t.Errorf("the log names the address %q", email)
			}
		}
	})
}

// TestForgotPasswordForm: an empty address and an expired form are shown
// again with their problem, and start nothing.
func TestForgotPasswordForm(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		e := newEnv(t, redisURL, 0)
		e.activeCustomer("form@example.com")
		sent := len(e.mail.Messages())
		b := e.browser()
		form := b.Get("/t/acme/accounts/forgot-password")
		b.Post("/t/acme/accounts/forgot-password", url.Values{"csrf": {form.Hidden(t, "csrf")}, "email": {" "}}).
			Must(t, http.StatusBadRequest, `<a href="#email">Enter the email address of your account.</a>`)
		b.Post("/t/acme/accounts/forgot-password", url.Values{"csrf": {"forged"}, "email": {"form@example.com"}}).
			Must(t, http.StatusForbidden, "this form has expired", `value="form@example.com"`)
		e.pages.Wait()
		if n := len(e.mail.Messages()); n != sent {
			t.Errorf("refused forms sent %d messages, want none", n-sent)
		}
	})
}
