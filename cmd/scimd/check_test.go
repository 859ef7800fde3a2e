package main

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
)

// mustCheck runs "scimd check" (of every organization) and fails the test
// on any finding, showing them.
func mustCheck(t *testing.T, redisURL string, args ...string) string {
	t.Helper()
	out, err := admin(t, redisURL, append([]string{"check"}, args...)...)
	if err != nil {
		t.Fatalf("scimd check %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestCheckCommand(t *testing.T) {
	url := redistest.Start(t)
	const token = "check-command-token-1234567"
	base, _ := start(t, map[string]string{"SCIM_REDIS_URL": url, "SCIM_BOOTSTRAP_TOKEN": token})
	mustAdmin(t, url, "org", "create", "--name", "acme")
	status, u := call(t, "POST", base+"/scim/v2/Users", token, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane@example.com","name":{"givenName":"Jane"}}`)
	if status != 201 {
		t.Fatalf("POST /Users = %d %v", status, u)
	}
	id, _ := u["id"].(string)
	if status, g := call(t, "POST", base+"/scim/v2/Groups", token, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff","members":[{"value":"`+id+`"}]}`); status != 201 {
		t.Fatalf("POST /Groups = %d %v", status, g)
	}

	out := mustCheck(t, url)
	for _, want := range []string{"checked default: 1 users, 1 groups, 1 memberships, 1 administrators", "checked acme: 0 users", "checked 2 organizations"} {
		if !strings.Contains(out, want) {
			t.Errorf("scimd check printed:\n%s\nwant a line with %q", out, want)
		}
	}
	if out := mustCheck(t, url, "--org", "default"); !strings.Contains(out, ": 0 findings") || strings.Contains(out, "acme") {
		t.Errorf("scimd check --org default printed:\n%s\nwant the default organization only, with 0 findings", out)
	}

	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	defer c.Close()
	c.ZRem(context.Background(), "scimd:{default}:ix:user:name.givenName", "jane\x00"+id)
	out, err := admin(t, url, "check", "--org", "default")
	if err == nil || !strings.Contains(err.Error(), "1 finding:") {
		t.Errorf("scimd check of a store with a lost index entry = %v, want an error saying 1 finding", err)
	}
	want := "scimd:{default}:ix:user:name.givenName " + id + ": the index lacks an entry of the resource\n"
	if !strings.Contains(out, want) || strings.Contains(out, "jane") {
		t.Errorf("scimd check printed:\n%s\nwant the line %q, and no value", out, want)
	}

	for args, want := range map[string]string{
		"check --org nope": `organization "nope" does not exist`,
		"check extra":      `unexpected argument "extra"`,
	} {
		if _, err := admin(t, url, strings.Fields(args)...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("scimd %s = %v, want %q", args, err, want)
		}
	}
	if _, err := admin(t, "", "check"); err == nil || !strings.Contains(err.Error(), "embedded store") {
		t.Errorf("scimd check without a Redis URL = %v, want it to say the embedded store cannot be checked", err)
	}
}
