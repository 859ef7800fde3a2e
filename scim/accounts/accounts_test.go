package accounts_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/accounts"
)

const (
	chosen   = "Chosen-Pass-2024!"
	tempPass = "Temporary-Pass-1"
	newPass  = "My-Own-Pass-2025"
)

// checkHeaders verifies the security headers of a page.
func checkHeaders(t *testing.T, p page) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
	}
	for k, v := range want {
		if got := p.Header.Get(k); !strings.Contains(got, v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if ct := p.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// noSecrets fails if a page shows a password.
func noSecrets(t *testing.T, p page, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(p.Body, s) {
			t.Errorf("the page shows a password (%q):\n%s", s, p.Body)
		}
	}
}

func TestInvitationAccepted(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createCustomer("Jane.Doe@Example.com", "invite")
		link := lastLink(t, e.mail)
		if !strings.HasPrefix(link, e.srv.URL+"/t/acme/accounts/invite?token=") {
			t.Fatalf("link %q, want under %s/t/acme/accounts/invite", link, e.srv.URL)
		}
		token := strings.TrimPrefix(link, e.srv.URL+"/t/acme/accounts/invite?token=")
		if len(token) != 43 {
			t.Errorf("token has %d characters, want 43 (32 random bytes, base64url)", len(token))
		}

		b := e.browser()
		form := b.Get(link).Must(t, http.StatusOK, `<html lang="en">`, "Set your password", "Jane.Doe@Example.com",
			`autocomplete="new-password"`, `autocomplete="username"`, `<label for="password">`, `<label for="confirm">`,
			`aria-describedby="password-hint"`, `href="style.css"`)
		checkHeaders(t, form)
		if strings.Contains(form.Body, "<script") {
			t.Errorf("the page has a script")
		}
		csrf := form.Hidden(t, "csrf")
		// The link's token is never written in the page: the form posts
		// to the page's own address, which carries it.
		form.Lacks(t, token)
		if got := tokenOf(t, form); got != token {
			t.Errorf("the page's address holds token %q, want the link's", got)
		}
		post := func(pw, confirm string) page {
			return b.Post("/t/acme/accounts/invite", url.Values{"csrf": {csrf}, "token": {token}, "password": {pw}, "confirm": {confirm}})
		}

		// Refused passwords: a clear message, linked to the field, and nothing changes.
		for _, c := range []struct{ pw, confirm, want, field string }{
			{"short", "short", "at least 8 characters", "password"},
			{"password123", "password123", "too easy to guess", "password"},
			{"jane.doe@example.com", "jane.doe@example.com", "email address", "password"},
			{chosen, chosen + "x", "do not match", "confirm"},
		} {
			p := post(c.pw, c.confirm).Must(t, http.StatusBadRequest, c.want, `role="alert"`, `aria-invalid="true"`,
				`id="`+c.field+`-error"`)
			if !strings.Contains(p.Body, c.field+`-error"`) || !strings.Contains(p.Body, `aria-describedby="`) {
				t.Errorf("error of %s not linked with aria-describedby:\n%s", c.field, p.Body)
			}
			noSecrets(t, p, chosen)
		}
		if s := e.state(id); s != "pendingInvitation" {
			t.Fatalf("accountState after refused passwords = %q, want pendingInvitation", s)
		}

		// A forged CSRF token: refused, nothing changes.
		b.Post("/t/acme/accounts/invite", url.Values{"csrf": {"forged"}, "token": {token}, "password": {chosen}, "confirm": {chosen}}).
			Must(t, http.StatusForbidden, "form has expired")
		if s := e.state(id); s != "pendingInvitation" {
			t.Fatalf("accountState after a forged CSRF token = %q", s)
		}

		done := post(chosen, chosen).Must(t, http.StatusOK, "all set", "account is active")
		if !strings.HasSuffix(done.URL, "/t/acme/accounts/done") {
			t.Errorf("after success the browser is at %s, want .../done (303 See Other)", done.URL)
		}
		noSecrets(t, done, chosen, token)
		if s := e.state(id); s != "active" {
			t.Errorf("accountState = %q, want active", s)
		}
		if st := e.me("acme", "jane.doe@example.com", chosen); st != http.StatusOK {
			t.Errorf("GET /Me with the chosen password = %d, want 200", st)
		}

		// The link works once.
		b.Get(link).Must(t, http.StatusNotFound, "not valid")
		post("Another-Pass-2025", "Another-Pass-2025").Must(t, http.StatusNotFound, "not valid")
		if st := e.me("acme", "jane.doe@example.com", chosen); st != http.StatusOK {
			t.Errorf("GET /Me after a reused link = %d, want 200 with the first password", st)
		}
		if strings.Contains(e.logs.String(), token) || strings.Contains(e.logs.String(), chosen) {
			t.Errorf("the log holds the token or the password")
		}
		// The change log tells the password apart from a profile edit.
		// Two invite entries: the invitation issued, then its sending made
		// the account pendingInvitation (it is created undelivered).
		want := []string{"token:owner create", "token:owner invite", "token:owner invite", "customer:" + id + " setPassword"}
		if got := e.changeLog(id); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("change log of the user = %v, want %v", got, want)
		}
	})
}

func TestInvitationRefused(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createCustomer("ref@example.com", "invite")
		link := lastLink(t, e.mail)
		token := link[strings.Index(link, "token=")+len("token="):]
		b := e.browser()

		// Forged: any other token, a truncated one, none.
		for _, q := range []string{"?token=" + strings.Repeat("A", 43), "?token=" + token[:20], "", "?token="} {
			b.Get("/t/acme/accounts/invite"+q).Must(t, http.StatusNotFound, "not valid")
		}
		// Another organization's path.
		b.Get("/t/globex/accounts/invite?token="+token).Must(t, http.StatusNotFound, "not valid")
		other := b.Get("/t/globex/accounts/login")
		b.Post("/t/globex/accounts/invite", url.Values{"csrf": {other.Hidden(t, "csrf")}, "token": {token}, "password": {chosen}, "confirm": {chosen}}).
			Must(t, http.StatusNotFound, "not valid")
		// An organization name no organization can have.
		if p := b.Get("/t/%7Bacme%7D/accounts/invite?token=" + token); p.Status != http.StatusNotFound {
			t.Errorf("GET with org {acme} = %d, want 404", p.Status)
		}
		if s := e.state(id); s != "pendingInvitation" {
			t.Errorf("accountState = %q, want pendingInvitation", s)
		}

		// A resend revokes the first link; the new one works.
		status, _ := e.scim("POST", "/Users/"+id+"/resendInvitation", nil)
		if status != http.StatusOK {
			t.Fatalf("resendInvitation = %d", status)
		}
		b.Get(link).Must(t, http.StatusNotFound, "not valid")
		fresh := lastLink(t, e.mail)
		if fresh == link {
			t.Fatalf("the resend sent the same link")
		}
		form := b.Get(fresh).Must(t, http.StatusOK, "Set your password")
		b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
			"password": {chosen}, "confirm": {chosen}}).Must(t, http.StatusOK, "all set")
		if s := e.state(id); s != "active" {
			t.Errorf("accountState = %q, want active", s)
		}
	})
}

func TestInvitationExpired(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, 200*time.Millisecond)
		id := e.createCustomer("late@example.com", "invite")
		link := lastLink(t, e.mail)
		// Polled: an expiry is late by up to a tick of the embedded store's
		// clock, longer on a loaded machine (backend/embedded_clock.go).
		page := e.browser().Get(link)
		for deadline := time.Now().Add(10 * time.Second); page.Status != http.StatusNotFound && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			page = e.browser().Get(link)
		}
		page.Must(t, http.StatusNotFound, "not valid", "expired")
		if s := e.state(id); s != "pendingInvitation" {
			t.Errorf("accountState = %q, want pendingInvitation", s)
		}
	})
}

func TestInvitationNotDelivered(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.mail.SetFail(true)
		id := e.createCustomer("nomail@example.com", "invite")
		if s := e.state(id); s != "invitationNotDelivered" {
			t.Fatalf("accountState = %q, want invitationNotDelivered", s)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "invitation email not sent") || !strings.Contains(logs, id) {
			t.Errorf("the failure is not logged with the user id:\n%s", logs)
		}
		if strings.Contains(logs, "token=") || strings.Contains(logs, "/accounts/invite") {
			t.Errorf("the log holds the invitation link:\n%s", logs)
		}
		e.mail.SetFail(false)
		if status, _ := e.scim("POST", "/Users/"+id+"/resendInvitation", nil); status != http.StatusOK {
			t.Fatalf("resendInvitation = %d", status)
		}
		if s := e.state(id); s != "pendingInvitation" {
			t.Errorf("accountState after resend = %q, want pendingInvitation", s)
		}
		token := lastLink(t, e.mail)
		token = token[strings.Index(token, "token=")+6:]
		if strings.Contains(e.logs.String(), token) {
			t.Errorf("the log holds the token")
		}
		// The state changes of delivery are the invitation's, not edits: the
		// first invitation issued (its failure leaves the state the account
		// was created with), the second issued and its sending.
		want := []string{"token:owner create", "token:owner invite", "token:owner invite", "token:owner invite"}
		if got := e.changeLog(id); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("change log of the user = %v, want %v", got, want)
		}
	})
}

func TestTemporaryPassword(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createCustomer("temp@example.com", tempPass)
		b := e.browser()
		login := b.Get("/t/acme/accounts/login").Must(t, http.StatusOK, "Sign in", `autocomplete="current-password"`, `autocomplete="username"`)
		checkHeaders(t, login)
		csrf := login.Hidden(t, "csrf")
		signIn := func(email, pw string) page {
			return b.Post("/t/acme/accounts/login", url.Values{"csrf": {csrf}, "email": {email}, "password": {pw}})
		}

		// Failures all read the same.
		for _, c := range [][2]string{{"temp@example.com", "wrong-password"}, {"nobody@example.com", tempPass}, {"", ""}} {
			p := signIn(c[0], c[1]).Must(t, http.StatusUnauthorized, "Invalid email or password.")
			noSecrets(t, p, tempPass, "wrong-password")
		}
		// Another organization does not know the account.
		other := b.Get("/t/globex/accounts/login")
		b.Post("/t/globex/accounts/login", url.Values{"csrf": {other.Hidden(t, "csrf")}, "email": {"temp@example.com"}, "password": {tempPass}}).
			Must(t, http.StatusUnauthorized, "Invalid email or password.")

		change := signIn("TEMP@example.com", tempPass).Must(t, http.StatusOK, "Choose a new password", "temp@example.com",
			`autocomplete="new-password"`)
		if !strings.HasSuffix(change.URL, "/t/acme/accounts/change-password") {
			t.Errorf("after sign-in the browser is at %s, want .../change-password", change.URL)
		}
		noSecrets(t, change, tempPass)
		checkHeaders(t, change)
		csrf = change.Hidden(t, "csrf")
		post := func(pw, confirm string) page {
			return b.Post("/t/acme/accounts/change-password", url.Values{"csrf": {csrf}, "password": {pw}, "confirm": {confirm}})
		}
		post(tempPass, tempPass).Must(t, http.StatusBadRequest, "must differ from your temporary password")
		post("12345678", "12345678").Must(t, http.StatusBadRequest, "too easy to guess")
		if s := e.state(id); s != "passwordChangeRequired" {
			t.Fatalf("accountState = %q, want passwordChangeRequired", s)
		}
		// Without the ticket cookie: sign in again.
		e.browser().Get("/t/acme/accounts/change-password").Must(t, http.StatusForbidden, "Sign in again")

		post(newPass, newPass).Must(t, http.StatusOK, "all set")
		if s := e.state(id); s != "active" {
			t.Errorf("accountState = %q, want active", s)
		}
		if st := e.me("acme", "temp@example.com", tempPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the old password = %d, want 401", st)
		}
		if st := e.me("acme", "temp@example.com", newPass); st != http.StatusOK {
			t.Errorf("GET /Me with the new password = %d, want 200", st)
		}
		// The ticket worked once.
		b.Get("/t/acme/accounts/change-password").Must(t, http.StatusForbidden, "Sign in again")

		// The old password fails; the new one signs in.
		signIn("temp@example.com", tempPass).Must(t, http.StatusUnauthorized, "Invalid email or password.")
		signed := signIn("temp@example.com", newPass).Must(t, http.StatusOK, "Your account", "temp@example.com", "no application to continue to")
		noSecrets(t, signed, newPass)
		for _, s := range []string{tempPass, newPass} {
			if strings.Contains(e.logs.String(), s) {
				t.Errorf("the log holds a password")
			}
		}
		want := []string{"token:owner create", "customer:" + id + " setPassword"}
		if got := e.changeLog(id); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("change log of the user = %v, want %v", got, want)
		}
	})
}

func TestPagesMisc(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		e := newEnv(t, redisURL, 0)
		b := e.browser()
		css := b.Get("/t/acme/accounts/style.css")
		if css.Status != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
			t.Errorf("style.css = %d %q", css.Status, css.Header.Get("Content-Type"))
		}
		b.Get("/t/acme/accounts/nothing-here").Must(t, http.StatusNotFound, "no page")
		// A pending invitee cannot sign in with any password.
		e.createCustomer("pending@example.com", "invite")
		login := b.Get("/t/acme/accounts/login")
		b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {"pending@example.com"}, "password": {"anything-at-all"}}).
			Must(t, http.StatusUnauthorized, "Invalid email or password.")
		// A form without its CSRF cookie is refused.
		e.browser().Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {"pending@example.com"}, "password": {"x"}}).
			Must(t, http.StatusForbidden, "form has expired")
		// Only GET and POST.
		req, _ := http.NewRequest("PUT", e.srv.URL+"/t/acme/accounts/login", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("PUT login = %d, want 405", resp.StatusCode)
		}
	})
}

// TestTicketEndsWithAnotherTemporaryPassword: a password-change ticket is good
// for the account as it was at sign-in; an administrator's new temporary
// password in between ends it.
func TestTicketEndsWithAnotherTemporaryPassword(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createCustomer("reset@example.com", tempPass)
		b := e.browser()
		login := b.Get("/t/acme/accounts/login").Must(t, http.StatusOK, "Sign in")
		change := b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {"reset@example.com"}, "password": {tempPass}}).
			Must(t, http.StatusOK, "Choose a new password")
		const adminPass = "Admin-Reset-Pass-9"
		if st, body := e.scim("PATCH", "/Users/"+id, map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": "password", "value": adminPass}},
		}); st != http.StatusOK {
			t.Fatalf("admin reset: %d %v", st, body)
		}
		b.Post("/t/acme/accounts/change-password", url.Values{"csrf": {change.Hidden(t, "csrf")}, "password": {newPass}, "confirm": {newPass}}).
			Must(t, http.StatusForbidden, "Sign in again")
		if st := e.me("acme", "reset@example.com", newPass); st != http.StatusUnauthorized {
			t.Errorf("the stale ticket set a password: GET /Me with it = %d, want 401", st)
		}
		if s := e.state(id); s != "passwordChangeRequired" {
			t.Errorf("accountState = %q, want passwordChangeRequired", s)
		}
	})
}

// TestTicketOutlivesGroupChanges: a password-change ticket ends with the
// password and the account's state, not with any new version of the account:
// a group of the customer renamed (a new version of every member) or joined
// meanwhile leaves it working; the account disabled makes it fail (it grants
// no more than the temporary password it was issued for, which fails too).
func TestTicketOutlivesGroupChanges(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createCustomer("grouped@example.com", tempPass)
		st, g := e.scim("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "Staff", "members": []any{map[string]any{"value": id}}})
		if st != http.StatusCreated {
			t.Fatalf("POST /Groups = %d %v", st, g)
		}
		signIn := func() (*browser, page) {
			b := e.browser()
			login := b.Get("/t/acme/accounts/login").Must(t, http.StatusOK, "Sign in")
			change := b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {"grouped@example.com"}, "password": {tempPass}}).
				Must(t, http.StatusOK, "Choose a new password")
			return b, change
		}
		patch := func(path string, ops ...any) {
			t.Helper()
			if st, body := e.scim("PATCH", path, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}); st != http.StatusOK {
				t.Fatalf("PATCH %s = %d %v", path, st, body)
			}
		}

		// Disabled: the ticket fails.
		b, change := signIn()
		patch("/Users/"+id, map[string]any{"op": "replace", "path": "active", "value": false})
		b.Post("/t/acme/accounts/change-password", url.Values{"csrf": {change.Hidden(t, "csrf")}, "password": {newPass}, "confirm": {newPass}}).
			Must(t, http.StatusForbidden, "Sign in again")
		patch("/Users/"+id, map[string]any{"op": "replace", "path": "active", "value": true})

		// Its group renamed, another joined: the ticket still works.
		b, change = signIn()
		patch("/Groups/"+g["id"].(string), map[string]any{"op": "replace", "path": "displayName", "value": "Staff renamed"})
		st, other := e.scim("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "Others", "members": []any{map[string]any{"value": id}}})
		if st != http.StatusCreated {
			t.Fatalf("POST /Groups = %d %v", st, other)
		}
		b.Post("/t/acme/accounts/change-password", url.Values{"csrf": {change.Hidden(t, "csrf")}, "password": {newPass}, "confirm": {newPass}}).
			Must(t, http.StatusOK, "all set")
		if st := e.me("acme", "grouped@example.com", newPass); st != http.StatusOK {
			t.Errorf("GET /Me with the new password = %d, want 200", st)
		}
	})
}

// TestPasswordResetLink: resendInvitation on an account with a password sends
// a reset link; its page says so, the old password works until the new one is
// saved, and then only the new one does.
func TestPasswordResetLink(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		id := e.createCustomer("reset.me@example.com", tempPass)
		if st, _ := e.scim("POST", "/Users/"+id+"/resendInvitation", nil); st != http.StatusOK {
			t.Fatalf("resendInvitation = %d, want 200", st)
		}
		if s := e.state(id); s != "passwordChangeRequired" {
			t.Errorf("accountState after a reset link = %q, want passwordChangeRequired (unchanged)", s)
		}
		b := e.browser()
		form := b.Get(lastLink(t, e.mail)).Must(t, http.StatusOK, "Choose a new password", "keeps working until you save the new one")
		if st := e.me("acme", "reset.me@example.com", tempPass); st != http.StatusForbidden {
			t.Errorf("GET /Me with the temporary password = %d, want 403 (it still works: change it first)", st)
		}
		b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
			"password": {newPass}, "confirm": {newPass}}).Must(t, http.StatusOK, "all set")
		if s := e.state(id); s != "active" {
			t.Errorf("accountState = %q, want active", s)
		}
		if st := e.me("acme", "reset.me@example.com", newPass); st != http.StatusOK {
			t.Errorf("GET /Me with the new password = %d, want 200", st)
		}
		if st := e.me("acme", "reset.me@example.com", tempPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the old password = %d, want 401", st)
		}
	})
}

// TestResendToPendingRegistration: an administrator's link to a registration
// not yet confirmed invites the address: the confirmation link stops working
// and the registrant's password is replaced by the one chosen from the link.
func TestResendToPendingRegistration(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.enable("acme", true)
		e.register("acme", "pending@example.com", "Pen", "Ding", otherPass, otherPass).Must(t, http.StatusOK, "Check your email")
		confirm := confirmLink(t, e.mail, "pending@example.com")
		id := e.usersNamed("pending@example.com")[0]
		if st, _ := e.scim("POST", "/Users/"+id+"/resendInvitation", nil); st != http.StatusOK {
			t.Fatalf("resendInvitation = %d, want 200", st)
		}
		if s := e.state(id); s != "pendingInvitation" {
			t.Errorf("accountState = %q, want pendingInvitation", s)
		}
		e.confirm(confirm, otherPass).Must(t, http.StatusNotFound, "not valid")
		b := e.browser()
		form := b.Get(lastLink(t, e.mail)).Must(t, http.StatusOK, "Set your password")
		b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
			"password": {newPass}, "confirm": {newPass}}).Must(t, http.StatusOK, "all set")
		if st := e.me("acme", "pending@example.com", newPass); st != http.StatusOK {
			t.Errorf("GET /Me with the chosen password = %d, want 200", st)
		}
		if st := e.me("acme", "pending@example.com", otherPass); st != http.StatusUnauthorized {
			t.Errorf("GET /Me with the registrant's password = %d, want 401", st)
		}
	})
}

var autofocusRE = regexp.MustCompile(`<input id="([a-z]+)"[^>]*\sautofocus>`)

// TestPagesSayOnlyWhatHappened: the done and confirmed pages tell the outcome
// of this browser's form, once; opened otherwise they lead to sign-in. A
// password saved on a disabled account says so. A mismatched confirmation
// puts the focus on it.
func TestPagesSayOnlyWhatHappened(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		e := newEnv(t, redisURL, 0)
		e.enable("acme", true)
		for _, path := range []string{"/t/acme/accounts/done", "/t/globex/accounts/done", "/t/nosuchorg/accounts/done", "/t/acme/accounts/confirmed"} {
			p := e.browser().Get(path).Must(t, http.StatusOK, "Sign in")
			if !strings.HasSuffix(p.URL, "/accounts/login") || strings.Contains(p.Body, "all set") || strings.Contains(p.Body, "active") {
				t.Errorf("GET %s without submitting anything: at %s:\n%s\nwant the sign-in page", path, p.URL, p.Body)
			}
		}

		// Created disabled, as an identity provider creates an account ahead of
		// its start date: its invitation works (one sent before the account was
		// disabled would not, see TestLinksEndWithPasswordDisableDelete).
		if st, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": "disabled@example.com", "active": false,
			schemas.CustomerUserURN: map[string]any{"passwordSetup": "invite"}}); st != http.StatusCreated {
			t.Fatalf("POST /Users disabled: %d %v", st, body)
		}
		b := e.browser()
		form := b.Get(lastLink(t, e.mail)).Must(t, http.StatusOK, "Set your password")
		post := func(pw, confirm string) page {
			return b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
				"password": {pw}, "confirm": {confirm}})
		}
		for _, c := range []struct{ pw, confirm, focus string }{
			{chosen, chosen + "x", "confirm"},
			{"Welcome2026", "Welcome2026", "password"},
			{"Welcome2026", "other", "password"},
		} {
			p := post(c.pw, c.confirm).Must(t, http.StatusBadRequest)
			if got := autofocusRE.FindAllStringSubmatch(p.Body, -1); len(got) != 1 || got[0][1] != c.focus {
				t.Errorf("refused %q/%q: autofocus on %v, want only %q", c.pw, c.confirm, got, c.focus)
			}
		}
		done := post(chosen, chosen).Must(t, http.StatusOK, "Your password is saved", "disabled by acme")
		if strings.Contains(done.Body, "account is active") || strings.Contains(done.Body, `href="login"`) {
			t.Errorf("the page after setting a disabled account's password says it is active or offers sign-in:\n%s", done.Body)
		}
		if again := b.Get("/t/acme/accounts/done"); !strings.HasSuffix(again.URL, "/accounts/login") {
			t.Errorf("reloading done: at %s, want the sign-in page (the outcome is told once)", again.URL)
		}
	})
}

// countingLimiter is an accounts.AuthLimiter that blocks after limit
// failures and records every settled attempt.
type countingLimiter struct {
	mu       sync.Mutex
	limit    int
	pending  int
	failures int
	settled  []bool
}

func (l *countingLimiter) BeginAuth(*http.Request) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures+l.pending >= l.limit {
		return 42 * time.Second, false
	}
	l.pending++
	return 0, true
}

func (l *countingLimiter) EndAuth(_ *http.Request, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending--
	l.settled = append(l.settled, failed)
	if failed {
		l.failures++
	}
}

func (l *countingLimiter) report() (failures, pending int, settled []bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failures, l.pending, append([]bool(nil), l.settled...)
}

// TestFailedPasswordsAreLimited: failed sign-ins and wrong passwords on the
// confirmation page count toward the limit on failed authentications
// (Config.Limiter, the server's per-address limit); once it is reached,
// even the right password gets 429 with Retry-After.
func TestFailedPasswordsAreLimited(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		l := &countingLimiter{limit: 3}
		e := newEnvPages(t, redisURL, func(*resources.Onboarding) {}, func(*scim.Handler) accounts.Config { return accounts.Config{Limiter: l} })
		e.enable("acme", true)
		e.createCustomer("limited@example.com", tempPass)
		e.register("acme", "reg@example.com", "Reg", "Istered", regPass, regPass).Must(t, http.StatusOK, "Check your email")
		link := confirmLink(t, e.mail, "reg@example.com")

		b := e.browser()
		login := b.Get("/t/acme/accounts/login")
		signIn := func(pw string) page {
			return b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {"limited@example.com"}, "password": {pw}})
		}
		signIn(tempPass).Must(t, http.StatusOK, "Choose a new password")
		signIn("wrong-password-1").Must(t, http.StatusUnauthorized, "Invalid email or password.")
		e.confirm(link, otherPass).Must(t, http.StatusUnauthorized, "not the password chosen")
		if f, p, s := l.report(); f != 2 || p != 0 || fmt.Sprint(s) != "[false true true]" {
			t.Fatalf("limiter after a sign-in, a failed one and a wrong confirmation: failures %d, pending %d, settled %v; want 2, 0, [false true true]", f, p, s)
		}
		signIn("wrong-password-2").Must(t, http.StatusUnauthorized, "Invalid email or password.")
		blocked := signIn(tempPass).Must(t, http.StatusTooManyRequests, "Too many attempts", "42 seconds")
		if got := blocked.Header.Get("Retry-After"); got != "42" {
			t.Errorf("Retry-After = %q, want 42", got)
		}
		e.confirm(link, regPass).Must(t, http.StatusTooManyRequests, "Too many attempts")
		if s := e.state(e.usersNamed("reg@example.com")[0]); s != "pendingConfirmation" {
			t.Errorf("a blocked confirmation changed the account: accountState %q", s)
		}
	})
}

// TestPageAndMeFailuresShareOneLimit: wired as serve wires them, failed
// sign-ins on the pages and on /Me count against one per-address limit:
// the process's own on the embedded store, the one shared through Redis
// otherwise.
func TestPageAndMeFailuresShareOneLimit(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		var api *scim.Handler
		e := newEnvPages(t, redisURL, func(*resources.Onboarding) {}, func(h *scim.Handler) accounts.Config { api = h; return accounts.Config{Limiter: h} })
		if !e.store.Embedded() {
			api.ShareLimits(e.store)
		}
		e.createCustomer("shared@example.com", tempPass)
		b := e.browser()
		login := b.Get("/t/acme/accounts/login")
		for i := range scim.DefaultAuthFailureLimit {
			b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "email": {"shared@example.com"}, "password": {fmt.Sprintf("wrong-password-%d", i)}}).
				Must(t, http.StatusUnauthorized, "Invalid email or password.")
		}
		req, _ := http.NewRequest("GET", e.srv.URL+"/t/acme/scim/v2/Me", nil)
		req.SetBasicAuth("shared@example.com", tempPass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("/Me after %d failed page sign-ins: status %d, Retry-After %q; want 429 with Retry-After", scim.DefaultAuthFailureLimit, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if n := api.LimitFallbacks(); n != 0 {
			t.Errorf("the limit was decided by the process alone %d times with the store up", n)
		}
	})
}

// TestLinksEndWithPasswordDisableDelete: an invitation or password-reset
// link is good for the account it was sent for: it stops working once the
// account's password changes (the customer's own through /Me, or another
// temporary one an administrator sets), once the account is disabled (and
// enabling it again does not bring the link back), and with the account.
func TestLinksEndWithPasswordDisableDelete(t *testing.T) {
	patchOp := func(path string, value any) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": path, "value": value}}}
	}
	for _, c := range []struct {
		name   string
		setup  string // the customer's passwordSetup: "invite" or a temporary password
		change func(e *env, id string)
	}{
		{"reset, the customer's own password through /Me", tempPass, func(e *env, id string) {
			req, _ := http.NewRequest("PATCH", e.srv.URL+"/t/acme/scim/v2/Me", strings.NewReader(
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"`+newPass+`"}]}`))
			req.SetBasicAuth("links@example.com", tempPass)
			req.Header.Set("Content-Type", "application/scim+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				e.t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				e.t.Fatalf("PATCH /Me password = %d, want 200", resp.StatusCode)
			}
		}},
		{"reset, another temporary password", tempPass, func(e *env, id string) {
			if st, body := e.scim("PATCH", "/Users/"+id, patchOp("password", otherPass)); st != http.StatusOK {
				e.t.Fatalf("PATCH password = %d %v", st, body)
			}
		}},
		{"reset, disabled and enabled again", tempPass, func(e *env, id string) {
			for _, active := range []bool{false, true} {
				if st, body := e.scim("PATCH", "/Users/"+id, patchOp("active", active)); st != http.StatusOK {
					e.t.Fatalf("PATCH active %v = %d %v", active, st, body)
				}
			}
		}},
		{"invitation, disabled and enabled again", "invite", func(e *env, id string) {
			for _, active := range []bool{false, true} {
				if st, body := e.scim("PATCH", "/Users/"+id, patchOp("active", active)); st != http.StatusOK {
					e.t.Fatalf("PATCH active %v = %d %v", active, st, body)
				}
			}
		}},
		{"invitation, deleted", "invite", func(e *env, id string) {
			if st, body := e.scim("DELETE", "/Users/"+id, nil); st != http.StatusNoContent {
				e.t.Fatalf("DELETE = %d %v", st, body)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stores(t, func(t *testing.T, e *env) {
				id := e.createCustomer("links@example.com", c.setup)
				if c.setup != "invite" {
					if st, _ := e.scim("POST", "/Users/"+id+"/resendInvitation", nil); st != http.StatusOK {
						t.Fatalf("resendInvitation = %d, want 200", st)
					}
				}
				link := lastLink(t, e.mail)
				b := e.browser()
				form := b.Get(link).Must(t, http.StatusOK)
				c.change(e, id)
				b.Get(link).Must(t, http.StatusNotFound, "not valid")
				// A form opened before the change cannot use the link either.
				b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
					"password": {chosen}, "confirm": {chosen}}).Must(t, http.StatusNotFound, "not valid")
				if st := e.me("acme", "links@example.com", chosen); st != http.StatusUnauthorized {
					t.Errorf("GET /Me with the password the dead link tried to set = %d, want 401", st)
				}
			})
		})
	}
}
