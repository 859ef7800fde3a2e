package schemas_test

import (
	"testing"

	"github.com/scimd/scimd/schemas"
)

func TestLookup(t *testing.T) {
	users := schemas.Users()
	cases := []struct {
		path, want string
		core       bool
		mutability string
	}{
		{"userName", "userName", true, "immutable"},
		{"USERNAME", "userName", true, "immutable"},
		{"name.FamilyName", "name.familyName", true, "readWrite"},
		{"emails.Value", "emails.value", true, "readWrite"},
		{"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", "name.givenName", true, "readWrite"},
		{"meta.lastModified", "meta.lastModified", true, "readOnly"},
		{"id", "id", true, "readOnly"},
		{"groups", "groups", true, "readOnly"},
		{"password", "password", true, "writeOnly"},
		{"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager.value", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", false, "readWrite"},
		{"urn:scim:schemas:extension:customer:2.0:User:accountState", "urn:scim:schemas:extension:customer:2.0:User:accountState", false, "readOnly"},
		{"urn:scim:schemas:extension:customer:2.0:User:passwordSetup", "urn:scim:schemas:extension:customer:2.0:User:passwordSetup", false, "immutable"},
	}
	for _, c := range cases {
		a, ok := users.Lookup(c.path)
		if !ok {
			t.Errorf("Lookup(%q) not found", c.path)
			continue
		}
		if a.FullName() != c.want || a.Core != c.core || a.Leaf().Mutability() != c.mutability {
			t.Errorf("Lookup(%q) = %s core=%v %s, want %s core=%v %s", c.path, a.FullName(), a.Core, a.Leaf().Mutability(), c.want, c.core, c.mutability)
		}
	}
	for _, bad := range []string{"nope", "name.nope", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nope", "urn:example:x:userName", ""} {
		if a, ok := users.Lookup(bad); ok {
			t.Errorf("Lookup(%q) = %s, want not found", bad, a.FullName())
		}
	}
	if a, ok := schemas.Groups().Lookup("DisplayName"); !ok || a.Leaf().Uniqueness() != "server" {
		t.Errorf("Groups displayName = %v %v, want found with uniqueness server", a, ok)
	}
}

func TestSecretPath(t *testing.T) {
	rt := schemas.Users()
	for path, want := range map[string]bool{
		"password": true, "PASSWORD": true, "urn:ietf:params:scim:schemas:core:2.0:User:password": true,
		"userName": false, "emails.value": false, "nosuch": false, "urn:x:y:password2": false,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": false,
	} {
		if got := rt.SecretPath(path); got != want {
			t.Errorf("SecretPath(%q) = %v, want %v", path, got, want)
		}
	}
}
