package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// checkFixture is what populate made, through the domain services, in
// organization org.
type checkFixture struct {
	alice, bob, carol, dave string // users: plain, invited, temporary password with a ticket, self-registered
	eng, sales              string // groups: eng has alice and bob, sales (renamed) bob and carol
	owner, collab           string // administrators: owner signed in (a session), collaborator invited (a link)
}

// populate makes users, groups, memberships, invitations, a ticket, a
// confirmation, administrators with a link and a session, and a token, as
// the services do, and deletes a user and a group that had memberships.
func populate(t *testing.T, s *Store) checkFixture {
	t.Helper()
	ctx := resources.WithActor(context.Background(), "cli")
	users := resources.NewUsers(s).WithOnboarding(resources.Onboarding{Store: s, Notifier: discardNotices{}})
	groups := resources.NewGroups(s)
	admins := resources.NewAdmins(resources.AdminsConfig{Store: s, Notifier: discardNotices{}})
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := s.CreateOrg(ctx, org)
	must("CreateOrg", err)
	user := func(name string, extra map[string]any) string {
		t.Helper()
		raw := map[string]any{"schemas": []any{schemas.UserURN}, "userName": name,
			"name": map[string]any{"givenName": "G" + name, "familyName": "F"}, "externalId": "ext-" + name,
			"emails": []any{map[string]any{"value": "other-" + name, "type": "work"}}}
		for k, v := range extra {
			raw[k] = v
		}
		r, err := users.Create(ctx, org, raw)
		must("Create user "+name, err)
		return r.ID
	}
	var f checkFixture
	f.alice = user("alice@example.com", map[string]any{"displayName": "Alice"})
	f.bob = user("bob@example.com", map[string]any{schemas.CustomerUserURN: map[string]any{"passwordSetup": "invite"}})
	f.carol = user("carol@example.com", map[string]any{"password": "temporary-pass-1",
		schemas.CustomerUserURN: map[string]any{"passwordSetup": "temporaryPassword"}})
	erin := user("erin@example.com", nil)
	carol, err := users.Authenticate(ctx, org, "carol@example.com", "temporary-pass-1")
	must("Authenticate carol", err)
	_, err = users.StartPasswordChange(ctx, org, carol)
	must("StartPasswordChange", err)
	_, err = s.SetSelfRegistration(ctx, org, true)
	must("SetSelfRegistration", err)
	must("Register", users.Register(ctx, org, resources.Registration{Email: "dave@example.com", GivenName: "Dave", FamilyName: "D", Password: "dave-pass-1234"}))
	if m := s.client.ZRangeByLex(ctx, "scimd:{"+org+"}:ix:user:userName", &redis.ZRangeBy{Min: "[dave@example.com\x00", Max: "(dave@example.com\x01"}).Val(); len(m) == 1 {
		f.dave = idOf(m[0])
	}
	if f.dave == "" {
		t.Fatalf("dave was not registered")
	}

	group := func(name string, members ...string) string {
		t.Helper()
		ms := []any{}
		for _, m := range members {
			ms = append(ms, map[string]any{"value": m})
		}
		r, err := groups.Create(ctx, org, map[string]any{"schemas": []any{schemas.GroupURN}, "displayName": name, "externalId": "x-" + name, "members": ms})
		must("Create group "+name, err)
		return r.ID
	}
	f.eng = group("Engineering", f.alice, f.bob, erin)
	f.sales = group("Sales", f.bob, f.carol)
	gone := group("Gone", f.alice)
	_, err = groups.Patch(ctx, org, f.sales, []resources.PatchOp{{Op: "replace", Path: "displayName", Value: "Sales EMEA", HasValue: true}}, 0)
	must("rename Sales", err)
	_, err = users.Patch(ctx, org, f.bob, []resources.PatchOp{{Op: "replace", Path: "displayName", Value: "Bobby", HasValue: true}}, 0)
	must("rename bob", err)
	must("Delete erin", users.Delete(ctx, org, erin, 0))
	must("Delete group Gone", groups.Delete(ctx, org, gone, 0))

	owner, _, err := admins.EnsureOwner(ctx, org, "owner@example.com")
	must("EnsureOwner", err)
	f.owner = owner.ID
	token, err := admins.SignInLink(ctx, org, owner.ID, time.Hour)
	must("SignInLink", err)
	_, _, _, err = admins.UseSignInLink(ctx, org, token)
	must("UseSignInLink", err)
	_, err = admins.SignInLink(ctx, org, owner.ID, time.Hour) // a second, unused
	must("SignInLink", err)
	collab, err := admins.Invite(ctx, org, owner, "collab@example.com", resources.RoleCollaborator)
	must("Invite", err)
	f.collab = collab.ID

	// "idp" is of the older format (the global hash), rotated to an
	// org-scoped secret while the old one still works; "scoped" is
	// org-scoped from the start.
	must("CreateToken", s.CreateToken(ctx, resources.Token{Org: org, Name: "idp", Role: resources.RoleCollaborator,
		Hash: resources.HashToken("an-older-token-0123456789"), Created: time.Now()}))
	must("TouchToken", s.TouchToken(ctx, org, "idp", resources.HashToken("an-older-token-0123456789")))
	_, err = s.RotateToken(ctx, org, "idp", resources.Rotation{Hash: resources.HashToken(resources.NewTokenSecret(org)),
		Created: time.Now(), PreviousExpires: time.Now().Add(time.Hour)})
	must("RotateToken", err)
	must("CreateToken", s.CreateToken(ctx, resources.NewToken(org, "scoped", resources.RoleReader, resources.NewTokenSecret(org), time.Now())))
	must("CreateToken", s.CreateToken(ctx, resources.Token{Org: org, Name: "gone", Role: resources.RoleReader,
		Hash: resources.HashToken(resources.NewTokenSecret(org)), Created: time.Now()}))
	must("RevokeToken", s.RevokeToken(ctx, org, "gone"))
	return f
}

// discardNotices is a resources.Notifier that sends nothing: populate needs
// the notices' tokens stored, not their mail.
type discardNotices struct{}

func (discardNotices) Notify(context.Context, resources.Notice) error { return nil }

// check runs Check on org and returns its findings.
func check(t *testing.T, s *Store) ([]Finding, CheckStats) {
	t.Helper()
	var got []Finding
	st, err := s.Check(context.Background(), org, func(f Finding) { got = append(got, f) })
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if st.Findings != len(got) {
		t.Errorf("Check counted %d findings, reported %d", st.Findings, len(got))
	}
	return got, st
}

// keyCopy is a key's value, as a test snapshot keeps it: populating through
// the services hashes passwords (argon2id, slow under -race), so the
// corruption cases each start from a copy of one populated store.
type keyCopy struct {
	typ    string
	str    string
	hash   map[string]string
	set    []string
	zset   []redis.Z
	expire time.Duration
}

// snapshot copies every string, hash, set and sorted-set key of the store
// (not the change log: Check does not read it).
func snapshot(t *testing.T, s *Store) map[string]keyCopy {
	t.Helper()
	ctx := context.Background()
	out := map[string]keyCopy{}
	var mu sync.Mutex // ForEachMaster runs on the masters at once
	read := func(ctx context.Context, node redis.Cmdable) error {
		keys, err := node.Keys(ctx, "*").Result()
		if err != nil {
			return err
		}
		for _, k := range keys {
			c := keyCopy{typ: s.client.Type(ctx, k).Val(), expire: s.client.PTTL(ctx, k).Val()}
			switch c.typ {
			case "string":
				c.str = s.client.Get(ctx, k).Val()
			case "hash":
				c.hash = s.client.HGetAll(ctx, k).Val()
			case "set":
				c.set = s.client.SMembers(ctx, k).Val()
			case "zset":
				c.zset = s.client.ZRangeWithScores(ctx, k, 0, -1).Val()
			default:
				continue
			}
			mu.Lock()
			out[k] = c
			mu.Unlock()
		}
		return nil
	}
	if err := eachNode(ctx, s, read); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return out
}

// restore empties the store and writes snap back.
func restore(t *testing.T, s *Store, snap map[string]keyCopy) {
	t.Helper()
	ctx := context.Background()
	if err := eachNode(ctx, s, func(ctx context.Context, node redis.Cmdable) error { return node.FlushAll(ctx).Err() }); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	for k, c := range snap {
		var err error
		switch c.typ {
		case "string":
			err = s.client.Set(ctx, k, c.str, 0).Err()
		case "hash":
			err = s.client.HSet(ctx, k, c.hash).Err()
		case "set":
			err = s.client.SAdd(ctx, k, anys(c.set)...).Err()
		case "zset":
			err = s.client.ZAdd(ctx, k, c.zset...).Err()
		}
		if err == nil && c.expire > 0 {
			err = s.client.PExpire(ctx, k, c.expire).Err()
		}
		if err != nil {
			t.Fatalf("restore %s: %v", k, err)
		}
	}
}

// eachNode runs f on the server, or on every master of a Cluster.
func eachNode(ctx context.Context, s *Store, f func(context.Context, redis.Cmdable) error) error {
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return f(ctx, c) })
	}
	return f(ctx, s.client)
}

func TestCheckCleanStore(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		populate(t, s)
		got, st := check(t, s)
		if len(got) != 0 {
			t.Errorf("Check of a store written only by the services found %d disagreements:\n%s", len(got), findingLines(got))
		}
		if st.Users != 4 || st.Groups != 2 || st.Memberships != 4 || st.Admins != 2 || st.Keys == 0 {
			t.Errorf("Check stats = %+v, want 4 users, 2 groups, 4 memberships, 2 administrators, some keys", st)
		}
		// An empty organization, and one that was never created, are clean.
		if got, _ := s.Check(context.Background(), "globex", func(f Finding) { t.Errorf("Check(globex) found %s", f) }); got.Keys != 0 {
			t.Errorf("Check(globex) read %d keys, want 0", got.Keys)
		}
	})
}

func findingLines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// TestCheckFindsCorruption breaks each invariant directly in Redis, as a
// bug or a lost write would, and expects Check to say which key and id
// disagree.
func TestCheckFindsCorruption(t *testing.T) {
	const p = "scimd:{" + org + "}:"
	ctx := context.Background()
	type want struct{ key, id, code string }
	cases := []struct {
		name    string
		corrupt func(t *testing.T, c redis.Cmdable, f checkFixture)
		want    func(f checkFixture) want
	}{
		{"index entry deleted", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZRem(ctx, p+"ix:user:name.givenName", "galice@example.com\x00"+f.alice)
		}, func(f checkFixture) want { return want{p + "ix:user:name.givenName", f.alice, "index-missing"} }},
		{"meta index entry deleted", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZRemRangeByLex(ctx, p+"ix:group:meta.lastModified", "-", "+")
		}, func(f checkFixture) want { return want{p + "ix:group:meta.lastModified", f.eng, "index-missing"} }},
		{"stray index entry of a missing user", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"ix:user:emails.value", redis.Z{Member: "x@example.com\x00no-such-user"})
		}, func(f checkFixture) want { return want{p + "ix:user:emails.value", "no-such-user", "index-stray"} }},
		{"stale index entry", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"ix:user:externalId", redis.Z{Member: "old-id\x00" + f.alice})
		}, func(f checkFixture) want { return want{p + "ix:user:externalId", f.alice, "index-stale"} }},
		{"inactive entry of a missing user", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"inactive:user", redis.Z{Score: 3, Member: "no-such-user"})
		}, func(f checkFixture) want { return want{p + "inactive:user", "no-such-user", "index-stray"} }},
		{"inactive entry of an active user", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"inactive:user", redis.Z{Score: 1, Member: f.alice})
		}, func(f checkFixture) want { return want{p + "inactive:user", f.alice, "inactive-stale"} }},
		{"stale meta index entry", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"ix:user:meta.created", redis.Z{Member: "2001-01-01T00:00:00.000000000Z\x00" + f.bob})
		}, func(f checkFixture) want { return want{p + "ix:user:meta.created", f.bob, "index-stale"} }},
		{"stored index entries disagree with the document", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			setStoredField(t, ctx, c, p+"user:"+f.carol, "ix", `["userName","carol@example.com"]`)
		}, func(f checkFixture) want { return want{p + "user:" + f.carol, f.carol, "ix-stale"} }},
		{"document no longer fits its unique key", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			doc := storedField(t, ctx, c, p+"group:"+f.eng, "doc")
			setStoredField(t, ctx, c, p+"group:"+f.eng, "doc", strings.Replace(doc, `"displayName":"Engineering"`, `"displayName":"Engineers"`, 1))
		}, func(f checkFixture) want { return want{p + "group:" + f.eng, f.eng, "unique-key-stale"} }},
		{"user document no longer fits its userName's entry", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			doc := storedField(t, ctx, c, p+"user:"+f.alice, "doc")
			setStoredField(t, ctx, c, p+"user:"+f.alice, "doc", strings.Replace(doc, `"userName":"alice@example.com"`, `"userName":"alicia@example.com"`, 1))
		}, func(f checkFixture) want { return want{p + "user:" + f.alice, f.alice, "ix-stale"} }},
		{"uniqueness entry deleted", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HDel(ctx, p+"unique:group:displayName", "engineering")
		}, func(f checkFixture) want { return want{p + "unique:group:displayName", f.eng, "unique-missing"} }},
		{"uniqueness entry of a missing group", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"unique:group:displayName", "ghost", "ghost-id")
		}, func(f checkFixture) want { return want{p + "unique:group:displayName", "ghost-id", "unique-stray"} }},
		{"uniqueness entry of another group", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"unique:group:displayName", "ghost", f.eng)
		}, func(f checkFixture) want { return want{p + "unique:group:displayName", f.eng, "unique-stale"} }},
		{"two users of one userName in its index", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			// As a lost write could leave it: bob's document and entries
			// say alice's userName, then bob's own entry is gone.
			key := p + "user:" + f.bob
			doc := storedField(t, ctx, c, key, "doc")
			setStoredField(t, ctx, c, key, "doc", strings.Replace(doc, `"userName":"bob@example.com"`, `"userName":"alice@example.com"`, 1))
			ix := storedField(t, ctx, c, key, "ix")
			setStoredField(t, ctx, c, key, "ix", strings.Replace(ix, `"userName","bob@example.com"`, `"userName","alice@example.com"`, 1))
			c.ZRem(ctx, p+"ix:user:userName", "bob@example.com\x00"+f.bob)
			c.ZAdd(ctx, p+"ix:user:userName", redis.Z{Member: "alice@example.com\x00" + f.bob})
		}, func(f checkFixture) want {
			first := f.alice // the entry before the other of the same value
			if f.bob < f.alice {
				first = f.bob
			}
			return want{p + "ix:user:userName", first, "unique-duplicate"}
		}},
		{"ordering entry without a document", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"all:user", redis.Z{Score: 1, Member: "phantom"})
		}, func(f checkFixture) want { return want{p + "all:user", "phantom", "ordered-missing"} }},
		{"document without an ordering entry", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZRem(ctx, p+"all:group", f.sales)
		}, func(f checkFixture) want { return want{p + "group:" + f.sales, f.sales, "unordered"} }},
		{"stray membership on the group's side", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"members:"+f.eng, f.carol, "carol@example.com")
		}, func(f checkFixture) want { return want{p + "members:" + f.eng, f.carol, "member-one-sided"} }},
		{"stray membership on the user's side", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"ugroups:"+f.dave, f.eng, "Engineering")
		}, func(f checkFixture) want { return want{p + "ugroups:" + f.dave, f.eng, "member-one-sided"} }},
		{"member that is not a user", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"members:"+f.eng, "ghost-id", "ghost")
		}, func(f checkFixture) want { return want{p + "members:" + f.eng, "ghost-id", "user-missing"} }},
		{"user in a group that does not exist", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"ugroups:"+f.alice, "ghost-group", "Ghost")
		}, func(f checkFixture) want { return want{p + "ugroups:" + f.alice, "ghost-group", "group-missing"} }},
		{"membership ahead of its group's renames", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"ugroups:"+f.carol, f.sales, "99")
		}, func(f checkFixture) want { return want{p + "ugroups:" + f.carol, f.sales, "membership-ahead"} }},
		{"half-done user rename", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"members:"+f.sales, f.bob, "bob@example.com")
		}, func(f checkFixture) want { return want{p + "members:" + f.sales, f.bob, "member-display-stale"} }},
		{"members' order entry deleted", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZRem(ctx, p+"morder:"+f.eng, "alice\x00"+f.alice)
		}, func(f checkFixture) want { return want{p + "morder:" + f.eng, f.alice, "order-missing"} }},
		{"members' order entry of a non-member", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"morder:"+f.eng, redis.Z{Member: "carol@example.com\x00" + f.carol})
		}, func(f checkFixture) want { return want{p + "morder:" + f.eng, f.carol, "order-stray"} }},
		{"members' order of a deleted group", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.ZAdd(ctx, p+"morder:deleted-group", redis.Z{Member: "alice\x00" + f.alice})
		}, func(f checkFixture) want { return want{p + "morder:deleted-group", "deleted-group", "group-missing"} }},
		{"members of a deleted group", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"members:deleted-group", f.alice, "Alice")
		}, func(f checkFixture) want { return want{p + "members:deleted-group", "deleted-group", "group-missing"} }},
		{"password of a deleted user", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.Set(ctx, p+"pw:deleted-user", "hash", 0)
		}, func(f checkFixture) want { return want{p + "pw:deleted-user", "deleted-user", "user-missing"} }},
		{"invitation whose current link is gone", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			h := c.Get(ctx, p+"uinvite:"+f.bob).Val()
			c.Del(ctx, p+"invite:"+h)
		}, func(f checkFixture) want { return want{p + "uinvite:" + f.bob, f.bob, "link-missing"} }},
		{"revoked invitation still there", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.Set(ctx, p+"invite:oldhash", f.bob, time.Hour)
		}, func(f checkFixture) want { return want{p + "invite:oldhash", f.bob, "link-not-current"} }},
		{"confirmation of a deleted user", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.Set(ctx, p+"confirm:somehash", "deleted-user", time.Hour)
		}, func(f checkFixture) want { return want{p + "confirm:somehash", "deleted-user", "user-missing"} }},
		{"malformed ticket", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.Set(ctx, p+"ticket:somehash", f.carol, time.Hour)
		}, func(f checkFixture) want { return want{p + "ticket:somehash", "", "ticket-malformed"} }},
		{"session not in its administrator's set", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.Del(ctx, p+"adminsessions:"+f.owner)
		}, func(f checkFixture) want {
			return want{"", f.owner, "link-unlisted"}
		}},
		{"link of a removed administrator", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"adminlink:somehash", "admin", "removed-admin", "kind", "signin")
		}, func(f checkFixture) want { return want{p + "adminlink:somehash", "removed-admin", "admin-missing"} }},
		{"owners set disagrees with a role", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.SAdd(ctx, p+"owners", f.collab)
		}, func(f checkFixture) want { return want{p + "owners", f.collab, "owners-stale"} }},
		{"owner who is not an administrator", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.SAdd(ctx, p+"owners", "removed-admin")
		}, func(f checkFixture) want { return want{p + "owners", "removed-admin", "admin-missing"} }},
		{"administrator's email not in the uniqueness hash", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HDel(ctx, p+"admins", "collab@example.com")
		}, func(f checkFixture) want { return want{p + "admins", f.collab, "unique-missing"} }},
		{"half-revoked token", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HDel(ctx, p+"tokenhash", c.HGet(ctx, p+"tokens", "scoped").Val())
		}, func(f checkFixture) want { return want{p + "tokens", "scoped", "token-missing"} }},
		{"org-scoped token no index names", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			b, _ := json.Marshal(resources.Token{Org: org, Name: "orphan", Role: resources.RoleOwner, Hash: "h"})
			c.HSet(ctx, p+"tokenhash", "h", b)
		}, func(f checkFixture) want { return want{p + "tokenhash", org + "/orphan", "token-unindexed"} }},
		{"token no index names", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			b, _ := json.Marshal(resources.Token{Org: org, Name: "orphan", Role: resources.RoleOwner, Hash: "h"})
			c.HSet(ctx, tokensKey, "h", b)
		}, func(f checkFixture) want { return want{tokensKey, org + "/orphan", "token-unindexed"} }},
		{"onboarding setting unknown", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"settings", "onboarding", "sometimes")
		}, func(f checkFixture) want { return want{p + "settings", "onboarding", "setting-invalid"} }},
		{"userNameFormat setting unknown", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.HSet(ctx, p+"settings", "userNameFormat", "phone")
		}, func(f checkFixture) want { return want{p + "settings", "userNameFormat", "setting-invalid"} }},
		{"sequence behind", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.Set(ctx, p+"seq", 1, 0)
		}, func(f checkFixture) want { return want{p + "seq", "", "sequence-behind"} }},
		{"key of no known kind", func(t *testing.T, c redis.Cmdable, f checkFixture) {
			c.Set(ctx, p+"usr:typo", "x", 0)
		}, func(f checkFixture) want { return want{p + "usr:typo", "", "key-unknown"} }},
	}
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		f := populate(t, s)
		snap := snapshot(t, s)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				restore(t, s, snap)
				c.corrupt(t, s.client, f)
				got, _ := check(t, s)
				w := c.want(f)
				t.Logf("findings:\n%s", findingLines(got))
				if !slices.ContainsFunc(got, func(g Finding) bool {
					return (w.key == "" || g.Key == w.key) && g.ID == w.id && g.Code == w.code
				}) {
					t.Errorf("Check found:\n%swant a finding %s %s %s", findingLines(got), w.key, w.id, w.code)
				}
				for _, g := range got {
					if FindingCodes[g.Code] == "" {
						t.Errorf("finding %v has a code with no description", g)
					}
					if strings.Contains(g.String(), "@example.com") {
						t.Errorf("finding %q shows personal data", g)
					}
				}
			})
		}
	})
}

// TestCheckLargeOrganization checks an organization larger than a batch, so
// that every scan takes several rounds, and finds one break among many. It
// runs on real Redis only: the embedded server expires keys by the wall
// clock, which costs it O(keys) per command, and its scans return everything
// in one round anyway.
func TestCheckLargeOrganization(t *testing.T) {
	for _, ts := range testStores(t, true) {
		if ts.name == "embedded" {
			continue
		}
		t.Run(ts.name, func(t *testing.T) { checkLargeOrganization(t, ts.s) })
	}
}

func checkLargeOrganization(t *testing.T, s *Store) {
	{
		ctx := context.Background()
		const n = 3*checkBatch + 7
		members := make([]resources.Ref, n)
		for i := range n {
			u, err := s.CreateUser(ctx, org, resources.Resource{Attributes: map[string]any{
				"userName": fmt.Sprintf("u%d@example.com", i), "name": map[string]any{"givenName": "G"}, "active": true}}, resources.UserWrite{})
			if err != nil {
				t.Fatalf("CreateUser %d: %v", i, err)
			}
			members[i] = resources.Ref{ID: u.ID}
		}
		g, err := s.CreateGroup(ctx, org, resources.Resource{Attributes: map[string]any{"displayName": "Everyone"}, Members: members})
		if err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		got, st := check(t, s)
		if len(got) != 0 || st.Users != n || st.Groups != 1 || st.Memberships != n {
			t.Fatalf("Check = %+v, findings:\n%swant %d users, 1 group, %d memberships, no findings", st, findingLines(got), n, n)
		}
		victim := members[n/2].ID
		s.client.HDel(ctx, "scimd:{"+org+"}:ugroups:"+victim, g.ID)
		s.client.ZAdd(ctx, "scimd:{"+org+"}:inactive:user", redis.Z{Score: 1, Member: members[n-1].ID})
		got, _ = check(t, s)
		want := []Finding{
			{Key: "scimd:{" + org + "}:inactive:user", ID: members[n-1].ID, Code: "inactive-stale"},
			{Key: "scimd:{" + org + "}:members:" + g.ID, ID: victim, Code: "member-one-sided"},
		}
		slices.SortFunc(got, func(a, b Finding) int { return strings.Compare(a.Key, b.Key) })
		if !slices.Equal(got, want) {
			t.Errorf("Check found:\n%swant:\n%s", findingLines(got), findingLines(want))
		}
	}
}
