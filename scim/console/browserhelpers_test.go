package console_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/scim/web/browsertest"
)

// browserStores runs a browser walk fn on the embedded store and the Redis
// Cluster, not on all three stores as stores does: what a browser adds (the
// pages' scripts, layout, focus) no store changes, every request of the walk
// runs through HTTP on all three in the form tests, and Cluster is the
// strictest of the Redis deployments. A walk takes seconds of Chromium.
func browserStores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	redistest.EachStore(t, func(t *testing.T, url string) { fn(t, newEnv(t, url)) },
		redistest.EmbeddedStore, redistest.ClusterStore)
}

// newChromium starts headless Chromium width px wide
// (browsertest.Start); it stops with the test.
func newChromium(t *testing.T, width int) context.Context { return chromium.Tab(t, width, 900) }

// screenshot saves the viewport as docs/screenshots/console-<name>.png when
// SCIM_SCREENSHOTS=1 (the README shows them).
func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return browsertest.Screenshot(t, filepath.Join("..", ".."), "console-"+name)
}

// signInChromium signs the administrator email (password adminPassword) in
// to org's console in the browser ctx, through the sign-in form.
func signInChromium(t *testing.T, ctx context.Context, e *env, org, email string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/t/"+org+"/console/signin"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitNotPresent(chromedp.ID("password")),
	)
	if err != nil {
		t.Fatalf("sign in %s in the browser: %v", email, err)
	}
}

// textOf returns the visible text of the first element matching a CSS
// selector.
func textOf(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}
