package console_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/resources"
)

// TestNarrowBrowser opens the console's pages 390 px wide, as a phone
// shows them, with a customer whose email is long enough to overflow: no
// page is wider than the screen, and the cells each row of the customers
// list must show (email, name, state, groups, created) are on screen.
func TestNarrowBrowser(t *testing.T) { stores(t, walkNarrowInBrowser) }

func walkNarrowInBrowser(t *testing.T, e *env) {
	const width = 390
	ctx := newChromium(t, 1024)
	e.admin("owner@acme.com", resources.RoleOwner)
	signInChromium(t, ctx, e, "acme", "owner@acme.com")
	// A window is at least 500 px wide: the viewport is emulated.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 844)); err != nil {
		t.Fatalf("emulate %d px: %v", width, err)
	}
	long := "a.very.long.customer.address.that.does.not.fit.on.a.phone@subdomain.example.com"
	id := e.createCustomer(long, "Bartholomew-Maximilian", "Featherstonehaugh-Cholmondeley")
	gid := e.createGroup("A group with a rather long name for a phone screen", id)
	// onScreen is the script that is true when every element matching a
	// selector is displayed and lies within the screen's width.
	onScreen := func(css string) string {
		return `(() => { const els = document.querySelectorAll(` + strconv.Quote(css) + `);
			return els.length > 0 && [...els].every(el => { const r = el.getBoundingClientRect();
				return el.offsetParent !== null && r.width > 0 && r.left >= 0 && r.right <= ` + strconv.Itoa(width) + `; }); })()`
	}
	for _, c := range []struct {
		path    string
		visible []string // selectors whose elements must be on screen
	}{
		{"users", []string{"table.customers td.email", "table.customers td.state", "table.customers td.groups", "table.customers td.created"}},
		{"users/" + id, []string{".facts dd"}},
		{"users/" + id + "/groups", nil},
		{"users/" + id + "/delete", nil},
		{"users/new", nil},
		{"groups", nil},
		{"groups/" + gid, nil},
		{"groups/" + gid + "/members", []string{"table.members td"}},
		{"settings", []string{`[id^="substring-"][id$="-cost"]`}},
		{"settings/tokens", nil},
		{"settings/admins", []string{"table.admins td"}},
		{"settings/audit", nil},
		{"account", nil},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/t/acme/console/"+c.path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatalf("open %s: %v", c.path, err)
		}
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil || w > width {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(el => el.getBoundingClientRect().right > `+strconv.Itoa(width)+`).slice(0, 5).map(el => el.tagName + "." + el.className).join(" ")`))
			t.Errorf("%s at %d px: the page is %d px wide (%v); too wide: %s", c.path, width, w, err, wide)
		}
		for _, css := range c.visible {
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](onScreen(css))); err != nil || !ok {
				t.Errorf("%s at %d px: %s not all on screen (%v)", c.path, width, css, err)
			}
		}
	}
}
