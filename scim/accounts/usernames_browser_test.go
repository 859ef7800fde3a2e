package accounts_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/scim/web/browsertest"
)

// TestBrowserAnyUserNames drives Chromium, on both stores, through the
// customer pages of an organization whose userNameFormat is "any":
// registering a username and an email (the link goes to the email),
// confirming, a failed and a good sign-in with the username, the profile
// naming both, signing out, and forgot password by username (the link goes
// to the email) with the new password signing in; the store has what the
// pages said.
func TestBrowserAnyUserNames(t *testing.T) {
	for _, store := range []string{"embedded", "redis"} {
		t.Run(store, func(t *testing.T) {
			url := ""
			if store == "redis" {
				url = redistest.Start(t)
			}
			ctx := browsertest.Start(t, 720, 820)
			e := newEnv(t, url, 0)
			e.anyUserNames()
			e.enable("acme", true)
			const login, email = "AlexK_7", "alex@example.com"
			submit := chromedp.Click(chromedp.CSS("button[type=submit]"))

			// Registration: a username and an email.
			err := chromedp.Do(ctx,
				chromedp.Navigate(e.srv.URL+"/t/acme/accounts/register"),
				chromedp.WaitVisible(chromedp.ID("userName")),
				chromedp.SendKeys(chromedp.ID("userName"), login),
				chromedp.SendKeys(chromedp.ID("email"), email),
				chromedp.SendKeys(chromedp.ID("givenName"), "Alex"),
				chromedp.SendKeys(chromedp.ID("familyName"), "Kim"),
				chromedp.SendKeys(chromedp.ID("password"), regPass),
				chromedp.SendKeys(chromedp.ID("confirm"), regPass),
				submit,
				chromedp.WaitNotPresent(chromedp.ID("userName")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			if title := text(ctx, t, "h1"); title != "Check your email" {
				t.Errorf("after registering: title %q, want Check your email", title)
			}
			ids := e.usersNamed(login)
			if len(ids) != 1 || e.state(ids[0]) != "pendingConfirmation" {
				t.Fatalf("after registering: users named %s %v, want one pendingConfirmation", login, ids)
			}
			_, u := e.scim("GET", "/Users/"+ids[0], nil)
			emails, _ := u["emails"].([]any)
			if first, _ := emails[0].(map[string]any); len(emails) != 1 || u["userName"] != login || first["value"] != email || first["primary"] != true {
				t.Errorf("the registered user = %v, want userName %s and one primary email %s", u, login, email)
			}

			// Confirmation: the emailed link names the address and the username.
			err = chromedp.Do(ctx,
				chromedp.Navigate(confirmLink(t, e.mail, email)),
				chromedp.WaitVisible(chromedp.ID("password")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			confirmBody := text(ctx, t, "main")
			accountLabel := text(ctx, t, `label[for="username"]`)
			accountValue := evaluate[string](ctx, t, `document.getElementById("username").value`)
			err = chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("password"), regPass),
				submit,
				chromedp.WaitVisible(chromedp.CSS("a.button")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			title, body := text(ctx, t, "h1"), text(ctx, t, "main")
			if !strings.Contains(confirmBody, email) || accountLabel != "Username" || accountValue != login {
				t.Errorf("confirmation page: %q, account field %q = %q; want it to name %s, and Username %s", confirmBody, accountLabel, accountValue, email, login)
			}
			if title != "Your account is ready" || !strings.Contains(body, "with your username and the password you chose") {
				t.Errorf("after confirming: title %q, text %q", title, body)
			}
			if s := e.state(ids[0]); s != "active" {
				t.Errorf("accountState after confirming = %q, want active", s)
			}

			// Sign-in with the username: a wrong password first.
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS("a.button")),
				chromedp.WaitVisible(chromedp.ID("username")),
				chromedp.SendKeys(chromedp.ID("username"), strings.ToLower(login)),
				chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
				submit,
				chromedp.WaitVisible(chromedp.ID("error-summary")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			if n := evaluate[int](ctx, t, `document.body.innerText.split("Invalid username or password.").length - 1`); n != 1 {
				t.Errorf("the sign-in error is shown %d times, want once", n)
			}
			if href := evaluate[string](ctx, t, `document.querySelector("#error-summary a").getAttribute("href")`); href != "#username" {
				t.Errorf("the error summary links to %q, want #username", href)
			}
			input := evaluate[string](ctx, t, `(e => e.type + " " + e.autocomplete + " " + document.querySelector('label[for="username"]').textContent)(document.getElementById("username"))`)
			if input != "text username Username" {
				t.Errorf("the sign-in field is %q, want type text, autocomplete username, labelled Username", input)
			}
			err = chromedp.Do(ctx,
				chromedp.SetValue(chromedp.ID("password"), regPass),
				submit,
				chromedp.WaitVisible(chromedp.CSS("dl.profile")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			profile := text(ctx, t, "dl.profile")
			for _, want := range []string{"Username\n" + login, "Email\n" + email, "sign in with your username and password"} {
				if !strings.Contains(profile, want) {
					t.Errorf("profile lacks %q: %q", want, profile)
				}
			}

			// Signed out, forgot password by username: the link goes to the email.
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS("button.secondary")),
				chromedp.WaitVisible(chromedp.CSS(`a[href="forgot-password"]`)),
				chromedp.Click(chromedp.CSS(`a[href="forgot-password"]`)),
				chromedp.WaitVisible(chromedp.ID("username")),
				chromedp.SendKeys(chromedp.ID("username"), login),
				submit,
				chromedp.WaitVisible(chromedp.CSS("a.button")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			if body := text(ctx, t, "main"); !strings.Contains(body, "for the username you entered, we sent a link") {
				t.Errorf("after the forgot-password form: %q", body)
			}
			e.pages.Wait()
			if to := e.mail.Last(t).To; to != email {
				t.Fatalf("the reset link went to %q, want %s", to, email)
			}
			err = chromedp.Do(ctx,
				chromedp.Navigate(lastLink(t, e.mail)),
				chromedp.WaitVisible(chromedp.ID("password")),
				chromedp.SendKeys(chromedp.ID("password"), newPass),
				chromedp.SendKeys(chromedp.ID("confirm"), newPass),
				submit,
				chromedp.WaitVisible(chromedp.CSS("a.button")),
				chromedp.Click(chromedp.CSS("a.button")),
				chromedp.WaitVisible(chromedp.ID("username")),
				chromedp.SendKeys(chromedp.ID("username"), login),
				chromedp.SendKeys(chromedp.ID("password"), newPass),
				submit,
				chromedp.WaitVisible(chromedp.CSS("dl.profile")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			if st := e.me("acme", login, newPass); st != http.StatusOK {
				t.Errorf("GET /Me with the new password = %d, want 200", st)
			}
			if st := e.me("acme", login, regPass); st != http.StatusUnauthorized {
				t.Errorf("GET /Me with the old password = %d, want 401", st)
			}
		})
	}
}
