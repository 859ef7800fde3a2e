package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// membershipLeaf plans the membership comparisons the planner answers from
// the membership sets rather than from documents; nil when e is none of
// them:
//
//   - "groups.value eq <group id>" on users (also written "groups eq <id>"):
//     a range read of the group's members in display order (morder:<gid>,
//     whose members are display NUL userId like an index's): the way to page
//     a large group's members through /Users, by startIndex (a page by rank,
//     the total its ZCARD) or with a cursor.
//   - "groups.display eq <name>" on users: the same read of the group of
//     that name, found at the first read in the uniqueness hash of groups'
//     displayNames (resolveGroup); no such group, no match.
//   - "members.value eq <user id>" on groups (also "members eq <id>"): the
//     user's groups, a small list collected from ugroups:<userId>
//     (userGroupIDs), ordered by creation like an "or" of different keys.
//
// An id in another case than the lowercase ids the store mints is left to
// the scan (groups.value and members.value are not caseExact). A display
// name is looked up folded (resources.FoldCase, as the uniqueness hash
// keeps it); were groups.display caseExact, the leaf would yield the group
// folded alike, a candidate to check.
func membershipLeaf(k *kind, e *resources.Comparison) *node {
	refs := k.rt.Refs.Attr
	if refs == "" || e.Op != filter.EQ || !e.Attr.Core || e.Attr.Attr.Name() != refs {
		return nil
	}
	sub := "value" // a complex attribute compared as a whole compares its value
	if e.Attr.Sub != nil {
		sub = strings.ToLower(e.Attr.Sub.Name())
	}
	v, ok := e.Value.(string)
	if !ok {
		return nil
	}
	switch {
	case sub == "value" && (v == "" || v != strings.ToLower(v)):
		return nil
	case sub == "value" && k.groupRefs:
		return &node{key: "morder:" + v, ranges: []lexRange{wholeSet}, group: v, exact: true}
	case sub == "value" && k.rt.HasMembers:
		return &node{groupsOf: v, exact: true}
	case sub == "display" && k.groupRefs:
		a, ok := k.rt.Lookup(refs + ".display")
		exact := ok && !a.Leaf().CaseExact()
		// "morder:" names no group until resolveGroup binds the leaf.
		return &node{key: "morder:", ranges: []lexRange{wholeSet}, groupName: resources.FoldCase(v), exact: exact}
	}
	return nil
}

// resolveGroup binds a groups.display leaf to the group of its name, read
// from the uniqueness hash of groups' displayNames (the one group of that
// name now: a group deleted or renamed is no longer there): its members'
// order, morder:<gid>. With no such group the leaf reads no range: no
// match, an exact empty answer. It reads once per plan; any other node is
// left as it is.
func (s *Store) resolveGroup(ctx context.Context, p string, n *node) error {
	if n.groupName == "" {
		return nil
	}
	id, err := s.client.HGet(ctx, p+s.groups.uniqueHash(), n.groupName).Result()
	switch {
	case errors.Is(err, redis.Nil):
		n.ranges = nil
	case err != nil:
		return fmt.Errorf("redis: %w", err)
	default:
		n.key, n.group = "morder:"+id, id
	}
	n.groupName = ""
	return nil
}

// userGroupIDs returns the ids of the groups whose members include user:
// the fields of ugroups:<user> (O(the user's groups)) that are fields of
// those groups' members too. A membership that a group's deletion or the
// replacement of its members is still sweeping has left the group's
// members already (doc.go, Key layout), so it is not counted: the groups
// are those whose GET lists the user, as luaUserGroups shows them on the
// user. Two round trips; a write between them is seen as either before or
// after it, for each group.
func (s *Store) userGroupIDs(ctx context.Context, p, user string) ([]string, error) {
	groups, err := s.client.HKeys(ctx, p+"ugroups:"+user).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if len(groups) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	in := make([]*redis.BoolCmd, len(groups))
	for i, g := range groups {
		in[i] = pipe.HExists(ctx, p+"members:"+g, user)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	ids := groups[:0]
	for i, g := range groups {
		if in[i].Val() {
			ids = append(ids, g)
		}
	}
	return ids, nil
}

// userGroupCount returns the number of groups a user's memberships name,
// an upper bound of userGroupIDs': O(1).
func (s *Store) userGroupCount(ctx context.Context, p, user string) (int64, error) {
	n, err := s.client.HLen(ctx, p+"ugroups:"+user).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return n, nil
}

// wholeOrder makes sure a group's morder holds every member before it is
// read in order: a group written before the set existed lacks it, and is
// rebuilt once (see member_pages.go).
func (s *Store) wholeOrder(ctx context.Context, p, group string) error {
	pipe := s.client.Pipeline()
	hlen := pipe.HLen(ctx, p+"members:"+group)
	zcard := pipe.ZCard(ctx, p+"morder:"+group)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if hlen.Val() == zcard.Val() {
		return nil
	}
	return s.rebuildMemberOrder(ctx, p+"members:"+group, p+"morder:"+group)
}

// groupMembers returns the ids of a group's members: O(its size).
func (s *Store) groupMembers(ctx context.Context, p, group string) ([]string, error) {
	ids, err := s.client.HKeys(ctx, p+"members:"+group).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return ids, nil
}

// memberTotal returns the number of a group's members: O(1).
func (s *Store) memberTotal(ctx context.Context, p, group string) (int64, error) {
	n, err := s.client.HLen(ctx, p+"members:"+group).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return n, nil
}
