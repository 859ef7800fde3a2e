package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

var tokenRE = regexp.MustCompile(`scimd_[A-Za-z0-9_-]{20,}`)

// admin runs a scimd admin command against redisURL and returns its output.
func admin(t *testing.T, redisURL string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	env := map[string]string{"SCIM_REDIS_URL": redisURL}
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, io.Discard)
	return out.String(), err
}

func mustAdmin(t *testing.T, redisURL string, args ...string) string {
	t.Helper()
	out, err := admin(t, redisURL, args...)
	if err != nil {
		t.Fatalf("scimd %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestOrgAndTokenCommands(t *testing.T) {
	url := redistest.Start(t)
	out := mustAdmin(t, url, "org", "create", "--name", "acme")
	owner := tokenRE.FindString(out)
	if owner == "" {
		t.Fatalf("org create printed no owner token: %q", out)
	}
	if _, err := admin(t, url, "org", "create", "--name", "acme"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("org create of an existing organization = %v, want already exists", err)
	}
	for _, bad := range []string{"a{b}", ".", "..", "a/b"} {
		if _, err := admin(t, url, "org", "create", "--name", bad); err == nil || !strings.Contains(err.Error(), "invalid organization name") {
			t.Errorf("org create --name %q = %v, want invalid organization name", bad, err)
		}
	}

	sync := strings.TrimSpace(mustAdmin(t, url, "token", "create", "--org", "acme", "--role", "reader", "--name", "sync"))
	if !tokenRE.MatchString(sync) {
		t.Fatalf("token create printed %q, want only the token", sync)
	}
	failures := map[string][]string{
		"already has a token named": {"token", "create", "--org", "acme", "--role", "owner", "--name", "sync"},
		"invalid --role":            {"token", "create", "--org", "acme", "--role", "admin", "--name", "x"},
		"invalid token name":        {"token", "create", "--org", "acme", "--role", "reader", "--name", "two words"},
		"--name is required":        {"token", "create", "--org", "acme"},
		"does not exist":            {"token", "create", "--org", "acmee", "--name", "x"},
		"no token named":            {"token", "revoke", "--org", "acme", "--name", "nope"},
		"unknown token command":     {"token", "renew"},
		"not in the future":         {"token", "create", "--org", "acme", "--name", "x", "--expires", "2020-01-01T00:00:00Z"},
		"invalid --expires":         {"token", "create", "--org", "acme", "--name", "x", "--expires", "tomorrow"},
		"no previous secret":        {"token", "revoke", "--org", "acme", "--name", "sync", "--previous"},
	}
	for want, args := range failures {
		if _, err := admin(t, url, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("scimd %s = %v, want an error saying %q", strings.Join(args, " "), err, want)
		}
	}
	if _, err := admin(t, "", "token", "list", "--org", "acme"); err == nil || !strings.Contains(err.Error(), "SCIM_REDIS_URL") {
		t.Errorf("token list without a Redis = %v, want an error naming SCIM_REDIS_URL", err)
	}

	list := mustAdmin(t, url, "token", "list", "--org", "acme")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^initial-owner\s+owner\s+org-scoped\s+\d{4}-`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^sync\s+reader\s+org-scoped\s+\d{4}-`).MatchString(lines[2]) {
		t.Fatalf("token list =\n%s\nwant a header, initial-owner (owner) and sync (reader)", list)
	}
	for _, secret := range []string{owner, sync} {
		if strings.Contains(list, secret) || strings.Contains(list, resources.HashToken(resources.Secret(secret))) {
			t.Errorf("token list shows a token's secret or hash:\n%s", list)
		}
	}

	// The API accepts the new token, and stops after revocation (at once
	// through Redis pub/sub; the poll allows the cache TTL).
	base, _ := start(t, map[string]string{"SCIM_REDIS_URL": url})
	if status, body := call(t, "GET", base+"/scim/v2/Users", sync, ""); status != 200 {
		t.Fatalf("GET /Users with the new reader token = %d %v, want 200", status, body)
	}
	if status, _ := call(t, "POST", base+"/scim/v2/Users", sync, `{"userName":"r@example.com"}`); status != 403 {
		t.Errorf("POST /Users with a reader token = %d, want 403", status)
	}
	out = mustAdmin(t, url, "token", "revoke", "--org", "acme", "--name", "sync")
	if !strings.Contains(out, "at once") || !strings.Contains(out, "within 5s") {
		t.Errorf("token revoke said %q, want it to say servers refuse it at once, and within the cache time when they cannot hear of it", out)
	}
	deadline := time.Now().Add(tokenCacheTTL + 5*time.Second)
	for {
		status, _ := call(t, "GET", base+"/scim/v2/Users", sync, "")
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked token still answers %d after %s", status, tokenCacheTTL+5*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if list := mustAdmin(t, url, "token", "list", "--org", "acme"); strings.Contains(list, "sync") {
		t.Errorf("token list after revoke still shows it:\n%s", list)
	}
	// The owner token of the new organization works, in that organization.
	if status, body := call(t, "POST", base+"/scim/v2/Users", owner, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"o@example.com"}`); status != 201 {
		t.Errorf("POST /Users with the org's owner token = %d %v, want 201", status, body)
	}
}

func TestAuditCommand(t *testing.T) {
	url := redistest.Start(t)
	owner := tokenRE.FindString(mustAdmin(t, url, "org", "create", "--name", "acme"))
	mustAdmin(t, url, "token", "create", "--org", "acme", "--role", "collaborator", "--name", "okta")
	base, _ := start(t, map[string]string{"SCIM_REDIS_URL": url})
	status, body := call(t, "POST", base+"/scim/v2/Users", owner,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"audit.me@example.com","name":{"givenName":"Audrey"}}`)
	if status != 201 {
		t.Fatalf("POST /Users = %d %v", status, body)
	}
	id, _ := body["id"].(string)

	out := mustAdmin(t, url, "audit", "--org", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		`^TIME\s+WHO\s+ACTION\s+TYPE\s+ID$`,
		`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s+token:initial-owner\s+create\s+User\s+` + id + `$`,
		`^\S+\s+cli\s+create\s+Token\s+okta$`,
		`^\S+\s+cli\s+create\s+Token\s+initial-owner$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("scimd audit printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("scimd audit line %d = %q, want %s", i, lines[i], re)
		}
	}
	for _, pii := range []string{"audit.me", "Audrey", "example.com", owner} {
		if strings.Contains(out, pii) {
			t.Errorf("scimd audit output holds %q:\n%s", pii, out)
		}
	}
	if out := mustAdmin(t, url, "audit", "--org", "acme", "--count", "1"); strings.Count(strings.TrimSpace(out), "\n") != 1 || !strings.Contains(out, id) {
		t.Errorf("scimd audit --count 1 =\n%s\nwant the header and the newest change", out)
	}
	if _, err := admin(t, url, "audit", "--org", "nope"); err == nil {
		t.Errorf("scimd audit of an unknown organization succeeded")
	}
}

// TestAdminCommandsCheckSettingsAsServeDoes: the admin commands read
// -redis-url and org create's -base-url through the settings table, so a
// value serve refuses is refused there too, with serve's message and
// without a password: a base URL with user information would put it in the
// mailed link, one that is not a URL would make a link nobody can open.
func TestAdminCommandsCheckSettingsAsServeDoes(t *testing.T) {
	url := redistest.Start(t)
	const secret = "hunter2pw"
	refused := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"org", "create", "--name", "acme", "--owner-email", "boss@acme.com", "--base-url", "https://alice:" + secret + "@id.example.com"}, nil,
			`invalid SCIM_BASE_URL (-base-url) "https://alice:xxxxx@id.example.com": it holds a user name or password`},
		{[]string{"org", "create", "--name", "acme", "--owner-email", "boss@acme.com"}, map[string]string{"SCIM_BASE_URL": "https://alice:" + secret + "@id.example.com"},
			`invalid SCIM_BASE_URL (-base-url) "https://alice:xxxxx@id.example.com"`},
		{[]string{"org", "create", "--name", "acme", "--owner-email", "boss@acme.com", "--base-url", "not a url"}, nil,
			`invalid SCIM_BASE_URL (-base-url) "not%20a%20url": want a URL such as https://scim.example.com`},
		{[]string{"org", "create", "--name", "acme", "--owner-email", "boss@acme.com", "--base-url", "https://id.example.com", "--smtp-port", "0"}, nil,
			"invalid SCIM_SMTP_PORT (-smtp-port) 0: want a port from 1 to 65535"},
		{[]string{"org", "create", "--name", "acme", "--owner-email", "boss@acme.com", "--base-url", "https://id.example.com"}, map[string]string{"SCIM_SMTP_HOST": "smtp.example.com"},
			"SCIM_MAIL_FROM (-mail-from) is required with SCIM_SMTP_HOST (-smtp-host)"},
		{[]string{"org", "show", "--name", "acme", "--redis-url", "localhost:6379"}, nil,
			"invalid SCIM_REDIS_URL (-redis-url): no scheme"},
		{[]string{"token", "list", "--org", "acme"}, map[string]string{"SCIM_REDIS_URL": "http://:" + secret + "@localhost:6379"},
			`invalid SCIM_REDIS_URL (-redis-url): scheme "http" is none of`},
		{[]string{"audit", "--org", "acme", "--redis-url", "redis://:" + secret + "@"}, nil,
			`invalid SCIM_REDIS_URL (-redis-url) "redis://:xxxxx@": want a host`},
		{[]string{"check", "--redis-url", "unix://"}, nil, "invalid SCIM_REDIS_URL (-redis-url)"},
	}
	for _, c := range refused {
		env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_MAIL_OUTBOX": t.TempDir()}
		for k, v := range c.env {
			env[k] = v
		}
		var out bytes.Buffer
		err := run(t.Context(), c.args, func(k string) string { return env[k] }, &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error()+out.String(), secret) {
			t.Errorf("scimd %s (environment %v) = %v, printing %q; want an error saying %q, without the password",
				strings.Join(c.args, " "), c.env, err, out.String(), c.want)
		}
	}
	if _, err := admin(t, url, "org", "show", "--name", "acme"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("org show after refused creates = %v, want does not exist (nothing created)", err)
	}
	// The same settings, valid, are taken from the flag over the environment.
	env := map[string]string{"SCIM_REDIS_URL": "redis://" + secret + "-not-this-one", "SCIM_BASE_URL": "not a url either", "SCIM_MAIL_OUTBOX": t.TempDir()}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"org", "create", "--name", "acme", "--redis-url", url, "--owner-email", "boss@acme.com",
		"--base-url", "https://id.example.com"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("org create with valid flags over invalid environment: %v", err)
	}
	msgs, err := filepath.Glob(filepath.Join(env["SCIM_MAIL_OUTBOX"], "*.eml"))
	if err != nil || len(msgs) != 1 {
		t.Fatalf("outbox holds %v (%v), want one invitation", msgs, err)
	}
	if msg, _ := os.ReadFile(msgs[0]); !strings.Contains(string(msg), "https://id.example.com/t/acme/console/accept?token=") {
		t.Errorf("the invitation does not link to the flag's base URL:\n%s", msg)
	}
}
