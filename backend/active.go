package backend

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// A user's "active" is a boolean nearly every customer holds true: a
// lexicographic index of it would hold an entry per customer (about 135
// bytes each). The store keeps the exceptions instead:
//
//	inactive:user   ZSET userId scored by its creation sequence (its score in
//	                all:user) when its active is false, by minus that when it
//	                has none (absent, or not a boolean: see activeState)
//
// and answers in creation order, the ordering set's:
//
//   - active eq false: the entries scored above 0;
//   - active eq null, not (active pr): the entries scored below 0, read
//     from 0 down;
//   - active ne true, not (active eq true): all the entries, both sides
//     read together, by creation;
//   - active eq true: the ordering set without the users of inactive:user;
//   - active pr, active ne null: the ordering set without the entries
//     scored below 0;
//   - active ne false, not (active eq false): the ordering set without the
//     entries scored above 0.
//
// The first three read the exceptions: a page at startIndex k starts at
// the k-th of them in creation order, found by rank (on both sides, by a
// binary search of ranks: O(log² N)). The last three are complements.
// Their totalResults are exact: ZCARD of the ordering set minus ZCOUNT of
// the exceptions. A page at startIndex k of a
// complement starts at the rank p in the ordering set that is the fixed
// point of p = k + skipped(p), skipped(p) being the exceptions created no
// later than the user at rank p (ZCOUNT on minus and plus its sequence):
// from p = k up, each step O(log N), in one script (activeRankSrc); the
// page is then read on from there, exceptions skipped (activeReadSrc).
// Streams (an "and" driven by it) and cursors read the same way, by
// creation sequence, so a cursor's positions are creation positions.
//
// A store written before kept ix:user:active, a lexicographic index of
// "true"/"false" NUL id; Store.Upgrade builds inactive:user from it and
// removes it, and until it is gone queries do not plan onto active
// (kind.sparsePending): it is answered as a filter no index covers.

// sparseAttr is the attribute kept as its exceptions.
const sparseAttr = "active"

// activeState is a user's active as the write scripts keep it: "true",
// "false", or "" when it has none (absent, or no boolean).
func activeState(attrs map[string]any) string {
	b, ok := resources.ParseBool(attrs[sparseAttr])
	if !ok {
		return ""
	}
	return strconv.FormatBool(b)
}

// Modes of a leaf on the sparse boolean (node.active): three read the
// exceptions, three are their complements.
const (
	activeFalse    = "false"  // inactive:<kind> scored above 0
	activeAbsent   = "absent" // inactive:<kind> scored below 0
	activeNotTrue  = "nt"     // inactive:<kind>, both sides
	activeTrue     = "true"   // the ordering set without inactive:<kind>
	activePresent  = "pr"     // the ordering set without inactive:<kind> scored below 0
	activeNotFalse = "nf"     // the ordering set without inactive:<kind> scored above 0
)

// activeNegation maps each mode to the mode of its "not".
var activeNegation = map[string]string{
	activeFalse: activeNotFalse, activeNotFalse: activeFalse,
	activeAbsent: activePresent, activePresent: activeAbsent,
	activeNotTrue: activeTrue, activeTrue: activeNotTrue,
}

// activeSides returns the sides of inactive:<kind> a mode reads or, for
// a complement, skips: above 0 (active false), below 0 (no active).
func activeSides(mode string) (above, below, complement bool) {
	switch mode {
	case activeFalse:
		return true, false, false
	case activeAbsent:
		return false, true, false
	case activeNotTrue:
		return true, true, false
	case activeTrue:
		return true, true, true
	case activePresent:
		return false, true, true
	case activeNotFalse:
		return true, false, true
	}
	return false, false, false
}

// sparseLeaf plans a comparison of a sparse boolean: eq, ne and pr; nil
// (a filter no index covers) for the others, and while the organization's
// earlier index of it is being converted. For a single-valued attribute,
// "ne" is the "not" of "eq", and "eq null" the "not" of "pr".
func sparseLeaf(k *kind, op filter.CompareOperator, v any) *node {
	if k.sparsePending {
		return nil
	}
	mode := ""
	switch op {
	case filter.PR:
		mode = activePresent
	case filter.EQ, filter.NE:
		switch b, ok := resources.ParseBool(v); {
		case v == nil:
			mode = activeAbsent
		case ok:
			mode = strconv.FormatBool(b)
		default:
			return nil
		}
		if op == filter.NE {
			mode = activeNegation[mode]
		}
	default:
		return nil
	}
	return &node{active: mode, exact: true}
}

// legacySparseIndex is the key, after the prefix, of the lexicographic
// index an earlier version kept of k's sparse boolean, if it has one.
func (k *kind) legacySparseIndex() (string, bool) {
	for _, ix := range k.indexes {
		if ix.sparse {
			return "ix:" + k.name + ":" + ix.name, true
		}
	}
	return "", false
}

// sparseReady returns k as queries in the organization of prefix p may
// plan it: with sparsePending while the organization still has the
// earlier index of its sparse boolean. Once it is gone, this process does
// not look again.
func (s *Store) sparseReady(ctx context.Context, p string, k *kind) (*kind, error) {
	legacy, ok := k.legacySparseIndex()
	if !ok {
		return k, nil
	}
	pending, err := s.keyExists(ctx, p+legacy, false)
	if err != nil {
		return nil, err
	}
	if !pending {
		return k, nil
	}
	out := *k
	out.sparsePending = true
	return &out, nil
}

// activeCount returns the number of users a creation-order leaf yields:
// O(log N).
func (s *Store) activeCount(ctx context.Context, p string, k *kind, l *node) (int64, error) {
	if l.active == activeCreated {
		lo, hi := l.span.bounds()
		return redisVal(s.client.ZCount(ctx, p+"all:"+k.name, lo, hi).Result())
	}
	return s.activeUpTo(ctx, p, k, l, 0, true)
}

// activeUpTo returns the number of users a creation-order leaf yields
// whose creation sequence is at most seq (below it, unless inclusive); all
// of them when seq is 0.
func (s *Store) activeUpTo(ctx context.Context, p string, k *kind, l *node, seq int64, inclusive bool) (int64, error) {
	mode := l.active
	exceptions := p + "inactive:" + k.name
	hi, lo := "+inf", "-inf"
	if seq != 0 {
		hi, lo = strconv.FormatInt(seq, 10), strconv.FormatInt(-seq, 10)
		if !inclusive {
			hi, lo = "("+hi, "("+lo
		}
	}
	if mode == activeCreated {
		lo, hi := l.span.clip("-inf", hi)
		return redisVal(s.client.ZCount(ctx, p+"all:"+k.name, lo, hi).Result())
	}
	above, below, complement := activeSides(mode)
	pipe := s.client.Pipeline()
	var all, aboveN, belowN *redis.IntCmd
	if complement {
		all = pipe.ZCount(ctx, p+"all:"+k.name, "-inf", hi)
	}
	// The exceptions created up to seq: above 0 up to it, below 0 down to
	// minus it.
	if above {
		aboveN = pipe.ZCount(ctx, exceptions, "(0", hi)
	}
	if below {
		belowN = pipe.ZCount(ctx, exceptions, lo, "(0")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	n := int64(0)
	for _, c := range []*redis.IntCmd{aboveN, belowN} {
		if c != nil {
			n += c.Val()
		}
	}
	if complement {
		return max(all.Val()-n, 0), nil
	}
	return n, nil
}

// activeRead reads up to n users a creation-order leaf yields, in
// creation order (reversed when rev) within the bounds lo and hi of
// creation sequences (ZRANGEBYSCORE's: "-inf", "+inf", "(12" excluded,
// "12" included), with their sequences. done reports that the bounds hold
// no more.
func (s *Store) activeRead(ctx context.Context, p string, k *kind, l *node, lo, hi string, rev bool, n int) (ids []string, seqs []int64, done bool, err error) {
	mode := l.active
	exceptions := p + "inactive:" + k.name
	if mode == activeCreated {
		// A read of the ordering set by score, within the leaf's span
		// (created.go).
		lo, hi = l.span.clip(lo, hi)
		zs, err := scoreRange(ctx, s.client, p+"all:"+k.name, &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(n)}, rev).Result()
		if err != nil {
			return nil, nil, false, fmt.Errorf("redis: %w", err)
		}
		for _, z := range zs {
			id, _ := z.Member.(string)
			ids, seqs = append(ids, id), append(seqs, int64(z.Score))
		}
		return ids, seqs, len(zs) < n, nil
	}
	if above, below, complement := activeSides(mode); !complement {
		return s.exceptionRead(ctx, exceptions, above, below, lo, hi, rev, n)
	}
	dir := ""
	if rev {
		dir = "rev"
	}
	for !done && len(ids) < n {
		res, err := s.activeReadScript.Run(ctx, s, []string{p + "all:" + k.name, exceptions}, lo, hi, n-len(ids), mode, dir).Slice()
		if err != nil {
			return nil, nil, false, fmt.Errorf("redis: %w", err)
		}
		last, _ := res[0].(string)
		done = res[1] == int64(1)
		for i := 2; i+1 < len(res); i += 2 {
			id, _ := res[i].(string)
			seq, _ := strconv.ParseInt(fmt.Sprint(res[i+1]), 10, 64)
			ids, seqs = append(ids, id), append(seqs, seq)
		}
		if last == "" {
			break
		}
		if rev {
			hi = "(" + last
		} else {
			lo = "(" + last
		}
	}
	return ids, seqs, done, nil
}

// exceptionRead is activeRead for a mode that reads the exceptions: up to n
// of inactive:<kind> (key exceptions) on the sides asked for, in creation
// order (reversed when rev) within the sequences lo and hi. A side below 0
// holds minus the sequences: it is read from 0 down. Both sides read, the
// two are merged by sequence.
func (s *Store) exceptionRead(ctx context.Context, exceptions string, above, below bool, lo, hi string, rev bool, n int) (ids []string, seqs []int64, done bool, err error) {
	pipe := s.client.Pipeline()
	var up, down *redis.ZSliceCmd
	if above {
		by := &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(n)}
		if lo == "-inf" {
			by.Min = "(0"
		}
		up = scoreRange(ctx, pipe, exceptions, by, rev)
	}
	if below {
		by := &redis.ZRangeBy{Min: negatedBound(hi), Max: negatedBound(lo), Count: int64(n)}
		if lo == "-inf" {
			by.Max = "(0"
		}
		down = scoreRange(ctx, pipe, exceptions, by, !rev)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, false, fmt.Errorf("redis: %w", err)
	}
	var a, b []redis.Z
	if up != nil {
		a = up.Val()
	}
	if down != nil {
		b = down.Val()
	}
	// Either side's read is complete when it is short of n; a side that
	// filled n goes on past what the other side's read.
	done = len(a) < n && len(b) < n
	before := func(x, y float64) bool { return (x < y) != rev }
	for len(ids) < n && (len(a) > 0 || len(b) > 0) {
		var z redis.Z
		if len(b) == 0 || len(a) > 0 && before(a[0].Score, -b[0].Score) {
			z, a = a[0], a[1:]
		} else {
			z, b = b[0], b[1:]
			z.Score = -z.Score
		}
		id, _ := z.Member.(string)
		ids, seqs = append(ids, id), append(seqs, int64(z.Score))
	}
	return ids, seqs, done && len(a) == 0 && len(b) == 0, nil
}

// scoreRange reads the members of key within by's scores, with their
// scores, in ascending order or, when desc, descending (ZREVRANGEBYSCORE).
func scoreRange(ctx context.Context, c redis.Cmdable, key string, by *redis.ZRangeBy, desc bool) *redis.ZSliceCmd {
	if desc {
		return c.ZRevRangeByScoreWithScores(ctx, key, by)
	}
	return c.ZRangeByScoreWithScores(ctx, key, by)
}

// negatedBound returns a ZRANGEBYSCORE bound on minus the scores of b:
// "-inf" for "+inf", "(-12" for "(12", "-12" for "12".
func negatedBound(b string) string {
	switch {
	case b == "+inf":
		return "-inf"
	case b == "-inf":
		return "+inf"
	case strings.HasPrefix(b, "("):
		return "(-" + b[1:]
	}
	return "-" + b
}

// walkActive calls fn with the ids a creation-order leaf yields, in
// creation order, scanBatch at a time. It stops when ctx ends (the client
// left).
func (s *Store) walkActive(ctx context.Context, p string, k *kind, l *node, fn func(ids []string) error) error {
	return s.walkActiveSeqs(ctx, p, k, l, false, func(ids []string, _ []int64) error { return fn(ids) })
}

// walkActiveSeqs is walkActive, with the ids' creation sequences, in
// reverse order when rev.
func (s *Store) walkActiveSeqs(ctx context.Context, p string, k *kind, l *node, rev bool, fn func(ids []string, seqs []int64) error) error {
	lo, hi := "-inf", "+inf"
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ids, seqs, done, err := s.activeRead(ctx, p, k, l, lo, hi, rev, scanBatch)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			if err := fn(ids, seqs); err != nil {
				return err
			}
			if last := "(" + strconv.FormatInt(seqs[len(seqs)-1], 10); rev {
				hi = last
			} else {
				lo = last
			}
		}
		if done || len(ids) == 0 {
			return nil
		}
	}
}

// activeIDs returns every id a creation-order leaf yields, in creation
// order: the collecting plan (its callers bound them by MaxScan).
func (s *Store) activeIDs(ctx context.Context, p string, k *kind, l *node) ([]string, error) {
	var out []string
	err := s.walkActive(ctx, p, k, l, func(ids []string) error {
		out = append(out, ids...)
		return nil
	})
	return out, err
}

// activePage answers a creation-order leaf: its exact total, and the page
// at w.start found by rank (see the top of this file), whatever its depth.
func (s *Store) activePage(ctx context.Context, p string, k *kind, l *node, w window, ld load) (resources.Page, error) {
	mode := l.active
	if mode == activeCreated {
		return s.createdPage(ctx, p, k, l, w, ld) // created.go
	}
	total, err := s.activeCount(ctx, p, k, l)
	if err != nil {
		return resources.Page{}, err
	}
	if w.count == 0 || int64(w.start) >= total {
		return s.page(ctx, p, k, int(total), nil, ld)
	}
	var seq string
	var found bool
	if above, below, complement := activeSides(mode); complement {
		seq, found, err = s.activeRank(ctx, p, k, mode, int64(w.start))
	} else {
		seq, found, err = s.exceptionAt(ctx, p+"inactive:"+k.name, above, below, int64(w.start))
	}
	if err != nil || !found {
		return s.page(ctx, p, k, int(total), nil, ld)
	}
	ids, _, _, err := s.activeRead(ctx, p, k, l, seq, "+inf", false, w.count)
	if err != nil {
		return resources.Page{}, err
	}
	return s.page(ctx, p, k, int(total), ids, ld)
}

// exceptionAt returns the creation sequence of the exception at 0-based
// position at, in creation order, on the sides of inactive:<kind> (key
// exceptions) asked for; found is false past the last. By rank: the side
// above 0 holds its sequences in order from the rank of its first entry
// on, the side below 0 holds minus them, in order from the rank before
// that down. With both sides, a binary search finds how many of the first
// at come from the side above: O(log at) steps of two rank reads each.
func (s *Store) exceptionAt(ctx context.Context, exceptions string, above, below bool, at int64) (seq string, found bool, err error) {
	pipe := s.client.Pipeline()
	belowAll := pipe.ZCount(ctx, exceptions, "-inf", "(0")
	aboveAll := pipe.ZCount(ctx, exceptions, "(0", "+inf")
	if _, err := pipe.Exec(ctx); err != nil {
		return "", false, fmt.Errorf("redis: %w", err)
	}
	split := belowAll.Val() // the rank of the first entry above 0
	var na, nb int64
	if above {
		na = aboveAll.Val()
	}
	if below {
		nb = belowAll.Val()
	}
	if at >= na+nb {
		return "", false, nil
	}
	// up(i) and down(j): the sequences of the i-th entry above 0 and of the
	// j-th below it, in creation order; 0 when there is none (deleted
	// meanwhile).
	read := func(i, j int64) (up, down int64, err error) {
		pipe := s.client.Pipeline()
		var a, b *redis.ZSliceCmd
		if i >= 0 && i < na {
			a = pipe.ZRangeWithScores(ctx, exceptions, split+i, split+i)
		}
		if j >= 0 && j < nb {
			b = pipe.ZRangeWithScores(ctx, exceptions, split-1-j, split-1-j)
		}
		if pipe.Len() == 0 {
			return 0, 0, nil
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, 0, fmt.Errorf("redis: %w", err)
		}
		if a != nil && len(a.Val()) == 1 && a.Val()[0].Score > 0 {
			up = int64(a.Val()[0].Score)
		}
		if b != nil && len(b.Val()) == 1 && b.Val()[0].Score < 0 {
			down = -int64(b.Val()[0].Score)
		}
		return up, down, nil
	}
	// The smallest i such that the first at hold i entries from above: the
	// i-th from above does not come before the (at-i-1)-th from below.
	lo, hi := max(0, at-nb), min(at, na)
	for lo < hi {
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
		i := (lo + hi) / 2
		up, down, err := read(i, at-i-1)
		if err != nil {
			return "", false, err
		}
		if up < down {
			lo = i + 1
		} else {
			hi = i
		}
	}
	up, down, err := read(lo, at-lo)
	if err != nil {
		return "", false, err
	}
	switch {
	case up == 0 && down == 0:
		return "", false, nil // deleted meanwhile
	case down == 0 || up != 0 && up < down:
		return strconv.FormatInt(up, 10), true, nil
	}
	return strconv.FormatInt(down, 10), true, nil
}

// activeRank returns the creation sequence of the user at 0-based
// position at in what a complement leaf of mode yields: see activeRankSrc.
func (s *Store) activeRank(ctx context.Context, p string, k *kind, mode string, at int64) (seq string, found bool, err error) {
	keys := []string{p + "all:" + k.name, p + "inactive:" + k.name}
	from := at
	for {
		res, err := s.activeRankScript.Run(ctx, s, keys, at, from, mode).Slice()
		if err != nil {
			return "", false, fmt.Errorf("redis: %w", err)
		}
		switch res[0] {
		case "found":
			seq, _ := res[1].(string)
			return seq, true, nil
		case "beyond":
			return "", false, nil
		}
		next, _ := res[1].(int64) // not there yet: go on from there
		if next <= from {
			return "", false, fmt.Errorf("rank of %s %s: no progress at %d", k.name, mode, from)
		}
		from = next
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
	}
}

// seekSparse answers a cursor query (RFC 9865) whose plan is a leaf of a
// sparse boolean, or an "and" it drives, from a position in creation
// order: seekActive, seekActiveDriven. A plan whose side of another key
// drives it, or a position read from such a side, is left to seekPlanned
// (ok false).
func (s *Store) seekSparse(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, bool, error) {
	n := s.plan(k, q.Filter, false)
	if n == nil {
		return resources.Page{}, false, nil
	}
	if n.active != "" && n.exact {
		page, err := s.seekActive(ctx, p, k, n, *q.Seek, count, ld)
		return page, true, err
	}
	from := q.Seek.From
	var drive *node
	switch {
	case from != nil && !isCreated(from):
		return resources.Page{}, false, nil // read from a leaf of another key
	case from != nil:
		drive = sparseLeafOf(n) // whatever side would drive it today
	default:
		d, est, ok, err := s.driver(ctx, p, k, n)
		if err == nil && ok {
			d, _, err = s.idDriver(ctx, p, k, n, d, est) // as startIndex paging does
		}
		if err != nil {
			return resources.Page{}, true, err
		}
		if ok && d.active != "" {
			drive = d
		}
	}
	if drive == nil {
		return resources.Page{}, false, nil
	}
	page, err := s.seekActiveDriven(ctx, p, k, q, n, drive, count, ld)
	return page, true, err
}

// sparseLeafOf returns the leaf of a sparse boolean among the "and"s of n.
func sparseLeafOf(n *node) *node {
	switch {
	case n == nil:
		return nil
	case n.active != "":
		return n
	case n.op == filter.AND:
		if l := sparseLeafOf(n.left); l != nil {
			return l
		}
		return sparseLeafOf(n.right)
	}
	return nil
}

// seekActiveDriven pages a plan driven by a leaf of mode from a position in
// creation order, as seekDriven does for a leaf of a lexicographic key: it
// streams the whole leaf for the exact total, checking the filter on the
// documents unless the plan is exact, and keeps the count+1 matches next
// to the position. The leaf's users times the filter's comparisons are
// charged to MaxFilterWork before the first read.
func (s *Store) seekActiveDriven(ctx context.Context, p string, k *kind, q resources.Query, n, drive *node, count int, ld load) (resources.Page, error) {
	est, err := s.activeCount(ctx, p, k, drive)
	if err != nil {
		return resources.Page{}, err
	}
	if err := s.checkWork(k, q.Filter, int(est)); err != nil {
		return resources.Page{}, err
	}
	sk := *q.Seek
	var at int64 // 0: no position
	if sk.From != nil {
		at = sk.From.Seq
	}
	mw := s.memberWork(k, q.Filter, n.exact)
	total := 0
	near := seekWindow[resources.Position]{before: sk.Before, count: count}
	err = s.walkActiveSeqs(ctx, p, k, drive, false, func(ids []string, seqs []int64) error {
		matched, err := s.matching(ctx, p, k, q.Filter, n, drive, mw, ids)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if !matched[i] {
				continue
			}
			total++
			near.add(resources.Position{Seq: seqs[i], ID: id},
				at == 0 || sk.Before && seqs[i] < at || !sk.Before && seqs[i] > at)
		}
		return nil
	})
	if err != nil {
		return resources.Page{}, err
	}
	kept, page := near.page(total)
	ids := make([]string, len(kept))
	for i, pos := range kept {
		ids[i] = pos.ID
	}
	return s.seekPage(ctx, p, k, page, ids, kept, ld)
}

// seekActive pages a leaf of mode from a position in creation order (a
// cursor, RFC 9865): the count+1 users after it (before it, when asked
// for the previous page), with the exact total and whether users match on
// the position's other side. Its positions are creation positions.
func (s *Store) seekActive(ctx context.Context, p string, k *kind, l *node, sk resources.Seek, count int, ld load) (resources.Page, error) {
	lo, hi := "-inf", "+inf"
	if sk.From != nil {
		if !isCreated(sk.From) {
			return resources.Page{}, invalidCursor()
		}
		at := "(" + strconv.FormatInt(sk.From.Seq, 10)
		if sk.Before {
			hi = at
		} else {
			lo = at
		}
	}
	ids, seqs, _, err := s.activeRead(ctx, p, k, l, lo, hi, sk.Before, count+1)
	if err != nil {
		return resources.Page{}, err
	}
	total, err := s.activeCount(ctx, p, k, l)
	if err != nil {
		return resources.Page{}, err
	}
	other := false // a match on the position's other side, the position included
	if sk.From != nil {
		upTo, err := s.activeUpTo(ctx, p, k, l, sk.From.Seq, !sk.Before)
		if err != nil {
			return resources.Page{}, err
		}
		if sk.Before {
			other = total-upTo > 0
		} else {
			other = upTo > 0
		}
	}
	more := len(ids) > count
	ids, seqs = ids[:min(len(ids), count)], seqs[:min(len(seqs), count)]
	if sk.Before {
		slices.Reverse(ids)
		slices.Reverse(seqs)
	}
	page := resources.Page{Total: int(total), Next: more, Previous: other}
	if sk.Before {
		page.Next, page.Previous = other, more
	}
	pos := make([]resources.Position, len(ids))
	for i, id := range ids {
		pos[i] = resources.Position{Seq: seqs[i], ID: id}
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}

// activeRankSrc finds the rank p in the ordering set of the user at
// 0-based position at in a complement leaf (see the top of this file): the
// fixed point of p = at + skipped(p), from p = from (at most the answer)
// up. Each step is O(log N); p grows by the exceptions it passed, so few
// steps reach it unless exceptions are dense, and a call takes at most
// 1,000 before it hands back where it is.
//
// KEYS: 1 the ordering set, 2 inactive:<kind>. ARGV: 1 at, 2 from, 3 mode.
// Returns {"found", sequence}, {"beyond"} (past the last), or {"more", p}.
const activeRankSrc = `
local at, p, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for _ = 1, 1000 do
  local z = redis.call('ZRANGE', KEYS[1], p, p, 'WITHSCORES')
  if #z == 0 then return {'beyond'} end
  local s = tonumber(z[2])
  local skipped
  if mode == 'pr' then
    skipped = redis.call('ZCOUNT', KEYS[2], -s, '(0')
  elseif mode == 'nf' then
    skipped = redis.call('ZCOUNT', KEYS[2], '(0', s)
  else
    skipped = redis.call('ZCOUNT', KEYS[2], -s, s)
  end
  local q = at + skipped
  if q == p then return {'found', z[2]} end
  p = q
end
return {'more', p}
`

// activeReadSrc reads, in creation order (reversed when ARGV 5 is "rev"),
// the users of the ordering set between two sequences that a complement
// leaf yields: those without an entry in inactive:<kind> (mode "true"),
// without one below 0 ("pr"), or without one above 0 ("nf"). It reads at
// most 8 batches.
//
// KEYS: 1 the ordering set, 2 inactive:<kind>. ARGV: 1 lowest, 2 highest
// sequence (ZRANGEBYSCORE bounds), 3 how many users, 4 mode, 5 "rev" or "".
// Returns {last sequence read ("" none), 1 when the bounds hold no more
// (else 0), id, sequence, id, sequence, ...}.
const activeReadSrc = `
local lo, hi, n, mode, rev = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5] == 'rev'
local batch = math.max(n, 100)
local out, last = {'', 0}, ''
for _ = 1, 8 do
  local z
  if rev then
    z = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, lo, 'WITHSCORES', 'LIMIT', 0, batch)
  else
    z = redis.call('ZRANGEBYSCORE', KEYS[1], lo, hi, 'WITHSCORES', 'LIMIT', 0, batch)
  end
  if #z == 0 then
    out[1], out[2] = last, 1
    return out
  end
  local ids = {}
  for i = 1, #z, 2 do ids[#ids + 1] = z[i] end
  local x = redis.call('ZMSCORE', KEYS[2], unpack(ids))
  for i, id in ipairs(ids) do
    last = z[2 * i]
    if not x[i] or (mode == 'pr' and tonumber(x[i]) > 0) or (mode == 'nf' and tonumber(x[i]) < 0) then
      out[#out + 1] = id
      out[#out + 1] = last
      if (#out - 2) / 2 >= n then
        out[1] = last
        return out
      end
    end
  end
  if #z < 2 * batch then
    out[1], out[2] = last, 1
    return out
  end
  if rev then hi = '(' .. last else lo = '(' .. last end
end
out[1] = last
return out
`

// redisVal wraps a go-redis error, if any, keeping the value.
func redisVal[T any](v T, err error) (T, error) {
	if err != nil {
		return v, fmt.Errorf("redis: %w", err)
	}
	return v, nil
}

// idLeaves returns the leaves of n to check on the ids drive yields when n
// is an exact leaf or an "and" of exact leaves and every one of them but
// drive is read by creation score (active, a users' meta.created): each
// holds of an id by one score, read for a batch of ids in one command, so
// a stream or a sorted walk checks its ids without their documents. ok is
// false otherwise (drive may be nil: every leaf is then checked).
func idLeaves(n, drive *node) (leaves []*node, ok bool) {
	var visit func(n *node) bool
	visit = func(n *node) bool {
		switch {
		case n == nil:
			return false
		case n.op == filter.AND:
			// An "and" with a side no index plans has no right.
			return n.right != nil && visit(n.left) && visit(n.right)
		case !n.exact:
			return false
		case n == drive:
			return true
		case n.active != "":
			leaves = append(leaves, n)
			return true
		}
		return false
	}
	if !visit(n) {
		return nil, false
	}
	return leaves, true
}

// docCost is about how many ids' scores a stream checks (idLeaves) for
// the cost of reading and checking one document: at a million users, a
// stream of 100,000 spent 28 µs an id on documents, 1.4-2.4 µs on scores.
const docCost = 15

// idDriver returns the leaf a stream of plan n reads: drive (see driver),
// unless the one leaf of n not read by creation score can drive it with
// the others checked by id (idLeaves) and yields at most docCost times as
// many ids as drive: "active eq false and userName sw "a"" is driven by
// active's few exceptions, each checked on its document, but "active ne
// true and userName sw "a"", unless userName's range is much the larger,
// by the range, active checked on the ids.
func (s *Store) idDriver(ctx context.Context, p string, k *kind, n, drive *node, est int64) (*node, int64, error) {
	if _, ok := idLeaves(n, drive); ok {
		return drive, est, nil
	}
	var other *node // the leaf not read by creation score, if only one
	var find func(n *node) bool
	find = func(n *node) bool {
		switch {
		case n.op == filter.AND:
			return n.right != nil && find(n.left) && find(n.right)
		case n.active != "":
			return true
		case !n.isLeaf() || other != nil:
			return false // an "or" of different keys drives nothing
		}
		other = n
		return true
	}
	if !find(n) || other == nil {
		return drive, est, nil
	}
	if _, ok := idLeaves(n, other); !ok {
		return drive, est, nil
	}
	e, err := s.estimate(ctx, p, k, other)
	if err != nil || e > docCost*est {
		return drive, est, err
	}
	return other, e, nil
}

// holdByID reports which of the users ids every leaf of leaves (see
// idLeaves) holds of: one ZMSCORE of inactive:<kind> for the active
// leaves, one of the ordering set for the meta.created spans.
func (s *Store) holdByID(ctx context.Context, p string, k *kind, leaves []*node, ids []string) ([]bool, error) {
	out := make([]bool, len(ids))
	for i := range out {
		out[i] = true
	}
	if len(ids) == 0 || len(leaves) == 0 {
		return out, nil
	}
	pipe := s.client.Pipeline()
	var exceptions, created *redis.FloatSliceCmd
	for _, l := range leaves {
		switch {
		case l.active == activeCreated && created == nil:
			created = pipe.ZMScore(ctx, p+"all:"+k.name, ids...)
		case l.active != activeCreated && exceptions == nil:
			exceptions = pipe.ZMScore(ctx, p+"inactive:"+k.name, ids...)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	for _, l := range leaves {
		if l.active == activeCreated {
			// A missing score is 0 (go-redis): no creation sequence is.
			for i, seq := range created.Val() {
				out[i] = out[i] && seq != 0 && int64(seq) >= l.span.lo && int64(seq) <= l.span.hi
			}
			continue
		}
		above, below, complement := activeSides(l.active)
		for i, x := range exceptions.Val() {
			in := x > 0 && above || x < 0 && below // x is 0 for a user without an entry: active true
			out[i] = out[i] && in != complement
		}
	}
	return out, nil
}
