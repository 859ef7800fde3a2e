package backend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// cursorKeyKey holds the secret that seals the API's pagination cursors. It
// is outside every organization's prefix: one key for the deployment.
const cursorKeyKey = "scimd:cursorkey"

// CursorKey returns the secret with which the API seals its pagination
// cursors (RFC 9865), made at random by the first process that asks and
// kept in Redis, so that every replica sharing the store accepts the
// cursors of every other, across restarts, with no setting to agree on.
func (s *Store) CursorKey(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	if err := s.client.SetNX(ctx, cursorKeyKey, fresh, 0).Err(); err != nil {
		return nil, fmt.Errorf("cursor key: redis: %w", err)
	}
	key, err := s.client.Get(ctx, cursorKeyKey).Bytes()
	if err != nil {
		return nil, fmt.Errorf("cursor key: redis: %w", err)
	}
	if len(key) < 16 {
		return nil, errors.New("cursor key: the stored key is too short")
	}
	return key, nil
}

// seekList answers a query with Seek (keyset paging, see [resources.Seek]).
// Unfiltered, it seeks in an ordering index: the ordering set by creation
// sequence, or a sorted attribute's index, as sortedFromIndex reads it:
// O(log N + count) a page, wherever the page is. Filtered and unsorted, it
// pages in the order of the key the plan reads, as startIndex paging does
// (seekPlanned). Otherwise it orders the matches, at most MaxScan, like an
// index-paged query, and seeks among them.
func (s *Store) seekList(ctx context.Context, p string, k *kind, q resources.Query, ld load) (resources.Page, error) {
	count := max(q.Count, 0)
	if from := q.Seek.From; from != nil && isCreated(from) && k.createdScored && from.Seq < createdEpoch {
		// A creation sequence of a store being converted (upgradeCreated):
		// its user's place is its score now.
		sc, err := s.client.ZScore(ctx, p+"all:"+k.name, from.ID).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
		if err == nil && sc >= createdEpoch {
			sk, at := *q.Seek, *from
			at.Seq, sk.From = int64(sc), &at
			q.Seek = &sk
		}
	}
	if q.Filter == nil && q.Sort == nil {
		return s.seekCreated(ctx, p, k, *q.Seek, count, ld)
	}
	if q.Filter == nil {
		if page, ok, err := s.seekIndex(ctx, p, k, q, count, ld); ok || err != nil {
			return page, err
		}
	}
	if page, ok, err := s.seekNot(ctx, p, k, q, count, ld); ok || err != nil {
		return page, err // complement.go
	}
	if page, ok, err := s.seekOr(ctx, p, k, q, count, ld); ok || err != nil {
		return page, err // merge.go
	}
	if q.Sort == nil {
		// A leaf of a sparse boolean, and a plan it drives, are read in
		// creation order (active.go).
		if page, ok, err := s.seekSparse(ctx, p, k, q, count, ld); ok || err != nil {
			return page, err
		}
	}
	if q.Sort == nil && !q.Seek.ByCreation {
		if page, ok, err := s.seekPlanned(ctx, p, k, q, count, ld); ok || err != nil {
			return page, err
		}
	}
	return s.seekMatches(ctx, p, k, q, count, ld)
}

// invalidCursor refuses a position that the query's plan did not mint: a
// cursor of another plan shape (the organization's indexes changed, or
// the data made another side of an "and" the cheapest) is not misread.
func invalidCursor() error {
	return resources.Errorf(resources.InvalidCursor,
		"the cursor was issued for another way of answering this query (the organization's indexes changed meanwhile): start again with an empty cursor")
}

// isCreated reports whether a position is one of creation order.
func isCreated(at *resources.Position) bool { return !at.HasKey && at.Seq > 0 }

// seekPlanned answers a filtered, unsorted query in the order of the key
// its plan reads, as the startIndex path orders it (see planner.go): an
// exact leaf of a single-valued key is read from the position straight
// (seekLeaf); a plan with a driving leaf streams the leaf (seekDriven).
// Its positions are the key's members (Key the value, ID the id) with
// Seq the leaf's tag, so that a cursor read from one leaf is never taken
// for another's. ok is false for the other plans (none, an "or" of
// different keys), and for a position of creation order, minted by them
// (and by userName eq before its index kept userNames unique): they are
// answered by seekMatches, in creation order.
func (s *Store) seekPlanned(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, bool, error) {
	n := s.plan(k, q.Filter, false)
	from := q.Seek.From
	if n == nil || from != nil && isCreated(from) {
		return resources.Page{}, false, nil
	}
	if err := s.resolveGroups(ctx, p, n); err != nil {
		return resources.Page{}, true, err
	}
	var drive *node
	switch {
	case from != nil:
		if drive = taggedLeaf(n, from.Seq); drive == nil || !from.HasKey {
			return resources.Page{}, true, invalidCursor()
		}
	case n.isLeaf() && n.exact && !n.multi:
		drive = n
	default:
		d, est, ok, err := s.driver(ctx, p, k, n)
		if err == nil && ok {
			d, _, err = s.idDriver(ctx, p, k, n, d, est) // as startIndex paging does
		}
		if err != nil {
			return resources.Page{}, true, err
		}
		if !ok || !d.isLeaf() {
			return resources.Page{}, false, nil
		}
		drive = d
	}
	if drive.group != "" {
		if err := s.wholeOrder(ctx, p, drive.group); err != nil {
			return resources.Page{}, true, err
		}
	}
	var page resources.Page
	var err error
	if drive == n && n.exact && !n.multi {
		page, err = s.seekLeaf(ctx, p, k, n, *q.Seek, count, ld)
	} else {
		page, err = s.seekDriven(ctx, p, k, q, n, drive, count, ld)
	}
	return page, true, err
}

// resolveGroups binds the groups.display leaves of n and of its "and"s to
// their group (resolveGroup) before their keys are read or tagged.
func (s *Store) resolveGroups(ctx context.Context, p string, n *node) error {
	if n == nil {
		return nil
	}
	if n.op == filter.AND {
		if err := s.resolveGroups(ctx, p, n.left); err != nil {
			return err
		}
		return s.resolveGroups(ctx, p, n.right)
	}
	return s.resolveGroup(ctx, p, n)
}

// leafTag names a leaf's read (its key and ranges) in the Seq of its
// positions: negative, so never a creation sequence.
func leafTag(n *node) int64 {
	h := fnv.New64a()
	h.Write([]byte(n.key))
	for _, r := range n.ranges {
		h.Write([]byte{0})
		h.Write([]byte(r.min))
		h.Write([]byte{0})
		h.Write([]byte(r.max))
	}
	return -int64(h.Sum64()>>2) - 1
}

// taggedLeaf returns the leaf of n, or of one of its "and"s, whose tag
// is tag: the leaf a position was read from, whatever side would drive
// the plan today.
func taggedLeaf(n *node, tag int64) *node {
	switch {
	case n == nil:
		return nil
	case n.isLeaf():
		if leafTag(n) == tag {
			return n
		}
		return nil
	case n.op == filter.AND:
		if l := taggedLeaf(n.left, tag); l != nil {
			return l
		}
		return taggedLeaf(n.right, tag)
	}
	return nil
}

// keyPosition returns the position of a key's member, value NUL id, read by
// the leaf tagged tag.
func keyPosition(member string, tag int64) resources.Position {
	i := strings.LastIndexByte(member, 0)
	return resources.Position{Seq: tag, HasKey: true, Key: member[:i], ID: member[i+1:]}
}

// lexBounds are ZRANGEBYLEX bounds as Redis takes them: "-", "+", or a
// member after "(" (excluded) or "[" (included).
type lexBounds struct{ min, max string }

// seekRanges returns the parts of ranges (disjoint, ascending) that hold
// the members after at (before at, when before), and at itself when
// inclusive, in ascending order; at "" (no position) takes them whole.
func seekRanges(ranges []lexRange, at string, before, inclusive bool) []lexBounds {
	edge := "("
	if inclusive {
		edge = "["
	}
	var out []lexBounds
	for _, r := range ranges {
		b := lexBounds(r)
		if at != "" {
			hi, inf := r.upper()
			lo := r.lower()
			if !before {
				if !inf && at >= hi {
					continue // the whole range is before at
				}
				if at >= lo {
					b.min = edge + at
				}
			} else {
				if at < lo || at == lo && !inclusive {
					continue // the whole range is after at
				}
				if inf || at < hi {
					b.max = edge + at
				}
			}
		}
		out = append(out, b)
	}
	return out
}

// seekLeaf pages an exact leaf of a single-valued key from a position: the
// count+1 members after it (ZRANGEBYLEX from "(" + member, LIMIT), or
// before it (ZREVRANGEBYLEX), in one round trip with the total (ZLEXCOUNT
// of the ranges) and the entries on the position's other side: O(ranges ×
// (log N + count)), wherever the page is.
func (s *Store) seekLeaf(ctx context.Context, p string, k *kind, n *node, sk resources.Seek, count int, ld load) (resources.Page, error) {
	key, tag := p+n.key, leafTag(n)
	at := ""
	if sk.From != nil {
		at = sk.From.Key + "\x00" + sk.From.ID
	}
	pipe := s.client.Pipeline()
	totals := make([]*redis.IntCmd, len(n.ranges))
	for i, r := range n.ranges {
		totals[i] = pipe.ZLexCount(ctx, key, r.min, r.max)
	}
	var beyond []*redis.IntCmd // entries on the other side of at, at included
	if at != "" {
		for _, b := range seekRanges(n.ranges, at, !sk.Before, true) {
			beyond = append(beyond, pipe.ZLexCount(ctx, key, b.min, b.max))
		}
	}
	var reads []*redis.StringSliceCmd
	ahead := seekRanges(n.ranges, at, sk.Before, false)
	if sk.Before {
		slices.Reverse(ahead)
	}
	for _, b := range ahead {
		by := &redis.ZRangeBy{Min: b.min, Max: b.max, Count: int64(count) + 1}
		if sk.Before {
			reads = append(reads, pipe.ZRevRangeByLex(ctx, key, by))
		} else {
			reads = append(reads, pipe.ZRangeByLex(ctx, key, by))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	var members []string
	for _, c := range reads {
		members = append(members, c.Val()...)
		if len(members) > count {
			break
		}
	}
	more := len(members) > count
	members = members[:min(len(members), count)]
	if sk.Before {
		slices.Reverse(members)
	}
	page := resources.Page{Next: more}
	for _, c := range totals {
		page.Total += int(c.Val())
	}
	for _, c := range beyond {
		page.Previous = page.Previous || c.Val() > 0
	}
	if sk.Before {
		page.Next, page.Previous = page.Previous, page.Next
	}
	ids := make([]string, len(members))
	pos := make([]resources.Position, len(members))
	for i, m := range members {
		pos[i] = keyPosition(m, tag)
		ids[i] = pos[i].ID
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}

// seekDriven pages a plan driven by one of its leaves (see driver) from a
// position in the leaf's order: it streams the whole leaf, as streamPage
// does for the exact total, checking the filter on the documents unless
// the plan is exact (a multi-valued leaf), and keeps the count+1 matches
// next to the position. An id of a multi-valued key stands at its first
// entry. The leaf's entries times the filter's comparisons are charged to
// MaxFilterWork before the first read.
func (s *Store) seekDriven(ctx context.Context, p string, k *kind, q resources.Query, n, drive *node, count int, ld load) (resources.Page, error) {
	est, err := s.estimate(ctx, p, k, drive)
	if err != nil {
		return resources.Page{}, err
	}
	if err := s.checkWork(k, q.Filter, int(est)); err != nil {
		return resources.Page{}, err
	}
	sk := *q.Seek
	at := ""
	if sk.From != nil {
		at = sk.From.Key + "\x00" + sk.From.ID
	}
	mw := s.memberWork(k, q.Filter, n.exact)
	var seen map[string]bool
	if drive.multi {
		seen = map[string]bool{}
	}
	total := 0
	near := seekWindow[string]{before: sk.Before, count: count} // the matches' members
	for _, r := range drive.ranges {
		err := s.walkRange(ctx, p+drive.key, r, false, func(members []string) error {
			firsts := make([]string, 0, len(members))
			for _, m := range members {
				if id := idOf(m); seen != nil {
					if seen[id] {
						continue
					}
					seen[id] = true
				}
				firsts = append(firsts, m)
			}
			matched, err := s.matching(ctx, p, k, q.Filter, n, drive, mw, firsts)
			if err != nil {
				return err
			}
			for i, m := range firsts {
				if !matched[i] {
					continue
				}
				total++
				near.add(m, at == "" || sk.Before && m < at || !sk.Before && m > at)
			}
			return nil
		})
		if err != nil {
			return resources.Page{}, err
		}
	}
	kept, page := near.page(total)
	tag := leafTag(drive)
	ids := make([]string, len(kept))
	pos := make([]resources.Position, len(kept))
	for i, m := range kept {
		pos[i] = keyPosition(m, tag)
		ids[i] = pos[i].ID
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}

// memberWork is what checking a filter on groups costs when it refers to
// their members: its comparisons times their members, charged to
// MaxFilterWork batch by batch before they are loaded, as the matcher
// charges it.
type memberWork struct {
	on          bool // the filter is checked on groups' members
	terms, work int
}

func (s *Store) memberWork(k *kind, e resources.Filter, exact bool) *memberWork {
	w := &memberWork{on: !exact && k.rt.HasMembers && mentions(e, "members")}
	if w.on {
		w.terms = resources.FilterTerms(e)
	}
	return w
}

// charge adds the cost of checking the filter on the groups ids.
func (w *memberWork) charge(ctx context.Context, s *Store, p string, k *kind, ids []string) error {
	if !w.on {
		return nil
	}
	n, err := s.memberCount(ctx, p, ids)
	if err != nil {
		return err
	}
	if w.work += w.terms * (n + len(ids)); w.work > s.MaxFilterWork {
		return resources.Errorf(resources.TooMany,
			"the filter needs its %d comparisons evaluated on the members of the groups, more than the %d evaluations one query may cost; filter on an indexed attribute (%s) first, or with fewer comparisons",
			w.terms, s.MaxFilterWork, k.indexHint())
	}
	return nil
}

// matching reports which of the members (value NUL id) of a key, the
// leaf drive of plan n, are ids of resources matching the filter: all, if
// the plan is exact, as their scores say if every other leaf is read by
// creation score (idLeaves), otherwise as their documents say. It stops
// when ctx ends (the client left).
func (s *Store) matching(ctx context.Context, p string, k *kind, e resources.Filter, n, drive *node, mw *memberWork, members []string) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]bool, len(members))
	if n.exact {
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = idOf(m)
	}
	if checks, ok := idLeaves(n, drive); ok {
		return s.holdByID(ctx, p, k, checks, ids)
	}
	if err := mw.charge(ctx, s, p, k, ids); err != nil {
		return nil, err
	}
	rs, err := s.fetch(ctx, p, k, ids, load{refs: k.groupRefs || mw.on, attrs: true})
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		out[i] = r != nil && resources.Match(resources.Document(k.rt, *r, ""), e)
	}
	return out, nil
}

// seekCreated pages through the ordering set, whose scores (the creation
// sequence) are the positions.
func (s *Store) seekCreated(ctx context.Context, p string, k *kind, sk resources.Seek, count int, ld load) (resources.Page, error) {
	if sk.From != nil && !isCreated(sk.From) {
		return resources.Page{}, invalidCursor()
	}
	page, ids, seqs, err := s.seekScores(ctx, p, k, sk, count)
	if err != nil {
		return resources.Page{}, err
	}
	pos := make([]resources.Position, len(ids))
	for i, id := range ids {
		pos[i] = resources.Position{Seq: seqs[i], ID: id}
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}

// seekScores reads the count resources after sk.From's score in the
// ordering set (before it, when sk.Before), in ascending order, with
// their scores, the total and the page's links.
func (s *Store) seekScores(ctx context.Context, p string, k *kind, sk resources.Seek, count int) (resources.Page, []string, []int64, error) {
	all := p + "all:" + k.name
	pipe := s.client.Pipeline()
	card := pipe.ZCard(ctx, all)
	var rng *redis.ZSliceCmd
	var beyond *redis.IntCmd // results on the other side of From
	if !sk.Before {
		lo := "-inf"
		if sk.From != nil {
			lo = "(" + strconv.FormatInt(sk.From.Seq, 10)
			beyond = pipe.ZCount(ctx, all, "-inf", strconv.FormatInt(sk.From.Seq, 10))
		}
		rng = pipe.ZRangeByScoreWithScores(ctx, all, &redis.ZRangeBy{Min: lo, Max: "+inf", Count: int64(count) + 1})
	} else {
		hi := "+inf"
		if sk.From != nil {
			hi = "(" + strconv.FormatInt(sk.From.Seq, 10)
			beyond = pipe.ZCount(ctx, all, strconv.FormatInt(sk.From.Seq, 10), "+inf")
		}
		rng = pipe.ZRevRangeByScoreWithScores(ctx, all, &redis.ZRangeBy{Min: "-inf", Max: hi, Count: int64(count) + 1})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return resources.Page{}, nil, nil, fmt.Errorf("redis: %w", err)
	}
	zs := rng.Val()
	more := len(zs) > count
	zs = zs[:min(len(zs), count)]
	if sk.Before {
		slices.Reverse(zs)
	}
	ids := make([]string, len(zs))
	seqs := make([]int64, len(zs))
	for i, z := range zs {
		ids[i], _ = z.Member.(string)
		seqs[i] = int64(z.Score)
	}
	page := resources.Page{Total: int(card.Val())}
	other := beyond != nil && beyond.Val() > 0
	page.Next, page.Previous = more, other
	if sk.Before {
		page.Next, page.Previous = other, more
	}
	return page, ids, seqs, nil
}

// seekIndex pages through the index of the attribute sorted by, when it
// orders every resource (see sortedFromIndex): its members, value NUL id,
// are the positions' key and id, in the same order. ok is false when the
// index cannot answer.
func (s *Store) seekIndex(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, bool, error) {
	sk := *q.Seek
	if k.createdSort(q) {
		page, err := s.seekCreatedSorted(ctx, p, k, q, count, ld) // created.go
		return page, true, err
	}
	ix, found := k.paths[strings.ToLower(q.Sort.Attr.FullName())]
	if !found || ix.whole || ix.ix.multi || sk.From != nil && !sk.From.HasKey {
		return resources.Page{}, false, nil
	}
	key := p + "ix:" + k.name + ":" + ix.ix.name
	// Reading up the index is the query's order ascending, or its reverse
	// order descending.
	up := q.Sort.Descending == sk.Before
	args := redis.ZRangeArgs{Key: key, Start: "-", Stop: "+", ByLex: true, Count: int64(count) + 1}
	if !up {
		args.Start, args.Stop, args.Rev = "+", "-", true
	}
	pipe := s.client.Pipeline()
	total := pipe.ZCard(ctx, p+"all:"+k.name)
	indexed := pipe.ZCard(ctx, key)
	var beyond *redis.IntCmd
	if sk.From != nil {
		m := sk.From.Key + "\x00" + sk.From.ID
		args.Start = "(" + m
		if up {
			beyond = pipe.ZLexCount(ctx, key, "-", "["+m)
		} else {
			beyond = pipe.ZLexCount(ctx, key, "["+m, "+")
		}
	}
	rng := pipe.ZRangeArgs(ctx, args)
	if _, err := pipe.Exec(ctx); err != nil {
		return resources.Page{}, false, fmt.Errorf("redis: %w", err)
	}
	if total.Val() != indexed.Val() {
		return resources.Page{}, false, nil // some lack the attribute
	}
	members := rng.Val()
	more := len(members) > count
	members = members[:min(len(members), count)]
	if sk.Before {
		slices.Reverse(members)
	}
	ids := make([]string, 0, len(members))
	pos := make([]resources.Position, 0, len(members))
	for _, m := range members {
		if i := strings.LastIndexByte(m, 0); i >= 0 {
			ids = append(ids, m[i+1:])
			pos = append(pos, resources.Position{HasKey: true, Key: m[:i], ID: m[i+1:]})
		}
	}
	page := resources.Page{Total: int(total.Val())}
	other := beyond != nil && beyond.Val() > 0
	page.Next, page.Previous = more, other
	if sk.Before {
		page.Next, page.Previous = other, more
	}
	page, err := s.seekPage(ctx, p, k, page, ids, pos, ld)
	return page, true, err
}

// seekMatches orders every match of a filtered (or sorted, where no index
// orders every resource) query, within the bounds of an index-paged query
// (MaxScan, MaxFilterWork), and seeks among them. Only the page's resources
// are loaded for the response; documents are read before only to check a
// filter that the indexes answer partly and to read sort keys.
func (s *Store) seekMatches(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, error) {
	if q.Sort == nil && q.Seek.From != nil && !isCreated(q.Seek.From) {
		return resources.Page{}, invalidCursor()
	}
	ids, exact, err := s.candidates(ctx, p, k, q)
	if err != nil {
		return resources.Page{}, err
	}
	seqs, err := s.sequences(ctx, p, k, ids)
	if err != nil {
		return resources.Page{}, err
	}
	var items []resources.Position
	if exact && q.Sort == nil {
		items = make([]resources.Position, 0, len(ids))
		for i, id := range ids {
			if seqs[i] > 0 {
				items = append(items, resources.Position{Seq: seqs[i], ID: id})
			}
		}
	} else if items, err = s.positions(ctx, p, k, q, ids, seqs, exact); err != nil {
		return resources.Page{}, err
	}
	slices.SortFunc(items, func(a, b resources.Position) int { return resources.ComparePositions(q.Sort, a, b) })

	sk := *q.Seek
	var lo, hi int
	if !sk.Before {
		if sk.From != nil {
			lo = sort.Search(len(items), func(i int) bool { return resources.ComparePositions(q.Sort, items[i], *sk.From) > 0 })
		}
		hi = min(lo+count, len(items))
	} else {
		hi = len(items)
		if sk.From != nil {
			hi = sort.Search(len(items), func(i int) bool { return resources.ComparePositions(q.Sort, items[i], *sk.From) >= 0 })
		}
		lo = max(hi-count, 0)
	}
	page := resources.Page{Total: len(items), Previous: lo > 0, Next: hi < len(items)}
	pos := items[lo:hi]
	pageIDs := make([]string, len(pos))
	for i, x := range pos {
		pageIDs[i] = x.ID
	}
	return s.seekPage(ctx, p, k, page, pageIDs, pos, ld)
}

// candidates returns the ids a query may match, as an index-paged query
// bounds them, and whether they are exactly its matches.
func (s *Store) candidates(ctx context.Context, p string, k *kind, q resources.Query) ([]string, bool, error) {
	if q.Filter != nil {
		if n := s.plan(k, q.Filter, false); n != nil {
			ids, err := s.collect(ctx, p, k, n, func(int64) error { return s.matchesTooMany(k, q.Filter) })
			if err != nil {
				return nil, false, err
			}
			if !n.exact {
				if err := s.checkWork(k, q.Filter, len(ids)); err != nil {
					return nil, false, err
				}
			}
			return ids, n.exact, nil
		}
		// co and ew comparisons of indexed attributes may narrow it
		// (narrow.go).
		if nr := k.narrow(q.Filter, false); nr != nil {
			ids, ok, err := s.narrowedIDs(ctx, p, nr)
			if err != nil {
				return nil, false, err
			}
			if ok && !nr.exact {
				err = s.checkWork(k, q.Filter, len(ids))
			}
			if ok || err != nil {
				return ids, nr.exact, err
			}
		}
	}
	all := p + "all:" + k.name
	n, err := s.client.ZCard(ctx, all).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	if n > int64(s.MaxScan) {
		if q.Filter != nil {
			return nil, false, resources.Errorf(resources.TooMany,
				"filter %v needs a full scan of more than %d %ss; %s", q.Filter, s.MaxScan, k.name, k.scanAdvice(q.Filter, s.MaxScan))
		}
		return nil, false, resources.Errorf(resources.TooMany,
			"sorting by %s needs more than %d %ss read; sort by an indexed attribute (%s), or filter first", q.Sort.Attr.FullName(), s.MaxScan, k.name, k.indexHint())
	}
	if q.Filter != nil {
		if err := s.checkWork(k, q.Filter, int(n)); err != nil {
			return nil, false, err
		}
	}
	ids, err := s.client.ZRange(ctx, all, 0, -1).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	return ids, q.Filter == nil, nil
}

// sequences returns the creation sequence of each of ids, 0 for those
// deleted meanwhile.
func (s *Store) sequences(ctx context.Context, p string, k *kind, ids []string) ([]int64, error) {
	const chunk = 1000
	out := make([]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := s.client.Pipeline()
	var cmds []*redis.FloatSliceCmd
	for i := 0; i < len(ids); i += chunk {
		cmds = append(cmds, pipe.ZMScore(ctx, p+"all:"+k.name, ids[i:min(i+chunk, len(ids))]...))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis: %w", err)
	}
	for c, cmd := range cmds {
		for i, sc := range cmd.Val() {
			out[c*chunk+i] = int64(sc) // missing: read as 0; sequences start at 1
		}
	}
	return out, nil
}

// positions reads the documents of ids, batch by batch, keeping those that
// match the filter (unless exact) with their positions. A filter on groups'
// members is charged to MaxFilterWork as the matcher charges it.
func (s *Store) positions(ctx context.Context, p string, k *kind, q resources.Query, ids []string, seqs []int64, exact bool) ([]resources.Position, error) {
	mw := s.memberWork(k, q.Filter, exact)
	byMembers := q.Sort != nil && q.Sort.Attr.Attr.Name() == "members"
	ld := load{refs: k.groupRefs || mw.on || byMembers, attrs: true}
	var out []resources.Position
	for start := 0; start < len(ids); start += scanBatch {
		if err := ctx.Err(); err != nil {
			return nil, err // the client left: stop examining
		}
		batch := ids[start:min(start+scanBatch, len(ids))]
		if err := mw.charge(ctx, s, p, k, batch); err != nil {
			return nil, err
		}
		rs, err := s.fetch(ctx, p, k, batch, ld)
		if err != nil {
			return nil, err
		}
		for i, r := range rs {
			seq := seqs[start+i]
			if r == nil || seq == 0 {
				continue
			}
			doc := resources.Document(k.rt, *r, "")
			if !exact && !resources.Match(doc, q.Filter) {
				continue
			}
			pos := resources.Position{Seq: seq, ID: r.ID}
			if q.Sort != nil {
				pos.Key, pos.HasKey = q.Sort.PositionKey(doc)
			}
			out = append(out, pos)
		}
	}
	return out, nil
}

// seekPage loads the resources of a page, ids at positions pos, into page;
// those deleted meanwhile are left out with their positions.
func (s *Store) seekPage(ctx context.Context, p string, k *kind, page resources.Page, ids []string, pos []resources.Position, ld load) (resources.Page, error) {
	rs, err := s.fetch(ctx, p, k, ids, ld)
	if err != nil {
		return resources.Page{}, err
	}
	page.Resources = make([]resources.Resource, 0, len(rs))
	page.Positions = make([]resources.Position, 0, len(rs))
	for i, r := range rs {
		if r != nil {
			page.Resources = append(page.Resources, *r)
			page.Positions = append(page.Positions, pos[i])
		}
	}
	return page, nil
}

// seekWindow keeps, while a stream in the plan's order passes a cursor's
// position, the count matches next to it on the seek's side (and one more,
// which says a page follows), and whether any match lies on the other side.
type seekWindow[T any] struct {
	before bool // seeking backwards: keep the last matches before the position
	count  int
	kept   []T  // count+1 at most
	other  bool // a match on the position's other side
}

// add offers a match; ahead says it lies on the seek's side of the position.
func (w *seekWindow[T]) add(v T, ahead bool) {
	switch {
	case !ahead:
		w.other = true
	case !w.before:
		if len(w.kept) <= w.count {
			w.kept = append(w.kept, v)
		}
	default:
		if w.kept = append(w.kept, v); len(w.kept) > w.count+1 {
			w.kept = w.kept[1:]
		}
	}
}

// page returns the page's matches, in order, and its page of total matches
// with its links: Next and Previous as the seek's direction reads them.
func (w *seekWindow[T]) page(total int) ([]T, resources.Page) {
	kept, more := w.kept, len(w.kept) > w.count
	if w.before {
		kept = kept[max(len(kept)-w.count, 0):]
	} else {
		kept = kept[:min(len(kept), w.count)]
	}
	page := resources.Page{Total: total, Next: more, Previous: w.other}
	if w.before {
		page.Next, page.Previous = w.other, more
	}
	return kept, page
}
