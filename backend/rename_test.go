package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestGroupRenameWritesNoMember: renaming a group writes the group, its
// name's indexes and the change log, and no member: its cost does not grow
// with the group's size. Members still show the new name, and their
// versions (ETags) still change with it, before and after they leave.
func TestGroupRenameWritesNoMember(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 40
		var ids []string
		for i := range n {
			ids = append(ids, mustCreateUser(t, s, user(fmt.Sprintf("m%d@example.com", i))).ID)
		}
		g := mustCreateGroup(t, s, group("Before", ids...))
		before, _ := s.GetUser(ctx, org, ids[0])

		state := dump(t, s)
		g.Attributes["displayName"] = "After"
		g, err := s.UpdateGroup(ctx, org, g, g.Version, resources.MemberDelta{})
		if err != nil {
			t.Fatalf("UpdateGroup rename: %v", err)
		}
		var written []string
		for k, v := range dump(t, s) {
			if state[k] != v {
				written = append(written, k[len("scimd:{"+org+"}:"):])
			}
		}
		slices.Sort(written)
		want := []string{"changes", "group:" + g.ID, "ix:group:displayName", "ix:group:meta.lastModified", "unique:group:displayName"}
		if !slices.Equal(written, want) {
			t.Errorf("renaming a group of %d members wrote %d keys %v, want %v", n, len(written), written, want)
		}

		u, _ := s.GetUser(ctx, org, ids[0])
		wantRefs(t, "a member's groups after the rename", u.Groups, g.ID+"=After")
		if u.Version != before.Version+1 {
			t.Errorf("a member's version after its group's rename = %d, want %d", u.Version, before.Version+1)
		}
		page, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: 1})
		if err != nil || len(page.Resources) != 1 || page.Resources[0].Version != u.Version {
			t.Errorf("ListUsers: %v, %v; want the member at version %d", page.Resources, err, u.Version)
		}
		if found, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, `userName eq "m0@example.com"`), Count: 1}); err != nil ||
			len(found.Resources) != 1 || found.Resources[0].Version != u.Version || !slices.Equal(found.Resources[0].Groups, u.Groups) {
			t.Errorf("ListUsers(userName eq) = %v, %v; want version %d, groups %v", found.Resources, err, u.Version, u.Groups)
		}
		// Writes check the version clients see.
		if _, err := s.ReplaceUser(ctx, org, u, before.Version, resources.UserWrite{}); !errors.Is(err, resources.ErrVersionConflict) {
			t.Errorf("ReplaceUser at the version before the rename = %v, want a conflict", err)
		}
		u.Attributes["nickName"] = "N"
		if u, err = s.ReplaceUser(ctx, org, u, u.Version, resources.UserWrite{}); err != nil || u.Version != before.Version+2 {
			t.Errorf("ReplaceUser at the current version = version %d, %v; want %d", u.Version, err, before.Version+2)
		}
		wantRefs(t, "ReplaceUser's groups", u.Groups, g.ID+"=After")

		// Renamed again, then left: the version never goes back.
		g.Attributes["displayName"] = "Again"
		if g, err = s.UpdateGroup(ctx, org, g, g.Version, resources.MemberDelta{}); err != nil {
			t.Fatalf("UpdateGroup second rename: %v", err)
		}
		renamed, _ := s.GetUser(ctx, org, ids[0])
		if renamed.Version != u.Version+1 {
			t.Errorf("version after a second rename = %d, want %d", renamed.Version, u.Version+1)
		}
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Remove: []string{ids[0]}}); err != nil {
			t.Fatalf("UpdateGroup remove: %v", err)
		}
		left, _ := s.GetUser(ctx, org, ids[0])
		wantRefs(t, "groups after leaving", left.Groups)
		if left.Version != renamed.Version+1 {
			t.Errorf("version after leaving a renamed group = %d, want %d", left.Version, renamed.Version+1)
		}
		other, _ := s.GetUser(ctx, org, ids[1])
		if err := s.DeleteGroup(ctx, org, g.ID, 0); err != nil {
			t.Fatalf("DeleteGroup: %v", err)
		}
		if got, _ := s.GetUser(ctx, org, ids[1]); got.Version != other.Version+1 || got.Groups != nil {
			t.Errorf("after its renamed group was deleted, a member has version %d and groups %v; want %d and none", got.Version, got.Groups, other.Version+1)
		}
	})
}

func mustFilter(t *testing.T, f string) resources.Filter {
	t.Helper()
	e, err := resources.ParseFilter(schemas.Users(), f, "")
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", f, err)
	}
	return e
}
