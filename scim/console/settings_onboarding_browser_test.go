package console_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
)

// TestSettingsOnboardingBrowser: in Chromium, an owner chooses the
// onboarding policy and the userName format, and the New customer form then
// asks for a username.
func TestSettingsOnboardingBrowser(t *testing.T) {
	browserStores(t, func(t *testing.T, e *env) {
		ctx := newChromium(t, 1000)
		e.admin("boss@acme.com", resources.RoleOwner)
		signInChromium(t, ctx, e, "acme", "boss@acme.com")
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.srv.URL+"/t/acme/console/settings"),
			chromedp.WaitVisible(chromedp.ID("onboarding-invite")),
			chromedp.Click(chromedp.ID("onboarding-invite")),
			chromedp.Click(chromedp.CSS(`form[action$="/settings/onboarding"] button`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
			chromedp.Click(chromedp.ID("usernames-any")),
			chromedp.Click(chromedp.CSS(`form[action$="/settings/usernames"] button`)),
		)
		if err != nil {
			t.Fatalf("onboarding settings in the browser: %v", err)
		}
		// The radio is checked as soon as it is clicked: wait for the page
		// that answers the form (a navigation now would abort it).
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`[...document.querySelectorAll(".flash")].some(f => f.textContent.includes("New usernames may be any login"))`))
			if err == nil && shown {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the userName format form's answer did not show within 10s (%v)", err)
			}
		}
		err = chromedp.Do(ctx,
			chromedp.Navigate(e.srv.URL+"/t/acme/console/users/new"),
			chromedp.WaitVisible(chromedp.ID("userName")),
		)
		if err != nil {
			t.Fatalf("New customer after the settings: %v", err)
		}
		if s := e.orgSettings(); s.Onboarding != "invite" || s.UserNameFormat != "any" {
			t.Errorf("settings after the browser's forms = %+v, want invite and any", s)
		}
		if got := textOf(t, ctx, `label[for="userName"]`); got != "Username" {
			t.Errorf("New customer's first label = %q, want Username", got)
		}
	})
}
