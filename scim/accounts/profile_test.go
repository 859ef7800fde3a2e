package accounts_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

// activeCustomer creates a customer of acme who accepted their invitation
// with the password chosen.
func (e *env) activeCustomer(userName string) string {
	e.t.Helper()
	id := e.createCustomer(userName, "invite")
	b := e.browser()
	form := b.Get(lastLink(e.t, e.mail))
	b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(e.t, "csrf")}, "token": {tokenOf(e.t, form)},
		"password": {chosen}, "confirm": {chosen}}).Must(e.t, http.StatusOK, "all set")
	return id
}

// signIn signs b in to acme's pages.
func (b *browser) signIn(email, password string) page {
	b.e.t.Helper()
	login := b.Get("/t/acme/accounts/login")
	return b.Post("/t/acme/accounts/login", url.Values{"csrf": {login.Hidden(b.e.t, "csrf")}, "email": {email}, "password": {password}})
}

// signedOut fails unless GET profile leads b to the sign-in form.
func (b *browser) signedOut(tb testing.TB, why string) {
	tb.Helper()
	p := b.Get("/t/acme/accounts/profile")
	if p.Status != http.StatusOK || !strings.HasSuffix(p.URL, "/t/acme/accounts/login") || strings.Contains(p.Body, "Your account") {
		tb.Errorf("%s: GET profile = %d at %s, want the sign-in form:\n%s", why, p.Status, p.URL, p.Body)
	}
}

func TestProfileAndSignOut(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.activeCustomer("jane.doe@example.com")
		b := e.browser()
		b.signedOut(t, "before signing in")

		p := b.signIn("Jane.Doe@example.com", chosen).Must(t, http.StatusOK, "<h1>Your account</h1>",
			"<dd>jane.doe@example.com</dd>", "<dd>Jane Doe</dd>", "Active: you can sign in", "Sign out")
		if !strings.HasSuffix(p.URL, "/t/acme/accounts/profile") {
			t.Errorf("after signing in the browser is at %s, want .../profile (303 See Other)", p.URL)
		}
		checkHeaders(t, p)
		noSecrets(t, p, chosen)
		var session *http.Cookie
		for _, c := range b.Client.Jar.Cookies(mustURL(t, e.srv.URL+"/t/acme/accounts/")) {
			if c.Name == "scimd_session" {
				session = c
			}
		}
		if session == nil || len(session.Value) != 43 {
			t.Fatalf("session cookie = %v, want a 43-character secret", session)
		}
		if strings.Contains(e.logs.String(), session.Value) {
			t.Errorf("the log holds the session secret")
		}
		// Signed in, the sign-in form leads to the profile; a reload shows it again.
		if again := b.Get("/t/acme/accounts/login"); !strings.HasSuffix(again.URL, "/profile") {
			t.Errorf("GET login while signed in ends at %s, want the profile", again.URL)
		}
		b.Get("/t/acme/accounts/profile").Must(t, http.StatusOK, "jane.doe@example.com")
		// The session is acme's: globex's pages know nothing of it.
		other := e.browser()
		other.Client.Jar.SetCookies(mustURL(t, e.srv.URL+"/t/globex/accounts/"), []*http.Cookie{{Name: "scimd_session", Value: session.Value, Path: "/t/globex/accounts/"}})
		if g := other.Get("/t/globex/accounts/profile"); !strings.HasSuffix(g.URL, "/t/globex/accounts/login") {
			t.Errorf("acme's session on globex's profile ends at %s, want globex's sign-in", g.URL)
		}

		// Sign out: a forged form does nothing; the real one ends the session.
		b.Post("/t/acme/accounts/signout", url.Values{"csrf": {"forged"}}).Must(t, http.StatusForbidden, "expired")
		b.Get("/t/acme/accounts/profile").Must(t, http.StatusOK, "Your account")
		out := b.Post("/t/acme/accounts/signout", url.Values{"csrf": {p.Hidden(t, "csrf")}}).Must(t, http.StatusOK, "re signed out.", `role="status"`)
		if !strings.HasSuffix(out.URL, "/t/acme/accounts/login") {
			t.Errorf("after signing out the browser is at %s, want the sign-in form", out.URL)
		}
		b.Get("/t/acme/accounts/login").Must(t, http.StatusOK, "Sign in")
		if strings.Contains(b.Get("/t/acme/accounts/login").Body, "signed out") {
			t.Errorf("the sign-in form says \"signed out\" again: the notice is shown once")
		}
		b.signedOut(t, "after signing out")
		// The secret of an ended session is worth nothing, even replayed.
		replay := e.browser()
		replay.Client.Jar.SetCookies(mustURL(t, e.srv.URL+"/t/acme/accounts/"), []*http.Cookie{{Name: "scimd_session", Value: session.Value, Path: "/t/acme/accounts/"}})
		replay.signedOut(t, "the ended session's cookie replayed")
	})
}

func TestSessionEndsWithTheAccount(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		cases := []struct {
			name   string
			change func(id string)
		}{
			{"disabled", func(id string) {
				if st, body := e.scim("PATCH", "/Users/"+id, patch("replace", "active", false)); st != http.StatusOK {
					t.Fatalf("PATCH active false = %d %v", st, body)
				}
			}},
			{"password reset", func(id string) {
				// An administrator sends a reset link; the customer, elsewhere, sets a new password.
				if st, body := e.scim("POST", "/Users/"+id+"/resendInvitation", nil); st != http.StatusOK {
					t.Fatalf("resendInvitation = %d %v", st, body)
				}
				other := e.browser()
				form := other.Get(lastLink(t, e.mail)).Must(t, http.StatusOK, "Choose a new password")
				other.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
					"password": {newPass}, "confirm": {newPass}}).Must(t, http.StatusOK, "all set")
			}},
			{"deleted", func(id string) {
				if st, body := e.scim("DELETE", "/Users/"+id, nil); st != http.StatusNoContent {
					t.Fatalf("DELETE = %d %v", st, body)
				}
			}},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				email := "s" + string(rune('a'+i)) + "@example.com"
				id := e.activeCustomer(email)
				b := e.browser()
				b.signIn(email, chosen).Must(t, http.StatusOK, "Your account", email)
				c.change(id)
				b.signedOut(t, c.name)
			})
		}
	})
}

// patch is a SCIM PatchOp body of one operation.
func patch(op, path string, value any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": op, "path": path, "value": value}}}
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// visibleText is a page's text without its tags and the values of its
// attributes.
func visibleText(p page) string {
	return regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(p.Body, " ")
}

func TestErrorsShownOnceAndLinked(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.activeCustomer("jane.doe@example.com")
		b := e.browser()

		// A failed sign-in: one message, in the summary, linked to the email field.
		p := b.signIn("jane.doe@example.com", "wrong-password").Must(t, http.StatusUnauthorized,
			`<h2 id="error-summary-title">There is a problem</h2>`, `<li id="email-error"><a href="#email">Invalid email or password.</a></li>`,
			`aria-describedby="email-error" aria-invalid="true"`)
		if n := strings.Count(visibleText(p), "Invalid email or password"); n != 1 {
			t.Errorf("the sign-in error is shown %d times, want once:\n%s", n, p.Body)
		}

		// Every problem of a new password at once, and the mismatch beside them.
		id := e.createCustomer("new@example.com", "invite")
		form := b.Get(lastLink(t, e.mail))
		p = b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
			"password": {"abc"}, "confirm": {"abd"}}).Must(t, http.StatusBadRequest,
			`<li id="password-error"><a href="#password">Your new password must be at least 8 characters long, and is too easy to guess`,
			`<li id="confirm-error"><a href="#confirm">The two passwords do not match.`,
			`aria-describedby="password-hint password-error" aria-invalid="true"`, `aria-describedby="confirm-error" aria-invalid="true"`)
		text := visibleText(p)
		for _, msg := range []string{"at least 8 characters", "too easy to guess", "do not match"} {
			if n := strings.Count(text, msg); n != 1 {
				t.Errorf("%q is shown %d times, want once", msg, n)
			}
		}
		// The account's own names are guessable too, checked before anything is stored.
		p = b.Post("/t/acme/accounts/invite", url.Values{"csrf": {form.Hidden(t, "csrf")}, "token": {tokenOf(t, form)},
			"password": {"DoeJane!"}, "confirm": {"DoeJane!"}}).Must(t, http.StatusBadRequest, `<a href="#password">Your new password is too easy to guess`)
		if s := e.state(id); s != "pendingInvitation" {
			t.Errorf("accountState after refused passwords = %q, want pendingInvitation", s)
		}

		// The registration form too: every field's problem, the password's all, at once.
		e.enable("acme", true)
		p = e.register("acme", "not-an-address", "", "Doe", "doe", "Doe").Must(t, http.StatusBadRequest,
			`<li id="email-error"><a href="#email">`, `<li id="givenName-error"><a href="#givenName">`,
			`<li id="password-error"><a href="#password">Your password must be at least 8 characters long, and is too easy to guess`,
			`<li id="confirm-error"><a href="#confirm">The two passwords do not match.`)
		if strings.Contains(p.Body, `id="familyName-error"`) {
			t.Errorf("the given last name is marked in error:\n%s", p.Body)
		}

		// An expired form is a problem of the form: said once, no link.
		p = b.Post("/t/acme/accounts/invite", url.Values{"csrf": {"forged"}, "token": {tokenOf(t, form)},
			"password": {chosen}, "confirm": {chosen}}).Must(t, http.StatusForbidden, "There is a problem", "this form has expired")
		if strings.Contains(p.Body, `aria-invalid="true"`) {
			t.Errorf("an expired form marks fields invalid:\n%s", p.Body)
		}
	})
}

func TestOrganizationDisplayName(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := resources.WithActor(context.Background(), "test")
		b := e.browser()
		b.Get("/t/acme/accounts/login").Must(t, http.StatusOK, `<p class="org">acme</p>`, "<title>Sign in · acme</title>")
		if err := e.store.SetOrgDisplayName(ctx, "acme", "Acme & Co."); err != nil {
			t.Fatal(err)
		}
		p := b.Get("/t/acme/accounts/login").Must(t, http.StatusOK, `<p class="org">Acme &amp; Co.</p>`, "<title>Sign in · Acme &amp; Co.</title>")
		if strings.Contains(p.Body, `class="org">acme<`) {
			t.Errorf("the page shows the slug:\n%s", p.Body)
		}
		// Pages of another organization keep their own name.
		b.Get("/t/globex/accounts/login").Must(t, http.StatusOK, `<p class="org">globex</p>`)
		// Sentences name the organization so too.
		e.activeCustomer("named@example.com")
		b.signIn("named@example.com", chosen).Must(t, http.StatusOK, "to use an application of Acme &amp; Co., sign in")
	})
}
