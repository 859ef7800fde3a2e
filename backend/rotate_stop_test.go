package backend

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// aroundHook calls at before and after the first command whose first two
// arguments are name and key has run.
type aroundHook struct {
	name, key string
	at        func()
	done      bool
}

func (*aroundHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *aroundHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if h.done || len(args) < 2 || fmt.Sprint(args[0]) != h.name || fmt.Sprint(args[1]) != h.key {
			return next(ctx, cmd)
		}
		h.done = true
		h.at()
		err := next(ctx, cmd)
		h.at()
		return err
	}
}

func (*aroundHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRotateOlderTokenStoppedBetweenWrites: rotating a token whose secret
// is in the global hash (the older format, or a configured bootstrap token)
// writes that hash and the organization's keys apart. Whatever the moment
// a process stops, the replaced secret is never an owner's secret without
// an end: right after the global hash's write, before the rotation, it is
// already replaced (the SCIM API only) with its expiry (review of issue
// 12's stop 29).
func TestRotateOlderTokenStoppedBetweenWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "cli")
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		oldHash := resources.HashToken("an-older-owner-token-0123456789")
		if err := s.CreateToken(ctx, resources.Token{Org: org, Name: "bootstrap", Role: resources.RoleOwner, Hash: oldHash, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		newHash := resources.HashToken(resources.NewTokenSecret(org))
		// A stop just before or just after the global hash's write leaves
		// what this sees.
		stops := 0
		s.client.AddHook(&aroundHook{name: "hset", key: tokensKey, at: func() {
			stops++
			_, newErr := s.OrgTokenByHash(ctx, org, newHash)
			old, oldErr := s.TokenByHash(ctx, oldHash)
			if newErr == nil && (oldErr != nil || !old.Replaced || old.Expires.IsZero()) {
				t.Errorf("stopped at %d: the new secret is current, the replaced one = %+v, %v; want Replaced with an expiry", stops, old, oldErr)
			}
		}})
		if _, err := s.RotateToken(ctx, org, "bootstrap", resources.Rotation{Hash: newHash,
			Created: time.Now(), PreviousExpires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if stops != 2 {
			t.Fatalf("RotateToken wrote the global hash %d times, want once: the test no longer stops it there", stops/2)
		}
		after, err := s.TokenByHash(ctx, oldHash)
		if err != nil || !after.Replaced || after.Expires.IsZero() {
			t.Errorf("after the rotation, the replaced secret = %+v, %v; want Replaced with an expiry", after, err)
		}
		if cur, err := s.OrgTokenByHash(ctx, org, newHash); err != nil || cur.Replaced {
			t.Errorf("the new secret = %+v, %v; want the token's current secret", cur, err)
		}
	})
}
