package main

// The command line's answers to bad input and secrets (a review of the commands).

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend/redistest"
)

// with Sentinel, go-redis takes the data nodes' password from the query
// (?password=; the URL's user info is the sentinels' own). Start-up errors
// and -h print it.
func TestSentinelMasterPasswordNeverShown(t *testing.T) {
	env := map[string]string{"SCIM_REDIS_URL": "redis+sentinel://127.0.0.1:1/x?master_name=m&password=sentinel-master-secret"}
	getenv := func(k string) string { return env[k] }
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), nil, getenv, &stdout, &stderr)
	if err == nil {
		t.Fatal("run = nil, want an error (db \"x\")")
	}
	var help bytes.Buffer
	_ = run(context.Background(), []string{"-h"}, getenv, &help, &help)
	for what, text := range map[string]string{"error": err.Error(), "stdout": stdout.String(), "stderr": stderr.String(),
		"-h": help.String(), "RedisURL.String": RedisURL(env["SCIM_REDIS_URL"]).String()} {
		if strings.Contains(text, "sentinel-master-secret") {
			t.Errorf("%s shows the Redis password: %s", what, text)
		}
	}
}

// SCIM_BASE_URL "startswith=http" lets other schemes, queries and
// fragments through; every Location, meta.location and mailed link is then
// broken ("https://scim.example.com?x=1/scim/v2/Users/…").
func TestBaseURLMustBeHTTPWithoutQueryOrFragment(t *testing.T) {
	for _, u := range []string{"httpx://scim.example.com", "https://scim.example.com?x=1", "https://scim.example.com/#top"} {
		_, err := parseConfig(nil, func(k string) string { return map[string]string{"SCIM_BASE_URL": u}[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "SCIM_BASE_URL") {
			t.Errorf("SCIM_BASE_URL=%s: parseConfig = %v, want an error naming SCIM_BASE_URL", u, err)
		}
	}
}

// org create validates --owner-email and --display-name only after the
// organization and its owner token exist: bad input exits 1 but leaves the
// organization behind (and a retry says it already exists).
func TestOrgCreateBadInputCreatesNothing(t *testing.T) {
	url := redistest.Start(t)
	for name, args := range map[string][]string{
		"badmail": {"--owner-email", "not-an-address", "--base-url", "https://id.example.com"},
		"badname": {"--display-name", "Evil\u202eName"},
	} {
		out, err := admin(t, url, append([]string{"org", "create", "--name", name}, args...)...)
		if err == nil {
			t.Errorf("org create --name %s %q = nil error, want one", name, args)
		}
		if tokenRE.MatchString(out) {
			t.Errorf("org create --name %s %q printed an owner token although it failed:\n%s", name, args, out)
		}
		if _, err := admin(t, url, "org", "show", "--name", name); err == nil {
			t.Errorf("org create --name %s %q failed, yet organization %q exists", name, args, name)
		}
	}
}

// arguments after the flags are silently ignored, so a mistyped command
// does something else than asked: "revoke ... previous" (for --previous)
// revokes the whole token; "admin invite ... --role owner collaborator"
// invites an owner; "scimd serve -log-level debug oops" starts.
func TestStrayArgumentsRefused(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	mustAdmin(t, url, "token", "create", "--org", "acme", "--name", "okta")
	mustAdmin(t, url, "token", "rotate", "--org", "acme", "--name", "okta")
	if _, err := admin(t, url, "token", "revoke", "--org", "acme", "--name", "okta", "previous"); err == nil {
		t.Errorf("token revoke ... previous (a stray argument) = nil error, want one")
	}
	if out := mustAdmin(t, url, "token", "list", "--org", "acme"); !strings.Contains(out, "okta") {
		t.Errorf("token revoke with a stray argument revoked the whole token:\n%s", out)
	}
	env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_BASE_URL": "https://id.example.com", "SCIM_MAIL_OUTBOX": t.TempDir()}
	if err := run(context.Background(), []string{"admin", "invite", "--org", "acme", "--email", "ops@example.com", "--role", "owner", "collaborator"},
		func(k string) string { return env[k] }, io.Discard, io.Discard); err == nil {
		t.Errorf("admin invite ... collaborator (a stray argument) = nil error, want one")
	}
	if _, err := parseConfig([]string{"-log-level", "debug", "oops"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Errorf("scimd serve -log-level debug oops: parseConfig = nil error, want one")
	}
}

// token list of an organization that does not exist answers an empty
// list and exit 0; create, audit, schema, check and org show refuse it.
func TestTokenListUnknownOrg(t *testing.T) {
	url := redistest.Start(t)
	if out, err := admin(t, url, "token", "list", "--org", "acmee"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("token list --org acmee (no such organization) = %v, printing %q; want an error saying it does not exist", err, out)
	}
}

// the listen-address check accepts any port text (":99999", ":http2"),
// and the listen error that follows does not name SCIM_ADDR (SCIM_DEBUG_ADDR's
// does).
func TestListenAddressNamesTheSetting(t *testing.T) {
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"SCIM_ADDR": ":99999"}[k] }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "SCIM_ADDR") {
		t.Errorf("SCIM_ADDR=:99999: parseConfig = %v, want an error naming SCIM_ADDR", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, nil, func(k string) string { return map[string]string{"SCIM_ADDR": "127.0.0.1:99999"}[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SCIM_ADDR") {
		t.Errorf("SCIM_ADDR=127.0.0.1:99999: run = %v, want an error naming SCIM_ADDR", err)
	}
}

// an outbox directory that cannot be created is not noticed at start:
// scimd serves, and every invitation then fails (invitationNotDelivered),
// logged as "outbox: mkdir …" without the setting's name.
func TestUnusableOutboxStopsStartup(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	env := map[string]string{"SCIM_ADDR": "127.0.0.1:0", "SCIM_MAIL_OUTBOX": filepath.Join(file, "outbox")}
	err := run(ctx, nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SCIM_MAIL_OUTBOX") {
		t.Errorf("SCIM_MAIL_OUTBOX under a regular file: run = %v (it served until the deadline), want a start-up error naming SCIM_MAIL_OUTBOX", err)
	}
}

// SCIM_TOKEN_BURST's message says zero is the default; it is 200.
func TestTokenBurstMessage(t *testing.T) {
	_, err := parseConfig(nil, func(k string) string { return map[string]string{"SCIM_TOKEN_BURST": "-1"}[k] }, io.Discard)
	if err == nil || strings.Contains(err.Error(), "zero (the default)") {
		t.Errorf("SCIM_TOKEN_BURST=-1: %v; the default is %d, not zero", err, 200)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// admin invite checks each mail setting alone but never validateMail,
// which serve and org create run: SCIM_SMTP_HOST without SCIM_MAIL_FROM
// (or SCIM_SMTP_STARTTLS off with credentials) is not refused, and the
// command goes on to create the administrator and try to send.
func TestAdminInviteChecksMailSettingsAsServe(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	env := map[string]string{"SCIM_REDIS_URL": url, "SCIM_BASE_URL": "https://id.example.com",
		"SCIM_SMTP_HOST": "127.0.0.1", "SCIM_SMTP_PORT": closedPort(t)} // no SCIM_MAIL_FROM
	err := run(context.Background(), []string{"admin", "invite", "--org", "acme", "--email", "ops@example.com", "--role", "owner"},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SCIM_MAIL_FROM") {
		t.Errorf("admin invite with SCIM_SMTP_HOST and no SCIM_MAIL_FROM = %v, want the error serve gives (naming SCIM_MAIL_FROM)", err)
	}
}

// when the invitation mail fails, admin invite exits 1 ("try again
// later") but has already created the administrator; trying again is then
// refused ("already an administrator") and the CLI has no way to resend.
func TestAdminInviteRetryAfterMailFailure(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	args := []string{"admin", "invite", "--org", "acme", "--email", "ops@example.com", "--role", "owner"}
	broken := map[string]string{"SCIM_REDIS_URL": url, "SCIM_BASE_URL": "https://id.example.com",
		"SCIM_SMTP_HOST": "127.0.0.1", "SCIM_SMTP_PORT": closedPort(t), "SCIM_MAIL_FROM": "a@example.com"}
	if err := run(context.Background(), args, func(k string) string { return broken[k] }, io.Discard, io.Discard); err == nil {
		t.Fatal("admin invite with an unreachable SMTP server = nil error, want one")
	}
	working := map[string]string{"SCIM_REDIS_URL": url, "SCIM_BASE_URL": "https://id.example.com", "SCIM_MAIL_OUTBOX": t.TempDir()}
	if err := run(context.Background(), args, func(k string) string { return working[k] }, io.Discard, io.Discard); err != nil {
		t.Errorf("admin invite again, mail working now: %v; want the invitation sent", err)
	}
}
