package backend

// A "not" of an exact plan answered as the complement of its ids in
// creation order (see planner.go's walkthrough).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// complementOf returns the plan of the filter a "not" negates, when the
// filter is a "not" whose inner plan is exact: its matches are then the
// resources in creation order (the ordering set) but the inner plan's ids.
func (s *Store) complementOf(k *kind, e resources.Filter) *node {
	not, ok := e.(*resources.Not)
	if !ok || s.plan(k, e, false) != nil { // a "not" planned as a leaf (created.go)
		return nil
	}
	if n := s.plan(k, not.Filter, false); n != nil && n.exact {
		return n
	}
	return nil
}

// excluded collects the ids of the inner plan of a "not", at most MaxScan
// of them ([Store.collect]).
func (s *Store) excluded(ctx context.Context, p string, k *kind, e resources.Filter, inner *node) (map[string]bool, error) {
	ids, err := s.collect(ctx, p, k, inner, func(est int64) error {
		return resources.Errorf(resources.TooMany,
			"filter %v leaves out %d %ss, more than the %d one query may read; filter for what to keep on an indexed attribute (%s) instead of \"not\"",
			e, est, k.name, s.MaxScan, k.indexHint())
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// complementPage answers a "not" of an exact plan from startIndex, in
// creation order: the total is the ordering set's size less the inner
// ids still in it, and the page is read by rank, its first rank found
// from the ranks of the inner ids (O(inner ids + count), however deep).
func (s *Store) complementPage(ctx context.Context, p string, k *kind, e resources.Filter, inner *node, w window, ld load) (resources.Page, error) {
	out, err := s.excluded(ctx, p, k, e, inner)
	if err != nil {
		return resources.Page{}, err
	}
	all := p + "all:" + k.name
	pipe := s.client.Pipeline()
	card := pipe.ZCard(ctx, all)
	cmds := make([]*redis.IntCmd, 0, len(out))
	for id := range out {
		cmds = append(cmds, pipe.ZRank(ctx, all, id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	ranks := make([]int64, 0, len(cmds))
	for _, c := range cmds {
		if c.Err() == nil { // redis.Nil: deleted meanwhile
			ranks = append(ranks, c.Val())
		}
	}
	slices.Sort(ranks)
	total := card.Val() - int64(len(ranks))
	// The window's first rank: w.start past the ranks left out before it.
	lo, j := int64(w.start), 0
	for ; j < len(ranks) && ranks[j] <= lo; j++ {
		lo++
	}
	// Its last: count ranks on, again past those left out.
	hi, kept := lo, 0
	for hi < card.Val() && kept < w.count {
		if j < len(ranks) && ranks[j] == hi {
			j++
		} else {
			kept++
		}
		hi++
	}
	var ids []string
	if hi > lo {
		got, err := s.client.ZRange(ctx, all, lo, hi-1).Result()
		if err != nil {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
		// A write between the two reads shifts ranks: the ids left out
		// are left out by id.
		ids = slices.DeleteFunc(got, func(id string) bool { return out[id] })
	}
	return s.page(ctx, p, k, int(total), ids, ld)
}

// seekComplement pages a "not" of an exact plan from a position in
// creation order (the ordering set's scores): the count+1 resources after
// (or before) it that are not among the inner ids, in one read of at most
// count+1 plus the inner ids past the position.
func (s *Store) seekComplement(ctx context.Context, p string, k *kind, e resources.Filter, inner *node, sk resources.Seek, count int, ld load) (resources.Page, error) {
	if sk.From != nil && !isCreated(sk.From) {
		return resources.Page{}, invalidCursor()
	}
	out, err := s.excluded(ctx, p, k, e, inner)
	if err != nil {
		return resources.Page{}, err
	}
	outIDs := make([]string, 0, len(out))
	for id := range out {
		outIDs = append(outIDs, id)
	}
	seqs, err := s.sequences(ctx, p, k, outIDs)
	if err != nil {
		return resources.Page{}, err
	}
	var present, ahead, behind int64 // inner ids in the set; past the position; at it or on its other side
	for _, sq := range seqs {
		if sq == 0 {
			continue // deleted meanwhile
		}
		present++
		switch {
		case sk.From == nil:
			ahead++
		case !sk.Before && sq > sk.From.Seq, sk.Before && sq < sk.From.Seq:
			ahead++
		default:
			behind++
		}
	}
	all := p + "all:" + k.name
	by := &redis.ZRangeBy{Min: "-inf", Max: "+inf", Count: int64(count) + 1 + ahead}
	pipe := s.client.Pipeline()
	card := pipe.ZCard(ctx, all)
	var beyond *redis.IntCmd // resources at the position or on its other side
	var rng *redis.ZSliceCmd
	if sk.From != nil {
		at := strconv.FormatInt(sk.From.Seq, 10)
		if sk.Before {
			by.Max = "(" + at
			beyond = pipe.ZCount(ctx, all, at, "+inf")
		} else {
			by.Min = "(" + at
			beyond = pipe.ZCount(ctx, all, "-inf", at)
		}
	}
	if sk.Before {
		rng = pipe.ZRevRangeByScoreWithScores(ctx, all, by)
	} else {
		rng = pipe.ZRangeByScoreWithScores(ctx, all, by)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	zs := slices.DeleteFunc(rng.Val(), func(z redis.Z) bool { id, _ := z.Member.(string); return out[id] })
	more := len(zs) > count
	zs = zs[:min(len(zs), count)]
	if sk.Before {
		slices.Reverse(zs)
	}
	ids := make([]string, len(zs))
	pos := make([]resources.Position, len(zs))
	for i, z := range zs {
		ids[i], _ = z.Member.(string)
		pos[i] = resources.Position{Seq: int64(z.Score), ID: ids[i]}
	}
	other := beyond != nil && beyond.Val()-behind > 0
	page := resources.Page{Total: int(card.Val() - present), Next: more, Previous: other}
	if sk.Before {
		page.Next, page.Previous = other, more
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}

// seekNot answers a filtered, unsorted query with Seek whose filter is a
// "not" of an exact plan (complementOf), in creation order; ok is false
// for other filters.
func (s *Store) seekNot(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, bool, error) {
	if q.Filter == nil || q.Sort != nil {
		return resources.Page{}, false, nil
	}
	inner := s.complementOf(k, q.Filter)
	if inner == nil {
		return resources.Page{}, false, nil
	}
	page, err := s.seekComplement(ctx, p, k, q.Filter, inner, *q.Seek, count, ld)
	return page, true, err
}
