package accounts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/web/browsertest"
)

// TestBrowserSignInProfileNarrow drives a 390 px wide phone through a failed
// sign-in (one message, linked to the field), the profile of the
// organization's display name, and signing out, on the embedded store and
// the Cluster.
func TestBrowserSignInProfileNarrow(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		ctx := browsertest.Start(t, 500, 844)
		e := newEnv(t, url, 0)
		if err := e.store.SetOrgDisplayName(resources.WithActor(context.Background(), "test"), "acme", "Acme Inc."); err != nil {
			t.Fatal(err)
		}
		e.activeCustomer("jane.doe@example.com")
		shot := func(name string) chromedp.Action[chromedp.Void] {
			if url != "" { // screenshots of the embedded store's run only
				return chromedp.Func(func(context.Context, *chromedp.Target) error { return nil })
			}
			return screenshot(t, name)
		}

		submit := chromedp.Click(chromedp.CSS("button[type=submit]"))
		err := chromedp.Do(ctx,
			// Headless Chromium's window is at least 500 px wide: emulate the phone.
			chromedp.EmulateViewport(390, 844),
			chromedp.Navigate(e.srv.URL+"/t/acme/accounts/login"),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), "jane.doe@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), "not-her-password"),
			submit,
			chromedp.WaitVisible(chromedp.ID("error-summary")),
			shot("login-error-narrow"),
		)
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		if n := evaluate[int](ctx, t, `document.body.innerText.split("Invalid email or password").length - 1`); n != 1 {
			t.Errorf("the sign-in error is shown %d times, want once", n)
		}
		if href := evaluate[string](ctx, t, `document.querySelector("#error-summary a").getAttribute("href")`); href != "#email" {
			t.Errorf("the error summary links to %q, want #email", href)
		}
		if org := text(ctx, t, "header .org"); org != "Acme Inc." {
			t.Errorf("header names %q, want the display name", org)
		}
		checkMargins(ctx, t, 390)

		err = chromedp.Do(ctx,
			chromedp.SetValue(chromedp.ID("password"), chosen),
			submit,
			chromedp.WaitVisible(chromedp.CSS("dl.profile")),
			shot("profile-narrow"),
		)
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		body := text(ctx, t, "main")
		for _, want := range []string{"Your account", "jane.doe@example.com", "Jane Doe", "Active: you can sign in", "Acme Inc."} {
			if !strings.Contains(body, want) {
				t.Errorf("profile lacks %q: %q", want, body)
			}
		}
		checkMargins(ctx, t, 390)

		err = chromedp.Do(ctx,
			submit, // the profile's one form: sign out
			chromedp.WaitVisible(chromedp.CSS(".notice")),
		)
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		if notice := text(ctx, t, ".notice"); notice != "You're signed out." {
			t.Errorf("after signing out: %q, want the notice", notice)
		}
		err = chromedp.Do(ctx,
			chromedp.Navigate(e.srv.URL+"/t/acme/accounts/profile"),
			chromedp.WaitVisible(chromedp.ID("email")),
		)
		if err != nil {
			t.Fatalf("browser: profile after signing out: %v", err)
		}
	}, redistest.EmbeddedStore, redistest.ClusterStore)
}

// TestBrowserPasswordProblemsDesktop: a new password's problems all at
// once, at desktop width, and the profile there.
func TestBrowserPasswordProblemsDesktop(t *testing.T) {
	ctx := browsertest.Start(t, 1280, 900)
	e := newEnv(t, "", 0)
	e.createCustomer("sam.lee@example.com", "invite")
	submit := chromedp.Click(chromedp.CSS("button[type=submit]"))
	err := chromedp.Do(ctx,
		chromedp.Navigate(lastLink(t, e.mail)),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), "sam"),
		chromedp.SendKeys(chromedp.ID("confirm"), "sam1"),
		submit,
		chromedp.WaitVisible(chromedp.ID("error-summary")),
		screenshot(t, "invite-problems"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	items := evaluate[[]string](ctx, t, `[...document.querySelectorAll("#error-summary li a")].map(a => a.getAttribute("href") + " " + a.innerText)`)
	if len(items) != 2 || !strings.HasPrefix(items[0], "#password Your new password must be at least 8 characters long, and is too easy to guess") ||
		!strings.HasPrefix(items[1], "#confirm The two passwords do not match") {
		t.Errorf("error summary = %q, want the password's two problems, then the mismatch, linked to their fields", items)
	}
	// Following a link lands on its field.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#error-summary a[href="#confirm"]`)))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if hash := evaluate[string](ctx, t, `location.hash`); hash != "#confirm" {
		t.Errorf("after following the summary's link: location.hash %q, want #confirm", hash)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("password"), chosen),
		chromedp.SetValue(chromedp.ID("confirm"), chosen),
		submit,
		chromedp.WaitVisible(chromedp.CSS("a.button")),
		chromedp.Click(chromedp.CSS("a.button")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "sam.lee@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), chosen),
		submit,
		chromedp.WaitVisible(chromedp.CSS("dl.profile")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// checkMargins fails unless the card (main) keeps at least 12 px from both
// edges of a viewport width pixels wide, and nothing scrolls sideways.
func checkMargins(ctx context.Context, t *testing.T, width int) {
	t.Helper()
	got := evaluate[string](ctx, t, `(() => { const r = document.querySelector("main").getBoundingClientRect();
		return Math.round(r.left) + " " + Math.round(r.right) + " " + document.documentElement.scrollWidth; })()`)
	var left, right, scroll int
	if _, err := fmt.Sscan(got, &left, &right, &scroll); err != nil {
		t.Fatalf("margins %q: %v", got, err)
	}
	if left < 12 || right > width-12 || scroll > width {
		t.Errorf("card from %d to %d px (page %d px wide) at %d px: want at least 12 px of margin each side, no sideways scroll", left, right, scroll, width)
	}
}

// evaluate returns the value of a JavaScript expression in the page.
func evaluate[T any](ctx context.Context, t *testing.T, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}
