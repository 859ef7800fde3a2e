package browsertest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tabTimeout bounds one test's tab of a [Shared] browser, so that a page
// that never answers fails its test instead of the whole test binary.
const tabTimeout = 4 * time.Minute

// Shared is one headless Chromium for the tests of a package: it starts at
// the first [Shared.Tab] and stops at [Shared.Close], which the package's
// TestMain calls after m.Run. Starting Chromium costs more than most walks,
// so a package of many browser tests starts it once. Its zero value is
// ready to use; it is safe for concurrent use.
type Shared struct {
	mu     sync.Mutex
	ctx    context.Context // the browser's; nil until started
	cancel []context.CancelFunc
	dir    string
}

// Tab opens a tab of its own for the test, in a fresh browser context (no
// cookies or storage shared with other tabs, as two people's browsers), with
// a viewport width by height pixels; it closes with the test. Like [Start],
// it skips the test when there is no Chromium, unless SCIM_REQUIRE_BROWSER=1.
func (s *Shared) Tab(t *testing.T, width, height int) context.Context {
	t.Helper()
	bctx := s.browser(t)
	tctx, tcancel := context.WithTimeout(bctx, tabTimeout)
	ctx, cancel := chromedp.NewContext(tctx, chromedp.WithNewBrowserContext())
	t.Cleanup(func() { cancel(); tcancel() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("open a tab in chromium: %v", err)
	}
	return ctx
}

// browser returns the shared browser's context, starting Chromium first
// when it is not running.
func (s *Shared) browser(t *testing.T) context.Context {
	t.Helper()
	exec := path(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil {
		return s.ctx
	}
	dir, err := os.MkdirTemp("", "scimd-chromium-")
	if err != nil {
		t.Fatalf("chromium profile directory: %v", err)
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), append(flags(exec, dir), chromedp.WindowSize(1280, 900))...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		_ = os.RemoveAll(dir)
		t.Fatalf("start chromium: %v", err)
	}
	s.ctx, s.cancel, s.dir = bctx, []context.CancelFunc{bcancel, acancel}, dir
	return s.ctx
}

// Close stops the browser, if it started, and removes its profile.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cancel {
		c()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
	s.ctx, s.cancel, s.dir = nil, nil, ""
}
