package backend

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

func refIDs(rs []resources.Ref) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID + "=" + r.Display
	}
	return out
}

func wantRefs(t *testing.T, call string, got []resources.Ref, want ...string) {
	t.Helper()
	g := strings.Join(refIDs(got), ",")
	if w := strings.Join(want, ","); g != w {
		t.Fatalf("%s = %s, want %s", call, g, w)
	}
}

func TestMembership(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u1 := mustCreateUser(t, s, user("one@example.com", "displayName", "One"))
		u2 := mustCreateUser(t, s, user("two@example.com"))
		g := mustCreateGroup(t, s, group("Admins", u1.ID, u1.ID))
		wantRefs(t, "CreateGroup members", g.Members, u1.ID+"=One")
		got, _ := s.GetUser(ctx, org, u1.ID)
		wantRefs(t, "user one's groups", got.Groups, g.ID+"=Admins")
		if got.Version != 2 {
			t.Fatalf("user version after joining a group = %d, want 2 (its groups changed, so its ETag must)", got.Version)
		}

		g, err := s.UpdateGroup(ctx, org, g, 1, resources.MemberDelta{Add: []string{u2.ID}})
		if err != nil {
			t.Fatalf("UpdateGroup add: %v", err)
		}
		if g.Version != 2 {
			t.Fatalf("group version after add = %d, want 2", g.Version)
		}
		gg, _ := s.GetGroup(ctx, org, g.ID, true)
		wantRefs(t, "members", gg.Members, u1.ID+"=One", u2.ID+"=two@example.com")
		if gg, _ := s.GetGroup(ctx, org, g.ID, false); gg.Members != nil {
			t.Fatalf("GetGroup without members returned members %v", gg.Members)
		}

		// Rename the group: its members' groups follow.
		g.Attributes["displayName"] = "Owners"
		if g, err = s.UpdateGroup(ctx, org, g, 2, resources.MemberDelta{}); err != nil {
			t.Fatalf("UpdateGroup rename: %v", err)
		}
		got, _ = s.GetUser(ctx, org, u2.ID)
		wantRefs(t, "user two's groups after rename", got.Groups, g.ID+"=Owners")
		if got.Version != 3 {
			t.Fatalf("user two's version after joining and a rename of its group = %d, want 3", got.Version)
		}
		// The old name is free, the new one taken.
		mustCreateGroup(t, s, group("admins"))
		_, err = s.CreateGroup(ctx, org, group("OWNERS"))
		wantCode(t, "CreateGroup with a taken displayName", err, resources.Uniqueness)
		if e := (resources.Error{}); !errors.As(err, &e) || e.Detail != `displayName "OWNERS" is already taken by another group` {
			t.Fatalf("CreateGroup duplicate detail = %q", e.Detail)
		}

		// Rename a user: its display in the group follows.
		u2.Attributes["displayName"] = "Two"
		if _, err := s.ReplaceUser(ctx, org, u2, got.Version, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		gg, _ = s.GetGroup(ctx, org, g.ID, true)
		wantRefs(t, "members after user rename", gg.Members, u1.ID+"=One", u2.ID+"=Two")
		if gg.Version != g.Version+1 {
			t.Fatalf("group version after a member's rename = %d, want %d (its members' display changed)", gg.Version, g.Version+1)
		}
		g = gg

		// Remove one member.
		if g, err = s.UpdateGroup(ctx, org, g, g.Version, resources.MemberDelta{Remove: []string{u1.ID}}); err != nil {
			t.Fatalf("UpdateGroup remove: %v", err)
		}
		got, _ = s.GetUser(ctx, org, u1.ID)
		wantRefs(t, "user one's groups after removal", got.Groups)
		if got.Version != 4 { // created, joined, group renamed, left
			t.Fatalf("user one's version after leaving = %d, want 4", got.Version)
		}

		// Deleting a user removes it from its groups and bumps their version.
		before := g.Version
		if err := s.DeleteUser(ctx, org, u2.ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		gg, _ = s.GetGroup(ctx, org, g.ID, true)
		wantRefs(t, "members after deleting user two", gg.Members)
		if gg.Version != before+1 || !gg.Modified.After(g.Modified) {
			t.Fatalf("group after member deletion: version %d modified %v, want %d and later than %v", gg.Version, gg.Modified, before+1, g.Modified)
		}
		if n := s.client.Exists(ctx, "scimd:{acme}:ugroups:"+u2.ID).Val(); n != 0 {
			t.Fatalf("ugroups of deleted user still exists")
		}

		// RemoveAll then Add, and deleting a group clears its members' groups.
		g2 := mustCreateGroup(t, s, group("Staff", u1.ID))
		g2, err = s.UpdateGroup(ctx, org, g2, 1, resources.MemberDelta{RemoveAll: true, Add: []string{u1.ID}})
		if err != nil {
			t.Fatalf("UpdateGroup replace members: %v", err)
		}
		got, _ = s.GetUser(ctx, org, u1.ID)
		wantRefs(t, "user one's groups", got.Groups, g2.ID+"=Staff")
		if err := s.DeleteGroup(ctx, org, g2.ID, 0); err != nil {
			t.Fatalf("DeleteGroup: %v", err)
		}
		got, _ = s.GetUser(ctx, org, u1.ID)
		wantRefs(t, "user one's groups after group deletion", got.Groups)
		_, err = s.GetGroup(ctx, org, g2.ID, true)
		wantCode(t, "GetGroup deleted", err, resources.NotFound)
		mustCreateGroup(t, s, group("staff"))
	})
}

func TestMemberNotFound(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("one@example.com"))
		before := dump(t, s)
		_, err := s.CreateGroup(ctx, org, group("G", u.ID, "nobody"))
		wantCode(t, "CreateGroup with a missing member", err, resources.InvalidValue)
		if e := (resources.Error{}); !errors.As(err, &e) || e.Detail != `members: no user with id "nobody"` {
			t.Fatalf("detail = %q", e.Detail)
		}
		if after := dump(t, s); !maps.Equal(before, after) {
			t.Fatalf("failed CreateGroup changed the data:\nbefore %v\nafter  %v", before, after)
		}
		g := mustCreateGroup(t, s, group("G"))
		before = dump(t, s)
		g.Attributes["displayName"] = "H"
		_, err = s.UpdateGroup(ctx, org, g, 1, resources.MemberDelta{RemoveAll: true, Add: []string{u.ID, "nobody"}})
		wantCode(t, "UpdateGroup with a missing member", err, resources.InvalidValue)
		if after := dump(t, s); !maps.Equal(before, after) {
			t.Fatalf("failed UpdateGroup changed the data:\nbefore %v\nafter  %v", before, after)
		}
	})
}

// TestInjectedFailure makes every write script fail right after its checks,
// where a Redis error (or a bug) would strike first, and shows that nothing
// was written: all checks precede all writes.
func TestInjectedFailure(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("one@example.com"))
		g := mustCreateGroup(t, s, group("G", u.ID))
		u, _ = s.GetUser(ctx, org, u.ID) // joining G gave it a new version
		inject := func(src string) *script {
			if !strings.Contains(src, "--@checked") {
				t.Fatalf("script has no --@checked marker")
			}
			return newScript(strings.Replace(src, "--@checked", "error('injected failure')", 1))
		}
		s.writeUser, s.deleteUser = inject(writeUserSrc), inject(deleteUserSrc)
		s.writeGroup, s.deleteGroup = inject(writeGroupSrc), inject(deleteGroupSrc)
		before := dump(t, s)
		u.Attributes["displayName"] = "X"
		calls := map[string]error{}
		_, calls["CreateUser"] = s.CreateUser(ctx, org, user("two@example.com"), resources.UserWrite{PasswordHash: "h"})
		_, calls["ReplaceUser"] = s.ReplaceUser(ctx, org, u, u.Version, resources.UserWrite{PasswordHash: "h"})
		calls["DeleteUser"] = s.DeleteUser(ctx, org, u.ID, 0)
		_, calls["CreateGroup"] = s.CreateGroup(ctx, org, group("H", u.ID))
		_, calls["UpdateGroup"] = s.UpdateGroup(ctx, org, g, 1, resources.MemberDelta{RemoveAll: true})
		calls["DeleteGroup"] = s.DeleteGroup(ctx, org, g.ID, 0)
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

// TestMembersOnlyUpdateKeepsCreation: a members-only change is a change of the
// group, not a new group: its creation time, its place in the ordering set and
// its meta.created index entry stay as they were.
func TestMembersOnlyUpdateKeepsCreation(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("m@example.com"))
		g1 := mustCreateGroup(t, s, group("First"))
		mustCreateGroup(t, s, group("Second"))
		out, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g1.ID}, 0, resources.MemberDelta{Add: []string{u.ID}})
		if err != nil {
			t.Fatalf("UpdateGroup members only: %v", err)
		}
		if out.Version != 2 {
			t.Errorf("version after a member add = %d, want 2", out.Version)
		}
		got, err := s.GetGroup(ctx, org, g1.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Created.Equal(g1.Created) {
			t.Errorf("created = %v after a member add, want %v", got.Created, g1.Created)
		}
		if got.Attributes["displayName"] != "First" {
			t.Errorf("attributes after a members-only update = %v", got.Attributes)
		}
		page, err := s.ListGroups(ctx, org, resources.Query{StartIndex: 1, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Resources) != 2 || page.Resources[0].ID != g1.ID {
			t.Errorf("list order after a member add: first is %v, want the first group created", page.Resources[0].ID)
		}
		p, _ := prefix(org)
		if n, _ := s.client.ZCard(ctx, p+"ix:group:meta.created").Result(); n != 2 {
			t.Errorf("meta.created index has %d entries for 2 groups", n)
		}
	})
}

// TestReplaceMembers: replacing a group's members (RemoveAll, then Add)
// removes exactly those left out, and a replacement by the same members
// changes nothing, version included.
func TestReplaceMembers(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u1 := mustCreateUser(t, s, user("r1@example.com"))
		u2 := mustCreateUser(t, s, user("r2@example.com"))
		u3 := mustCreateUser(t, s, user("r3@example.com"))
		g := mustCreateGroup(t, s, group("Team", u1.ID, u2.ID))
		g, err := s.UpdateGroup(ctx, org, g, 1, resources.MemberDelta{RemoveAll: true, Add: []string{u2.ID, u3.ID}})
		if err != nil || g.Version != 2 {
			t.Fatalf("UpdateGroup replace members = version %d, %v; want 2, nil", g.Version, err)
		}
		gg, _ := s.GetGroup(ctx, org, g.ID, true)
		wantRefs(t, "members", gg.Members, u2.ID+"=r2@example.com", u3.ID+"=r3@example.com")
		for _, c := range []struct {
			id   string
			want []string
		}{{u1.ID, nil}, {u2.ID, []string{g.ID + "=Team"}}, {u3.ID, []string{g.ID + "=Team"}}} {
			got, _ := s.GetUser(ctx, org, c.id)
			wantRefs(t, "groups of "+c.id, got.Groups, c.want...)
		}
		same, err := s.UpdateGroup(ctx, org, g, 2, resources.MemberDelta{RemoveAll: true, Add: []string{u3.ID, u2.ID}})
		if err != nil || same.Version != 2 || !same.Modified.Equal(gg.Modified) {
			t.Fatalf("replacing by the same members = version %d modified %v, %v; want 2, %v, nil", same.Version, same.Modified, err, gg.Modified)
		}
	})
}

// TestUpdateGroupIfDocument: a write conditioned on the document goes
// through after member changes (new versions, same document) and loses to
// another document write.
func TestUpdateGroupIfDocument(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := mustCreateUser(t, s, user("member@example.com"))
		g := mustCreateGroup(t, s, group("Before"))
		read, err := s.GetGroup(ctx, org, g.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: []string{u.ID}}); err != nil {
			t.Fatalf("member add: %v", err)
		}
		renamed := maps.Clone(read.Attributes)
		renamed["displayName"] = "After"
		out, err := s.UpdateGroupIfDocument(ctx, org, resources.Resource{ID: g.ID, Attributes: renamed}, read.Version, read.Raw, resources.MemberDelta{})
		if err != nil {
			t.Fatalf("UpdateGroupIfDocument after a member change: %v", err)
		}
		if out.Version != read.Version+2 {
			t.Errorf("version = %d, want %d (the member add, then the rename)", out.Version, read.Version+2)
		}
		got, _ := s.GetGroup(ctx, org, g.ID, true)
		if got.Attributes["displayName"] != "After" || len(got.Members) != 1 {
			t.Errorf("group = %v with members %v, want After with its member", got.Attributes, got.Members)
		}
		// The document read before is no longer the stored one.
		again := maps.Clone(read.Attributes)
		again["displayName"] = "Again"
		if _, err := s.UpdateGroupIfDocument(ctx, org, resources.Resource{ID: g.ID, Attributes: again}, read.Version, read.Raw, resources.MemberDelta{}); !errors.Is(err, resources.ErrVersionConflict) {
			t.Errorf("UpdateGroupIfDocument over a changed document = %v, want ErrVersionConflict", err)
		}
		if _, err := s.UpdateGroupIfDocument(ctx, org, resources.Resource{ID: "no-such-group", Attributes: again}, 1, read.Raw, resources.MemberDelta{}); resources.ErrorCode(err) != resources.NotFound {
			t.Errorf("UpdateGroupIfDocument of no group = %v, want NotFound", err)
		}
	})
}

// TestMemberCount: MemberCount is the number of members ScanMembers returns,
// read without them; a missing group has none.
func TestMemberCount(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []string
		for i := range 3 {
			ids = append(ids, mustCreateUser(t, s, user(fmt.Sprintf("count%d@example.com", i))).ID)
		}
		g := mustCreateGroup(t, s, group("Counted", ids...))
		if n, err := s.MemberCount(ctx, org, g.ID); err != nil || n != 3 {
			t.Errorf("MemberCount = %d, %v; want 3", n, err)
		}
		if n, err := s.MemberCount(ctx, org, "nobody"); err != nil || n != 0 {
			t.Errorf("MemberCount(missing group) = %d, %v; want 0", n, err)
		}
	})
}
