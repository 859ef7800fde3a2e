package accounts_test

import (
	"net/http"
	"net/url"
	"testing"
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
