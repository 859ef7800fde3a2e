package backend

// How a filter becomes Redis reads (the package documentation's "Queries"
// section says the same for a reader of the docs).
//
//  1. plan maps the filter onto the indexes: a tree of nodes whose leaves
//     are range reads of one sorted set of "value NUL id" members (an
//     index ix:<kind>:<attr>, or a group's morder:<gid> for groups.value eq
//     and groups.display eq, membership.go, or for co and ew on an
//     attribute opted in to substring search the "and" of its value's
//     trigrams in ix:<kind>:<attr>#3, substring.go), and "members.value
//     eq", whose ids are the
//     user's groups read from ugroups:<userId> (collected), and the leaves
//     read by creation score from the ordering set: active (eq, ne, pr,
//     and their "not"s, active.go) and a users' meta.created, a span of
//     all:user's scores (created.go; "and" intersects two spans, an
//     overlapping "or" unites them, a "not" of a one-sided one is the
//     other side). A node is exact
//     when the ids it yields are the filter's matches; otherwise they are
//     candidates, to check on the documents with resources.Match.
//  2. list (query.go) picks how to answer from the plan's shape:
//     - a "not" of an exact plan: the complement of its ids in creation
//       order (complement.go), the total the ordering set's size less theirs;
//     - no plan (ne, other nots, co and ew without a trigram index,
//       attributes without an index): scan the
//       organization in creation order, bounded by MaxScan and MaxFilterWork;
//       but when co and ew comparisons on indexed attributes narrow it,
//       the ids of the index entries whose values hold the operand, at
//       most MaxScan entries read, in creation order (narrow.go);
//     - userName eq: one script round trip (the userName hash read and the
//       user, usernames.go);
//     - an exact leaf read by creation score (active, a users'
//       meta.created): activePage, its total counted and its page found by
//       rank, whatever the number of matches;
//     - an exact leaf on a single-valued key: leafPage, a page read straight
//       from the key (ZLEXCOUNT for the total, ZRANGEBYLEX LIMIT for the
//       page), whatever the number of matches;
//     - otherwise, when the plan has a leaf to drive it (driver): stream the
//       driving leaf's ids in its order, batch by batch (walk), checking the
//       filter on the documents unless the plan is exact, counting every
//       match and keeping the page's (streamPage);
//     - an or of different keys whose branches are each streamed from one
//       leaf: a merge (merge.go), branch by branch in the filter's
//       order, each in its leaf's order, a resource counted at the first
//       branch it matches (later branches' documents are checked against
//       the filters before them), charged to MaxFilterWork before reading;
//     - otherwise (an or with a members.value eq branch, members.value eq):
//       collect the ids (run), within MaxScan, and order them by creation.
//
// Results of an indexed filter are thus in the order of the key read: the
// index's (value, then id), the group's members' (display, then id), the
// merge's (branch by branch), or creation order for scans, complements,
// collected unions and the leaves read by creation score. RFC 7644 §3.4.2.3 leaves
// the order of unsorted results to the provider; this one is stable from
// page to page while the data is unchanged.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// node is a filter planned onto the indexes. A leaf is a range read of one
// sorted set whose members are "value NUL id" (key and ranges), or, for
// members.value eq, a user's groups (groupsOf). exact reports whether
// the ids a node yields are exactly the matches of its filter; otherwise
// they are candidates, a superset, to check with resources.Match.
type node struct {
	// leaf: a range read of one sorted set
	key    string     // after the organization's prefix: "ix:user:userName", "morder:<gid>"
	ranges []lexRange // disjoint and ascending
	// multi: one id may have several entries in key (emails.value).
	multi bool
	// ix is the index read, when key is one (not for a group's members).
	ix indexAttr
	// group is set when key is the group's morder: the members, read only
	// once the order is whole (see member_pages.go).
	group string
	// groupName: groups.display eq, the folded name of the group whose
	// morder the leaf reads, bound at its first read (resolveGroup).
	groupName string
	// groupsOf: members.value eq, not a range read: the ids are the groups
	// of this user (userGroupIDs), collected.
	groupsOf string
	// active: a leaf read in creation order from the ordering set, not a
	// range read: a comparison of a sparse boolean (active.go), the mode
	// of its read of the exceptions set, or of a user's meta.created
	// (activeCreated, created.go), the scores within span.
	active string
	span   seqSpan
	// unique: the leaf is "userName eq unique" (folded), which holds one
	// id at most (see kind.uniqueUserName): one script round trip answers
	// it with the user (findByUserName).
	unique string

	// inner: and, or
	op          filter.LogicalOperator
	left, right *node

	exact bool
}

// isLeaf reports whether n is a range read of one sorted set.
func (n *node) isLeaf() bool { return n.key != "" }

// lexRange is a range of ZRANGEBYLEX bounds: min is "-" or "[" value, max
// is "+" or "(" value, so every range is half-open, [min, max).
type lexRange struct{ min, max string }

// wholeSet is the range of every member of a sorted set.
var wholeSet = lexRange{"-", "+"}

// lower and upper return a range's bounds as values, "" and inf standing
// for the set's ends.
func (r lexRange) lower() string { return strings.TrimPrefix(strings.TrimPrefix(r.min, "-"), "[") }
func (r lexRange) upper() (v string, inf bool) {
	if r.max == "+" {
		return "", true
	}
	return r.max[1:], false
}

// union returns the union of two lists of disjoint ascending ranges, as
// one such list: an or of ranges of one key reads each entry once.
func union(a, b []lexRange) []lexRange {
	rs := slices.Concat(a, b)
	slices.SortFunc(rs, func(x, y lexRange) int { return strings.Compare(x.lower(), y.lower()) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		hi, inf := last.upper()
		if !inf && r.lower() > hi { // disjoint ([a, b) and [c, d) with b < c)
			out = append(out, r)
			continue
		}
		if rhi, rinf := r.upper(); inf || !rinf && rhi <= hi {
			continue // within last
		}
		last.max = r.max
	}
	return out
}

// plan maps a filter onto the indexes; nil means no index helps. Inside a
// value path (emails[value sw "a"]) leaves are candidates only.
func (s *Store) plan(k *kind, e resources.Filter, inValuePath bool) *node {
	switch e := e.(type) {
	case *resources.Comparison:
		n := s.planLeaf(k, e)
		if n != nil && inValuePath {
			n.exact = false
		}
		return n
	case *resources.ValuePath:
		// A value path's comparisons name their sub-attribute in full: one
		// comparison is the comparison of that path (emails[value eq "x"]
		// is emails.value eq "x"): as exact. Several may hold of different
		// values: candidates.
		_, one := e.Filter.(*resources.Comparison)
		return s.plan(k, e.Filter, inValuePath || !one)
	case *resources.Logical:
		l, r := s.plan(k, e.Left, inValuePath), s.plan(k, e.Right, inValuePath)
		switch e.Op {
		case filter.AND:
			if l == nil && r == nil {
				return nil
			}
			if l == nil || r == nil {
				if l == nil {
					l = r
				}
				return &node{op: filter.AND, left: l, exact: false}
			}
			if l.isCreatedLeaf() && r.isCreatedLeaf() {
				// Spans of one ordering set: one leaf, their intersection.
				m := *l
				m.span, m.exact = l.span.intersect(r.span), l.exact && r.exact
				return &m
			}
			return &node{op: filter.AND, left: l, right: r, exact: false}
		case filter.OR:
			if l == nil || r == nil {
				return nil
			}
			if l.isLeaf() && r.isLeaf() && l.key == r.key && l.groupName == r.groupName {
				// Ranges of one key: one leaf, read in the key's order.
				m := *l
				m.ranges, m.exact = union(l.ranges, r.ranges), l.exact && r.exact
				m.unique = ""
				if isTrigramIndex(m.ix.name) && len(m.ranges) > 1 {
					// A user has an entry in each of its trigrams' ranges:
					// in several ranges, an id repeats (substring.go).
					m.multi, m.ix.multi = true, true
				}
				return &m
			}
			if l.isCreatedLeaf() && r.isCreatedLeaf() && l.span.joins(r.span) {
				m := *l
				m.span, m.exact = l.span.union(r.span), l.exact && r.exact
				return &m
			}
			return &node{op: filter.OR, left: l, right: r, exact: l.exact && r.exact}
		}
	case *resources.Not:
		// A span of meta.created open on one side: the rest is a span too.
		// A leaf of active: the leaf of the other mode (active.go). Other
		// "not"s are complements (complement.go) or scans.
		n := s.plan(k, e.Filter, inValuePath)
		if n.isCreatedLeaf() && n.exact {
			if span, ok := n.span.complement(); ok {
				m := *n
				m.span = span
				return &m
			}
		}
		if n != nil && n.exact && activeNegation[n.active] != "" {
			return &node{active: activeNegation[n.active], exact: true}
		}
	}
	return nil
}

// planLeaf plans one comparison: a range of an index, a group's members or
// a user's groups (membership.go); nil when no index answers it.
func (s *Store) planLeaf(k *kind, e *resources.Comparison) *node {
	if n := membershipLeaf(k, e); n != nil {
		return n
	}
	if n := substringPlan(k, e); n != nil { // substring.go
		return n
	}
	op := e.Op
	ix, whole, ok := k.indexOf(e)
	if !ok || whole && op == filter.PR {
		// A complex attribute compared as a whole compares its "value"
		// (emails eq "x" is emails.value eq "x"), but "pr" is about the whole.
		return nil
	}
	if ix.sparse {
		return sparseLeaf(k, op, e.Value) // active.go
	}
	if ix.name == "meta.created" && k.createdByScore() {
		return createdLeaf(op, e.Value) // created.go
	}
	n := &node{key: "ix:" + k.name + ":" + ix.name, ix: ix, multi: ix.multi, exact: true}
	if op == filter.PR {
		if ix.typ == schemas.TypeString || ix.typ == schemas.TypeReference {
			n.ranges = []lexRange{{"[\x01", "+"}} // empty strings (references too) are not present
		} else {
			n.ranges = []lexRange{wholeSet}
		}
		return n
	}
	var v string
	switch ix.typ {
	case schemas.TypeBoolean:
		b, ok := resources.ParseBool(e.Value)
		if !ok || op != filter.EQ {
			return nil
		}
		v = fmt.Sprint(b)
	case schemas.TypeDateTime:
		str, ok := e.Value.(string)
		if !ok {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return nil
		}
		v = t.UTC().Format(tsFormat)
	default:
		str, ok := e.Value.(string)
		if !ok || strings.IndexByte(str, 0) >= 0 {
			return nil
		}
		v = str
		if !ix.caseExact {
			v = strings.ToLower(v)
		}
	}
	var r lexRange
	switch op {
	case filter.EQ:
		if k.uniqueUserName && ix.name == k.unique {
			n.unique = v
		}
		r = lexRange{"[" + v + "\x00", "(" + v + "\x01"}
	case filter.SW:
		if ix.typ != schemas.TypeString {
			return nil
		}
		r = lexRange{"[" + v, "(" + v + "\xff"}
	case filter.GT:
		r = lexRange{"[" + v + "\x01", "+"}
	case filter.GE:
		r = lexRange{"[" + v + "\x00", "+"}
	case filter.LT:
		r = lexRange{"-", "(" + v + "\x00"}
	case filter.LE:
		r = lexRange{"-", "(" + v + "\x01"}
	default: // ne, co, ew: evaluated on documents
		return nil
	}
	n.ranges = []lexRange{r}
	return n
}

// idOf returns the id of a sorted set's member, value NUL id.
func idOf(member string) string { return member[strings.LastIndexByte(member, 0)+1:] }

// leafPage answers an exact leaf of a single-valued key: the total is the
// ranges' ZLEXCOUNT, the page a ZRANGEBYLEX LIMIT, whatever the number of
// matches: one round trip for one range, O(log N + startIndex + count).
// Past deepPage the page is read by rank instead (rankWindow): two round
// trips, O(log N + count).
func (s *Store) leafPage(ctx context.Context, p string, k *kind, n *node, w window, ld load) (resources.Page, error) {
	if err := s.resolveGroup(ctx, p, n); err != nil {
		return resources.Page{}, err
	}
	key := p + n.key
	for attempt := 0; ; attempt++ {
		pipe := s.client.Pipeline()
		counts := make([]*redis.IntCmd, len(n.ranges))
		for i, r := range n.ranges {
			counts[i] = pipe.ZLexCount(ctx, key, r.min, r.max)
		}
		var members *redis.IntCmd
		if n.group != "" {
			members = pipe.HLen(ctx, p+"members:"+n.group)
		}
		var rng *redis.StringSliceCmd
		var before *redis.IntCmd // entries of the key before the range, for a deep page
		deep := len(n.ranges) == 1 && w.start >= deepPage && w.count > 0
		if deep && n.ranges[0].min != "-" {
			before = pipe.ZLexCount(ctx, key, "-", "("+n.ranges[0].lower())
		} else if !deep && len(n.ranges) == 1 && w.count > 0 {
			r := n.ranges[0]
			rng = pipe.ZRangeByLex(ctx, key, &redis.ZRangeBy{Min: r.min, Max: r.max, Offset: int64(w.start), Count: int64(w.count)})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
		total := int64(0)
		for _, c := range counts {
			total += c.Val()
		}
		if members != nil && members.Val() != total && attempt == 0 {
			// A group whose order is not whole (written before it existed):
			// rebuilt once, as a page of its members would.
			if err := s.rebuildMemberOrder(ctx, p+"members:"+n.group, key); err != nil {
				return resources.Page{}, err
			}
			continue
		}
		var got []string
		switch {
		case rng != nil:
			got = rng.Val()
		case deep:
			first := int64(0) // the range starts the key
			if before != nil {
				first = before.Val()
			}
			var err error
			if got, err = s.rankWindow(ctx, key, n.ranges[0], first, total, w); err != nil {
				return resources.Page{}, err
			}
		case w.count > 0:
			var err error
			if got, err = s.rangesWindow(ctx, key, n.ranges, counts, w); err != nil {
				return resources.Page{}, err
			}
		}
		ids := make([]string, len(got))
		for i, m := range got {
			ids[i] = idOf(m)
		}
		return s.page(ctx, p, k, int(total), ids, ld)
	}
}

// deepPage is the startIndex from which a page of one range is read by rank
// (rankWindow) rather than by ZRANGEBYLEX LIMIT, whose offset Redis walks
// entry by entry.
const deepPage = 2000

// contains reports whether member is within the range.
func (r lexRange) contains(member string) bool {
	if member < r.lower() {
		return false
	}
	hi, inf := r.upper()
	return inf || member < hi
}

// rankWindow reads window w of a range that starts at rank first and holds
// total entries: ZRANGE by rank, O(log N + count) however deep. The ranks
// come from the round trip before; members a concurrent write moved out of
// the range are left out.
func (s *Store) rankWindow(ctx context.Context, key string, r lexRange, first, total int64, w window) ([]string, error) {
	if int64(w.start) >= total {
		return nil, nil
	}
	lo := first + int64(w.start)
	hi := min(lo+int64(w.count), first+total) - 1
	members, err := s.client.ZRange(ctx, key, lo, hi).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return slices.DeleteFunc(members, func(m string) bool { return !r.contains(m) }), nil
}

// rangesWindow reads the members in window w of several disjoint ranges
// taken in order, whose counts are known. A range entered deeper than
// deepPage is read by rank (its first rank counted first, one more round
// trip): a ZRANGEBYLEX LIMIT walks its offset (220 ms for 900,000 entries,
// every other client waiting).
func (s *Store) rangesWindow(ctx context.Context, key string, ranges []lexRange, counts []*redis.IntCmd, w window) ([]string, error) {
	type part struct {
		r          lexRange
		skip, want int64
		first      *redis.IntCmd // the range's first rank, for a deep part
	}
	var parts []*part
	skip, want := int64(w.start), int64(w.count)
	for i, r := range ranges {
		c := counts[i].Val()
		if skip >= c {
			skip -= c
			continue
		}
		parts = append(parts, &part{r: r, skip: skip, want: min(c-skip, want)})
		want -= min(c-skip, want)
		skip = 0
		if want == 0 {
			break
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	for _, pt := range parts {
		if pt.skip >= deepPage && pt.r.min != "-" {
			pt.first = pipe.ZLexCount(ctx, key, "-", "("+pt.r.lower())
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	pipe = s.client.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(parts))
	for i, pt := range parts {
		if pt.skip < deepPage {
			cmds[i] = pipe.ZRangeByLex(ctx, key, &redis.ZRangeBy{Min: pt.r.min, Max: pt.r.max, Offset: pt.skip, Count: pt.want})
			continue
		}
		lo := pt.skip
		if pt.first != nil {
			lo += pt.first.Val()
		}
		cmds[i] = pipe.ZRange(ctx, key, lo, lo+pt.want-1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	var out []string
	for i, c := range cmds {
		got := c.Val()
		if parts[i].skip >= deepPage {
			// Members a concurrent write moved out of the range are left out.
			got = slices.DeleteFunc(got, func(m string) bool { return !parts[i].r.contains(m) })
		}
		out = append(out, got...)
	}
	return out[:min(len(out), w.count)], nil
}

// driver returns the leaf whose ids, streamed in its order, drive the
// answer of n, with its estimated number of entries: the side of an "and"
// with the fewest, recursively. ok is false when the fewest are those of
// an "or" that is not one leaf: they are collected instead (run).
func (s *Store) driver(ctx context.Context, p string, k *kind, n *node) (leaf *node, est int64, ok bool, err error) {
	return s.chooseDriver(ctx, p, k, n, false)
}

// leafDriver is driver among the sides of "and"s that a leaf drives only:
// the one with the fewest entries, ok false when there is none (a cursor
// walk of a merge whose branch's cheapest side became an "or", merge.go).
func (s *Store) leafDriver(ctx context.Context, p string, k *kind, n *node) (leaf *node, est int64, ok bool, err error) {
	return s.chooseDriver(ctx, p, k, n, true)
}

// chooseDriver is driver, or leafDriver when leafOnly is set.
func (s *Store) chooseDriver(ctx context.Context, p string, k *kind, n *node, leafOnly bool) (leaf *node, est int64, ok bool, err error) {
	if n.op != filter.AND {
		est, err = s.estimate(ctx, p, k, n)
		return n, est, n.isLeaf() || n.active != "", err
	}
	leaf, est, ok, err = s.chooseDriver(ctx, p, k, n.left, leafOnly)
	if err != nil || n.right == nil {
		return leaf, est, ok, err
	}
	r, rest, rok, err := s.chooseDriver(ctx, p, k, n.right, leafOnly)
	if err != nil {
		return nil, 0, false, err
	}
	if leafOnly && ok != rok {
		if rok {
			return r, rest, true, nil
		}
		return leaf, est, true, nil
	}
	if rest < est {
		return r, rest, rok, nil
	}
	return leaf, est, ok, nil
}

// streamPage answers a filter driven by one leaf (see driver): it streams
// the leaf's ids in its order, counts the matches and keeps the page's.
// Unless the plan is exact, the filter is checked on every document the
// leaf yields: that costs the leaf's entries (est) times the filter's
// comparisons, charged to MaxFilterWork before the first read. An exact
// plan here is a multi-valued leaf, whose ids are counted once each
// without reading a document, or an "and" of exact leaves whose other
// leaves are read by creation score (idLeaves: active eq true and userName
// sw "a"), whose ids are checked by their scores, a command per batch;
// their entries are charged the same way.
func (s *Store) streamPage(ctx context.Context, p string, k *kind, q resources.Query, n, drive *node, est int64, w window, ld load) (resources.Page, error) {
	if err := s.checkWork(k, q.Filter, int(est)); err != nil {
		return resources.Page{}, err
	}
	checks, byID := idLeaves(n, drive)
	if !n.exact && !byID {
		m := s.matcher(k, q.Filter, w, q.WithMembers)
		err := s.walk(ctx, p, k, drive, func(ids []string) error { return m.add(ctx, s, p, ids) })
		if err != nil {
			return resources.Page{}, err
		}
		return m.page, nil
	}
	var pageIDs []string
	total := 0
	err := s.walk(ctx, p, k, drive, func(ids []string) error {
		holds, err := s.holdByID(ctx, p, k, checks, ids)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if !holds[i] {
				continue
			}
			if total >= w.start && total < w.start+w.count {
				pageIDs = append(pageIDs, id)
			}
			total++
		}
		return nil
	})
	if err != nil {
		return resources.Page{}, err
	}
	return s.page(ctx, p, k, total, pageIDs, ld)
}

// walk calls fn with the ids a leaf yields, in the order of its key, batch
// by batch, each id once (see walkMembers). It stops when ctx ends (the
// client left).
func (s *Store) walk(ctx context.Context, p string, k *kind, n *node, fn func(ids []string) error) error {
	if n.active != "" {
		return s.walkActive(ctx, p, k, n, fn)
	}
	return s.walkMembers(ctx, p, k, n, func(members []string) error {
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = idOf(m)
		}
		return fn(ids)
	})
}

// walkRange calls fn with the members of one range of a sorted set, in
// order (reversed when rev), scanBatch at a time: each batch starts past
// the last member of the one before, O(log N + scanBatch). It stops when
// ctx ends.
func (s *Store) walkRange(ctx context.Context, key string, r lexRange, rev bool, fn func(members []string) error) error {
	return s.walkRangeBy(ctx, key, r, rev, scanBatch, fn)
}

// walkRangeBy is walkRange, batch members at a time.
func (s *Store) walkRangeBy(ctx context.Context, key string, r lexRange, rev bool, batch int, fn func(members []string) error) error {
	lo, hi := r.min, r.max
	for {
		if err := ctx.Err(); err != nil {
			return err // the client left: stop reading
		}
		by := &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(batch)}
		var members []string
		var err error
		if rev {
			members, err = s.client.ZRevRangeByLex(ctx, key, by).Result()
		} else {
			members, err = s.client.ZRangeByLex(ctx, key, by).Result()
		}
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		if len(members) > 0 {
			if err := fn(members); err != nil {
				return err
			}
		}
		if len(members) < batch {
			return nil
		}
		last := members[len(members)-1]
		if rev {
			hi = "(" + last
		} else {
			lo = "(" + last
		}
	}
}

// idBatch is how many index members one read of [Store.run] returns: at a
// million members, Redis takes about 7 ms to answer it (a read of 100,000
// took 73 ms, every other client waiting). A variable so that tests can
// make batches small.
var idBatch = 10000

// collect returns the ids a planned node yields ([Store.run]), at most
// MaxScan of them: past that it fails with tooMany(the estimate) before it
// reads any. The ids come in one reply per range, which Redis builds while
// every other client waits (a million ids took it half a second), and
// scimd holds them all: the bound is checked on the estimate, an upper
// bound, before the read, and on the ids read, in case writes added some
// meanwhile.
func (s *Store) collect(ctx context.Context, p string, k *kind, n *node, tooMany func(est int64) error) ([]string, error) {
	est, err := s.estimate(ctx, p, k, n)
	if err != nil {
		return nil, err
	}
	if est > int64(s.MaxScan) {
		return nil, tooMany(est)
	}
	ids, err := s.run(ctx, p, k, n)
	if err != nil {
		return nil, err
	}
	if len(ids) > s.MaxScan {
		return nil, tooMany(int64(len(ids)))
	}
	return ids, nil
}

// run returns the ids a planned node yields, without repeats: the
// collecting plan, for an "or" of different keys and members.value eq, the
// ids a "not" leaves out, and cursors. Callers read through
// [Store.collect], which bounds them.
func (s *Store) run(ctx context.Context, p string, k *kind, n *node) ([]string, error) {
	if err := s.resolveGroup(ctx, p, n); err != nil {
		return nil, err
	}
	switch {
	case n.active != "":
		return s.activeIDs(ctx, p, k, n)
	case n.group != "":
		return s.groupMembers(ctx, p, n.group)
	case n.groupsOf != "":
		return s.userGroupIDs(ctx, p, n.groupsOf)
	case n.op == filter.AND:
		side := n.left
		if n.right != nil {
			l, err := s.estimate(ctx, p, k, n.left)
			if err != nil {
				return nil, err
			}
			r, err := s.estimate(ctx, p, k, n.right)
			if err != nil {
				return nil, err
			}
			if r < l {
				side = n.right
			}
		}
		return s.run(ctx, p, k, side)
	case n.op == filter.OR:
		l, err := s.run(ctx, p, k, n.left)
		if err != nil {
			return nil, err
		}
		r, err := s.run(ctx, p, k, n.right)
		if err != nil {
			return nil, err
		}
		return dedupe(append(l, r...)), nil
	}
	// The ranges' first batches in one pipeline, then each full one's next
	// batches: Redis builds each reply while its other clients wait.
	var ids []string
	pending := slices.Clone(n.ranges)
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err // the client left
		}
		pipe := s.client.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(pending))
		for i, r := range pending {
			cmds[i] = pipe.ZRangeByLex(ctx, p+n.key, &redis.ZRangeBy{Min: r.min, Max: r.max, Count: int64(idBatch)})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		next := pending[:0]
		for i, c := range cmds {
			ms := c.Val()
			for _, m := range ms {
				ids = append(ids, idOf(m))
			}
			if len(ms) == idBatch {
				next = append(next, lexRange{min: "(" + ms[len(ms)-1], max: pending[i].max})
			}
		}
		pending = next
	}
	if n.multi {
		ids = dedupe(ids)
	}
	return ids, nil
}

// estimate returns an upper bound of the number of ids a node yields,
// cheaply: O(log N) per range. For a single-valued leaf it is exact.
func (s *Store) estimate(ctx context.Context, p string, k *kind, n *node) (int64, error) {
	if err := s.resolveGroup(ctx, p, n); err != nil {
		return 0, err
	}
	switch {
	case n.active != "":
		return s.activeCount(ctx, p, k, n)
	case n.group != "":
		return s.memberTotal(ctx, p, n.group)
	case n.groupsOf != "":
		return s.userGroupCount(ctx, p, n.groupsOf)
	case n.op == filter.AND:
		l, err := s.estimate(ctx, p, k, n.left)
		if err != nil || n.right == nil {
			return l, err
		}
		r, err := s.estimate(ctx, p, k, n.right)
		return min(l, r), err
	case n.op == filter.OR:
		l, err := s.estimate(ctx, p, k, n.left)
		if err != nil {
			return 0, err
		}
		r, err := s.estimate(ctx, p, k, n.right)
		return l + r, err
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(n.ranges))
	for i, r := range n.ranges {
		cmds[i] = pipe.ZLexCount(ctx, p+n.key, r.min, r.max)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	total := int64(0)
	for _, c := range cmds {
		total += c.Val()
	}
	return total, nil
}
