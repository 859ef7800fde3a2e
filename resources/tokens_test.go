package resources_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestTokenSecretFormat: a new secret names its organization, whatever
// characters the organization's name has, and is told apart from secrets of
// the older format; a changed character fails its checksum.
func TestTokenSecretFormat(t *testing.T) {
	format := regexp.MustCompile(`^scimd_[A-Za-z0-9._-]{1,64}_[A-Za-z0-9]{46}$`) // README's scanning pattern
	for _, org := range []string{"acme", "a", "my_org", "org_with__underscores_", "a.b-c", strings.Repeat("x", 64)} {
		secret := resources.NewTokenSecret(org)
		if !format.MatchString(string(secret)) {
			t.Errorf("NewTokenSecret(%q) = %q, want README's pattern", org, secret)
		}
		got, scoped, valid := secret.Org()
		if got != org || !scoped || !valid {
			t.Errorf("NewTokenSecret(%q).Org() = %q, %v, %v; want %q, true, true", org, got, scoped, valid, org)
		}
		if tok := resources.NewToken(org, "n", resources.RoleReader, secret, time.Time{}); !tok.Scoped {
			t.Errorf("NewToken of %q's secret is not Scoped", org)
		}
		if tok := resources.NewToken("other", "n", resources.RoleReader, secret, time.Time{}); tok.Scoped {
			t.Errorf("NewToken in another organization of %q's secret is Scoped", org)
		}
		s := []byte(secret)
		for _, i := range []int{len("scimd_"), len(s) - 47, len(s) - 20, len(s) - 1} {
			bad := slices.Clone(s)
			bad[i] ^= 1 // a one-bit error: CRC-32 detects every one
			if o, scoped, valid := resources.Secret(bad).Org(); scoped && valid {
				t.Errorf("%q (one character changed at %d) is a valid token of %q", bad, i, o)
			}
		}
	}
	if a, b := resources.NewTokenSecret("acme"), resources.NewTokenSecret("acme"); a == b {
		t.Errorf("two secrets are equal: %q", a)
	}
	// Secrets of the older format, and other configured text: no
	// organization, to be found through the global hash.
	for _, s := range []resources.Secret{
		"scimd_" + resources.Secret(strings.Repeat("A_-b", 10)+"xyz"), // 49 characters, base64url
		"dev-owner-token-123456",
		"scimd_short",
		resources.Secret("scimd_acme_" + strings.Repeat("a", 45) + "-"), // not base62
	} {
		if org, scoped, valid := s.Org(); scoped || !valid || org != "" {
			t.Errorf("Secret(%q).Org() = %q, %v, %v; want an older format", s, org, scoped, valid)
		}
	}
	// Shaped like the format but with an impossible organization.
	if _, scoped, valid := resources.Secret("scimd_a{b}_" + strings.Repeat("a", 46)).Org(); !scoped || valid {
		t.Errorf("a secret naming an invalid organization: scoped %v valid %v, want true false", scoped, valid)
	}
}

// FuzzSecretOrg: parsing a bearer token never panics, and what it accepts
// as org-scoped names a valid organization and passes its checksum again.
func FuzzSecretOrg(f *testing.F) {
	f.Add(string(resources.NewTokenSecret("acme")))
	f.Add("scimd_" + strings.Repeat("x", 43))
	f.Add("scimd__" + strings.Repeat("0", 46))
	f.Fuzz(func(t *testing.T, s string) {
		org, scoped, valid := resources.Secret(s).Org()
		if scoped && valid {
			if resources.ValidateOrgName(org) != nil {
				t.Fatalf("Org(%q) = %q, not a valid organization", s, org)
			}
			if !strings.HasPrefix(s, "scimd_"+org+"_") {
				t.Fatalf("Org(%q) = %q, not the secret's", s, org)
			}
		}
	})
}

// BenchmarkSecretOrg is what parsing a bearer token adds to every
// uncached authentication.
func BenchmarkSecretOrg(b *testing.B) {
	secret := resources.NewTokenSecret("acme")
	for b.Loop() {
		if _, _, valid := secret.Org(); !valid {
			b.Fatal("invalid")
		}
	}
}

// The hash of a token is how stores written by every version hold it: the
// hex SHA-256 of the secret, whichever way it is computed.
func TestHashTokenIsStoredForm(t *testing.T) {
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // SHA-256("abc")
	if got := resources.HashToken("abc"); got != want {
		t.Errorf("HashToken(abc) = %s, want %s", got, want)
	}
	if got := string(resources.AppendTokenHash([]byte("x"), "abc")); got != "x"+want {
		t.Errorf("AppendTokenHash(x, abc) = %s, want x%s", got, want)
	}
}
