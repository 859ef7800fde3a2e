package backend

import (
	"context"
	"fmt"
	"strings"

	"github.com/scim2/filter-parser/v2"
)

// membershipLeaf plans "groups.value eq <group id>" on users (also written
// "groups eq <id>") as a range read of the group's members in display order
// (morder:<gid>, whose members are display NUL userId like an index's): the
// way to page a large group's members through /Users, by startIndex (a page
// by rank, the total its ZCARD) or with a cursor. nil when e is not
// that comparison. A value in another case than the lowercase ids the store
// mints is left to the scan (groups.value is not caseExact).
//
// This is the one membership query the planner answers from the sets; the
// rest (groups.display, members.value) go through the indexes or a scan.
func membershipLeaf(k *kind, e *filter.AttributeExpression) *node {
	if !k.groupRefs || !strings.EqualFold(string(e.Operator), string(filter.EQ)) {
		return nil
	}
	path := e.AttributePath
	if path.URIPrefix != nil && !strings.EqualFold(*path.URIPrefix, k.rt.Schema.ID) ||
		!strings.EqualFold(path.AttributeName, k.rt.Refs.Attr) ||
		path.SubAttribute != nil && !strings.EqualFold(*path.SubAttribute, "value") {
		return nil
	}
	id, ok := e.CompareValue.(string)
	if !ok || id == "" || id != strings.ToLower(id) {
		return nil
	}
	return &node{key: "morder:" + id, ranges: []lexRange{wholeSet}, group: id, exact: true}
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
