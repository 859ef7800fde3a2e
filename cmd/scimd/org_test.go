package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
)

func TestOrgSelfRegistration(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	if out := mustAdmin(t, url, "org", "show", "--name", "acme"); !strings.Contains(out, "self-registration:  off") {
		t.Errorf("org show of a new organization =\n%s\nwant self-registration off", out)
	}
	steps := []struct{ value, want string }{
		{"on", `Self-registration of "acme" is now on.`},
		{"on", `Self-registration of "acme" was already on.`},
		{"off", `Self-registration of "acme" is now off.`},
		{"on", "/t/acme/accounts/register"},
	}
	for _, s := range steps {
		if out := mustAdmin(t, url, "org", "set", "--name", "acme", "--self-registration", s.value); !strings.Contains(out, s.want) {
			t.Errorf("org set --self-registration %s =\n%s\nwant %q", s.value, out, s.want)
		}
	}
	if out := mustAdmin(t, url, "org", "show", "--name", "acme"); !strings.Contains(out, "self-registration:  on") {
		t.Errorf("org show =\n%s\nwant self-registration on", out)
	}
	failures := map[string][]string{
		"does not exist":                {"org", "set", "--name", "acmee", "--self-registration", "on"},
		"invalid --self-registration":   {"org", "set", "--name", "acme", "--self-registration", "yes"},
		"nothing to set":                {"org", "set", "--name", "acme"},
		"--name is required":            {"org", "set", "--self-registration", "on"},
		"unknown org command":           {"org", "delete", "--name", "acme"},
		"flag provided but not defined": {"org", "create", "--name", "x", "--self-registration", "on"},
	}
	for want, args := range failures {
		if _, err := admin(t, url, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("scimd %s = %v, want an error saying %q", strings.Join(args, " "), err, want)
		}
	}
	// Changes only are recorded, by the CLI.
	out := mustAdmin(t, url, "audit", "--org", "acme")
	if n := strings.Count(out, "selfRegistration"); n != 3 {
		t.Errorf("audit shows %d setting changes, want 3:\n%s", n, out)
	}
}

// TestRunSelfRegistrationSetting: SCIM_SELF_REGISTRATION=on opens the default
// organization's registration pages at start, with the embedded store too;
// unset leaves the stored setting; off closes them.
func TestRunSelfRegistrationSetting(t *testing.T) {
	registerPage := func(base string) int {
		t.Helper()
		resp, err := http.Get(base + "/t/default/accounts/register")
		if err != nil {
			t.Fatalf("GET the registration page: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("embedded", func(t *testing.T) {
		base, stdout := start(t, map[string]string{"SCIM_SELF_REGISTRATION": "on"})
		if st := registerPage(base); st != http.StatusOK {
			t.Errorf("registration page with SCIM_SELF_REGISTRATION=on = %d, want 200", st)
		}
		if !strings.Contains(stdout.String(), base+"/t/default/accounts/register") {
			t.Errorf("start-up output does not say where customers register:\n%s", stdout.String())
		}
		base, _ = start(t, nil)
		if st := registerPage(base); st != http.StatusNotFound {
			t.Errorf("registration page by default = %d, want 404", st)
		}
	})
	t.Run("redis", func(t *testing.T) {
		url := redistest.Start(t)
		env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_SELF_REGISTRATION": "on"}
		base, _ := start(t, env)
		if st := registerPage(base); st != http.StatusOK {
			t.Errorf("registration page with SCIM_SELF_REGISTRATION=on = %d, want 200", st)
		}
		base, _ = start(t, map[string]string{"SCIM_REDIS_URL": url})
		if st := registerPage(base); st != http.StatusOK {
			t.Errorf("registration page with the setting unset, after on = %d, want 200 (as stored)", st)
		}
		if out := mustAdmin(t, url, "org", "show", "--name", "default"); !strings.Contains(out, "self-registration:  on") {
			t.Errorf("scimd org show =\n%s\nwant self-registration on", out)
		}
		env["SCIM_SELF_REGISTRATION"] = "off"
		base, _ = start(t, env)
		if st := registerPage(base); st != http.StatusNotFound {
			t.Errorf("registration page with SCIM_SELF_REGISTRATION=off = %d, want 404", st)
		}
	})
}

func TestOrgOnboardingAndUserNameFormat(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	out := mustAdmin(t, url, "org", "show", "--name", "acme")
	if !strings.Contains(out, "onboarding:         none") || !strings.Contains(out, "userName format:    email") {
		t.Errorf("org show of a new organization =\n%s\nwant onboarding none, userName format email", out)
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"--onboarding", "invite"}, `Onboarding of "acme" is now invite: customers created without passwordSetup are emailed an invitation`},
		{[]string{"--onboarding", "invite"}, `Onboarding of "acme" was already invite`},
		{[]string{"--username-format", "any"}, `The userName format of "acme" is now any.`},
		{[]string{"--onboarding", "none", "--username-format", "any"}, `Onboarding of "acme" is now none: customers created without passwordSetup get no mail`},
	}
	for _, s := range steps {
		args := append([]string{"org", "set", "--name", "acme"}, s.args...)
		if out := mustAdmin(t, url, args...); !strings.Contains(out, s.want) {
			t.Errorf("scimd %s =\n%s\nwant %q", strings.Join(args, " "), out, s.want)
		}
	}
	out = mustAdmin(t, url, "org", "show", "--name", "acme")
	if !strings.Contains(out, "onboarding:         none") || !strings.Contains(out, "userName format:    any") {
		t.Errorf("org show =\n%s\nwant onboarding none, userName format any", out)
	}
	for want, args := range map[string][]string{
		"invalid --onboarding":      {"org", "set", "--name", "acme", "--onboarding", "always"},
		"invalid --username-format": {"org", "set", "--name", "acme", "--username-format", "login"},
	} {
		if _, err := admin(t, url, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("scimd %s = %v, want an error saying %q", strings.Join(args, " "), err, want)
		}
	}
	if out := mustAdmin(t, url, "audit", "--org", "acme"); strings.Count(out, "onboarding") != 2 || strings.Count(out, "userNameFormat") != 1 {
		t.Errorf("audit = \n%s\nwant 2 onboarding and 1 userNameFormat changes", out)
	}
}

func TestTokenCreateOnboarding(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	mustAdmin(t, url, "token", "create", "--org", "acme", "--name", "hr", "--onboarding", "none")
	mustAdmin(t, url, "token", "create", "--org", "acme", "--name", "entra", "--onboarding", "invite")
	if _, err := admin(t, url, "token", "create", "--org", "acme", "--name", "x", "--onboarding", "yes"); err == nil || !strings.Contains(err.Error(), "invalid --onboarding") {
		t.Errorf("token create --onboarding yes = %v, want invalid --onboarding", err)
	}
	store, err := backend.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ts, err := store.ListTokens(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tok := range ts {
		got[tok.Name] = tok.Onboarding
	}
	if got["hr"] != "none" || got["entra"] != "invite" || got["initial-owner"] != "" || len(got) != 3 {
		t.Errorf("tokens' onboarding = %v", got)
	}
}

// TestOrgSubstringSearch: org set --substring-search opts attributes in
// (the existing customers' trigram entries written before it answers),
// org show says which, a bad name is refused naming the allowed ones, and
// none turns it off.
func TestOrgSubstringSearch(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	if out := mustAdmin(t, url, "org", "show", "--name", "acme"); !strings.Contains(out, "substring search:   none") {
		t.Errorf("org show of a new organization =\n%s\nwant substring search none", out)
	}
	out := mustAdmin(t, url, "org", "set", "--name", "acme", "--substring-search", "name.familyName, userName")
	if want := `Substring search of "acme" is now: userName,name.familyName.`; !strings.Contains(out, want) {
		t.Errorf("org set --substring-search =\n%s\nwant %q", out, want)
	}
	if out := mustAdmin(t, url, "org", "show", "--name", "acme"); !strings.Contains(out, "substring search:   userName,name.familyName\n") {
		t.Errorf("org show =\n%s\nwant substring search userName,name.familyName, built", out)
	}
	if _, err := admin(t, url, "org", "set", "--name", "acme", "--substring-search", "password"); err == nil ||
		!strings.Contains(err.Error(), "invalid --substring-search") || !strings.Contains(err.Error(), "name.givenName") {
		t.Errorf("org set --substring-search password = %v, want an error listing the allowed attributes", err)
	}
	mustAdmin(t, url, "org", "set", "--name", "acme", "--substring-search", "none")
	if out := mustAdmin(t, url, "org", "show", "--name", "acme"); !strings.Contains(out, "substring search:   none") {
		t.Errorf("org show after none =\n%s\nwant substring search none", out)
	}
}
