package accounts_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
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
