package resources

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"time"
)

// Role is what a bearer token may do within its organization.
type Role string

// Roles. Owners do everything, including managing tokens; collaborators manage
// customers and groups; readers only read.
const (
	RoleOwner        Role = "owner"
	RoleCollaborator Role = "collaborator"
	RoleReader       Role = "reader"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleOwner || r == RoleCollaborator || r == RoleReader
}

// CanWrite reports whether r may change users and groups.
func (r Role) CanWrite() bool { return r == RoleOwner || r == RoleCollaborator }

// Token is a stored API token. Only the hash of its secret is kept.
type Token struct {
	Org     string    `json:"org"`
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
	// Onboarding, when set, overrides the organization's onboarding policy
	// for the customers this token creates ([OnboardingInvite],
	// [OnboardingNone]): one organization may connect an identity provider
	// whose customers are invited and an HR system whose are not.
	Onboarding string `json:"onboarding,omitempty"`
	// LastUsed is about when the token last authenticated a request (zero:
	// never); kept apart from the token, not in its JSON.
	LastUsed time.Time `json:"-"`
}

// Principal is who a request acts for.
type Principal struct {
	Org  string
	Role Role
	// Name is the token's name, used in logs and the audit trail.
	Name string
	// Onboarding is the token's override of the onboarding policy ("":
	// the organization's).
	Onboarding string
}

// Secret is a string that must never be logged.
type Secret string

// LogValue implements slog.LogValuer so a Secret never reaches a log.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String hides the secret from fmt as well.
func (Secret) String() string { return "REDACTED" }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return `"REDACTED"` }

// MarshalText hides the secret from encoding/json and other encoders: a
// struct holding one may be encoded without revealing it.
func (Secret) MarshalText() ([]byte, error) { return []byte("REDACTED"), nil }

// Reveal returns the secret text, for the few places that must use it.
func (s Secret) Reveal() string { return string(s) }

// NewTokenSecret returns a random token secret (256 bits, URL-safe).
func NewTokenSecret() Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return Secret("scimd_" + base64.RawURLEncoding.EncodeToString(b))
}

// HashToken returns the hash under which a token secret is stored. Tokens have
// 256 bits of entropy, so a fast hash is enough; it keeps authentication O(1).
func HashToken(secret Secret) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// maxNameLen bounds token and organization names.
const maxNameLen = 64

// ValidateTokenName checks a token's name: 1 to 64 letters, digits, '.', '_'
// or '-'. A name is unique within its organization and shown in logs and the
// audit trail, so it is kept plain. In the audit trail it is the actor
// "token:<name>" ([TokenActor]): having no ':', no name can make that read as
// another token or as a built-in actor, so names such as "cli" or "system"
// need not be reserved.
func ValidateTokenName(name string) error {
	if !plainName(name) {
		return Errorf(InvalidValue, "invalid token name %q: use 1 to %d letters, digits, '.', '_' or '-'", name, maxNameLen)
	}
	return nil
}

func plainName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// TokenStore stores API tokens.
type TokenStore interface {
	// PutToken stores t under its name in its organization, replacing the
	// token of that name, if any (which then stops working).
	PutToken(ctx context.Context, t Token) error
	// TokenByHash returns the token with the given hash, or [NotFound].
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// TouchToken records that the organization's token name was used now
	// ([Token.LastUsed]).
	TouchToken(ctx context.Context, org, name string) error
}
