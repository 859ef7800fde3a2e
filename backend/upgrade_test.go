package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

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

// writeLegacyActive turns users' active into what a store written before
// inactive:user held: an entry "true" or "false" NUL id in ix:user:active
// and in the user's field ix for a boolean active, nothing for none.
func writeLegacyActive(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	p := "scimd:{" + org + "}:"
	for _, id := range s.client.ZRange(ctx, p+"all:user", 0, -1).Val() {
		key := p + "user:" + id
		var attrs map[string]any
		if err := json.Unmarshal([]byte(storedField(t, ctx, s.client, key, "doc")), &attrs); err != nil {
			t.Fatalf("decode %s: %v", key, err)
		}
		v := activeState(attrs)
		if v == "" {
			continue
		}
		var ix []string
		if err := json.Unmarshal([]byte(storedField(t, ctx, s.client, key, "ix")), &ix); err != nil {
			t.Fatalf("decode ix of %s: %v", key, err)
		}
		setStoredField(t, ctx, s.client, key, "ix", flatJSON(append(ix, "active", v)))
		if err := s.client.ZAdd(ctx, p+"ix:user:active", redis.Z{Member: v + "\x00" + id}).Err(); err != nil {
			t.Fatalf("ZADD ix:user:active: %v", err)
		}
	}
	if err := s.client.Del(ctx, p+"inactive:user").Err(); err != nil {
		t.Fatalf("DEL inactive:user: %v", err)
	}
}

// TestUpgradeActiveIndex: a store that still has the lexicographic index of
// active answers active filters as before (by scan) while this version
// writes to it, checks clean, and has the exceptions set instead after the
// upgrade, with the same answers, from it.
func TestUpgradeActiveIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		var users []resources.Resource
		for i, active := range []any{true, false, nil, true, false, nil, true, "False", true} {
			u := user(fmt.Sprintf("u%d@example.com", i))
			if active != nil {
				u.Attributes["active"] = active
			}
			users = append(users, mustCreateUser(t, s, u))
		}
		writeLegacyActive(t, s)
		filters := []string{"active eq true", "active eq false", "active pr", "not (active eq true)",
			`active eq true and userName sw "u"`, "active eq false or active eq true"}
		answers := func(when string) {
			t.Helper()
			all, err := s.ListUsers(ctx, org, resources.Query{Count: 100})
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			listsAsScan(t, s, when, all.Resources, filters)
		}
		clean := func(when string) {
			t.Helper()
			if got, _ := check(t, s); len(got) != 0 {
				t.Errorf("Check %s found:\n%s", when, findingLines(got))
			}
		}
		answers("with the earlier index")
		clean("with the earlier index")

		// Written by this version meanwhile: a legacy user true -> false,
		// one false -> true, a new one without active, a deletion.
		flip := func(u resources.Resource, v bool) {
			t.Helper()
			cur, err := s.GetUser(ctx, org, u.ID)
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			cur.Attributes["active"] = v
			if _, err := s.ReplaceUser(ctx, org, cur, cur.Version, resources.UserWrite{}); err != nil {
				t.Fatalf("ReplaceUser: %v", err)
			}
		}
		flip(users[0], false)
		flip(users[1], true)
		mustCreateUser(t, s, user("new@example.com"))
		if err := s.DeleteUser(ctx, org, users[4].ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		answers("written meanwhile")
		clean("written meanwhile")

		if _, err := s.Upgrade(ctx, org); err != nil {
			t.Fatalf("Upgrade: %v", err)
		}
		if n := s.client.Exists(ctx, p+"ix:user:active").Val(); n != 0 {
			t.Errorf("ix:user:active is still there after Upgrade")
		}
		if k, err := s.sparseReady(ctx, p, &s.users); err != nil || k.sparsePending {
			t.Fatalf("after Upgrade, queries do not plan onto active (%v)", err)
		}
		answers("after the upgrade")
		clean("after the upgrade")
		// users[0] false, users[2] and [5] none, [7] "False", the new one none.
		if n := s.client.ZCard(ctx, p+"inactive:user").Val(); n != 5 {
			t.Errorf("inactive:user holds %d users, want 5", n)
		}
	})
}
