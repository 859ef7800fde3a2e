package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
)

// TestSettingsSubstringBrowser: in Chromium, an owner checks two
// attributes under Substring search and saves; the page answers with what
// is covered and the two boxes checked, their indexes built.
func TestSettingsSubstringBrowser(t *testing.T) {
	browserStores(t, func(t *testing.T, e *env) {
		ctx := newChromium(t, 1000)
		e.admin("boss@acme.com", resources.RoleOwner)
		for _, n := range []string{"Lovelace", "Hopper", "Loveless"} {
			e.createCustomer(n+"@example.com", "Ada", n)
		}
		signInChromium(t, ctx, e, "acme", "boss@acme.com")
		save := `form[action$="/settings/substring-search"] button`
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.srv.URL+"/t/acme/console/settings"),
			chromedp.WaitVisible(chromedp.ID("substring-name-familyName")),
			chromedp.Click(chromedp.ID("substring-name-familyName")),
			chromedp.Click(chromedp.ID("substring-userName")),
			chromedp.Click(chromedp.CSS(save)),
		)
		if err != nil {
			t.Fatalf("substring search in the browser: %v", err)
		}
		// The boxes are checked as soon as they are clicked: wait for the
		// page that answers the form.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`[...document.querySelectorAll(".flash")].some(f => f.textContent.includes("Substring search now covers"))`))
			if err == nil && shown {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the substring search form's answer did not show within 10s (%v)", err)
			}
		}
		err = chromedp.Do(ctx,
			chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
				_, err := chromedp.Evaluate[any](`document.getElementById("substring-heading").scrollIntoView({block: "start"})`)(ctx, target)
				return err
			}),
			screenshot(t, "settings-substring"),
		)
		if err != nil {
			t.Fatalf("substring search answer: %v", err)
		}
		if got := textOf(t, ctx, ".flash"); got != "Substring search now covers userName, name.familyName." {
			t.Errorf("flash = %q", got)
		}
		for id, want := range map[string]bool{"substring-userName": true, "substring-name-familyName": true, "substring-externalId": false} {
			got, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("`+id+`").checked`))
			if err != nil || got != want {
				t.Errorf("#%s checked = %v (%v), want %v", id, got, err, want)
			}
		}
		if got := textOf(t, ctx, "#substring-userName-state"); got != "Index built." {
			t.Errorf("userName's state = %q, want Index built.", got)
		}
		if s := e.orgSettings(); s.SubstringSearch != "userName,name.familyName" {
			t.Errorf("substringSearch after the browser's form = %q", s.SubstringSearch)
		}
	})
}
