package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// TestTokenRotateCommand moves an identity provider from a token of the
// older format to an org-scoped one without downtime: scimd token rotate
// prints a new secret, both work until the previous one is revoked (or
// expires), and token list shows formats, expiry and the overlap.
func TestTokenRotateCommand(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	// A token minted before the org-scoped format: in the global hash.
	const legacy = "scimd_an-older-token-of-the-old-format-0123456789"
	store, err := backend.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateToken(context.Background(), resources.NewToken("acme", "okta", resources.RoleCollaborator, legacy, time.Now())); err != nil {
		t.Fatal(err)
	}
	expiring := strings.TrimSpace(mustAdmin(t, url, "token", "create", "--org", "acme", "--role", "reader", "--name", "audit", "--expires", "720h"))
	if org, scoped, valid := resources.Secret(expiring).Org(); org != "acme" || !scoped || !valid {
		t.Fatalf("token create printed %q: not an org-scoped token of acme", expiring)
	}

	base, _ := start(t, map[string]string{"SCIM_REDIS_URL": url})
	works := func(secret string) bool {
		status, _ := call(t, "GET", base+"/scim/v2/Users", secret, "")
		return status == 200
	}
	if !works(legacy) || !works(expiring) {
		t.Fatalf("before rotation: legacy works %v, expiring works %v; want both", works(legacy), works(expiring))
	}

	rotated := strings.TrimSpace(mustAdmin(t, url, "token", "rotate", "--org", "acme", "--name", "okta", "--previous-expires", "2h"))
	if org, scoped, _ := resources.Secret(rotated).Org(); org != "acme" || !scoped {
		t.Fatalf("token rotate printed %q, want only an org-scoped token of acme", rotated)
	}
	if !works(rotated) || !works(legacy) {
		t.Fatalf("during the overlap: new works %v, previous works %v; want both", works(rotated), works(legacy))
	}
	list := mustAdmin(t, url, "token", "list", "--org", "acme")
	for _, want := range []string{
		`(?m)^audit\s+reader\s+org-scoped\s+\S+\s+\d{4}-\S+\s+\d{4}-\S+\s+-\s+-$`,                  // expires, used, no rotation
		`(?m)^okta\s+collaborator\s+org-scoped\s+\S+\s+never\s+\d{4}-\S+\s+\d{4}-\S+\s+\d{4}-\S+$`, // both secrets used; previous until
	} {
		if !regexp.MustCompile(want).MatchString(list) {
			t.Errorf("token list =\n%s\nwant a line matching %s", list, want)
		}
	}

	mustAdmin(t, url, "token", "revoke", "--org", "acme", "--name", "okta", "--previous")
	deadline := time.Now().Add(tokenCacheTTL + 5*time.Second)
	for works(legacy) {
		if time.Now().After(deadline) {
			t.Fatalf("a revoked previous secret still works after %s", tokenCacheTTL+5*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !works(rotated) {
		t.Errorf("the current secret stopped working with the previous one")
	}
	if list := mustAdmin(t, url, "token", "list", "--org", "acme"); !regexp.MustCompile(`(?m)^okta\s.*\s-\s+-$`).MatchString(list) {
		t.Errorf("token list after revoke --previous =\n%s\nwant okta with no previous secret", list)
	}
}
