package backend

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestUserNameEqReadsAsGet checks that "userName eq" answers each user as a
// read by id does (document, times, version and groups), decoded or not:
// a user in no group, in groups, in a renamed group, in a deleted group
// whose sweep is pending, and in the layout before chunks.
func TestUserNameEqReadsAsGet(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alone := mustCreateUser(t, s, user("alone@example.com", "name", map[string]any{"givenName": "Al"}))
		member := mustCreateUser(t, s, user("Member@Example.com"))
		renamed := mustCreateUser(t, s, user("renamed@example.com"))
		left := mustCreateUser(t, s, user("left@example.com"))
		old := mustCreateUser(t, s, user("old@example.com"))
		mustCreateGroup(t, s, group("Stays", member.ID, renamed.ID, old.ID))
		g := mustCreateGroup(t, s, group("Renamed", renamed.ID))
		g.Attributes["displayName"] = "Renamed again"
		if _, err := s.UpdateGroup(ctx, org, g, g.Version, resources.MemberDelta{}); err != nil {
			t.Fatalf("UpdateGroup rename: %v", err)
		}
		gone := mustCreateGroup(t, s, group("Gone", left.ID))
		if err := s.DeleteGroup(ctx, org, gone.ID, 0); err != nil { // its sweep not yet run
			t.Fatalf("DeleteGroup: %v", err)
		}
		toLayout(t, ctx, s.client, "scimd:{"+org+"}:user:"+old.ID, "whole")
		for _, u := range []resources.Resource{alone, member, renamed, left, old} {
			for _, rawOnly := range []bool{true, false} {
				read := s.ReadUser
				if !rawOnly {
					read = s.GetUser
				}
				want, err := read(ctx, org, u.ID)
				if err != nil {
					t.Fatalf("read %s: %v", u.ID, err)
				}
				name := strings.ToUpper(u.Attributes["userName"].(string))
				page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, `userName eq "`+name+`"`), StartIndex: 1, Count: 10, RawOnly: rawOnly})
				if err != nil || page.Total != 1 || len(page.Resources) != 1 || !reflect.DeepEqual(page.Resources[0], want) {
					t.Errorf("userName eq %q (RawOnly %v) = %+v, %v; want %+v", name, rawOnly, page, err, want)
				}
			}
		}
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, `userName eq "nobody@example.com"`), StartIndex: 1, Count: 10})
		if err != nil || page.Total != 0 || len(page.Resources) != 0 {
			t.Errorf("userName eq an unknown name = %+v, %v; want no user", page, err)
		}
	})
}

// TestParseTimeAsTimeParse checks that parseTime's direct reading of
// tsFormat answers as time.Parse does, for stored times and for text that
// is not one.
