package console_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// A GET's body is never read: the customer's Groups tab took its search
// from a multipart body of any size (r.FormValue parses one, spilling to
// temporary files), past the forms' bound.
func TestGETBodyNotRead(t *testing.T) {
	e := newEnv(t, "")
	b := e.admin("boss@example.com", resources.RoleCollaborator)
	id := e.createCustomer("jane@example.com", "Jane", "Doe")
	for _, path := range []string{"users/" + id + "/groups", "users/" + id + "/new-groups"} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		pad, _ := mw.CreateFormFile("pad", "pad.bin")
		pad.Write(bytes.Repeat([]byte("x"), 1<<20))
		mw.WriteField("q", "FromTheBody")
		mw.Close()
		req, _ := http.NewRequest("GET", e.srv.URL+b.console(path), &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(string(page), "FromTheBody") {
			t.Errorf("GET %s with a 1 MiB multipart body = %d, and the page shows the body's q: %v", path, resp.StatusCode, strings.Contains(string(page), "FromTheBody"))
		}
	}
}

// A form posted from another site is refused (Sec-Fetch-Site, else Origin
// against Host), even with a good token, and changes nothing; the console's
// own forms, and clients that send neither header, are served.
func TestCrossSiteFormRefused(t *testing.T) {
	e := newEnv(t, "")
	b := e.admin("boss@example.com", resources.RoleOwner)
	post := func(name string, header map[string]string) int {
		form := url.Values{"csrf": {b.csrf}, "displayName": {name}}
		req, _ := http.NewRequest("POST", e.srv.URL+b.console("groups"), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("FromEvil", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); st != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", st)
	}
	if st := post("FromEvilOrigin", map[string]string{"Origin": "https://evil.example"}); st != http.StatusForbidden {
		t.Errorf("POST from another origin (no Sec-Fetch-Site) = %d, want 403", st)
	}
	if st := post("Ours", map[string]string{"Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"}); st != http.StatusOK {
		t.Errorf("same-origin POST = %d, want 200 (after the redirect)", st)
	}
	if st := post("NoHeaders", nil); st != http.StatusOK {
		t.Errorf("POST without Origin or Sec-Fetch-Site = %d, want 200", st)
	}
	_, body := e.scim("GET", "/Groups", nil)
	if body["totalResults"] != float64(2) {
		t.Errorf("groups after the posts: %v, want Ours and NoHeaders only", body["Resources"])
	}
	// The customer pages' forms too.
	req, _ := http.NewRequest("POST", e.srv.URL+"/t/acme/accounts/login", strings.NewReader("email=a%40example.com&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
			t.Errorf("cross-site POST of the customer sign-in = %d, want 403", resp.StatusCode)
		}
	}
}

// The organization's name follows the rule of every other name typed in
// the console: no control characters or bidirectional overrides, which
// would reach the pages and the invitation mail.
func TestOrgNameRefusesControlText(t *testing.T) {
	e := newEnv(t, "")
	b := e.admin("boss@example.com", resources.RoleOwner)
	for _, name := range []string{"Acme\u202eLIVAE", "Acme\u0085Evil", "Acme\u2066x"} {
		p := b.submit("settings/name", url.Values{"displayName": {name}})
		if p.Status != http.StatusBadRequest {
			t.Errorf("organization name %q = %d, want 400", name, p.Status)
		}
	}
	if s, _ := resources.NewOrgs(e.store).Settings(context.Background(), "acme"); s.DisplayName != "" {
		t.Errorf("display name stored: %q, want none", s.DisplayName)
	}
	if err := resources.NewOrgs(e.store).SetDisplayName(context.Background(), "acme", resources.Admin{Role: resources.RoleOwner}, "Acme\u202eLIVAE"); resources.ErrorCode(err) != resources.InvalidValue {
		t.Errorf("Orgs.SetDisplayName with a bidirectional override = %v, want invalidValue", err)
	}
	b.submit("settings/name", url.Values{"displayName": {"Acme Inc."}})
	if s, _ := resources.NewOrgs(e.store).Settings(context.Background(), "acme"); s.DisplayName != "Acme Inc." {
		t.Errorf("display name = %q, want Acme Inc.", s.DisplayName)
	}
}

// Opening a one-time sign-in link (GET or HEAD: mail scanners and link
// previews do) changes nothing: the page asks, its button signs in and
// uses the link up.
func TestSignInLinkOpenedChangesNothing(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ad, _, err := e.admins.EnsureOwner(ctx, "acme", "root@example.com")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := e.admins.SignInLink(ctx, "acme", ad.ID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		path := "/t/acme/console/signin-link?token=" + url.QueryEscape(tok.Reveal())
		for _, method := range []string{"HEAD", "GET"} {
			req, _ := http.NewRequest(method, e.srv.URL+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if c := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusOK || strings.Contains(c, "scimd_console=") {
				t.Errorf("%s of the sign-in link = %d, Set-Cookie %q: want 200 and no session", method, resp.StatusCode, c)
			}
		}
		b := e.browser()
		p := b.Get(path).Must(t, http.StatusOK, "root@example.com", "Sign in")
		if strings.Contains(p.Body, tok.Reveal()) {
			t.Errorf("the page holds the link's token")
		}
		// A form without its token is refused, and the link stays.
		b.Post(path, url.Values{"csrf": {"forged"}}).Must(t, http.StatusForbidden, "expired")
		b.Post(path, url.Values{"csrf": {p.Hidden(t, "csrf")}}).Must(t, http.StatusOK, "signed in")
		b.Get("/t/acme/console/account").Must(t, http.StatusOK, "root@example.com")
		e.browser().Get(path).Must(t, http.StatusNotFound, "not valid")
		other := e.browser()
		form := other.Get("/t/acme/console/signin")
		other.Post(path, url.Values{"csrf": {form.Hidden(t, "csrf")}}).Must(t, http.StatusNotFound, "not valid")
	})
}
