package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
)

func TestSchemaCommand(t *testing.T) {
	url := redistest.Start(t)
	mustAdmin(t, url, "org", "create", "--name", "acme")
	file := filepath.Join(t.TempDir(), "acme.json")
	def := `{"id": "urn:example:acme:1.0:User", "name": "Acme", "attributes": [{"name": "tier", "type": "string", "indexed": true}]}`
	if err := os.WriteFile(file, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustAdmin(t, url, "schema", "list", "--org", "acme"); !strings.Contains(out, "no custom schemas") {
		t.Errorf("schema list of a new organization =\n%s", out)
	}
	if out := mustAdmin(t, url, "schema", "add", "--org", "acme", "--file", file); !strings.Contains(out, "Added custom schema urn:example:acme:1.0:User") {
		t.Errorf("schema add =\n%s", out)
	}
	if out := mustAdmin(t, url, "schema", "list", "--org", "acme"); !strings.Contains(out, "tier (string)") {
		t.Errorf("schema list =\n%s", out)
	}
	if out := mustAdmin(t, url, "schema", "add", "--org", "acme", "--file", file, "--replace"); !strings.Contains(out, "Replaced") {
		t.Errorf("schema add --replace =\n%s", out)
	}
	failures := map[string][]string{
		"exists":                 {"schema", "add", "--org", "acme", "--file", file},
		"does not exist":         {"schema", "list", "--org", "acmee"},
		"--file is required":     {"schema", "add", "--org", "acme"},
		"no custom schema":       {"schema", "remove", "--org", "acme", "--urn", "urn:example:other"},
		"unknown schema command": {"schema", "drop", "--org", "acme"},
		"--org is required":      {"schema", "list"},
	}
	for want, args := range failures {
		if _, err := admin(t, url, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("scimd %s = %v, want an error saying %q", strings.Join(args, " "), err, want)
		}
	}
	if out := mustAdmin(t, url, "schema", "remove", "--org", "acme", "--urn", "urn:example:acme:1.0:User"); !strings.Contains(out, "Removed") {
		t.Errorf("schema remove =\n%s", out)
	}
	out := mustAdmin(t, url, "audit", "--org", "acme")
	if n := strings.Count(out, "urn:example:acme:1.0:User"); n != 3 {
		t.Errorf("audit shows %d schema changes, want 3:\n%s", n, out)
	}
}
