package backend

import (
	"context"
	"testing"

	"github.com/scimd/scimd/resources"
)

// writeLegacyUserNames adds what a store written before the userName index
// kept userNames unique holds besides: the hash lowercase userName -> id,
// and each user's key of it in its field "uk".
func writeLegacyUserNames(t *testing.T, s *Store, users ...resources.Resource) {
	t.Helper()
	ctx := context.Background()
	p := "scimd:{" + org + "}:"
	for _, u := range users {
		uk, _ := uniqueKey(u.Attributes, "userName")
		if err := s.client.HSet(ctx, p+"unique:user:userName", uk, u.ID).Err(); err != nil {
			t.Fatalf("HSET unique:user:userName: %v", err)
		}
		if err := s.client.HSet(ctx, p+"user:"+u.ID, "uk", uk).Err(); err != nil {
			t.Fatalf("HSET uk: %v", err)
		}
	}
}

// TestUpgradeUserNameHash: a store that still has the userName hash of the
// earlier layout answers and keeps userNames unique as before, checks
// clean, and loses the hash (and, at their next write, the users' keys of
// it) at the upgrade.
func TestUpgradeUserNameHash(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		a := mustCreateUser(t, s, user("Ann@example.com"))
		b := mustCreateUser(t, s, user("bob@example.com"))
		writeLegacyUserNames(t, s, a, b)
		clean := func(when string) {
			t.Helper()
			if got, _ := check(t, s); len(got) != 0 {
				t.Errorf("Check %s found:\n%s", when, findingLines(got))
			}
		}
		clean("with the legacy hash")

		_, err := s.CreateUser(ctx, org, user("ANN@example.com"), resources.UserWrite{})
		wantCode(t, "CreateUser of a legacy user's userName", err, resources.Uniqueness)
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, `userName eq "ann@EXAMPLE.com"`), Count: 10})
		if err != nil || page.Total != 1 || len(page.Resources) != 1 || page.Resources[0].ID != a.ID {
			t.Fatalf("userName eq of a legacy user = %+v, %v; want %s", page, err, a.ID)
		}
		// A write of a legacy user drops its key of the hash.
		b.Attributes["displayName"] = "Bob"
		if _, err := s.ReplaceUser(ctx, org, b, 1, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		if uk := s.client.HGet(ctx, p+"user:"+b.ID, "uk").Val(); uk != "" {
			t.Errorf("a replaced legacy user keeps uk %q", uk)
		}
		// The hash is stale now (a deletion leaves its entry), and harmless.
		if err := s.DeleteUser(ctx, org, a.ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		mustCreateUser(t, s, user("ann@example.com"))
		clean("after writes under the new layout")

		n, err := s.Upgrade(ctx, org)
		if err != nil || n != 1 {
			t.Fatalf("Upgrade = %d, %v; want 1 key removed", n, err)
		}
		if s.client.Exists(ctx, p+"unique:user:userName").Val() != 0 {
			t.Errorf("the legacy hash is still there after Upgrade")
		}
		clean("after the upgrade")
		_, err = s.CreateUser(ctx, org, user("BOB@example.com"), resources.UserWrite{})
		wantCode(t, "CreateUser of a taken userName after the upgrade", err, resources.Uniqueness)
		if n, err := s.Upgrade(ctx, org); err != nil || n != 0 {
			t.Errorf("second Upgrade = %d, %v; want nothing to remove", n, err)
		}
	})
}
