package backend

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// A user's creation time is its score in the ordering set all:user, in Unix
// microseconds: the create script (writeUserSrc) takes now to the
// microsecond, or a microsecond after the last user's score if that is
// not before, so that scores stay unique and grow with creation; the
// user's meta.created (and its meta.lastModified at creation) is that
// time. No index of meta.created is kept for users: the ordering set is
// one, in creation order, which is meta.created order.
//
// A users' comparison of meta.created (eq, gt, ge, lt, le, pr) is thus a
// leaf read from the ordering set by score (node.active activeCreated,
// within node.span), exact: totalResults is ZCOUNT, a page
// ZRANGEBYSCORE LIMIT (or by rank, deep), and streams, merges and cursors
// read it as they read a leaf of active (active.go), in creation order, by
// creation positions. An "and" of two such leaves is one leaf of the
// intersection, an "or" of overlapping ones one of the union, and a "not"
// of one open on one side one leaf of the rest. sortBy=meta.created is
// creation order.
//
// Filter times have up to nanosecond precision; a score s stands for the
// time s*1000 ns, so a bound maps to whole microseconds exactly: gt t is s
// >= floor(t/1µs)+1, ge t is s >= ceil(t/1µs), lt t is s <= ceil(t/1µs)-1,
// le t is s <= floor(t/1µs), and eq t holds no user unless t is a whole
// microsecond.
//
// A store written before kept ix:user:meta.created (legacyCreatedIndex),
// the ordering set scored by a creation sequence (INCR seq), and users'
// created to the nanosecond. Store.Upgrade converts it (upgradeCreated):
// until the index is gone, queries plan meta.created onto it as before
// (kind.createdPending) and creations add their entry to it.

// legacyCreatedIndex is the earlier layout's index of the users'
// meta.created, after the organization's prefix.
const legacyCreatedIndex = "ix:user:meta.created"

// createdEpoch divides the ordering set's scores of users: above it,
// creation times in microseconds (it is 1973-03-03); below it, the
// creation sequences of a store written before, not yet converted.
const createdEpoch = 100_000_000_000_000

// activeCreated is the mode of a creation-order leaf of meta.created: the
// ordering set within the leaf's span, every user of it.
const activeCreated = "created"

// seqSpan is an inclusive range of scores of an ordering set.
type seqSpan struct{ lo, hi int64 }

// wholeSpan is every score.
var wholeSpan = seqSpan{math.MinInt64, math.MaxInt64}

// min and max return the span's bounds as ZRANGEBYSCORE takes them.
func (r seqSpan) min() string {
	if r.lo == math.MinInt64 {
		return "-inf"
	}
	return strconv.FormatInt(r.lo, 10)
}

func (r seqSpan) max() string {
	if r.hi == math.MaxInt64 {
		return "+inf"
	}
	return strconv.FormatInt(r.hi, 10)
}

func (r seqSpan) intersect(o seqSpan) seqSpan {
	return seqSpan{max(r.lo, o.lo), min(r.hi, o.hi)}
}

// joins reports whether the union of two spans is a span.
func (r seqSpan) joins(o seqSpan) bool {
	if r.lo > r.hi || o.lo > o.hi {
		return true // one is empty
	}
	lo, hi := r, o
	if o.lo < r.lo {
		lo, hi = o, r
	}
	return lo.hi == math.MaxInt64 || hi.lo <= lo.hi+1
}

// union returns the span of two that join.
func (r seqSpan) union(o seqSpan) seqSpan {
	switch {
	case r.lo > r.hi:
		return o
	case o.lo > o.hi:
		return r
	}
	return seqSpan{min(r.lo, o.lo), max(r.hi, o.hi)}
}

// complement returns the scores out of the span, when they are a span.
func (r seqSpan) complement() (seqSpan, bool) {
	switch {
	case r.lo > r.hi:
		return wholeSpan, true
	case r == wholeSpan:
		return seqSpan{1, 0}, true
	case r.lo == math.MinInt64:
		return seqSpan{r.hi + 1, math.MaxInt64}, true
	case r.hi == math.MaxInt64:
		return seqSpan{math.MinInt64, r.lo - 1}, true
	}
	return seqSpan{}, false
}

// clip narrows ZRANGEBYSCORE bounds lo and hi ("-inf", "(12", "12",
// "+inf") to the span, as inclusive bounds of whole scores.
func (r seqSpan) clip(lo, hi string) (string, string) {
	return r.intersect(seqSpan{scoreBound(lo, true), scoreBound(hi, false)}).bounds()
}

func (r seqSpan) bounds() (string, string) { return r.min(), r.max() }

// scoreBound reads a ZRANGEBYSCORE bound of whole scores as an inclusive
// one: a lower bound when lower.
func scoreBound(b string, lower bool) int64 {
	switch b {
	case "-inf":
		return math.MinInt64
	case "+inf":
		return math.MaxInt64
	}
	v, excl := strings.CutPrefix(b, "(")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		if lower {
			return math.MaxInt64 // unreadable: nothing
		}
		return math.MinInt64
	}
	n := int64(f)
	if excl && lower {
		n++
	} else if excl {
		n--
	}
	return n
}

// createdByScore reports whether k's meta.created is its score in the
// ordering set (a user's, once the organization is converted).
func (k *kind) createdByScore() bool { return k.createdScored && !k.createdPending }

// createdLeaf plans a comparison of a user's meta.created as a span of
// the ordering set (see the top of this file); nil for ne, co, ew, sw and
// values that are no time.
func createdLeaf(op filter.CompareOperator, v any) *node {
	n := &node{active: activeCreated, span: wholeSpan, exact: true}
	if op == filter.PR {
		return n
	}
	str, ok := v.(string)
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return nil
	}
	floor := t.Unix()*1_000_000 + int64(t.Nanosecond()/1000) // Nanosecond is never negative
	ceil := floor
	if t.Nanosecond()%1000 != 0 {
		ceil++
	}
	switch op {
	case filter.EQ:
		n.span = seqSpan{ceil, floor} // empty unless a whole microsecond
	case filter.GT:
		n.span = seqSpan{floor + 1, math.MaxInt64}
	case filter.GE:
		n.span = seqSpan{ceil, math.MaxInt64}
	case filter.LT:
		n.span = seqSpan{math.MinInt64, ceil - 1}
	case filter.LE:
		n.span = seqSpan{math.MinInt64, floor}
	default:
		return nil
	}
	return n
}

// isCreatedLeaf reports whether n is a leaf of meta.created's span.
func (n *node) isCreatedLeaf() bool { return n != nil && n.active == activeCreated }

// creationTag names a creation-order leaf's read (its mode and span), for
// the tags of positions that come from it ("" for other nodes).
func (n *node) creationTag() string {
	if n.active != activeCreated {
		return n.active // as an active leaf's tag always was
	}
	return fmt.Sprintf("%s\x00%d\x00%d", n.active, n.span.lo, n.span.hi)
}

// createdPending reports whether the organization of prefix p may still
// have the earlier index of the users' meta.created: until this process
// sees it gone (it never comes back), one EXISTS.
func (s *Store) createdPending(ctx context.Context, p string) (bool, error) {
	return s.keyExists(ctx, p+legacyCreatedIndex, false)
}

// createdReady returns k as queries in the organization of prefix p may
// plan it: with createdPending while the earlier index of meta.created is
// there (being converted).
func (s *Store) createdReady(ctx context.Context, p string, k *kind) (*kind, error) {
	if !k.createdScored {
		return k, nil
	}
	pending, err := s.createdPending(ctx, p)
	if err != nil || !pending {
		return k, err
	}
	out := *k
	out.createdPending = true
	return &out, nil
}

// createdPage answers a leaf of meta.created's span: the total is ZCOUNT,
// the page ZRANGEBYSCORE LIMIT, or from startIndex deepPage a ZRANGE by
// rank (the span's first rank counted by ZCOUNT): O(log N + count).
func (s *Store) createdPage(ctx context.Context, p string, k *kind, n *node, w window, ld load) (resources.Page, error) {
	all := p + "all:" + k.name
	lo, hi := n.span.bounds()
	pipe := s.client.Pipeline()
	count := pipe.ZCount(ctx, all, lo, hi)
	var rng *redis.StringSliceCmd
	var before *redis.IntCmd
	deep := w.start >= deepPage
	switch {
	case w.count > 0 && deep && n.span.lo != math.MinInt64:
		before = pipe.ZCount(ctx, all, "-inf", "("+lo)
	case w.count > 0 && deep:
	case w.count > 0:
		rng = pipe.ZRangeByScore(ctx, all, &redis.ZRangeBy{Min: lo, Max: hi, Offset: int64(w.start), Count: int64(w.count)})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	total := count.Val()
	var ids []string
	switch {
	case rng != nil:
		ids = rng.Val()
	case deep && w.count > 0 && int64(w.start) < total:
		var ahead int64 // the scores before the span
		if before != nil {
			ahead = before.Val()
		}
		first := ahead + int64(w.start)
		last := min(first+int64(w.count), ahead+total) - 1
		zs, err := s.client.ZRangeWithScores(ctx, all, first, last).Result()
		if err != nil {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
		for _, z := range zs {
			// A write between the reads shifts ranks: keep the span's.
			if id, _ := z.Member.(string); int64(z.Score) >= n.span.lo && int64(z.Score) <= n.span.hi {
				ids = append(ids, id)
			}
		}
	}
	return s.page(ctx, p, k, int(total), ids, ld)
}

// createdSort reports whether a sort is by meta.created of a kind whose
// ordering set orders it: creation order.
func (k *kind) createdSort(q resources.Query) bool {
	return q.Sort != nil && k.createdByScore() && strings.EqualFold(q.Sort.Attr.FullName(), "meta.created")
}

// createdKey is a creation time as an index of meta.created holds it (and
// sortBy positions carry it): tsFormat.
func createdKey(score int64) string {
	return time.UnixMicro(score).UTC().Format(tsFormat)
}

// createdScore returns the score of a creation time in tsFormat.
func createdScore(key string) (int64, bool) {
	t, err := time.Parse(tsFormat, key)
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}

// createdAll is a leaf of every user, in creation order.
func createdAll() *node { return &node{active: activeCreated, span: wholeSpan, exact: true} }

// createdSorted reads a page sorted by meta.created, unfiltered: a page of
// the ordering set, reversed when descending. O(log N + count).
func (s *Store) createdSorted(ctx context.Context, p string, k *kind, desc bool, w window, ld load) (resources.Page, error) {
	all := p + "all:" + k.name
	pipe := s.client.Pipeline()
	card := pipe.ZCard(ctx, all)
	var rng *redis.StringSliceCmd
	if w.count > 0 {
		lo, hi := int64(w.start), int64(w.start+w.count-1)
		if desc {
			rng = pipe.ZRevRange(ctx, all, lo, hi)
		} else {
			rng = pipe.ZRange(ctx, all, lo, hi)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	var ids []string
	if rng != nil {
		ids = rng.Val()
	}
	return s.page(ctx, p, k, int(card.Val()), ids, ld)
}

// seekCreatedSorted pages an unfiltered query sorted by meta.created from
// a position (a cursor, RFC 9865) as seekIndex pages an index: its
// positions carry the creation time as an index of meta.created holds it
// (createdKey) and the id, read from the ordering set by score.
func (s *Store) seekCreatedSorted(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, error) {
	sk := *q.Seek
	var at resources.Seek
	at.Before = q.Sort.Descending != sk.Before // reading down the ordering set
	if sk.From != nil {
		score, ok := createdScore(sk.From.Key)
		if !sk.From.HasKey || !ok {
			return resources.Page{}, invalidCursor()
		}
		at.From = &resources.Position{Seq: score, ID: sk.From.ID}
	}
	page, ids, seqs, err := s.seekScores(ctx, p, k, at, count)
	if err != nil {
		return resources.Page{}, err
	}
	if q.Sort.Descending { // read in the other direction than the seek's
		page.Next, page.Previous = page.Previous, page.Next
		slices.Reverse(ids)
		slices.Reverse(seqs)
	}
	pos := make([]resources.Position, len(ids))
	for i, id := range ids {
		pos[i] = resources.Position{HasKey: true, Key: createdKey(seqs[i]), ID: id}
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}
