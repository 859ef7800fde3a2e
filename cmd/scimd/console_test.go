package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// signInLinkRE finds the console sign-in link scimd prints at first start.
var signInLinkRE = regexp.MustCompile(`http://\S+/t/default/console/signin-link\?token=[A-Za-z0-9_-]+`)

// getPage fetches u with client and returns the status and body.
func getPage(t *testing.T, client *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// useSignInLink opens a console sign-in link with client and presses its
// Sign in button (opening it changes nothing); it returns the answer.
func useSignInLink(t *testing.T, client *http.Client, link string) (int, string) {
	t.Helper()
	status, body := getPage(t, client, link)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("GET the sign-in link = %d, no form:\n%s", status, body)
	}
	resp, err := client.PostForm(link, url.Values{"csrf": {m[1]}})
	if err != nil {
		t.Fatalf("POST the sign-in link: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunPrintsConsoleSignInLink: the first start of the embedded store
// prints a one-time link that signs the default organization's owner in to
// the console; it works once, and never reaches the log.
func TestRunPrintsConsoleSignInLink(t *testing.T) {
	base, stdout, stderr := startLogged(t, map[string]string{"SCIM_OWNER_EMAIL": "boss@example.com"})
	link := signInLinkRE.FindString(stdout.String())
	if link == "" {
		t.Fatalf("no console sign-in link printed:\n%s", stdout.String())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}

	// / leads to the console, which asks for a sign-in first.
	if status, body := getPage(t, client, base+"/"); status != http.StatusOK || !strings.Contains(body, "Sign in to the console") {
		t.Errorf("GET / = %d, want the console's sign-in page:\n%s", status, body)
	}
	if status, body := useSignInLink(t, client, link); status != http.StatusOK || !strings.Contains(body, "You&#39;re signed in") {
		t.Fatalf("the sign-in link = %d:\n%s", status, body)
	}
	if status, body := getPage(t, client, base+"/t/default/console/account"); status != http.StatusOK ||
		!strings.Contains(body, "boss@example.com") || !strings.Contains(body, "owner") {
		t.Errorf("account page after the link = %d, want boss@example.com, owner:\n%s", status, body)
	}
	other := &http.Client{}
	if status, _ := getPage(t, other, link); status != http.StatusNotFound { // the page of a used link
		t.Errorf("the link used a second time = %d, want 404", status)
	}
	token := link[strings.Index(link, "token=")+len("token="):]
	if strings.Contains(stderr.String(), token) {
		t.Errorf("the sign-in link's token is in the log")
	}
}

// TestOrgCreateInvitesOwner: scimd org create --owner-email emails the first
// console owner an invitation to choose their password.
func TestOrgCreateInvitesOwner(t *testing.T) {
	url := redistest.Start(t)
	outbox := t.TempDir()
	var out strings.Builder
	env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_MAIL_OUTBOX": outbox}
	err := run(t.Context(), []string{"org", "create", "--name", "acme", "--display-name", "Acme Inc.",
		"--owner-email", "boss@acme.com", "--base-url", "https://id.acme.com"}, func(k string) string { return env[k] }, &out, io.Discard)
	if err != nil {
		t.Fatalf("org create: %v", err)
	}
	if !strings.Contains(out.String(), "Invited boss@acme.com") {
		t.Errorf("org create printed:\n%s\nwant the invitation said", out.String())
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox holds %d messages, want 1", len(files))
	}
	msg, _ := os.ReadFile(files[0])
	if !strings.Contains(string(msg), "boss@acme.com") || !strings.Contains(string(msg), "https://id.acme.com/t/acme/console/accept?token=") {
		t.Errorf("the invitation lacks the recipient or the console link:\n%s", msg)
	}
	if show := mustAdmin(t, url, "org", "show", "--name", "acme"); !strings.Contains(show, "Acme Inc.") {
		t.Errorf("org show =\n%s\nwant the display name", show)
	}
	if _, err := admin(t, url, "org", "create", "--name", "globex", "--owner-email", "boss@globex.com"); err == nil ||
		!strings.Contains(err.Error(), "--base-url") {
		t.Errorf("org create --owner-email without a base URL = %v, want an error naming --base-url", err)
	}
}

// TestAdminInvite: scimd admin invite gets a console administrator into an
// existing organization by mail, named by its display name.
func TestAdminInvite(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme", "--display-name", "Acme Inc.")
	outbox := t.TempDir()
	env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_MAIL_OUTBOX": outbox, "SCIM_BASE_URL": "https://id.acme.com"}
	invite := func(args ...string) (string, error) {
		var out strings.Builder
		err := run(t.Context(), append([]string{"admin", "invite"}, args...), func(k string) string { return env[k] }, &out, io.Discard)
		return out.String(), err
	}
	out, err := invite("--org", "acme", "--email", "ops@acme.com", "--role", "collaborator")
	if err != nil || !strings.Contains(out, "Invited ops@acme.com to be a collaborator") {
		t.Fatalf("admin invite = %q, %v", out, err)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox holds %d messages, want 1", len(files))
	}
	msg, _ := os.ReadFile(files[0])
	for _, want := range []string{"ops@acme.com", "https://id.acme.com/t/acme/console/accept?token=", "Acme Inc. (acme)", "(collaborator)"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("the invitation lacks %q:\n%s", want, msg)
		}
	}
	// The same again (its mail lost, say): the invitation is sent again.
	if out, err := invite("--org", "acme", "--email", "OPS@acme.com", "--role", "collaborator"); err != nil ||
		!strings.Contains(out, "Sent ops@acme.com, invited before as a collaborator, the invitation") {
		t.Errorf("admin invite of an administrator without a password = %q, %v; want the invitation sent again", out, err)
	}
	if files, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(files) != 2 {
		t.Errorf("outbox holds %d messages after the second invite, want 2", len(files))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--org", "acme", "--email", "x@acme.com", "--role", "reader"}, "owner or collaborator"},
		{[]string{"--org", "nowhere", "--email", "x@acme.com", "--role", "owner"}, "nowhere"},
		{[]string{"--org", "acme", "--email", "x@acme.com"}, "--role"},
	} {
		if _, err := invite(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("admin invite %v = %v, want an error saying %q", c.args, err, c.want)
		}
	}
	delete(env, "SCIM_BASE_URL")
	if _, err := invite("--org", "acme", "--email", "y@acme.com", "--role", "owner"); err == nil || !strings.Contains(err.Error(), "--base-url") {
		t.Errorf("admin invite without a base URL = %v, want an error naming --base-url", err)
	}
}

// TestConsoleRevokeIsImmediate: a token revoked in the console is refused
// at once by the same server's API, token cache or not.
func TestConsoleRevokeIsImmediate(t *testing.T) {
	base, stdout := start(t, nil)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	if status, _ := useSignInLink(t, client, signInLinkRE.FindString(stdout.String())); status != http.StatusOK {
		t.Fatalf("sign-in link = %d", status)
	}
	_, account := getPage(t, client, base+"/t/default/console/account")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(account)
	if m == nil {
		t.Fatalf("no CSRF token on the account page:\n%s", account)
	}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", m[1])
		resp, err := client.PostForm(base+"/t/default/console/"+path, form)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, created := post("settings/tokens", url.Values{"name": {"okta"}, "role": {"reader"}})
	secret := tokenRE.FindString(created)
	if status != http.StatusCreated || secret == "" {
		t.Fatalf("create a token in the console = %d, secret %q:\n%s", status, secret, created)
	}
	if status, _ := call(t, "GET", base+"/scim/v2/Users", secret, ""); status != http.StatusOK {
		t.Fatalf("GET /Users with the new token = %d, want 200", status)
	}
	if status, body := post("settings/tokens/revoke", url.Values{"name": {"okta"}}); status != http.StatusOK || !strings.Contains(body, "revoked") {
		t.Fatalf("revoke in the console = %d:\n%s", status, body)
	}
	if status, _ := call(t, "GET", base+"/scim/v2/Users", secret, ""); status != http.StatusUnauthorized {
		t.Errorf("GET /Users with the revoked token = %d, want 401 at once", status)
	}
}

// TestFirstStartStoppedAfterCreateOrg: a first start on a new Redis that
// stopped after creating the organization, before its console owner and
// owner token, left no way in. The next start says so and how to make one;
// it mints nothing (replicas start together, and an organization may be
// locked down on purpose). Once a token exists, it says nothing.
func TestFirstStartStoppedAfterCreateOrg(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	store, err := backend.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.CreateOrg(ctx, defaultOrg); err != nil { // what the first start wrote
		t.Fatal(err)
	}
	_, stdout := start(t, map[string]string{"SCIM_REDIS_URL": url, "SCIM_OWNER_EMAIL": "boss@example.com"})
	out := stdout.String()
	if !strings.Contains(out, `Organization "default" has no API token and no console administrator`) ||
		!strings.Contains(out, "scimd token create --org default --role owner --name owner") ||
		!strings.Contains(out, "scimd admin invite --org default") {
		t.Errorf("the start after a first start stopped after CreateOrg does not say how to get in:\n%s", out)
	}
	if tokenRE.MatchString(out) || signInLinkRE.MatchString(out) {
		t.Errorf("the start minted a token or a sign-in link:\n%s", out)
	}
	if err := store.CreateToken(ctx, resources.NewToken(defaultOrg, "owner", resources.RoleOwner, resources.NewTokenSecret(defaultOrg), time.Now())); err != nil {
		t.Fatal(err)
	}
	_, again := start(t, map[string]string{"SCIM_REDIS_URL": url})
	if strings.Contains(again.String(), "no API token") {
		t.Errorf("a start of an organization with a token says it has none:\n%s", again)
	}
}
