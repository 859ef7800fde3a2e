package backend

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// atRotationStep has s call at once when a rotation reaches step.
func atRotationStep(s *Store, step string, at func()) {
	var once sync.Once
	s.onRotationStep = func(reached string) {
		if reached == step {
			once.Do(at)
		}
	}
}

// olderOwnerToken stores an owner token of the older format (its secret in
// the global hash) and returns its secret's hash.
func olderOwnerToken(t *testing.T, s *Store, ctx context.Context) string {
	t.Helper()
	if _, err := s.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	oldHash := resources.HashToken("an-older-owner-token-0123456789")
	if err := s.CreateToken(ctx, resources.Token{Org: org, Name: "bootstrap", Role: resources.RoleOwner, Hash: oldHash, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return oldHash
}

func rotation(org string) resources.Rotation {
	return resources.Rotation{Hash: resources.HashToken(resources.NewTokenSecret(org)), Created: time.Now(), PreviousExpires: time.Now().Add(time.Hour)}
}

// TestRotateOlderTokenStoppedBetweenWrites: rotating a token whose secret
// is in the global hash (the older format, or a configured bootstrap token)
// writes that hash and the organization's keys apart. A process stopped
// after the global hash's write, before the rotation script, leaves the
// secret replaced (the SCIM API only) with its expiry, never an owner's
// secret without an end (review of issue 12's stop 29).
func TestRotateOlderTokenStoppedBetweenWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "cli")
		oldHash := olderOwnerToken(t, s, ctx)
		r := rotation(org)
		ran := false
		atRotationStep(s, "marked", func() {
			ran = true
			if _, err := s.OrgTokenByHash(ctx, org, r.Hash); err == nil {
				t.Errorf("the new secret works before the rotation script")
			}
			old, err := s.TokenByHash(ctx, oldHash)
			if err != nil || !old.Replaced || old.Expires.IsZero() {
				t.Errorf("stopped after the global hash's write: the replaced secret = %+v, %v; want Replaced with an expiry", old, err)
			}
		})
		if _, err := s.RotateToken(ctx, org, "bootstrap", r); err != nil {
			t.Fatal(err)
		}
		if !ran {
			t.Fatal("RotateToken ran no rotation script: the test no longer stops before it")
		}
		if cur, err := s.OrgTokenByHash(ctx, org, r.Hash); err != nil || cur.Replaced {
			t.Errorf("the new secret = %+v, %v; want the token's current secret", cur, err)
		}
	})
}

// TestRotateOlderTokenRacingRevokeOrRotation: a revoke of the token between
// the rotation's read and its mark stays a revoke (the mark writes only
// while the secret is there); a rotation that loses to another leaves the
// secret the winner replaced marked, with an expiry (review of this stop's
// own fix, which put the record back after a failure).
func TestRotateOlderTokenRacingRevokeOrRotation(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "cli")
		other := New(s.client) // another process on the same Redis
		oldHash := olderOwnerToken(t, s, ctx)
		atRotationStep(s, "read", func() {
			if err := other.RevokeToken(ctx, org, "bootstrap"); err != nil {
				t.Errorf("the revoke: %v", err)
			}
		})
		if _, err := s.RotateToken(ctx, org, "bootstrap", rotation(org)); resources.ErrorCode(err) != resources.NotFound {
			t.Errorf("a rotation of a token revoked meanwhile = %v, want NotFound", err)
		}
		if tok, err := s.TokenByHash(ctx, oldHash); err == nil {
			t.Errorf("the revoked secret works again: %+v", tok)
		}
	})
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "cli")
		other := New(s.client)
		oldHash := olderOwnerToken(t, s, ctx)
		atRotationStep(s, "marked", func() {
			if _, err := other.RotateToken(ctx, org, "bootstrap", rotation(org)); err != nil {
				t.Errorf("the winning rotation: %v", err)
			}
		})
		if _, err := s.RotateToken(ctx, org, "bootstrap", rotation(org)); resources.ErrorCode(err) != resources.Conflict {
			t.Errorf("the losing rotation = %v, want Conflict", err)
		}
		old, err := s.TokenByHash(ctx, oldHash)
		if err != nil || !old.Replaced || old.Expires.IsZero() {
			t.Errorf("the secret the winner replaced = %+v, %v; want Replaced with an expiry", old, err)
		}
	})
}
