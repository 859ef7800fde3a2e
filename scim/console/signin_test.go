package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// signInAs signs email in through the sign-in form of acme's console with
// next, in a fresh browser, and returns the final page.
func signInAs(t *testing.T, e *env, email, password, next string) (*browser, page) {
	t.Helper()
	b := e.browser()
	p := b.Get("/t/acme/console/signin?next="+url.QueryEscape(next)).Must(t, http.StatusOK, "Sign in to the console")
	return b, b.Post("/t/acme/console/signin", url.Values{"csrf": {p.Hidden(t, "csrf")}, "next": {p.Hidden(t, "next")},
		"email": {email}, "password": {password}})
}

func TestSignIn(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		e.admin("boss@example.com", resources.RoleOwner)

		// A wrong password and an unknown address read the same; no session.
		for _, email := range []string{"boss@example.com", "nobody@example.com"} {
			b, p := signInAs(t, e, email, "wrong password here", "")
			p.Must(t, http.StatusUnauthorized, "Invalid email or password.").Lacks(t, "wrong password here")
			b.Get("/t/acme/console/account").Must(t, http.StatusOK, "Sign in to the console")
		}

		// next leads back to a page of this console, never elsewhere.
		cases := map[string]string{
			"/t/acme/console/groups":                   "/t/acme/console/groups",
			"/t/acme/console/../../x":                  "/t/acme/console/users",
			"/t/acme/console/./../../../evil.com":      "/t/acme/console/users",
			"/t/acme/console/%2e%2e/%2e%2e/x":          "/t/acme/console/users",
			"//evil.com/t/acme/console/":               "/t/acme/console/users",
			"/t/globex/console/users":                  "/t/acme/console/users",
			"/t/acme/console/users?q=jane":             "/t/acme/console/users?q=jane",
			"https://evil.com/t/acme/console/settings": "/t/acme/console/users",
		}
		for next, want := range cases {
			_, p := signInAs(t, e, "boss@example.com", adminPassword, next)
			u, _ := url.Parse(p.URL)
			if got := u.RequestURI(); got != want || p.Status != http.StatusOK {
				t.Errorf("sign in with next=%q: at %s (%d), want %s", next, got, p.Status, want)
			}
		}
	})
}

func TestSignOutEndsTheSession(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		var cookie *http.Cookie
		for _, c := range b.Client.Jar.Cookies(mustURL(t, e.srv.URL+"/t/acme/console/")) {
			if c.Name == "scimd_console" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatal("no session cookie after sign-in")
		}
		b.submit("signout", nil).Must(t, http.StatusOK, "You&#39;re signed out")
		// The old cookie, replayed, is refused: the session is gone from the store.
		replay := e.browser()
		replay.Client.Jar.SetCookies(mustURL(t, e.srv.URL+"/t/acme/console/"), []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/t/acme/console/"}})
		replay.Get("/t/acme/console/account").Must(t, http.StatusOK, "Sign in to the console").Lacks(t, "boss@example.com")
	})
}

func TestAccountPasswordAfterAMistake(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleOwner)
		const next = "another long pass phrase for boss"
		p := b.submit("account/password", url.Values{"current": {adminPassword}, "password": {next}, "confirm": {next + "x"}})
		p.Must(t, http.StatusBadRequest, "do not match", `action="/t/acme/console/account/password"`).Lacks(t, next)
		b.submit("account/password", url.Values{"current": {adminPassword}, "password": {next}, "confirm": {next}}).
			Must(t, http.StatusOK, "Your password is saved")
		_, p = signInAs(t, e, "boss@example.com", next, "")
		p.Must(t, http.StatusOK, "Users")
		_, p = signInAs(t, e, "boss@example.com", adminPassword, "")
		p.Must(t, http.StatusUnauthorized, "Invalid email or password.")
	})
}

func TestUnknownOrganization(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		e := newEnv(t, redisURL)
		b := e.browser()
		for _, path := range []string{"/t/nosuchorg/console/signin", "/t/nosuchorg/console/signin-link?token=x"} {
			p := b.Get(path).Must(t, http.StatusNotFound, "No such organization")
			if p.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("%s: no Content-Security-Policy", path)
			}
		}
		p := b.Post("/t/nosuchorg/console/signin", url.Values{"email": {"a@example.com"}, "password": {"x"}})
		if p.Status != http.StatusForbidden && p.Status != http.StatusNotFound {
			t.Errorf("POST sign-in of an unknown organization = %d, want 403 or 404", p.Status)
		}
	})
}

// TestConsoleHeaders: every console answer, errors and redirects included,
// carries the security headers.
func TestConsoleHeaders(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, path := range []string{"/t/acme/console/", "/t/acme/console/nothing-here", "/t/acme/console/signin", "/t/acme/console/users"} {
			resp, err := client.Get(e.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Cache-Control", "Referrer-Policy"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("GET %s (%d): no %s", path, resp.StatusCode, h)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
				t.Errorf("GET %s: CSP allows inline code: %s", path, csp)
			}
		}
	})
}
