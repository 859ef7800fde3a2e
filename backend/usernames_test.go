package backend

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// findUser answers "userName eq name" through ListUsers, failing the test
// on an error.
func findUser(t *testing.T, s *Store, name string) []resources.Resource {
	t.Helper()
	f, err := resources.ParseFilter(s.users.rt, fmt.Sprintf("userName eq %q", name), "")
	if err != nil {
		t.Fatalf("ParseFilter: %v", err)
	}
	page, err := s.ListUsers(context.Background(), org, resources.Query{Filter: f, Count: 10})
	if err != nil {
		t.Fatalf("ListUsers userName eq %q: %v", name, err)
	}
	return page.Resources
}

// wantFound fails unless "userName eq name" answers exactly the user id.
func wantFound(t *testing.T, s *Store, name, id string) {
	t.Helper()
	got := findUser(t, s, name)
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("userName eq %q = %v, want user %s", name, got, id)
	}
}

// nameEntry is what the userName hash of folded userName uk holds for it
// ("" none).
func nameEntry(t *testing.T, s *Store, uk string) string {
	t.Helper()
	v, err := s.client.HGet(context.Background(), userNameKey("scimd:{"+org+"}:", uk), uk).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("HGET: %v", err)
	}
	return v
}

// forgetUserNames makes the organization look as an earlier version left
// it: no userName hashes, no unames:ready, and a store that has not seen
// them.
func forgetUserNames(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	p := "scimd:{" + org + "}:"
	for _, k := range keys(t, s) {
		if strings.HasPrefix(k, p+"unames:") {
			if err := s.client.Del(ctx, k).Err(); err != nil {
				t.Fatalf("DEL %s: %v", k, err)
			}
		}
	}
	s.sparseDone.Delete(p + userNamesReady)
}

// wantClean fails when the check finds anything.
func wantClean(t *testing.T, s *Store, when string) {
	t.Helper()
	if got, _ := check(t, s); len(got) != 0 {
		t.Fatalf("Check %s found:\n%s", when, findingLines(got))
	}
}

// TestUserNameHashes: every user's folded userName maps to it in its
// userName hash, through creation, a change of userName and deletion;
// userName eq reads the hash (a user whose index entry is gone is still
// found), and the hash keeps userNames unique, a refused write writing
// nothing.
func TestUserNameHashes(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var users []resources.Resource
		for i := range 20 {
			users = append(users, mustCreateUser(t, s, user(fmt.Sprintf("User%02d@Example.com", i))))
		}
		for i, u := range users {
			uk := fmt.Sprintf("user%02d@example.com", i)
			if got := nameEntry(t, s, uk); got != u.ID {
				t.Fatalf("userName hash of %q = %q, want %s", uk, got, u.ID)
			}
			wantFound(t, s, strings.ToUpper(uk), u.ID)
		}
		if got := findUser(t, s, "nobody@example.com"); len(got) != 0 {
			t.Fatalf("userName eq of no user = %v", got)
		}
		wantClean(t, s, "after creating")

		before := dump(t, s)
		_, err := s.CreateUser(ctx, org, user("USER03@example.COM"), resources.UserWrite{})
		wantCode(t, "CreateUser of a taken userName", err, resources.Uniqueness)
		b := users[4]
		b.Attributes["userName"] = "user05@example.com"
		_, err = s.ReplaceUser(ctx, org, b, b.Version, resources.UserWrite{})
		wantCode(t, "ReplaceUser to a taken userName", err, resources.Uniqueness)
		if after := dump(t, s); !maps.Equal(before, after) {
			t.Fatalf("a refused write changed the store")
		}

		// A change of userName moves its entry.
		b.Attributes["userName"] = "Renamed@example.com"
		if _, err := s.ReplaceUser(ctx, org, b, b.Version, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser renaming: %v", err)
		}
		if got := nameEntry(t, s, "user04@example.com"); got != "" {
			t.Fatalf("the old userName's entry stayed: %q", got)
		}
		wantFound(t, s, "renamed@example.com", b.ID)
		if got := findUser(t, s, "user04@example.com"); len(got) != 0 {
			t.Fatalf("userName eq the old userName = %v", got)
		}
		mustCreateUser(t, s, user("user04@example.com")) // free again

		// Deletion removes it.
		if err := s.DeleteUser(ctx, org, users[7].ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if got := nameEntry(t, s, "user07@example.com"); got != "" {
			t.Fatalf("a deleted user's entry stayed: %q", got)
		}
		wantClean(t, s, "after changes")

		// Read from the hash: found without its index entry.
		p := "scimd:{" + org + "}:"
		if err := s.client.ZRem(ctx, p+"ix:user:userName", "user09@example.com\x00"+users[9].ID).Err(); err != nil {
			t.Fatalf("ZREM: %v", err)
		}
		wantFound(t, s, "user09@example.com", users[9].ID)
	})
}

// TestUpgradeUserNames: an organization an earlier version wrote (no
// userName hashes) answers userName eq from the index and keeps userNames
// unique while this version writes to it, checks clean, and after the
// upgrade has every user in its hash and reads it.
func TestUpgradeUserNames(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var users []resources.Resource
		for i := range 10 {
			users = append(users, mustCreateUser(t, s, user(fmt.Sprintf("old%d@example.com", i))))
		}
		forgetUserNames(t, s)
		wantClean(t, s, "before the upgrade")
		for i, u := range users {
			wantFound(t, s, fmt.Sprintf("OLD%d@example.com", i), u.ID)
		}
		_, err := s.CreateUser(ctx, org, user("Old3@example.com"), resources.UserWrite{})
		wantCode(t, "CreateUser of a taken userName before the upgrade", err, resources.Uniqueness)
		// Written meanwhile: a creation, a deletion, a change of userName.
		fresh := mustCreateUser(t, s, user("new@example.com"))
		if err := s.DeleteUser(ctx, org, users[1].ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		r := users[2]
		r.Attributes["userName"] = "moved@example.com"
		if _, err := s.ReplaceUser(ctx, org, r, r.Version, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		wantClean(t, s, "written meanwhile")
		if ready, err := s.userNamesReadyIn(ctx, "scimd:{"+org+"}:"); err != nil || ready {
			t.Fatalf("ready before the upgrade: %v %v", ready, err)
		}

		defer func(n int) { userNamesBatch = n }(userNamesBatch)
		userNamesBatch = 3 // several scripts
		if _, err := s.Upgrade(ctx, org); err != nil {
			t.Fatalf("Upgrade: %v", err)
		}
		if ready, err := s.userNamesReadyIn(ctx, "scimd:{"+org+"}:"); err != nil || !ready {
			t.Fatalf("not ready after the upgrade: %v %v", ready, err)
		}
		wantClean(t, s, "after the upgrade")
		want := map[string]string{"new@example.com": fresh.ID, "moved@example.com": r.ID}
		for i, u := range users {
			if i != 1 && i != 2 {
				want[fmt.Sprintf("old%d@example.com", i)] = u.ID
			}
		}
		for uk, id := range want {
			if got := nameEntry(t, s, uk); got != id {
				t.Errorf("after the upgrade, the userName hash of %q = %q, want %s", uk, got, id)
			}
			wantFound(t, s, uk, id)
		}
		for _, gone := range []string{"old1@example.com", "old2@example.com"} {
			if got := nameEntry(t, s, gone); got != "" {
				t.Errorf("after the upgrade, %q is in its hash: %q", gone, got)
			}
		}
		_, err = s.CreateUser(ctx, org, user("OLD5@example.com"), resources.UserWrite{})
		wantCode(t, "CreateUser of a taken userName after the upgrade", err, resources.Uniqueness)
	})
}

// TestCheckUserNames: the check finds a user missing from its userName
// hash, an entry of no user, one of another user's userName and one in the
// wrong bucket.
func TestCheckUserNames(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		a := mustCreateUser(t, s, user("a@example.com"))
		b := mustCreateUser(t, s, user("b@example.com"))
		c := mustCreateUser(t, s, user("c@example.com"))
		wantClean(t, s, "before")
		// a: its entry gone; b's entry names c; a stray entry; c's userName
		// also in a bucket not its own.
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.client.HDel(ctx, userNameKey(p, "a@example.com"), "a@example.com").Err())
		must(s.client.HSet(ctx, userNameKey(p, "b@example.com"), "b@example.com", c.ID).Err())
		must(s.client.HSet(ctx, userNameKey(p, "ghost@example.com"), "ghost@example.com", "no-such-user").Err())
		other := p + "unames:" + fmt.Sprint((userNameBucket("c@example.com")+1)%userNameBuckets)
		must(s.client.HSet(ctx, other, "c@example.com", c.ID).Err())
		got, _ := check(t, s)
		var codes []string
		for _, f := range got {
			codes = append(codes, f.ID+" "+f.Code)
		}
		slices.Sort(codes)
		want := []string{a.ID + " unique-missing", b.ID + " unique-missing", c.ID + " unique-misplaced", c.ID + " unique-stale", "no-such-user unique-stray"}
		slices.Sort(want)
		if !slices.Equal(codes, want) {
			t.Fatalf("findings = %v, want %v", codes, want)
		}
	})
}

// TestUserNameBucketInLua: the bucket Lua computes for a userName (of a
// deletion, a change of userName, a check) is the one Go computes (of a
// lookup, a write), on both stores, for any bytes.
func TestUserNameBucketInLua(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(7, 8))
		script := redis.NewScript(luaUserNames + "\nreturn userNameKey(ARGV[1], ARGV[2])")
		names := []string{"", "a", "w0123456@example.com", "ünïcødé@exämple.com", strings.Repeat("z", 300)}
		for range 300 {
			b := make([]byte, 1+r.IntN(80))
			for i := range b {
				b[i] = byte(1 + r.IntN(255))
			}
			names = append(names, string(b))
		}
		for _, n := range names {
			got, err := script.Run(ctx, s.client, nil, "p:", n).Text()
			if err != nil {
				t.Fatalf("script: %v", err)
			}
			if want := userNameKey("p:", n); got != want {
				t.Fatalf("Lua bucket of %q = %s, Go %s", n, got, want)
			}
		}
	})
}
