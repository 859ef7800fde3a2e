package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
)

// TestSettingsBrowser walks the owners' settings in Chromium: the name and
// self-registration, a token created and its secret copied, an invitation,
// the audit trail; then a collaborator is refused.
func TestSettingsBrowser(t *testing.T) { browserStores(t, walkSettingsInBrowser) }

func walkSettingsInBrowser(t *testing.T, e *env) {
	ctx := newChromium(t, 1000)
	e.admin("boss@acme.com", resources.RoleOwner)
	e.admin("helper@acme.com", resources.RoleCollaborator)
	signInChromium(t, ctx, e, "acme", "boss@acme.com")
	settings := e.srv.URL + "/t/acme/console/settings"

	err := chromedp.Do(ctx,
		chromedp.Navigate(settings),
		chromedp.WaitVisible(chromedp.ID("displayName")),
		chromedp.SendKeys(chromedp.ID("displayName"), "Acme Inc."),
		chromedp.Click(chromedp.CSS(`form[action$="/settings/name"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.Click(chromedp.CSS(`form[action$="/settings/registration"] button`)),
		chromedp.WaitVisible(chromedp.ID("registration-link")),
		// copy.js ran: the copy button shows.
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="registration-link"]`)),
		screenshot(t, "settings-general"),
	)
	if err != nil {
		t.Fatalf("general settings: %v", err)
	}
	if got := textOf(t, ctx, ".org-name"); got != "Acme Inc." {
		t.Errorf("organization shown as %q, want Acme Inc.", got)
	}
	if s := e.orgSettings(); !s.SelfRegistration || s.DisplayName != "Acme Inc." {
		t.Errorf("settings after the browser's forms = %+v", s)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(settings+"/tokens"),
		chromedp.WaitVisible(chromedp.ID("token-name")),
		chromedp.SendKeys(chromedp.ID("token-name"), "entra-id"),
		chromedp.SetValue(chromedp.ID("token-role"), "collaborator"),
		chromedp.Click(chromedp.CSS(`form[action$="/settings/tokens"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("token-secret")),
		chromedp.Click(chromedp.CSS(`button[data-copy="token-secret"]`)),
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.getElementById("token-secret-copied").textContent !== ""`)(ctx, target)
			return err
		}),
		screenshot(t, "settings-tokens-created"),
	)
	if err != nil {
		t.Fatalf("create a token: %v", err)
	}
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("token-secret")))
	if err != nil {
		t.Fatalf("read the secret: %v", err)
	}
	if status, _ := e.scimAs(secret, "GET", "/Users", nil); status != http.StatusOK {
		t.Errorf("GET /Users with the token created in the browser = %d", status)
	}
	// The success text only: the failure's ("Select the text and copy
	// it") says the clipboard was not written.
	if got := textOf(t, ctx, "#token-secret-copied"); got != "Copied to the clipboard." {
		t.Errorf("after the copy button: %q, want %q", got, "Copied to the clipboard.")
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(settings+"/admins"),
		chromedp.WaitVisible(chromedp.ID("invite-email")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "new@acme.com"),
		chromedp.Click(chromedp.CSS(`form[action$="/settings/admins"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		screenshot(t, "settings-admins"),
	)
	if err != nil {
		t.Fatalf("invite an administrator: %v", err)
	}
	if got := textOf(t, ctx, "table.admins"); !strings.Contains(got, "new@acme.com") || !strings.Contains(got, "invited") {
		t.Errorf("administrators shown: %q", got)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(settings+"/audit"),
		chromedp.WaitVisible(chromedp.CSS("table.audit")),
		screenshot(t, "settings-audit"),
	)
	if err != nil {
		t.Fatalf("audit trail: %v", err)
	}
	audit := textOf(t, ctx, "table.audit")
	for _, want := range []string{"boss@acme.com", "API token entra-id", "administrator new@acme.com", "setting: self-registration"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, audit)
		}
	}

	// A collaborator: no Settings link, and the page refuses them.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action$="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="signin"]`)),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	signInChromium(t, ctx, e, "acme", "helper@acme.com")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/t/acme/console/account"), chromedp.WaitVisible(chromedp.CSS("header nav"))); err != nil {
		t.Fatalf("collaborator's account page: %v", err)
	}
	if nav := textOf(t, ctx, "header nav"); strings.Contains(nav, "Settings") {
		t.Errorf("a collaborator's navigation shows Settings: %q", nav)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(settings+"/tokens"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if err != nil {
		t.Fatalf("collaborator on the settings: %v", err)
	}
	if got := textOf(t, ctx, "h1"); got != "Owners only" {
		t.Errorf("a collaborator on the tokens page sees %q, want Owners only", got)
	}
}
