package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath returns the headless browser to drive, skipping the test when
// there is none, unless SCIM_REQUIRE_BROWSER=1 (as in CI): then it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SCIM_REQUIRE_BROWSER") == "1" {
		t.Fatalf("no chromium on PATH and SCIM_REQUIRE_BROWSER=1 (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium; SCIM_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// newChromium starts headless Chromium with a fresh profile, width px wide;
// it stops with the test.
func newChromium(t *testing.T, width int) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(width, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// screenshot saves the viewport as docs/screenshots/console-<name>.png when
// SCIM_SCREENSHOTS=1 (the README shows them).
func screenshot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		if os.Getenv("SCIM_SCREENSHOTS") != "1" {
			return nil
		}
		png, err := chromedp.CaptureScreenshot()(ctx, target)
		if err != nil {
			return err
		}
		dir := filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		t.Logf("screenshot %s", filepath.Join(dir, "console-"+name+".png"))
		return os.WriteFile(filepath.Join(dir, "console-"+name+".png"), png, 0o644)
	})
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
