package accounts_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserRegistration(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, "", 0)
	e.enable("acme", true)
	const email = "alex.kim@example.com"

	submit := chromedp.Click(chromedp.CSS("button[type=submit]"))
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/t/acme/accounts/register"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("givenName"), "Alex"),
		chromedp.SendKeys(chromedp.ID("familyName"), "Kim"),
		// A refused password first: the message is shown, the rest kept.
		chromedp.SendKeys(chromedp.ID("password"), "password123"),
		chromedp.SendKeys(chromedp.ID("confirm"), "password123"),
		submit,
		chromedp.WaitVisible(chromedp.ID("password-error")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	errText := text(ctx, t, "#password-error")
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("givenName")))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// A fresh form, filled in well.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/t/acme/accounts/register"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("givenName"), "Alex"),
		chromedp.SendKeys(chromedp.ID("familyName"), "Kim"),
		chromedp.SendKeys(chromedp.ID("password"), regPass),
		chromedp.SendKeys(chromedp.ID("confirm"), regPass),
		fullScreenshot(t, "register"),
		submit,
		chromedp.WaitNotPresent(chromedp.ID("email")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	checkTitle := text(ctx, t, "h1")
	ids := e.usersNamed(email)
	if len(ids) != 1 || e.state(ids[0]) != "pendingConfirmation" {
		t.Fatalf("after registering: users %v, want one pendingConfirmation", ids)
	}
	link := confirmLink(t, e.mail, email)
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), regPass),
		screenshot(t, "register-confirm"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	confirmBody := text(ctx, t, "main")
	err = chromedp.Do(ctx,
		submit,
		chromedp.WaitVisible(chromedp.CSS("a.button")),
		screenshot(t, "register-confirmed"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	title, body := text(ctx, t, "h1"), text(ctx, t, "main")

	if !strings.Contains(errText, "too easy to guess") || kept != "Alex" {
		t.Errorf("refused password: error %q, first name kept %q; want the common-password message and Alex", errText, kept)
	}
	if checkTitle != "Check your email" {
		t.Errorf("after registering: title %q, want Check your email", checkTitle)
	}
	if !strings.Contains(confirmBody, email) {
		t.Errorf("confirmation page %q does not name %s", confirmBody, email)
	}
	if title != "Your account is ready" || !strings.Contains(body, "account is active") {
		t.Errorf("after confirming: title %q, text %q; want the success page", title, body)
	}
	if s := e.state(ids[0]); s != "active" {
		t.Errorf("accountState = %q, want active", s)
	}
	if st := e.me("acme", email, regPass); st != http.StatusOK {
		t.Errorf("GET /Me with the registered password = %d, want 200", st)
	}
}

// fullScreenshot is screenshot of the whole page, however tall, as PNG.
func fullScreenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		if os.Getenv("SCIM_SCREENSHOTS") != "1" {
			return nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, target)
		if err != nil {
			return err
		}
		path := filepath.Join("..", "..", "docs", "screenshots", name+".png")
		t.Logf("screenshot %s", path)
		return os.WriteFile(path, png, 0o644)
	})
}
