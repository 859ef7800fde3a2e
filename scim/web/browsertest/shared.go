package browsertest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// tabTimeout bounds one test's use of a [Shared] tab, so that a page that
// never answers fails its test instead of the whole test binary.
const tabTimeout = 4 * time.Minute

// Shared is one headless Chromium for the tests of a package: it starts at
// the first [Shared.Tab] and stops at [Shared.Close], which the package's
// TestMain calls after m.Run. Starting Chromium, and opening a tab, each cost
// more than most steps of a walk, so a package starts Chromium once and
// reuses its tabs: a tab a test is done with is blanked, its cookies
// cleared, and given to the next test that asks. Its zero value is ready to
// use; it is safe for concurrent use.
type Shared struct {
	mu     sync.Mutex
	ctx    context.Context // the browser's; nil until started
	cancel []context.CancelFunc
	dir    string
	// idle are the tabs no test uses: blank, without cookies.
	idle []tab
}

// tab is a tab of the shared browser, in a browser context of its own.
type tab struct {
	ctx   context.Context
	close context.CancelFunc
}

// Tab gives the test a tab of its own, in a browser context of its own (no
// cookies or storage shared with the tabs of other tests, as two people's
// browsers), with a viewport width by height pixels, for as long as the test
// runs. Like [Start], it skips the test when there is no Chromium, unless
// SCIM_REQUIRE_BROWSER=1.
func (s *Shared) Tab(t *testing.T, width, height int) context.Context {
	t.Helper()
	tb, err := s.take(t)
	if err != nil {
		t.Fatalf("open a tab in chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, tabTimeout)
	t.Cleanup(func() {
		cancel()
		s.release(tb)
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("size the tab: %v", err)
	}
	return ctx
}

// take returns an idle tab, or a new one.
func (s *Shared) take(t *testing.T) (tab, error) {
	t.Helper()
	bctx := s.browser(t)
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		tb := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return tb, nil
	}
	s.mu.Unlock()
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return tab{}, err
	}
	return tab{ctx, cancel}, nil
}

// release makes tb as new (a blank page, no cookies) and idle; a tab that
// cannot be is closed.
func (s *Shared) release(tb tab) {
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	if err == nil {
		_, err = chromedp.CallBrowser(ctx, storage.ClearCookies,
			storage.ClearCookiesParams{BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID})
	}
	if err != nil {
		tb.close()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		tb.close() // closed meanwhile
		return
	}
	s.idle = append(s.idle, tb)
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
	for _, tb := range s.idle {
		tb.close()
	}
	for _, c := range s.cancel {
		c()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
	s.ctx, s.cancel, s.dir, s.idle = nil, nil, "", nil
}
