package console_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
)

// TestFlowsSignInBrowser walks, in Chromium on both stores, an owner's and
// a collaborator's way in and out: accepting the invitation (a weak
// password and a mismatched confirmation refused first; the link works
// once), signing out (the store's session ends), a wrong password at
// sign-in (no session), signing in, and a one-time sign-in link (it works
// once).
func TestFlowsSignInBrowser(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		for _, role := range roles {
			t.Run(string(role), func(t *testing.T) { walkSignIn(t, e.on(t), role) })
		}
	})
}

func walkSignIn(t *testing.T, e *env, role resources.Role) {
	ctx := context.Background()
	b := e.tab(t)
	b.role, b.email = role, "new-"+string(role)+"@acme.com"
	// other is a second browser, never signed in.
	other := e.tab(t)
	atConsole := `location.pathname.endsWith("/console/users")`
	signedIn := func(b *tab) {
		b.t.Helper()
		ad, _, err := b.e.admins.Session(ctx, "acme", b.session())
		if err != nil || ad.Email != b.email {
			b.t.Errorf("the browser's session in the store: %+v, %v; want %s's", ad, err, b.email)
		}
	}
	signedOut := func(b *tab) {
		b.t.Helper()
		if s := b.session(); s != "" {
			b.t.Errorf("the browser has a session cookie")
		}
		b.open("users")
		if p := b.path(); !strings.HasPrefix(p, "/t/acme/console/signin") {
			b.t.Errorf("without a session the users list leads to %s, want the sign-in page", p)
		}
	}

	t.Run("accept the invitation", func(t *testing.T) {
		b, other := b.on(t), other.on(t)
		e := b.e
		if _, err := e.admins.Invite(ctx, "acme", resources.Admin{}, b.email, role); err != nil {
			t.Fatalf("invite %s: %v", b.email, err)
		}
		link := inviteLinkRE.FindString(e.mail.Last(t).Text)
		if link == "" {
			t.Fatalf("no invitation link in the message to %s", b.email)
		}
		save := `main form button[type=submit]`
		b.do("open the invitation", chromedp.Navigate(link))
		b.shows("main", b.email)
		b.fill("password", "password1")
		b.fill("confirm", "password1")
		b.submit("a weak password", save)
		b.errorShown("password", "password")
		b.fill("password", adminPassword)
		b.fill("confirm", adminPassword+"!")
		b.submit("a mismatched confirmation", save)
		b.errorShown("confirm", "match")
		if ad := e.adminByEmail(b.email); ad.HasPassword {
			t.Errorf("refused passwords set %s's password", b.email)
		}
		b.fill("password", adminPassword)
		b.fill("confirm", adminPassword)
		b.submit("save the password", save)
		b.waitFor("the console after accepting", atConsole)
		b.shows("header nav", b.email, "("+string(role)+")")
		if ad := e.adminByEmail(b.email); !ad.HasPassword || ad.Role != role {
			t.Errorf("%s in the store after accepting: %+v", b.email, ad)
		}
		signedIn(b)

		other.do("open the used invitation", chromedp.Navigate(link))
		other.shows("h1", "not valid")
		signedOut(other)
	})

	t.Run("sign out", func(t *testing.T) {
		b := b.on(t)
		secret := b.session()
		b.submit("sign out", `form[action$="/signout"] button`)
		b.shows("h1", "signed out")
		if _, _, err := b.e.admins.Session(ctx, "acme", secret); !errors.Is(err, resources.ErrSignedOut) {
			t.Errorf("the session after signing out: %v, want it ended", err)
		}
		signedOut(b)
	})

	t.Run("wrong password", func(t *testing.T) {
		b := b.on(t)
		b.open("signin")
		b.fill("email", b.email)
		b.fill("password", "not "+adminPassword)
		b.submit("sign in with a wrong password", `main button[type=submit]`)
		b.errorShown("email", "Invalid email or password")
		if m, pw := b.value("email"), b.value("password"); m != b.email || pw != "" {
			t.Errorf("after a wrong password the form holds %q and a password %q, want the email only", m, pw)
		}
		if strings.Contains(b.html(), "not "+adminPassword) {
			t.Errorf("the wrong password is in the page")
		}
		signedOut(b)
	})

	t.Run("sign in", func(t *testing.T) {
		b := b.on(t)
		b.signIn(b.email)
		b.shows("header nav", b.email)
		signedIn(b)
	})

	t.Run("sign-in link", func(t *testing.T) {
		b, other := b.on(t), other.on(t)
		e := b.e
		token, err := e.admins.SignInLink(ctx, "acme", e.adminByEmail(b.email).ID, time.Minute)
		if err != nil {
			t.Fatalf("SignInLink: %v", err)
		}
		link := e.srv.URL + "/t/acme/console/signin-link?token=" + url.QueryEscape(token.Reveal())
		fresh := e.tab(t)
		fresh.email = b.email
		fresh.do("open the sign-in link", chromedp.Navigate(link))
		fresh.waitFor("the sign-in link's page", `document.querySelector("main button[type=submit]") !== null`)
		fresh.submit("sign in with the link", "main button[type=submit]")
		fresh.waitFor("the console after the sign-in link", atConsole)
		fresh.shows("header nav", b.email)
		signedIn(fresh)

		other.do("open the used sign-in link", chromedp.Navigate(link))
		other.shows("h1", "not valid")
		signedOut(other)
	})
}
