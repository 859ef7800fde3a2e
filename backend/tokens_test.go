package backend

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// TestOrgScopedTokensStayInTheirSlot: an org-scoped token's create, lookup,
// use, rotation and revocation write and read only its organization's keys,
// never the global hash.
func TestOrgScopedTokensStayInTheirSlot(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		secret := resources.NewTokenSecret(org)
		tok := resources.NewToken(org, "idp", resources.RoleCollaborator, secret, time.Now().UTC())
		if !tok.Scoped {
			t.Fatalf("NewToken(%s, NewTokenSecret(%s)) is not Scoped", org, org)
		}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if got, err := s.OrgTokenByHash(ctx, org, tok.Hash); err != nil || got.Name != "idp" || !got.Scoped {
			t.Fatalf("OrgTokenByHash = %+v, %v; want idp, scoped", got, err)
		}
		_, err := s.OrgTokenByHash(ctx, "globex", tok.Hash)
		wantCode(t, "OrgTokenByHash in another organization", err, resources.NotFound)
		_, err = s.TokenByHash(ctx, tok.Hash)
		wantCode(t, "TokenByHash (global) of an org-scoped token", err, resources.NotFound)
		if err := s.TouchToken(ctx, org, "idp", tok.Hash); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateToken(ctx, org, "idp", resources.Rotation{Hash: "h2", Created: time.Now(), PreviousExpires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("RotateToken: %v", err)
		}
		if err := s.RevokePreviousToken(ctx, org, "idp"); err != nil {
			t.Fatalf("RevokePreviousToken: %v", err)
		}
		if err := s.RevokeToken(ctx, org, "idp"); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		if n := s.client.Exists(ctx, tokensKey).Val(); n != 0 {
			t.Errorf("org-scoped tokens wrote the global hash %s", tokensKey)
		}
	})
}

// TestTokenRotation: a rotation gives a token a new secret while the old one
// keeps working until its stated end; the list shows both with their last
// uses; a second rotation drops the first previous secret; revoking the
// previous secret or the token ends it. For a token of the older format,
// the previous secret's expiry is written to the global hash.
func TestTokenRotation(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		lookup := func(h string) (resources.Token, error) {
			if t, err := s.OrgTokenByHash(ctx, org, h); resources.ErrorCode(err) != resources.NotFound {
				return t, err
			}
			return s.TokenByHash(ctx, h)
		}
		// An older-format token: its record in the global hash.
		legacy := resources.Token{Org: org, Name: "okta", Role: resources.RoleCollaborator, Hash: "h-legacy", Created: time.Now().UTC()}
		if err := s.CreateToken(ctx, legacy); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchToken(ctx, org, "okta", "h-legacy"); err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		got, err := s.RotateToken(ctx, org, "okta", resources.Rotation{Hash: "h1", Created: time.Now().UTC(), PreviousExpires: until})
		if err != nil {
			t.Fatalf("RotateToken: %v", err)
		}
		if got.Role != resources.RoleCollaborator || !got.Scoped || got.Previous == nil || !got.Previous.Expires.Equal(until) {
			t.Fatalf("RotateToken = %+v, want collaborator, scoped, previous until %v", got, until)
		}
		if old, err := lookup("h-legacy"); err != nil || !old.Expires.Equal(until) {
			t.Fatalf("the previous (global) secret = %+v, %v; want it working until %v", old, err, until)
		}
		if cur, err := lookup("h1"); err != nil || !cur.Expires.IsZero() || cur.Name != "okta" {
			t.Fatalf("the new secret = %+v, %v; want okta, no expiry", cur, err)
		}
		// A use of the new secret, and one of the previous, are told apart.
		if err := s.TouchToken(ctx, org, "okta", "h1"); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListTokens(ctx, org)
		if err != nil || len(list) != 1 || list[0].Previous == nil || list[0].LastUsed.IsZero() || list[0].Previous.LastUsed.IsZero() {
			t.Fatalf("ListTokens = %+v, %v; want okta with a previous secret, both used", list, err)
		}
		if list[0].Previous.Scoped || !list[0].Scoped {
			t.Errorf("ListTokens: current scoped %v, previous scoped %v; want true, false", list[0].Scoped, list[0].Previous.Scoped)
		}

		// A second rotation: the first previous secret stops at once.
		if _, err := s.RotateToken(ctx, org, "okta", resources.Rotation{Hash: "h2", Created: time.Now().UTC(), PreviousExpires: until}); err != nil {
			t.Fatalf("RotateToken again: %v", err)
		}
		_, err = lookup("h-legacy")
		wantCode(t, "the secret two rotations ago", err, resources.NotFound)
		if old, err := lookup("h1"); err != nil || !old.Expires.Equal(until) {
			t.Fatalf("the previous (org-scoped) secret = %+v, %v; want it working until %v", old, err, until)
		}
		if err := s.RevokePreviousToken(ctx, org, "okta"); err != nil {
			t.Fatalf("RevokePreviousToken: %v", err)
		}
		_, err = lookup("h1")
		wantCode(t, "a revoked previous secret", err, resources.NotFound)
		wantCode(t, "RevokePreviousToken twice", s.RevokePreviousToken(ctx, org, "okta"), resources.NotFound)
		if _, err := lookup("h2"); err != nil {
			t.Fatalf("the current secret after revoking the previous: %v", err)
		}

		// Revoking the token ends both secrets.
		if _, err := s.RotateToken(ctx, org, "okta", resources.Rotation{Hash: "h3", Created: time.Now().UTC(), PreviousExpires: until}); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, org, "okta"); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"h2", "h3"} {
			_, err := lookup(h)
			wantCode(t, "a secret of a revoked token", err, resources.NotFound)
		}
		_, err = s.RotateToken(ctx, org, "nosuch", resources.Rotation{Hash: "h4", PreviousExpires: until})
		wantCode(t, "RotateToken of no token", err, resources.NotFound)
		// Nothing is left behind: no record, previous secret or use.
		for _, key := range []string{tokenRecords("scimd:{acme}:"), tokenPrevious("scimd:{acme}:"), tokenUsed("scimd:{acme}:"), tokensKey} {
			if n := s.client.Exists(ctx, key).Val(); n != 0 {
				t.Errorf("%s outlives the revoked token", key)
			}
		}
		var findings []Finding
		if _, err := s.Check(ctx, org, func(f Finding) { findings = append(findings, f) }); err != nil || len(findings) != 0 {
			t.Errorf("Check = %v, %v; want clean", findings, err)
		}
	})
}

// TestTokenExpiryStored: a token's expiry is kept and returned.
func TestTokenExpiryStored(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tok := resources.NewToken(org, "temp", resources.RoleReader, resources.NewTokenSecret(org), time.Now().UTC())
		tok.Expires = time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		got, err := s.OrgTokenByHash(ctx, org, tok.Hash)
		if err != nil || !got.Expires.Equal(tok.Expires) || !got.Expired(time.Now()) {
			t.Fatalf("OrgTokenByHash = %+v, %v; want it expired at %v", got, err, tok.Expires)
		}
	})
}

// TestTokenInjectedFailure makes every token write script fail right after
// its checks and shows that, for org-scoped tokens, nothing was written (see
// TestInjectedFailure): all checks precede all writes, and there is no
// second write in another slot.
func TestTokenInjectedFailure(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, name := range []string{"a", "b"} {
			if err := s.CreateToken(ctx, resources.NewToken(org, name, resources.RoleReader, resources.NewTokenSecret(org), now)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RotateToken(ctx, org, "b", resources.Rotation{Hash: "hb2", Created: now, PreviousExpires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, sc := range []struct {
			script **script
			src    string
		}{
			{&s.putToken, putTokenSrc}, {&s.revokeToken, revokeTokenSrc}, {&s.rotateToken, rotateTokenSrc},
			{&s.revokePrevious, revokePreviousSrc}, {&s.touchToken, touchTokenSrc},
		} {
			if strings.Count(sc.src, "--@checked") != 1 {
				t.Fatalf("script has not one --@checked marker:\n%s", sc.src)
			}
			*sc.script = newScript(strings.Replace(sc.src, "--@checked", "error('injected failure')", 1))
		}
		before := dump(t, s)
		calls := map[string]error{}
		calls["CreateToken"] = s.CreateToken(ctx, resources.NewToken(org, "c", resources.RoleReader, resources.NewTokenSecret(org), now))
		calls["PutToken"] = s.PutToken(ctx, resources.NewToken(org, "a", resources.RoleOwner, resources.NewTokenSecret(org), now))
		_, calls["RotateToken"] = s.RotateToken(ctx, org, "a", resources.Rotation{Hash: "ha2", Created: now, PreviousExpires: now.Add(time.Hour)})
		calls["RevokePreviousToken"] = s.RevokePreviousToken(ctx, org, "b")
		calls["RevokeToken"] = s.RevokeToken(ctx, org, "b")
		calls["TouchToken"] = s.TouchToken(ctx, org, "b", "hb2")
		for call, err := range calls {
			if err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Errorf("%s = %v, want the injected failure", call, err)
			}
			if resources.ErrorCode(err) != 0 {
				t.Errorf("%s: a Redis failure became a client error %v", call, err)
			}
		}
		if after := dump(t, s); !maps.Equal(before, after) {
			t.Fatalf("failed writes changed the data:\nbefore %v\nafter  %v", before, after)
		}
	})
}
