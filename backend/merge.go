package backend

// An "or" of different keys answered as a merge of its branches (see
// planner.go's walkthrough).

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// branch is one side of an "or" answered as a merge: its filter, its plan,
// and the leaf that drives the plan (see driver) with its entries.
type branch struct {
	e     resources.Filter
	n     *node
	drive *node
	est   int64
}

// mergeBranches returns the branches of a plan that is an "or" of
// different keys, in the filter's order, when each is streamed from one
// leaf (an exact leaf, an active leaf, or an "and" driven by a leaf). ok is
// false otherwise (a branch on a user's groups, members.value eq, or a
// filter on groups' members): the plan is collected instead.
//
// resumed is set for a cursor walk that began as a merge: a branch whose
// cheapest side is no longer a leaf (the data changed since the walk's
// first page) is then driven by its cheapest side that is one, so that the
// walk goes on in the merge's order instead of failing (invalidCursor);
// without it, such a branch makes the plan collected, which a first page
// or a startIndex page answers within MaxScan.
func (s *Store) mergeBranches(ctx context.Context, p string, k *kind, e resources.Filter, n *node, resumed bool) (bs []branch, ok bool, err error) {
	if n == nil || n.op != filter.OR || k.rt.HasMembers && mentions(e, "members") {
		return nil, false, nil
	}
	var flatten func(e resources.Filter, n *node)
	flatten = func(e resources.Filter, n *node) {
		if l, isOr := e.(*resources.Logical); isOr && l.Op == filter.OR && n.op == filter.OR {
			flatten(l.Left, n.left)
			flatten(l.Right, n.right)
			return
		}
		bs = append(bs, branch{e: e, n: n})
	}
	flatten(e, n)
	// The entries of the branches that are one range read of an index
	// (eq or eq, as identity providers send) are counted in one round
	// trip; the others' drivers are found as an "and"'s are.
	pipe := s.client.Pipeline()
	counts := make([][]*redis.IntCmd, len(bs))
	for i := range bs {
		b := &bs[i]
		if err := s.resolveGroups(ctx, p, b.n); err != nil {
			return nil, false, err
		}
		if b.n.isLeaf() && b.n.group == "" {
			b.drive = b.n
			for _, r := range b.n.ranges {
				counts[i] = append(counts[i], pipe.ZLexCount(ctx, p+b.n.key, r.min, r.max))
			}
			continue
		}
		drive, est, ok, err := s.driver(ctx, p, k, b.n)
		if err == nil && !ok && resumed {
			drive, est, ok, err = s.leafDriver(ctx, p, k, b.n) // planner.go
		}
		if err != nil || !ok {
			return nil, false, err
		}
		b.drive, b.est = drive, est
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, false, fmt.Errorf("redis: %w", err)
		}
	}
	for i, cs := range counts {
		for _, c := range cs {
			bs[i].est += c.Val()
		}
	}
	return bs, true, nil
}

// checkMergeWork charges a merge to MaxFilterWork before its first read:
// each branch's entries times the comparisons of its filter and of the
// branches before it, which its documents are checked against, at worst,
// so that each match is counted once (see walkMerged).
func (s *Store) checkMergeWork(k *kind, bs []branch) error {
	work, terms := int64(0), 0
	for _, b := range bs {
		terms += resources.FilterTerms(b.e)
		work += b.est * int64(terms)
	}
	if work <= int64(s.MaxFilterWork) {
		return nil
	}
	return resources.Errorf(resources.TooMany,
		"the %d sides of the filter's \"or\" hold %d evaluations to count each %s once, more than the %d one query may cost; send each side as a query of its own, or narrow the sides with an indexed attribute (%s)",
		len(bs), work, k.name, s.MaxFilterWork, k.indexHint())
}

// walkMerged calls fn with the matches of an "or" in the merge's order:
// branch by branch in the filter's order, each in the order of its
// driving leaf's key, a resource at the first branch it matches only.
// member is the key's entry (value NUL id; for an active leaf, see
// walkMembers). The ids passed so far are kept, up to MaxScan of them,
// so that a later branch leaves them out by id; past that, by checking its
// documents against the filters of the branches before. Documents are
// also read where the branch's plan is not exact. It stops when ctx ends
// (the client left).
func (s *Store) walkMerged(ctx context.Context, p string, k *kind, bs []branch, fn func(i int, member string) error) error {
	passed := map[string]bool{} // nil once past MaxScan, between batches
	pass := func(i int, member, id string) error {
		if passed != nil {
			passed[id] = true
		}
		return fn(i, member)
	}
	for i, b := range bs {
		err := s.walkMembers(ctx, p, k, b.drive, func(members []string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(passed) > s.MaxScan {
				passed = nil
			}
			ids := make([]string, len(members))
			for j, m := range members {
				ids[j] = idOf(m)
			}
			byID := passed != nil || i == 0
			if b.n.exact && byID {
				for j, m := range members {
					if !passed[ids[j]] {
						if err := pass(i, m, ids[j]); err != nil {
							return err
						}
					}
				}
				return nil
			}
			rs, err := s.fetch(ctx, p, k, ids, load{refs: k.groupRefs, attrs: true})
			if err != nil {
				return err
			}
			for j, r := range rs {
				if r == nil || byID && passed[ids[j]] {
					continue
				}
				doc := resources.Document(k.rt, *r, "")
				if !b.n.exact && !resources.Match(doc, b.e) ||
					!byID && slices.ContainsFunc(bs[:i], func(before branch) bool { return resources.Match(doc, before.e) }) {
					continue
				}
				if err := pass(i, members[j], ids[j]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// mergePage answers an "or" of different keys from startIndex: it counts
// every match of the merge (the total is exact) and keeps the window's.
func (s *Store) mergePage(ctx context.Context, p string, k *kind, bs []branch, w window, ld load) (resources.Page, error) {
	if err := s.checkMergeWork(k, bs); err != nil {
		return resources.Page{}, err
	}
	var ids []string
	total := 0
	err := s.walkMerged(ctx, p, k, bs, func(_ int, member string) error {
		if total >= w.start && total < w.start+w.count {
			ids = append(ids, idOf(member))
		}
		total++
		return nil
	})
	if err != nil {
		return resources.Page{}, err
	}
	return s.page(ctx, p, k, total, ids, ld)
}

// mergeTag names branch i of a merge and the read of its driving leaf in
// the Seq of its positions: negative, so never a creation sequence, and
// unlike any single leaf's tag.
func mergeTag(i int, drive *node) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "or\x00%d\x00%d\x00%s", i, leafTag(drive), drive.creationTag())
	return -int64(h.Sum64()>>2) - 1
}

// mergeLeaf returns the leaf of branch i's plan n, or of one of its
// "and"s, whose merge tag is tag.
func mergeLeaf(i int, n *node, tag int64) *node {
	switch {
	case n == nil:
		return nil
	case n.isLeaf() || n.active != "":
		if mergeTag(i, n) == tag {
			return n
		}
		return nil
	case n.op == filter.AND:
		if l := mergeLeaf(i, n.left, tag); l != nil {
			return l
		}
		return mergeLeaf(i, n.right, tag)
	}
	return nil
}

// seekMerged pages an "or" of different keys from a position in the
// merge's order (see walkMerged): its positions are the driving leaf's
// entries, tagged with their branch (mergeTag). Like seekDriven, it
// streams the whole merge for the exact total and keeps the count+1
// matches next to the position.
func (s *Store) seekMerged(ctx context.Context, p string, k *kind, bs []branch, sk resources.Seek, count int, ld load) (resources.Page, error) {
	if sk.From != nil {
		// The position's branch is driven by the leaf it was read from,
		// whichever side of an "and" would drive it today.
		for i := range bs {
			if d := mergeLeaf(i, bs[i].n, sk.From.Seq); d != nil && d != bs[i].drive {
				est, err := s.estimate(ctx, p, k, d)
				if err != nil {
					return resources.Page{}, err
				}
				bs[i].drive, bs[i].est = d, est
			}
		}
	}
	tags := make([]int64, len(bs))
	for i, b := range bs {
		tags[i] = mergeTag(i, b.drive)
	}
	from, at := -1, ""
	if sk.From != nil {
		from = slices.Index(tags, sk.From.Seq)
		if from < 0 || !sk.From.HasKey {
			return resources.Page{}, invalidCursor()
		}
		at = sk.From.Key + "\x00" + sk.From.ID
	}
	if err := s.checkMergeWork(k, bs); err != nil {
		return resources.Page{}, err
	}
	type entry struct {
		i      int
		member string
	}
	total := 0
	near := seekWindow[entry]{before: sk.Before, count: count}
	err := s.walkMerged(ctx, p, k, bs, func(i int, member string) error {
		total++
		near.add(entry{i, member}, from < 0 ||
			sk.Before && (i < from || i == from && member < at) ||
			!sk.Before && (i > from || i == from && member > at))
		return nil
	})
	if err != nil {
		return resources.Page{}, err
	}
	kept, page := near.page(total)
	ids := make([]string, len(kept))
	pos := make([]resources.Position, len(kept))
	for j, x := range kept {
		pos[j] = keyPosition(x.member, tags[x.i])
		ids[j] = pos[j].ID
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}

// walkMembers calls fn with the entries a leaf yields, in the order of its
// key, batch by batch, each id once: an id of a multi-valued key at its
// first entry. An active leaf yields its users in creation order, each
// entry its creation sequence (zero-padded, so that entries compare as
// sequences do) NUL id. It stops when ctx ends (the client left).
func (s *Store) walkMembers(ctx context.Context, p string, k *kind, n *node, fn func(members []string) error) error {
	if n.active != "" {
		return s.walkActiveSeqs(ctx, p, k, n, false, func(ids []string, seqs []int64) error {
			members := make([]string, len(ids))
			for i, id := range ids {
				members[i] = fmt.Sprintf("%020d\x00%s", seqs[i], id)
			}
			return fn(members)
		})
	}
	if err := s.resolveGroup(ctx, p, n); err != nil {
		return err
	}
	if n.group != "" {
		if err := s.wholeOrder(ctx, p, n.group); err != nil {
			return err
		}
	}
	var seen map[string]bool
	if n.multi {
		seen = map[string]bool{}
	}
	for _, r := range n.ranges {
		err := s.walkRange(ctx, p+n.key, r, false, func(members []string) error {
			if seen == nil {
				return fn(members)
			}
			firsts := make([]string, 0, len(members))
			for _, m := range members {
				if id := idOf(m); !seen[id] {
					seen[id] = true
					firsts = append(firsts, m)
				}
			}
			return fn(firsts)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// seekOr answers a filtered, unsorted query with Seek whose plan is an
// "or" of different keys answered as a merge (mergeBranches), in the
// merge's order. ok is false for other plans, and when the query asks for
// creation order (ByCreation, or a position of creation order, minted
// before the merge answered the filter): seekMatches answers it then.
func (s *Store) seekOr(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, bool, error) {
	if q.Filter == nil || q.Sort != nil || q.Seek.ByCreation || q.Seek.From != nil && isCreated(q.Seek.From) {
		return resources.Page{}, false, nil
	}
	bs, ok, err := s.mergeBranches(ctx, p, k, q.Filter, s.plan(k, q.Filter, false), q.Seek.From != nil)
	if !ok || err != nil {
		return resources.Page{}, err != nil, err
	}
	page, err := s.seekMerged(ctx, p, k, bs, *q.Seek, count, ld)
	return page, true, err
}
