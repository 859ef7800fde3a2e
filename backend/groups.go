package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"time"

	"github.com/scimd/scimd/resources"
)

// CreateGroup stores a new group with version 1 and members g.Members,
// assigning an ID when g.ID is empty. It fails with [resources.Uniqueness]
// when the displayName is taken (ignoring case) and with
// [resources.InvalidValue] when a member is not a user of the organization;
// then nothing is written. The result's Members carry the users' displays.
func (s *Store) CreateGroup(ctx context.Context, org string, g resources.Resource) (resources.Resource, error) {
	if g.ID == "" {
		g.ID = newID()
	}
	add := make([]string, len(g.Members))
	for i, m := range g.Members {
		add[i] = m.ID
	}
	out, err := s.putGroup(ctx, org, g, 0, nil, resources.MemberDelta{Add: add})
	if err != nil {
		return resources.Resource{}, fmt.Errorf("create group %s: %w", g.ID, err)
	}
	if out.Members == nil {
		out.Members = []resources.Ref{}
	}
	return out, nil
}

// UpdateGroup writes g's attributes and applies d (RemoveAll, then Remove,
// then Add) if the stored version is still version, else it returns
// [resources.ErrVersionConflict]. Every added member must be a user of the
// organization, else nothing is written. Members of g are ignored, and the
// result carries only the added members (nil when none): reading every member
// of a large group is what the delta avoids; use GetGroup for them.
//
// RemoveAll costs what d holds, not what the group holds: one script makes
// the group's members those of d.Add for every reader and writer, and hands
// the old members that were not added again to a sweep that ends their
// memberships in scripts of at most sweepBatch members each
// ([Store.FinishGroupDeletes]), before UpdateGroup returns, with a context
// of its own. A write of the group or its deletion that finds a sweep
// pending (a server stopped midway) finishes it first.
func (s *Store) UpdateGroup(ctx context.Context, org string, g resources.Resource, version int64, d resources.MemberDelta) (resources.Resource, error) {
	if version <= 0 && g.Attributes != nil {
		return resources.Resource{}, fmt.Errorf("update group %s: %w", g.ID, resources.ErrVersionConflict)
	}
	out, err := s.putGroup(ctx, org, g, version, nil, d)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("update group %s: %w", g.ID, err)
	}
	return out, nil
}

// UpdateGroupIfDocument writes g's attributes and applies d as UpdateGroup
// does, if the stored document is still based (the Raw of the version, read
// by GetGroup, that the caller computed g from), else it returns
// [resources.ErrVersionConflict]. version is that version, whose document
// was based. Membership changes since, which give the group new versions but
// leave its document alone, do not fail it.
func (s *Store) UpdateGroupIfDocument(ctx context.Context, org string, g resources.Resource, version int64, based []byte, d resources.MemberDelta) (resources.Resource, error) {
	if version <= 0 || g.Attributes == nil || len(based) == 0 {
		return resources.Resource{}, fmt.Errorf("update group %s: %w", g.ID, resources.ErrVersionConflict)
	}
	out, err := s.putGroup(ctx, org, g, version, based, d)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("update group %s: %w", g.ID, err)
	}
	return out, nil
}

// putGroup runs writeGroupSrc: a creation (version 0), a membership delta
// (g.Attributes nil), or an update if the stored version is still version,
// or, when based is set, if the stored document is still based; then the
// sweep of the old members a replacement left, if any.
func (s *Store) putGroup(ctx context.Context, org string, g resources.Resource, version int64, based []byte, d resources.MemberDelta) (resources.Resource, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Resource{}, err
	}
	out, sweep, err := s.writeGroupStep(ctx, p, g, version, based, d)
	if err != nil || !sweep {
		return out, err
	}
	// The old members not added again are the sweep's. A sweep that fails
	// is not the write's failure: the next write of the group, or a
	// server's start, resumes it.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sweepTimeout)
	defer cancel()
	_ = s.sweepReplacedGroup(sctx, p, g.ID)
	return out, nil
}

// writeGroupStep is putGroup's first step, the write clients see: it runs
// writeGroupSrc, after finishing a replacement's sweep it finds pending,
// and reports whether the write left old members to sweep.
func (s *Store) writeGroupStep(ctx context.Context, p string, g resources.Resource, version int64, based []byte, d resources.MemberDelta) (out resources.Resource, sweep bool, err error) {
	mode := ""
	action := resources.ActionCreate
	switch {
	case g.Attributes == nil:
		mode, action = "members", resources.ActionMembers
	case version != 0:
		action = resources.UpdateAction(ctx)
		if based != nil {
			mode = "document"
		}
	}
	doc, err := resources.MarshalJSON(g.Attributes)
	if err != nil {
		return resources.Resource{}, false, fmt.Errorf("encode document: %w", err)
	}
	add, _ := json.Marshal(dedupe(d.Add))
	remove, _ := json.Marshal(dedupe(d.Remove))
	removeAll := "0"
	if d.RemoveAll {
		removeAll = "1"
		remove = []byte("[]") // every member not added leaves anyway
	}
	uk, name := uniqueKey(g.Attributes, "displayName")
	t, ts := now()
	keys := []string{p + "group:" + g.ID, p + "unique:group:displayName", p + "all:group", p + "seq", p + "members:" + g.ID}
	var res []any
	for attempt := 0; ; attempt++ {
		res, err = s.writeGroup.Run(ctx, s, keys,
			p, g.ID, version, doc, uk, name, ts, s.groups.indexEntries(g.Attributes), removeAll, remove, add, mode,
			resources.Actor(ctx), string(action), s.MaxChanges, based, max(s.MaxUserGroups, 0)).Slice()
		if err != nil {
			return resources.Resource{}, false, fmt.Errorf("redis: %w", err)
		}
		if marker, _ := res[0].(string); marker != "pending" || attempt == 2 {
			break
		}
		// A replacement of the group's members left its sweep pending (a
		// server stopped, or another request sweeps): finish it, write again.
		if err := s.sweepReplacedGroup(ctx, p, g.ID); err != nil {
			return resources.Resource{}, false, fmt.Errorf("finish the replacement of its members: %w", err)
		}
	}
	if res[0] == "pending" {
		return resources.Resource{}, false, resources.Errorf(resources.Conflict, "group %q is being changed by other requests at the same time; retry", g.ID)
	}
	if err := s.groups.checkMarker(res, g.ID, name); err != nil {
		return resources.Resource{}, false, err
	}
	out = resources.Resource{ID: g.ID, Attributes: g.Attributes, Modified: t}
	if g.Attributes != nil {
		out.Raw = doc // the response copies it instead of encoding again
	}
	out.Version, _ = res[1].(int64)
	out.Created = parseTime(res[2])
	out.Members = refs(res[3])
	if len(res) > 4 {
		out.Modified = parseTime(res[4]) // unchanged when the write changed nothing
	}
	return out, len(res) > 5 && res[5] == "1", nil
}

// dedupe returns ids without repeats, never nil (it is sent as a JSON array).
func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// GetGroup returns a group, with its members when withMembers is set, in one
// round trip, or [resources.NotFound].
func (s *Store) GetGroup(ctx context.Context, org, id string, withMembers bool) (resources.Resource, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("get group %s: %w", id, err)
	}
	rs, err := s.fetch(ctx, p, &s.groups, []string{id}, load{refs: withMembers, attrs: true})
	if err != nil {
		return resources.Resource{}, fmt.Errorf("get group %s: %w", id, err)
	}
	if rs[0] == nil {
		return resources.Resource{}, resources.Errorf(resources.NotFound, "group %q not found", id)
	}
	return *rs[0], nil
}

// MemberCount returns how many members group id has (HLEN), without reading
// them; a missing group has none.
func (s *Store) MemberCount(ctx context.Context, org, id string) (int, error) {
	p, err := prefix(org)
	if err != nil {
		return 0, fmt.Errorf("members of group %s: %w", id, err)
	}
	n, err := s.memberCount(ctx, p, []string{id})
	if err != nil {
		return 0, fmt.Errorf("members of group %s: %w", id, err)
	}
	return n, nil
}

// MembersAmong reports which of ids are members of group id, in one round
// trip (HMGET of its members, as many fields as ids); a missing group has
// none.
func (s *Store) MembersAmong(ctx context.Context, org, id string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	p, err := prefix(org)
	if err != nil {
		return nil, fmt.Errorf("members of group %s: %w", id, err)
	}
	vals, err := s.client.HMGet(ctx, p+"members:"+id, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("members of group %s: redis: %w", id, err)
	}
	for i, v := range vals {
		if v != nil {
			out[ids[i]] = true
		}
	}
	return out, nil
}

// memberBatch is how many members ScanMembers asks HSCAN for at a time.
const memberBatch = 1000

// ScanMembers calls fn with the members of group id in batches of about
// memberBatch (HSCAN), in no particular order, each once: a reader holds one
// batch, and 8 bytes per member to drop the repeats HSCAN may return while
// the group changes (a 64-bit hash of the id: two members whose ids collide,
// about one chance in 10^9 for a million members, would show as one). A
// member present for the whole scan is returned; one added or removed
// meanwhile may or may not be.
func (s *Store) ScanMembers(ctx context.Context, org, id string, fn func([]resources.Ref) error) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("members of group %s: %w", id, err)
	}
	seed := maphash.MakeSeed()
	seen := map[uint64]struct{}{}
	var cursor uint64
	for {
		kv, next, err := s.client.HScan(ctx, p+"members:"+id, cursor, "", memberBatch).Result()
		if err != nil {
			return fmt.Errorf("members of group %s: redis: %w", id, err)
		}
		batch := make([]resources.Ref, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			h := maphash.String(seed, kv[i])
			if _, dup := seen[h]; dup {
				continue
			}
			seen[h] = struct{}{}
			batch = append(batch, resources.Ref{ID: kv[i], Display: kv[i+1]})
		}
		if len(batch) > 0 {
			if err := fn(batch); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// DeleteGroup removes a group; its members lose it from their groups, which
// gives each a new version. version 0 deletes any version.
//
// The group is gone for every reader and writer once one script of constant
// cost has run (deleteGroupSrc); its memberships are then ended in scripts
// of at most sweepBatch members each ([Store.FinishGroupDeletes]), so that
// no script call grows with the group's size. DeleteGroup runs that sweep,
// for this group and any other of the organization left pending (by a
// server that stopped midway), before it returns, with a context of its
// own: a client that leaves does not stop it. A sweep that fails is not the
// deletion's failure (the group is gone): it is resumed by the next group
// deletion of the organization, when a server starts, and reported by
// [Store.Check] as pending meanwhile.
func (s *Store) DeleteGroup(ctx context.Context, org, id string, version int64) error {
	if err := s.deleteGroupStart(ctx, org, id, version); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sweepTimeout)
	defer cancel()
	_, _ = s.FinishGroupDeletes(sctx, org)
	return nil
}

// deleteGroupStart runs deleteGroupSrc: the group is gone, its members are
// left to sweep.
func (s *Store) deleteGroupStart(ctx context.Context, org, id string, version int64) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	_, ts := now()
	keys := []string{p + "group:" + id, p + "unique:group:displayName", p + "all:group", p + "members:" + id,
		p + "leaving", p + "leaving:" + id}
	var res []any
	for attempt := 0; ; attempt++ {
		res, err = s.deleteGroup.Run(ctx, s, keys, p, id, version, ts, resources.Actor(ctx), s.MaxChanges).Slice()
		if err != nil {
			return fmt.Errorf("delete group %s: redis: %w", id, err)
		}
		if marker, _ := res[0].(string); marker != "pending" || attempt == 2 {
			break
		}
		if err := s.sweepReplacedGroup(ctx, p, id); err != nil {
			return fmt.Errorf("delete group %s: finish the replacement of its members: %w", id, err)
		}
	}
	if res[0] == "pending" {
		return resources.Errorf(resources.Conflict, "group %q is being changed by other requests at the same time; retry", id)
	}
	if err := s.groups.checkMarker(res, id, ""); err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	return nil
}

// sweepBatch is how many memberships of a deleted group one sweep script
// ends: its cost, whatever the group's size.
const sweepBatch = 200

// sweepTimeout bounds the sweep DeleteGroup runs after a deletion: 200,000
// members are 1,000 scripts of sweepBatch.
const sweepTimeout = time.Minute

// FinishGroupDeletes ends the memberships of the organization's deleted
// groups whose sweep is pending (see [Store.DeleteGroup]), and those that
// replacements of groups' members left pending (see [Store.UpdateGroup]),
// each sweep script ending at most sweepBatch of them, and returns how many
// deletions and replacements it finished. It stops at the first error; what
// is left stays pending, and a later call resumes it. Calls may overlap: a
// membership is ended once.
func (s *Store) FinishGroupDeletes(ctx context.Context, org string) (int, error) {
	p, err := prefix(org)
	if err != nil {
		return 0, fmt.Errorf("finish group deletions: %w", err)
	}
	var replaced []string
	members := s.client.SScan(ctx, p+"replacing", 0, "", sweepBatch).Iterator()
	for members.Next(ctx) {
		replaced = append(replaced, members.Val())
	}
	if err := members.Err(); err != nil {
		return 0, fmt.Errorf("finish group member replacements of %s: redis: %w", org, err)
	}
	slices.Sort(replaced)
	done := 0
	for _, gid := range slices.Compact(replaced) {
		if err := s.sweepReplacedGroup(ctx, p, gid); err != nil {
			return done, fmt.Errorf("finish the replacement of the members of group %s: %w", gid, err)
		}
		done++
	}
	var gids []string
	iter := s.client.HScan(ctx, p+"leaving", 0, "", sweepBatch).Iterator()
	for i := 0; iter.Next(ctx); i++ {
		if i%2 == 0 { // fields and values alternate
			gids = append(gids, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("finish group deletions of %s: redis: %w", org, err)
	}
	slices.Sort(gids)
	gids = slices.Compact(gids)
	for _, gid := range gids {
		if err := s.sweepDeletedGroup(ctx, p, gid); err != nil {
			return done, fmt.Errorf("finish deletion of group %s: %w", gid, err)
		}
		done++
	}
	return done, nil
}

// sweepDeletedGroup ends every membership of deleted group gid: HSCAN reads the
// members left (nobody can join a deleted group), and each batch is ended by
// one sweepGroupSrc; the last call, with no member left, ends the deletion.
func (s *Store) sweepDeletedGroup(ctx context.Context, p, gid string) error {
	return s.sweep(ctx, s.sweepGroup, []string{p + "leaving", p + "leaving:" + gid}, 1, p, gid)
}

// sweepReplacedGroup ends the memberships a replacement of group gid's
// members left (see writeGroupSrc), batch by batch, with sweepReplacedSrc;
// the last call, with no old member left, ends the replacement. It does
// nothing when none is pending.
func (s *Store) sweepReplacedGroup(ctx context.Context, p, gid string) error {
	keys := []string{p + "group:" + gid, p + "replacing:" + gid, p + "replacing", p + "members:" + gid}
	return s.sweep(ctx, s.sweepReplaced, keys, 1, p, gid)
}

// sweep runs a sweep script (sweepGroupSrc, sweepReplacedSrc) over the
// users of the hash keys[left], in batches of sweepBatch read with HSCAN,
// until the script says it is done. Its arguments are p, gid, now and the
// batch.
func (s *Store) sweep(ctx context.Context, sc *script, keys []string, left int, p, gid string) error {
	run := func(uids []string) (bool, error) {
		_, ts := now()
		args := append([]any{p, gid, ts}, anys(uids)...)
		res, err := sc.Run(ctx, s, keys, args...).Slice()
		if err != nil {
			return false, fmt.Errorf("redis: %w", err)
		}
		if len(res) != 2 {
			return false, fmt.Errorf("unexpected sweep result %v", res)
		}
		fin, _ := res[1].(int64)
		return fin == 1, nil
	}
	// A full HSCAN returns every member present throughout; a member is
	// never added, so one pass leaves none. Passes are bounded all the same.
	for pass := 0; pass < 3; pass++ {
		var cursor uint64
		for {
			kv, next, err := s.client.HScan(ctx, keys[left], cursor, "", sweepBatch).Result()
			if err != nil {
				return fmt.Errorf("redis: %w", err)
			}
			uids := make([]string, 0, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				uids = append(uids, kv[i])
			}
			for len(uids) > 0 {
				n := min(len(uids), sweepBatch)
				if fin, err := run(uids[:n]); err != nil || fin {
					return err
				}
				uids = uids[n:]
			}
			if next == 0 {
				break
			}
			cursor = next
		}
		if fin, err := run(nil); err != nil || fin {
			return err
		}
	}
	return fmt.Errorf("members of group %s left after 3 passes", gid)
}

// FinishAllGroupDeletes runs [Store.FinishGroupDeletes] for every
// organization scimd:orgs lists, calling each with its outcome (a server
// that starts resumes what one that stopped left).
func (s *Store) FinishAllGroupDeletes(ctx context.Context, each func(org string, finished int, err error)) error {
	orgs, err := s.allOrgs(ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		n, err := s.FinishGroupDeletes(ctx, org)
		each(org, n, err)
	}
	return nil
}
