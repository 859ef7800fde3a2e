package backend

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// TestGroupDeleteInSteps checks a group deletion's two steps: the first
// script makes the group gone for readers and writers without touching any
// member (their groups still hold it), the sweep then ends the memberships;
// members' versions change at the deletion and never go back, on both read
// paths (Go's fetch, the scripts' userGroups), and a deletion left midway
// (a server that stopped) is no finding and is resumed.
func TestGroupDeleteInSteps(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p, _ := prefix(org)
		u1 := mustCreateUser(t, s, user("one@example.com"))
		u2 := mustCreateUser(t, s, user("two@example.com"))
		g := mustCreateGroup(t, s, group("Admins", u1.ID))
		other := mustCreateGroup(t, s, group("Others", u1.ID))
		// Renames before and after u2 joins: their memberships began at
		// different counts, and both have renames to fold.
		rename := func(name string) {
			t.Helper()
			cur, err := s.GetGroup(ctx, org, g.ID, false)
			if err != nil {
				t.Fatalf("GetGroup: %v", err)
			}
			cur.Attributes["displayName"] = name
			if _, err := s.UpdateGroup(ctx, org, cur, cur.Version, resources.MemberDelta{}); err != nil {
				t.Fatalf("rename to %s: %v", name, err)
			}
		}
		rename("Admins 2")
		if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: []string{u2.ID}}); err != nil {
			t.Fatalf("add u2: %v", err)
		}
		rename("Admins 3")
		rename("Admins 4")

		version := func(id string) int64 {
			t.Helper()
			u, err := s.GetUser(ctx, org, id)
			if err != nil {
				t.Fatalf("GetUser %s: %v", id, err)
			}
			return u.Version
		}
		before := map[string]int64{u1.ID: version(u1.ID), u2.ID: version(u2.ID)}

		if err := s.deleteGroupStart(ctx, org, g.ID, 0); err != nil {
			t.Fatalf("deleteGroupStart: %v", err)
		}
		// The first step wrote no member: their groups still hold it.
		for _, uid := range []string{u1.ID, u2.ID} {
			if ok, _ := s.client.HExists(ctx, p+"ugroups:"+uid, g.ID).Result(); !ok {
				t.Fatalf("after the first step, ugroups:%s lacks the group: the first step wrote a member", uid)
			}
		}
		if _, err := s.GetGroup(ctx, org, g.ID, false); resources.ErrorCode(err) != resources.NotFound {
			t.Fatalf("GetGroup after the first step: %v, want not found", err)
		}
		if _, err := s.CreateGroup(ctx, org, resources.Resource{ID: g.ID, Attributes: map[string]any{"displayName": "Again"}}); err == nil {
			t.Fatalf("CreateGroup with the id of a group being swept succeeded")
		}
		pending := map[string]int64{}
		for _, uid := range []string{u1.ID, u2.ID} {
			u, _ := s.GetUser(ctx, org, uid)
			if uid == u1.ID {
				wantRefs(t, "groups of u1 after the first step", u.Groups, other.ID+"=Others")
			} else {
				wantRefs(t, "groups of u2 after the first step", u.Groups)
			}
			if u.Version <= before[uid] {
				t.Fatalf("version of %s after its group's deletion = %d, was %d: its groups changed, so must its version", uid, u.Version, before[uid])
			}
			pending[uid] = u.Version
		}
		got, st := check(t, s)
		if len(got) != 0 {
			t.Fatalf("Check with a sweep pending found:\n%s", findingLines(got))
		}
		if st.PendingGroupDeletes != 1 {
			t.Fatalf("Check PendingGroupDeletes = %d, want 1", st.PendingGroupDeletes)
		}
		// The scripts see the version Go's read does: a replace with it
		// as the expected version passes.
		u1r, _ := s.GetUser(ctx, org, u1.ID)
		u1r.Attributes["displayName"] = "One"
		if _, err := s.ReplaceUser(ctx, org, u1r, pending[u1.ID], resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser with the version read while the sweep is pending: %v", err)
		}
		pending[u1.ID]++

		// Resumed (as a starting server or the next deletion does).
		n, err := s.FinishGroupDeletes(ctx, org)
		if err != nil || n != 1 {
			t.Fatalf("FinishGroupDeletes = %d, %v, want 1, nil", n, err)
		}
		for _, uid := range []string{u1.ID, u2.ID} {
			if ok, _ := s.client.HExists(ctx, p+"ugroups:"+uid, g.ID).Result(); ok {
				t.Fatalf("after the sweep, ugroups:%s still holds the group", uid)
			}
			if v := version(uid); v != pending[uid] {
				t.Fatalf("version of %s after the sweep = %d, want %d (what it showed since the deletion)", uid, v, pending[uid])
			}
		}
		for _, k := range []string{p + "leaving", p + "leaving:" + g.ID, p + "members:" + g.ID} {
			if n, _ := s.client.Exists(ctx, k).Result(); n != 0 {
				t.Fatalf("key %s left after the sweep", k)
			}
		}
		got, st = check(t, s)
		if len(got) != 0 || st.PendingGroupDeletes != 0 {
			t.Fatalf("Check after the sweep: %d pending, findings:\n%s", st.PendingGroupDeletes, findingLines(got))
		}
		if _, err := s.CreateGroup(ctx, org, resources.Resource{ID: g.ID, Attributes: map[string]any{"displayName": "Again"}}); err != nil {
			t.Fatalf("CreateGroup with the id after the sweep: %v", err)
		}
	})
}

// scriptArgs records the number of arguments of every script call.
type scriptArgs struct {
	mu    sync.Mutex
	calls map[string][]int // script name -> argument counts
	names map[string]string
}

func (h *scriptArgs) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *scriptArgs) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *scriptArgs) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		a := cmd.Args()
		if len(a) > 2 && (cmd.Name() == "evalsha" || cmd.Name() == "eval" || cmd.Name() == "fcall") && err == nil {
			// Only the calls that ran (not an EVALSHA answered NOSCRIPT, nor an
			// FCALL answered "Function not found").
			name := h.names[fmt.Sprint(a[1])]
			h.mu.Lock()
			h.calls[name] = append(h.calls[name], len(a))
			h.mu.Unlock()
		}
		return err
	}
}

// TestGroupDeleteBounded checks that deleting a group of more members than
// one sweep script ends sends no script whose arguments grow with the group:
// one deletion script of constant size, then sweeps of at most sweepBatch
// members each.
func TestGroupDeleteBounded(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const members = 2*sweepBatch + 37
		ids := make([]string, members)
		for i := range ids {
			u := mustCreateUser(t, s, user(fmt.Sprintf("u%d@example.com", i)))
			ids[i] = u.ID
		}
		g := mustCreateGroup(t, s, group("Big"))
		for i := 0; i < members; i += 200 {
			if _, err := s.UpdateGroup(ctx, org, resources.Resource{ID: g.ID}, 0, resources.MemberDelta{Add: ids[i:min(i+200, members)]}); err != nil {
				t.Fatalf("add members: %v", err)
			}
		}
		h := &scriptArgs{calls: map[string][]int{}, names: map[string]string{
			s.deleteGroup.Hash(): "delete", s.sweepGroup.Hash(): "sweep",
			deleteGroupSrc: "delete", sweepGroupSrc: "sweep",
			storeLibrary.functions[deleteGroupSrc]: "delete", storeLibrary.functions[sweepGroupSrc]: "sweep"}}
		hookAll(s, h)
		if err := s.DeleteGroup(ctx, org, g.ID, 0); err != nil {
			t.Fatalf("DeleteGroup: %v", err)
		}
		h.mu.Lock()
		calls := h.calls
		h.calls = map[string][]int{}
		h.mu.Unlock()
		if len(calls["delete"]) != 1 {
			t.Fatalf("delete script calls = %d, want 1", len(calls["delete"]))
		}
		if len(calls["sweep"]) < (members+sweepBatch-1)/sweepBatch {
			t.Fatalf("sweep script calls = %v, want at least %d", calls["sweep"], (members+sweepBatch-1)/sweepBatch)
		}
		for _, n := range calls["sweep"] {
			// evalsha, sha, numkeys, 2 keys, prefix, gid, now, uids
			if uids := n - 8; uids > sweepBatch {
				t.Fatalf("a sweep script got %d members, more than %d", uids, sweepBatch)
			}
		}
		for _, id := range ids[:3] {
			u, _ := s.GetUser(ctx, org, id)
			if len(u.Groups) != 0 || u.Version != 3 {
				t.Fatalf("user after the deletion: groups %v version %d, want none and 3 (created, joined, left)", u.Groups, u.Version)
			}
		}
		if got, st := check(t, s); len(got) != 0 || st.PendingGroupDeletes != 0 {
			t.Fatalf("Check after DeleteGroup: %d pending, findings:\n%s", st.PendingGroupDeletes, findingLines(got))
		}
	})
}
