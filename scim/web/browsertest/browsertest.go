// Package browsertest drives headless Chromium for the browser tests of
// scimd's pages (the customer pages and the console). It is imported only
// by tests.
//
// [Start] gives a test a Chromium of its own; [Shared] is one Chromium whose
// tabs the tests of a package share. When no Chromium is on PATH, both skip
// the test, unless the environment sets SCIM_REQUIRE_BROWSER=1 (as CI does):
// then it fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// path returns the headless browser to drive, skipping or failing the test
// when there is none.
func path(t *testing.T) string {
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

// Start starts headless Chromium with a fresh profile and a window width by
// height pixels, and returns its context; it stops with the test.
func Start(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := append(flags(path(t), t.TempDir()), chromedp.WindowSize(width, height))
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

// flags are the options of the Chromium at exec with the profile dir. They
// keep it off the network (this machine's is closed) and quiet.
func flags(exec, dir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exec),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
	}
}

// Screenshot saves the viewport as <root>/docs/screenshots/<name>.png (root
// is the path from the test's package to the repository's root) when
// SCIM_SCREENSHOTS=1: the README shows them.
func Screenshot(t *testing.T, root, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		if os.Getenv("SCIM_SCREENSHOTS") != "1" {
			return nil
		}
		png, err := chromedp.CaptureScreenshot()(ctx, target)
		if err != nil {
			return err
		}
		dir := filepath.Join(root, "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		t.Logf("screenshot %s", filepath.Join(dir, name+".png"))
		return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	})
}
