package accounts_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// anyUserNames sets acme's userNameFormat to "any": its customers sign in
// with usernames that need not be email addresses.
func (e *env) anyUserNames() {
	e.t.Helper()
	if _, err := e.store.SetUserNameFormat(resources.WithActor(context.Background(), "test"), "acme", schemas.UserNameFormatAny); err != nil {
		e.t.Fatalf("SetUserNameFormat: %v", err)
	}
}

// activeLogin creates a customer of acme with the username login and, when
// email is not "", that primary email, who accepted their invitation with
// the password chosen.
func (e *env) activeLogin(login, email string) string {
	e.t.Helper()
	u := map[string]any{"schemas": []string{schemas.UserURN}, "userName": login,
		"name":                  map[string]any{"givenName": "Jane", "familyName": "Doe"},
		schemas.CustomerUserURN: map[string]any{"passwordSetup": "invite"},
		"emails":                []any{map[string]any{"value": email, "primary": true}}}
	status, body := e.scim("POST", "/Users", u)
	if status != http.StatusCreated {
		e.t.Fatalf("POST /Users %s = %d %v", login, status, body)
	}
	if to := e.mail.Last(e.t).To; to != email {
		e.t.Fatalf("the invitation of %s went to %q, want %q", login, to, email)
	}
	if text := e.mail.Last(e.t).Text; !strings.EqualFold(login, email) && !strings.Contains(text, "your username is "+login) {
		e.t.Errorf("the invitation of %s does not tell the username it signs in with:\n%s", login, text)
	}
	b := e.browser()
	form := b.Get(lastLink(e.t, e.mail)).Must(e.t, http.StatusOK, `<label for="username">Username</label>`, `value="`+login+`"`)
	b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(e.t, "csrf")}, "token": {tokenOf(e.t, form)},
		"password": {chosen}, "confirm": {chosen}}).Must(e.t, http.StatusOK, "all set", "with your username and your new password")
	id, _ := body["id"].(string)
	return id
}

// registerAny submits acme's registration form, under userNameFormat "any",
// with a new browser.
func (e *env) registerAny(login, email string) page {
	e.t.Helper()
	b := e.browser()
	form := b.Get("/t/acme/accounts/register").Must(e.t, http.StatusOK, `<label for="userName">Username</label>`)
	return b.Post("/t/acme/accounts/register", url.Values{"csrf": {form.Hidden(e.t, "csrf")}, "userName": {login}, "email": {email},
		"givenName": {"Kim"}, "familyName": {"Lee"}, "password": {regPass}, "confirm": {regPass}})
}

// TestAnyUserNamesForms: under userNameFormat "any" the sign-in,
// forgot-password and registration forms ask for a username (type text,
// autocomplete username), registration for an email besides; another
// organization's forms still ask for the email.
func TestAnyUserNamesForms(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.anyUserNames()
		e.enable("acme", true)
		e.enable("globex", true)
		b := e.browser()
		for _, path := range []string{"login", "forgot-password"} {
			p := b.Get("/t/acme/accounts/"+path).Must(t, http.StatusOK, `<label for="username">Username</label>`,
				`<input id="username" name="username" type="text" autocomplete="username" required autofocus>`)
			if strings.Contains(p.Body, `type="email"`) || strings.Contains(p.Body, ">Email<") {
				t.Errorf("acme's %s page asks for an email under userNameFormat any:\n%s", path, p.Body)
			}
			b.Get("/t/globex/accounts/"+path).Must(t, http.StatusOK, `<label for="email">Email</label>`,
				`<input id="email" name="email" type="email" autocomplete="username" required autofocus>`)
		}
		b.Get("/t/acme/accounts/forgot-password").Must(t, http.StatusOK, "Enter the username of your account", "to the account's email address")
		b.Get("/t/acme/accounts/register").Must(t, http.StatusOK,
			`<input id="userName" name="userName" type="text" autocomplete="username" required aria-describedby="userName-hint" autofocus>`,
			`<input id="email" name="email" type="email" autocomplete="email" required aria-describedby="email-hint">`,
			`<label for="givenName">`, `<label for="password">`)
		if p := b.Get("/t/globex/accounts/register"); strings.Contains(p.Body, `name="userName"`) || !strings.Contains(p.Body, "Your email address is also your username.") {
			t.Errorf("globex's registration form (userNameFormat email) changed:\n%s", p.Body)
		}
		login := b.Get("/t/acme/accounts/login")
		b.Post("/t/acme/accounts/forgot-password", url.Values{"csrf": {login.Hidden(t, "csrf")}, "username": {" "}}).
			Must(t, http.StatusBadRequest, `<a href="#username">Enter the username of your account.</a>`)
		b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "username": {"nobody"}, "password": {"x"}}).
			Must(t, http.StatusUnauthorized, `<a href="#username">Invalid username or password.</a>`, `value="nobody"`)
	})
}

// TestAnyUserNamesRegistrationRefused: under userNameFormat "any" a
// username another account has, an invalid username and a missing email or
// username are refused on the form, each linked to its field, the rest of
// the form kept; nothing is created and nothing mailed.
func TestAnyUserNamesRegistrationRefused(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.anyUserNames()
		e.enable("acme", true)
		taken := e.activeLogin("EMP-001", "emp1@example.com")
		sent := len(e.mail.Messages())
		for _, c := range []struct {
			name, login, email string
			status             int
			want               string
		}{
			{"taken, other case", "emp-001", "kim@example.com", http.StatusConflict, `<a href="#userName">This username is taken. Choose another one.</a>`},
			{"invalid", "EMP 002", "kim@example.com", http.StatusBadRequest, `<a href="#userName">Choose another username: this one has a character a login may not have (a space`},
			{"look-alike", "j\u0430ne", "kim@example.com", http.StatusBadRequest, `mixes letters of the Latin and Cyrillic scripts`},
			{"no username", " ", "kim@example.com", http.StatusBadRequest, `<a href="#userName">Choose a username.</a>`},
			{"no email", "EMP-003", "", http.StatusBadRequest, `<a href="#email">Enter your email address.</a>`},
			{"not an email", "EMP-003", "kim", http.StatusBadRequest, `<a href="#email">Enter an email address such as jane@example.com: this one has no @.</a>`},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := e.registerAny(c.login, c.email).Must(t, c.status, c.want, `value="Kim"`, `value="Lee"`)
				if strings.TrimSpace(c.login) != "" {
					p.Must(t, c.status, `value="`+c.login+`"`)
				}
				noSecrets(t, p, regPass)
			})
		}
		for _, login := range []string{"EMP 002", "EMP-003", "j\u0430ne"} {
			if ids := e.usersNamed(login); len(ids) != 0 {
				t.Errorf("a refused registration created %s: %v", login, ids)
			}
		}
		if ids := e.usersNamed("emp-001"); len(ids) != 1 || ids[0] != taken || e.state(taken) != "active" {
			t.Errorf("users named EMP-001 = %v, want only the active %s", ids, taken)
		}
		if n := len(e.mail.Messages()); n != sent {
			t.Errorf("refused registrations sent %d messages, want none", n-sent)
		}
	})
}

// TestAnyUserNamesRegistration: under userNameFormat "any" a registration
// creates the username with the address as its primary email, where the
// link goes; registering the pending username again (with another address)
// replaces it, email included; the confirmed customer signs in with the
// username and sees it and the email apart.
func TestAnyUserNamesRegistration(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.anyUserNames()
		e.enable("acme", true)
		e.registerAny("Kim-42", "kim@example.com").Must(t, http.StatusOK, "Check your email")
		ids := e.usersNamed("Kim-42")
		if len(ids) != 1 {
			t.Fatalf("users named Kim-42 = %v, want one", ids)
		}
		first := confirmLink(t, e.mail, "kim@example.com")
		if text := e.mail.Last(t).Text; !strings.Contains(text, "and the username Kim-42.") {
			t.Errorf("the confirmation mail does not name the username registered:\n%s", text)
		}
		e.registerAny("kim-42", "kim.lee@example.com").Must(t, http.StatusOK, "Check your email")
		if again := e.usersNamed("Kim-42"); len(again) != 1 || again[0] != ids[0] {
			t.Fatalf("users named Kim-42 after registering it again = %v, want only %s", again, ids[0])
		}
		link := confirmLink(t, e.mail, "kim.lee@example.com")
		_, u := e.scim("GET", "/Users/"+ids[0], nil)
		emails, _ := u["emails"].([]any)
		if u["userName"] != "Kim-42" || len(emails) != 1 {
			t.Fatalf("the registration = %v, want userName Kim-42 and one email", u)
		}
		if m, _ := emails[0].(map[string]any); m["value"] != "kim.lee@example.com" || m["primary"] != true {
			t.Errorf("emails = %v, want kim.lee@example.com, primary", emails)
		}
		b := e.browser()
		b.Get(first).Must(t, http.StatusNotFound, "not valid")
		conf := b.Get(link).Must(t, http.StatusOK, "Confirm that <strong>kim.lee@example.com</strong> is your email address to activate your account <strong>Kim-42</strong>.",
			`<label for="username">Username</label>`, `<input id="username" name="username" type="text" autocomplete="username" value="Kim-42" readonly>`)
		b.Post("/t/acme/accounts/confirm", url.Values{"csrf": {conf.Hidden(t, "csrf")}, "token": {tokenOf(t, conf)}, "password": {regPass}}).
			Must(t, http.StatusOK, "Your account is ready", "with your username and the password you chose")
		if st := e.me("acme", "kim-42", regPass); st != http.StatusOK {
			t.Errorf("GET /Me as kim-42 = %d, want 200", st)
		}
		login := b.Get("/t/acme/accounts/login")
		b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(t, "csrf")}, "username": {"KIM-42"}, "password": {regPass}}).
			Must(t, http.StatusOK, "<dt>Username</dt><dd>Kim-42</dd>", "<dt>Email</dt><dd>kim.lee@example.com</dd>",
				"Active: you can sign in with your username and password.", "with the same username and password")
	})
}

// TestAnyUserNamesForgotPassword: under userNameFormat "any" the customer
// types their username and the link goes to their email; an unknown
// username, an email address typed instead, and an account without an
// email get the same answer and no mail.
func TestAnyUserNamesForgotPassword(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.anyUserNames()
		e.activeLogin("EMP-7", "emp7@example.com")
		status, body := e.scim("POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": "NOMAIL-1", "password": tempPass,
			schemas.CustomerUserURN: map[string]any{"passwordSetup": "temporaryPassword"}})
		if status != http.StatusCreated {
			t.Fatalf("POST /Users NOMAIL-1 = %d %v", status, body)
		}
		b := e.browser()
		want := b.forgot("emp-7").Must(t, http.StatusOK, "If an account with a password exists for the username you entered, we sent a link")
		if to := e.mail.Last(t).To; to != "emp7@example.com" {
			t.Fatalf("the reset link went to %q, want emp7@example.com", to)
		}
		if text := e.mail.Last(t).Text; !strings.Contains(text, "for your account EMP-7.") {
			t.Errorf("the reset mail does not name the account's username EMP-7:\n%s", text)
		}
		form := b.Get(lastLink(t, e.mail)).Must(t, http.StatusOK, "Choose a new password for your account <strong>EMP-7</strong>", `value="EMP-7" readonly`)
		b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
			"password": {newPass}, "confirm": {newPass}}).Must(t, http.StatusOK, "all set")
		if st := e.me("acme", "EMP-7", newPass); st != http.StatusOK {
			t.Errorf("GET /Me with the new password = %d, want 200", st)
		}
		for _, login := range []string{"nobody", "emp7@example.com", "NOMAIL-1"} {
			sent := len(e.mail.Messages())
			got := b.forgot(login)
			if got.Status != want.Status || got.URL != want.URL || got.Body != want.Body {
				t.Errorf("forgot %q = %d at %s, want the answer an account gets:\n%s", login, got.Status, got.URL, got.Body)
			}
			if n := len(e.mail.Messages()); n != sent {
				t.Errorf("forgot %q sent %d messages, want none", login, n-sent)
			}
		}
	})
}

// TestAnyUserNamesProfile: the profile names the account by its username
// and its email apart when they differ, once when they are the same, and
// says when there is no email.
func TestAnyUserNamesProfile(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.anyUserNames()
		e.activeLogin("jane@example.com", "jane@example.com")
		b := e.browser()
		p := b.signInAs("jane@example.com", chosen).Must(t, http.StatusOK, "<dt>Username and email</dt><dd>jane@example.com</dd>")
		if strings.Count(p.Body, "jane@example.com") != 1 {
			t.Errorf("the profile names jane@example.com %d times, want once:\n%s", strings.Count(p.Body, "jane@example.com"), p.Body)
		}
		e.activeLogin("EMP-9", "emp9@example.com")
		status, _ := e.scim("PATCH", "/Users/"+e.usersNamed("EMP-9")[0], patch("remove", "emails", nil))
		if status != http.StatusOK {
			t.Fatalf("PATCH remove emails = %d", status)
		}
		e.browser().signInAs("EMP-9", chosen).Must(t, http.StatusOK, "<dt>Username</dt><dd>EMP-9</dd>",
			`<dt>Email</dt><dd><span class="muted">Not given</span></dd>`)
	})
}

// signInAs signs b in to acme's pages under userNameFormat "any".
func (b *browser) signInAs(login, password string) page {
	b.e.t.Helper()
	form := b.Get("/t/acme/accounts/login")
	return b.Post("/t/acme/accounts/login", url.Values{"csrf": {form.Hidden(b.e.t, "csrf")}, "username": {login}, "password": {password}})
}
