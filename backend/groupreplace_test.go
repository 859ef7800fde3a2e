package backend

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestGroupReplaceInSteps checks a replacement of a group's members (PUT,
// PATCH replace or remove of all members) in its steps: the first script
// makes the new members the group's for every reader and writer without
// reading the old ones, a sweep then ends the memberships of the old members
// not added again. Stopped between the steps (a server that stopped), the
// store is consistent (Check finds nothing, one replacement pending), both
// read paths (Go's fetch and the scripts' userGroups) agree with the
// group's members, versions change at the replacement and never go back,
// a member in both lists keeps its membership and rename count, and the
// sweep is finished by a server's start, by the group's next write or
// before its deletion.
func TestGroupReplaceInSteps(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p, _ := prefix(org)
		var users []resources.Resource
		for i := range 5 {
			users = append(users, mustCreateUser(t, s, user(fmt.Sprintf("r%d@example.com", i))))
		}
		id := func(i int) string { return users[i].ID }
		userVersion := func(uid string) int64 {
			t.Helper()
			u, err := s.GetUser(ctx, org, uid)
			if err != nil {
				t.Fatalf("GetUser %s: %v", uid, err)
			}
			// The scripts' read (userName eq) sees what Go's read does.
			e, _ := resources.ParseFilter(schemas.Users(), fmt.Sprintf("userName eq %q", u.Attributes["userName"]), "")
			page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 1})
			if err != nil || len(page.Resources) != 1 {
				t.Fatalf("ListUsers userName eq: %v, %d results", err, len(page.Resources))
			}
			if f := page.Resources[0]; f.Version != u.Version || !slices.Equal(refIDs(f.Groups), refIDs(u.Groups)) {
				t.Fatalf("user %s read by userName: version %d groups %v; by id: version %d groups %v", uid, f.Version, refIDs(f.Groups), u.Version, refIDs(u.Groups))
			}
			return u.Version
		}
		inGroup := func(uid, gid string) bool {
			t.Helper()
			u, err := s.GetUser(ctx, org, uid)
			if err != nil {
				t.Fatalf("GetUser %s: %v", uid, err)
			}
			return slices.ContainsFunc(u.Groups, func(r resources.Ref) bool { return r.ID == gid })
		}
		wantMembers := func(gid string, want ...string) {
			t.Helper()
			g, err := s.GetGroup(ctx, org, gid, true)
			if err != nil {
				t.Fatalf("GetGroup: %v", err)
			}
			var got []string
			for _, m := range g.Members {
				got = append(got, m.ID)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("members = %v, want %v", got, want)
			}
			for _, u := range users {
				if in := inGroup(u.ID, gid); in != slices.Contains(want, u.ID) {
					t.Fatalf("user %s's groups hold the group: %v, but it is a member: %v", u.ID, in, !in)
				}
			}
		}
		wantPending := func(call string, n int) {
			t.Helper()
			got, st := check(t, s)
			if len(got) != 0 {
				t.Fatalf("Check %s found:\n%s", call, findingLines(got))
			}
			if st.PendingGroupReplacements != n {
				t.Fatalf("Check %s: PendingGroupReplacements = %d, want %d", call, st.PendingGroupReplacements, n)
			}
		}
		// replaceStep runs a replacement's first step only, renaming the
		// group too when name is set.
		replaceStep := func(gid, name string, add ...string) resources.Resource {
			t.Helper()
			cur, err := s.GetGroup(ctx, org, gid, false)
			if err != nil {
				t.Fatalf("GetGroup: %v", err)
			}
			if name != "" {
				cur.Attributes["displayName"] = name
			}
			out, sweep, err := s.writeGroupStep(ctx, p, cur, cur.Version, nil, resources.MemberDelta{RemoveAll: true, Add: add})
			if err != nil || !sweep {
				t.Fatalf("writeGroupStep = %v, sweep %v; want old members left to sweep", err, sweep)
			}
			return out
		}

		// Members 0, 1, 2; the group is renamed after 0 joined and before 1
		// and 2 did, so their memberships began at different counts.
		g := mustCreateGroup(t, s, group("Team", id(0)))
		cur, _ := s.GetGroup(ctx, org, g.ID, false)
		cur.Attributes["displayName"] = "Team 2"
		if _, err := s.UpdateGroup(ctx, org, cur, cur.Version, resources.MemberDelta{Add: []string{id(1), id(2)}}); err != nil {
			t.Fatalf("rename and add: %v", err)
		}
		before := map[string]int64{}
		for _, u := range users {
			before[u.ID] = userVersion(u.ID)
		}
		base0, _ := s.client.HGet(ctx, p+"ugroups:"+id(0), g.ID).Result()

		// PUT: members 0 and 3, and a rename. 1 and 2 leave, in the sweep.
		replaceStep(g.ID, "Team 3", id(0), id(3))
		wantMembers(g.ID, id(0), id(3))
		mid := map[string]int64{}
		for _, u := range users {
			mid[u.ID] = userVersion(u.ID)
		}
		for _, i := range []int{0, 1, 2, 3} { // 0 renamed, 1 and 2 left, 3 joined
			if mid[id(i)] <= before[id(i)] {
				t.Fatalf("version of user %d after the replacement = %d, was %d: its groups changed", i, mid[id(i)], before[id(i)])
			}
		}
		if mid[id(4)] != before[id(4)] {
			t.Fatalf("version of user 4, in no group, changed: %d, was %d", mid[id(4)], before[id(4)])
		}
		if b, _ := s.client.HGet(ctx, p+"ugroups:"+id(0), g.ID).Result(); b != base0 {
			t.Fatalf("user 0, in both lists, has membership count %q, was %q: it must keep it", b, base0)
		}
		wantPending("with the sweep pending", 1)

		// Reads and writes of users the sweep has not reached: user 1's
		// rename must not put it back among the members, user 2's deletion
		// must not change the group.
		u1, _ := s.GetUser(ctx, org, id(1))
		u1.Attributes["displayName"] = "One"
		if _, err := s.ReplaceUser(ctx, org, u1, mid[id(1)], resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser with the version read while the sweep is pending: %v", err)
		}
		mid[id(1)]++
		gv, _ := s.GetGroup(ctx, org, g.ID, false)
		if err := s.DeleteUser(ctx, org, id(2), 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if after, _ := s.GetGroup(ctx, org, g.ID, false); after.Version != gv.Version {
			t.Fatalf("group version after deleting a user the replacement removed = %d, was %d", after.Version, gv.Version)
		}
		users = slices.Delete(users, 2, 3) // ids: 0, 1, 3, 4 now at 0, 1, 2, 3
		wantMembers(g.ID, id(0), id(2))
		wantPending("after writes of users left to sweep", 1)

		// Half a sweep, then the rest as a starting server does.
		if _, err := s.sweepReplaced.Run(ctx, s,
			[]string{p + "group:" + g.ID, p + "replacing:" + g.ID, p + "replacing", p + "members:" + g.ID},
			p, g.ID, "2026-12-06T00:00:00.000000000Z", id(1)).Slice(); err != nil {
			t.Fatalf("one sweep batch: %v", err)
		}
		if v := userVersion(id(1)); v != mid[id(1)] {
			t.Fatalf("version of user 1 after its sweep = %d, want %d (what it showed since the replacement)", v, mid[id(1)])
		}
		wantPending("with half a sweep", 1)
		if n, err := s.FinishGroupDeletes(ctx, org); err != nil || n != 1 {
			t.Fatalf("FinishGroupDeletes = %d, %v, want 1, nil", n, err)
		}
		for _, u := range users {
			if v := userVersion(u.ID); v != mid[u.ID] {
				t.Fatalf("version of %s after the sweep = %d, want %d", u.ID, v, mid[u.ID])
			}
		}
		for _, k := range []string{p + "replacing", p + "replacing:" + g.ID} {
			if n, _ := s.client.Exists(ctx, k).Result(); n != 0 {
				t.Fatalf("key %s left after the sweep", k)
			}
		}
		wantPending("after the sweep", 0)

		// The next write of the group finishes a pending sweep first: user
		// 1, left to sweep, is added back as a new member.
		replaceStep(g.ID, "", id(3))
		wantMembers(g.ID, id(3))
		v1 := userVersion(id(1))
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: []string{id(1)}}); err != nil {
			t.Fatalf("add a member while a sweep is pending: %v", err)
		}
		wantMembers(g.ID, id(1), id(3))
		if v := userVersion(id(1)); v <= v1 {
			t.Fatalf("version of user 1 after joining again = %d, was %d", v, v1)
		}
		wantPending("after a write that finished the sweep", 0)

		// A deletion too.
		replaceStep(g.ID, "", id(0))
		wantPending("with another sweep pending", 1)
		if err := s.DeleteGroup(ctx, org, g.ID, 0); err != nil {
			t.Fatalf("DeleteGroup while a sweep is pending: %v", err)
		}
		for _, u := range users {
			if inGroup(u.ID, g.ID) {
				t.Fatalf("user %s's groups hold the deleted group", u.ID)
			}
		}
		got, st := check(t, s)
		if len(got) != 0 || st.PendingGroupReplacements != 0 || st.PendingGroupDeletes != 0 {
			t.Fatalf("Check after DeleteGroup: %d replacements, %d deletions pending, findings:\n%s",
				st.PendingGroupReplacements, st.PendingGroupDeletes, findingLines(got))
		}
	})
}

// TestGroupReplaceBounded checks that replacing all of a group's members
// sends no script whose arguments grow with the group: the replacement's
// script holds the members added, the sweeps at most sweepBatch each, and a
// replacement with the same members leaves nothing to sweep.
func TestGroupReplaceBounded(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p, _ := prefix(org)
		const members = 2*sweepBatch + 37
		ids := make([]string, members)
		for i := range ids {
			ids[i] = mustCreateUser(t, s, user(fmt.Sprintf("b%d@example.com", i))).ID
		}
		g := mustCreateGroup(t, s, group("Big"))
		for i := 0; i < members; i += 200 {
			if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: ids[i:min(i+200, members)]}); err != nil {
				t.Fatalf("add members: %v", err)
			}
		}
		h := &scriptArgs{calls: map[string][]int{}, names: map[string]string{
			s.writeGroup.Hash(): "write", s.sweepReplaced.Hash(): "sweep",
			writeGroupSrc: "write", sweepReplacedSrc: "sweep",
			storeLibrary.functions[writeGroupSrc]: "write", storeLibrary.functions[sweepReplacedSrc]: "sweep"}}
		hookAll(s, h)
		calls := func() map[string][]int {
			h.mu.Lock()
			defer h.mu.Unlock()
			c := h.calls
			h.calls = map[string][]int{}
			return c
		}

		// The same members again (an identity provider's PUT): nothing leaves.
		cur, _ := s.GetGroup(ctx, org, g.ID, false)
		out, err := s.UpdateGroup(ctx, org, cur, cur.Version, resources.MemberDelta{RemoveAll: true, Add: ids})
		if err != nil {
			t.Fatalf("replace with the same members: %v", err)
		}
		if out.Version != cur.Version {
			t.Fatalf("version after replacing with the same members = %d, want %d (nothing changed)", out.Version, cur.Version)
		}
		if c := calls(); len(c["write"]) != 1 || len(c["sweep"]) != 0 {
			t.Fatalf("replace with the same members: %d write and %d sweep scripts, want 1 and 0", len(c["write"]), len(c["sweep"]))
		}
		if n, _ := s.client.Exists(ctx, p+"replacing:"+g.ID).Result(); n != 0 {
			t.Fatalf("replacing:%s left after a replacement that kept every member", g.ID)
		}

		// PATCH remove of all members.
		cur, _ = s.GetGroup(ctx, org, g.ID, false)
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{RemoveAll: true}); err != nil {
			t.Fatalf("remove all members: %v", err)
		}
		c := calls()
		if len(c["write"]) != 1 {
			t.Fatalf("write script calls = %d, want 1", len(c["write"]))
		}
		// evalsha (or fcall), sha (or function), numkeys, 5 keys, 17 arguments: constant, the members left behind.
		if n := c["write"][0]; n != 25 {
			t.Fatalf("the replacement's script got %d arguments, want 25", n)
		}
		if len(c["sweep"]) < (members+sweepBatch-1)/sweepBatch {
			t.Fatalf("sweep script calls = %v, want at least %d", c["sweep"], (members+sweepBatch-1)/sweepBatch)
		}
		for _, n := range c["sweep"] {
			// evalsha, sha, numkeys, 4 keys, prefix, gid, now, uids
			if uids := n - 10; uids > sweepBatch {
				t.Fatalf("a sweep script got %d members, more than %d", uids, sweepBatch)
			}
		}
		for _, id := range ids[:3] {
			u, _ := s.GetUser(ctx, org, id)
			if len(u.Groups) != 0 || u.Version != 3 {
				t.Fatalf("user after the replacement: groups %v version %d, want none and 3 (created, joined, left)", u.Groups, u.Version)
			}
		}
		if after, _ := s.GetGroup(ctx, org, g.ID, true); len(after.Members) != 0 || after.Version != cur.Version+1 {
			t.Fatalf("group after removing all: %d members, version %d; want 0 and %d", len(after.Members), after.Version, cur.Version+1)
		}
		if got, st := check(t, s); len(got) != 0 || st.PendingGroupReplacements != 0 {
			t.Fatalf("Check after the replacement: %d pending, findings:\n%s", st.PendingGroupReplacements, findingLines(got))
		}
	})
}
