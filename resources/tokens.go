package resources

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"log/slog"
	"strings"
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

	// Expiry, format and rotation.

	// Expires is when the token stops working (zero: never). An expired
	// token is refused like an unknown one.
	Expires time.Time `json:"expiresAt,omitzero"`
	// Scoped reports a token whose secret names its organization (the
	// format of [NewTokenSecret]): it is stored, and found, among its
	// organization's keys only. Other tokens (minted before that format, or
	// configured as SCIM_BOOTSTRAP_TOKEN) are found through one global hash.
	// Set by whoever makes the token ([NewToken]); not in its JSON, since
	// where a token is stored says it.
	Scoped bool `json:"-"`
	// Previous is, in a list, the secret that the token's last rotation
	// replaced and that still works until its Expires, if any.
	Previous *Token `json:"-"`
	// Replaced marks the record of such a secret: it may call the SCIM API
	// until it expires (the overlap of a rotation), not the admin API, so
	// that a leaked secret rotated away cannot rotate the token again.
	Replaced bool `json:"replaced,omitzero"`
}

// NewToken returns the token of secret, named name in org with role,
// created at created: Scoped when the secret names org.
func NewToken(org, name string, role Role, secret Secret, created time.Time) Token {
	tokenOrg, scoped, _ := secret.Org()
	return Token{Org: org, Name: name, Role: role, Hash: HashToken(secret), Created: created,
		Scoped: scoped && tokenOrg == org}
}

// Rotation is a new secret for a token ([NewTokenSecret]'s format), the
// one it replaces working on until PreviousExpires.
type Rotation struct {
	// Hash is the new secret's [HashToken].
	Hash string
	// Created is when the new secret was made.
	Created time.Time
	// Expires is when the new secret stops working (zero: never).
	Expires time.Time
	// PreviousExpires is when the replaced secret stops working, unless it
	// expires sooner.
	PreviousExpires time.Time
}

// Expired reports whether t no longer works at now.
func (t Token) Expired(now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
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
	// Replaced: the request came with a token's previous secret
	// ([Token].Replaced).
	Replaced bool
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

// The format of token secrets, after GitHub's
// (github.blog 2021-04-05, "Behind GitHub's new authentication token
// formats"): a prefix that secret scanners can match, the organization the
// token belongs to, 40 random base62 characters (238 bits) and a CRC-32 of
// everything before it in 6 base62 characters:
//
//	scimd_<org>_<40 random><6 checksum>
//
// The organization lets authentication read only that organization's keys
// (one Cluster slot); the checksum lets it refuse a mistyped or made-up
// token without a lookup, and a scanner tell a token from lookalike text.
// Organization names may hold '_', so the random part and checksum are read
// from the end. Secrets of the older format ("scimd_" and 43 base64url
// characters: 49 in all, shorter than any new one) keep working.
const (
	tokenPrefix      = "scimd_"
	tokenRandomLen   = 40
	tokenChecksumLen = 6
	base62           = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// NewTokenSecret returns a random token secret of org, in the format that
// names its organization ([Secret.Org]).
func NewTokenSecret(org string) Secret {
	var b strings.Builder
	b.WriteString(tokenPrefix + org + "_")
	buf := make([]byte, 64)
	for n := 0; n < tokenRandomLen; {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+).
		for _, c := range buf {
			// 248 = 4*62: rejecting the rest keeps every character equally
			// likely.
			if c < 248 && n < tokenRandomLen {
				b.WriteByte(base62[c%62])
				n++
			}
		}
	}
	b.WriteString(tokenChecksum(b.String()))
	return Secret(b.String())
}

// tokenChecksum is the CRC-32 (IEEE) of s in tokenChecksumLen base62
// characters (62^6 > 2^32).
func tokenChecksum(s string) string {
	sum := crc32.ChecksumIEEE([]byte(s))
	var out [tokenChecksumLen]byte
	for i := tokenChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[sum%62]
		sum /= 62
	}
	return string(out[:])
}

// Org returns the organization that a secret of the current format names.
// scoped is false for a secret of another format (an older token or a
// configured one), found through the global hash. A secret shaped like the
// current format whose organization or checksum is wrong is not valid
// (valid false): no token has it, and nothing need be looked up.
func (s Secret) Org() (org string, scoped, valid bool) {
	str := string(s)
	tail := tokenRandomLen + tokenChecksumLen
	if !strings.HasPrefix(str, tokenPrefix) || len(str) < len(tokenPrefix)+2+tail || str[len(str)-tail-1] != '_' {
		return "", false, true
	}
	for i := len(str) - tail; i < len(str); i++ {
		if strings.IndexByte(base62, str[i]) < 0 {
			return "", false, true
		}
	}
	org = str[len(tokenPrefix) : len(str)-tail-1]
	if ValidateOrgName(org) != nil || tokenChecksum(str[:len(str)-tokenChecksumLen]) != str[len(str)-tokenChecksumLen:] {
		return "", true, false
	}
	return org, true, true
}

// HashToken returns the hash under which a token secret is stored. Tokens have
// 256 bits of entropy, so a fast hash is enough; it keeps authentication O(1).
func HashToken(secret Secret) string {
	return string(AppendTokenHash(make([]byte, 0, TokenHashLen), secret))
}

// TokenHashLen is the length of a [HashToken].
const TokenHashLen = 2 * sha256.Size

// AppendTokenHash appends [HashToken](secret) to dst: for a lookup by the
// hash that need not allocate it (a map read with string(b) does not copy).
func AppendTokenHash(dst []byte, secret Secret) []byte {
	sum := sha256.Sum256([]byte(secret))
	return hex.AppendEncode(dst, sum[:])
}

// MaxTokens is how many API tokens an organization may have: each identity
// provider, HR system or script gets its own, and a list of them (the admin
// API's, the console's) is read whole.
const MaxTokens = 100

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
	// TokenByHash returns the token of another format than
	// [NewTokenSecret]'s with the given hash, or [NotFound].
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// OrgTokenByHash returns the organization's token with the given hash,
	// reading only the organization's keys, or [NotFound]. The token may
	// have expired ([Token.Expired]).
	OrgTokenByHash(ctx context.Context, org, hash string) (Token, error)
	// TouchToken records that the organization's token name was used now
	// with the secret of hash ([Token.LastUsed], of the token or of its
	// [Token.Previous]).
	TouchToken(ctx context.Context, org, name, hash string) error
}
