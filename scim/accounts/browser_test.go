package accounts_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/scim/web/browsertest"
)

// newBrowser starts headless Chromium (browsertest.Start); it stops with
// the test.
//
// The browser tests check what a person sees and does in the pages'
// scripts and layout, which no store changes; they run on the embedded
// store (TestBrowserSignInProfileNarrow on the Cluster too), while every
// request of theirs runs through HTTP on all three stores in the other
// tests. A browser walk takes seconds of Chromium.
func newBrowser(t *testing.T) context.Context { return browsertest.Start(t, 720, 820) }

// screenshot saves the viewport as docs/screenshots/<name>.png when
// SCIM_SCREENSHOTS=1 (the README shows them).
func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return browsertest.Screenshot(t, filepath.Join("..", ".."), name)
}

func TestBrowserInvitation(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, "", 0)
	id := e.createCustomer("jane.doe@example.com", "invite")
	link := lastLink(t, e.mail)

	submit := chromedp.Click(chromedp.CSS("button[type=submit]"))
	err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("password")),
		screenshot(t, "invite-form"),
		// A refused password first: the message is shown and linked.
		chromedp.SendKeys(chromedp.ID("password"), "password123"),
		chromedp.SendKeys(chromedp.ID("confirm"), "password123"),
		submit,
		chromedp.WaitVisible(chromedp.ID("password-error")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("password-error")))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// Two passwords that differ: the focus goes to the confirmation.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), chosen),
		chromedp.SendKeys(chromedp.ID("confirm"), chosen+"x"),
		submit,
		chromedp.WaitVisible(chromedp.ID("confirm-error")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || focused != "confirm" {
		t.Errorf("after a mismatch the focus is on %q (%v), want the confirmation field", focused, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), chosen),
		chromedp.SendKeys(chromedp.ID("confirm"), chosen),
		submit,
		chromedp.WaitVisible(chromedp.CSS("a.button")),
		screenshot(t, "invite-success"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	title, body := text(ctx, t, "h1"), text(ctx, t, "main")
	if !strings.Contains(errText, "too easy to guess") {
		t.Errorf("error shown = %q, want the common-password message", errText)
	}
	if title != "You're all set" || !strings.Contains(body, "account is active") {
		t.Errorf("after submitting: title %q, text %q; want the success page", title, body)
	}
	if s := e.state(id); s != "active" {
		t.Errorf("accountState = %q, want active", s)
	}
}

func TestBrowserTemporaryPassword(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, "", 0)
	id := e.createCustomer("sam.lee@example.com", tempPass)

	submit := chromedp.Click(chromedp.CSS("button[type=submit]"))
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/t/acme/accounts/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "sam.lee@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), tempPass),
		submit,
		chromedp.WaitVisible(chromedp.ID("confirm")),
		screenshot(t, "change-password"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if title := text(ctx, t, "h1"); title != "Choose a new password" {
		t.Fatalf("after sign-in: title %q, want the change-password page", title)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), newPass),
		chromedp.SendKeys(chromedp.ID("confirm"), newPass),
		submit,
		chromedp.WaitVisible(chromedp.CSS("a.button")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	title := text(ctx, t, "h1")
	// Sign in again with the new password.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("a.button")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "sam.lee@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), newPass),
		submit,
		chromedp.WaitNotPresent(chromedp.ID("email")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	body := text(ctx, t, "main")
	if title != "You're all set" {
		t.Errorf("after changing: title %q, want the success page", title)
	}
	if !strings.Contains(body, "Your account") || !strings.Contains(body, "sam.lee@example.com") {
		t.Errorf("after signing in again: %q, want the profile page", body)
	}
	if s := e.state(id); s != "active" {
		t.Errorf("accountState = %q, want active", s)
	}
}

// text returns the visible text of the first element matching a CSS selector.
func text(ctx context.Context, t *testing.T, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}
