package resources_test

import (
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestValidateTokenName: a token's name never holds a ':', so that its audit
// actor "token:<name>" cannot read as another kind of actor; names of
// built-in actors are fine, as the prefix tells them apart.
func TestValidateTokenName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"okta", true},
		{"cli", true},
		{"system", true},
		{"self-registration", true},
		{"entra.prod_1", true},
		{"admin:0b2f", false},
		{"customer:0b2f", false},
		{"token:okta", false},
		{"", false},
		{"with space", false},
	} {
		if err := resources.ValidateTokenName(c.name); (err == nil) != c.ok {
			t.Errorf("ValidateTokenName(%q) = %v, want ok %v", c.name, err, c.ok)
		}
	}
}
