package accounts_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/scim/web/browsertest"
)

// TestBrowserForgotPassword: from the sign-in page, "Forgot your
// password?", the address, the emailed link, a new password, and signing in
// with it, at phone width.
func TestBrowserForgotPassword(t *testing.T) {
	ctx := browsertest.Start(t, 500, 844)
	e := newEnv(t, "", 0)
	e.activeCustomer("kim.park@example.com")
	submit := chromedp.Click(chromedp.CSS("button[type=submit]"))
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+"/t/acme/accounts/login"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="forgot-password"]`)),
		chromedp.Click(chromedp.CSS(`a[href="forgot-password"]`)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "kim.park@example.com"),
		screenshot(t, "forgot-password-narrow"),
		submit,
		chromedp.WaitVisible(chromedp.CSS("a.button")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if body := text(ctx, t, "main"); !strings.Contains(body, sameAnswer) {
		t.Errorf("after the form: %q, want the one answer", body)
	}
	checkMargins(ctx, t, 390)
	e.pages.Wait()
	err = chromedp.Do(ctx,
		chromedp.Navigate(lastLink(t, e.mail)),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), newPass),
		chromedp.SendKeys(chromedp.ID("confirm"), newPass),
		submit,
		chromedp.WaitVisible(chromedp.CSS("a.button")),
		chromedp.Click(chromedp.CSS("a.button")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "kim.park@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), newPass),
		submit,
		chromedp.WaitVisible(chromedp.CSS("dl.profile")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
}
