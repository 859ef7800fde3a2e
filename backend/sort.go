package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// sortedList answers a query with sortBy (RFC 7644 §3.4.2.3); resources
// with equal keys are ordered by id (descending when the sort is), as the
// indexes order them.
//
// Without a filter, on a single-valued indexed attribute that every resource
// has (userName, meta.created, a group's displayName, ...), the page is read
// straight from the attribute's index, by rank: O(log N + count), no
// record loaded but the page's. Otherwise, when the filter's plan yields at
// most MaxScan ids, they are read in batches, keyed, sorted, and the page
// fetched. When it yields more, and the attribute's index orders every
// resource, sortedWalk walks that index instead, checking the filter.
func (s *Store) sortedList(ctx context.Context, p string, k *kind, q resources.Query, w window, ld load) (resources.Page, error) {
	if q.Filter == nil {
		if page, ok, err := s.sortedFromIndex(ctx, p, k, q, w, ld); ok || err != nil {
			return page, err
		}
	}
	var ids []string
	exact, planned := q.Filter == nil, false
	if q.Filter != nil {
		if n := s.plan(k, q.Filter, false); n != nil {
			planned = true
			est, err := s.estimate(ctx, p, k, n)
			if err != nil {
				return resources.Page{}, err
			}
			// Past MaxScan matches, or when a leaf of the plan reads the
			// index sorted by and the others are checked by id, the index
			// is walked: no document read but the page's.
			if est > int64(s.MaxScan) || sortLeaf(k, q, n) != nil {
				if page, ok, err := s.sortedWalk(ctx, p, k, q, n, est, w, ld); ok || err != nil {
					return page, err
				}
			}
			if ids, err = s.collect(ctx, p, k, n, func(int64) error { return s.sortTooMany(k) }); err != nil {
				return resources.Page{}, err
			}
			exact = n.exact
		}
	}
	if !planned && q.Filter != nil {
		// co and ew comparisons of indexed attributes may narrow it: the
		// ids their entries hold (narrow.go).
		if nr := k.narrow(q.Filter, false); nr != nil {
			var err error
			if ids, planned, err = s.narrowedIDs(ctx, p, nr); err != nil {
				return resources.Page{}, err
			}
			exact = planned && nr.exact
		}
	}
	if !planned { // every resource: an index plans nothing of the filter (an empty plan is no match)
		all := p + "all:" + k.name
		n, err := s.client.ZCard(ctx, all).Result()
		if err != nil {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
		if n > int64(s.MaxScan) {
			if q.Filter != nil {
				if page, ok, err := s.sortedWalk(ctx, p, k, q, nil, n, w, ld); ok || err != nil {
					return page, err
				}
			}
			return resources.Page{}, resources.Errorf(resources.TooMany,
				"sorting by %s needs more than %d %ss read; sort by an indexed attribute (%s), or filter first", q.Sort.Attr.FullName(), s.MaxScan, k.name, k.indexHint())
		}
		if ids, err = s.client.ZRange(ctx, all, 0, -1).Result(); err != nil {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
	}
	if len(ids) > s.MaxScan {
		return resources.Page{}, s.sortTooMany(k)
	}
	if !exact {
		if err := s.checkWork(k, q.Filter, len(ids)); err != nil {
			return resources.Page{}, err
		}
	}
	type item struct {
		id      string
		key     any
		present bool
	}
	items := make([]item, 0, len(ids))
	// Members are read for the page only, unless they are the sort key or
	// the filter, checked on the documents, compares them.
	onMembers := !exact && k.rt.HasMembers && mentions(q.Filter, "members")
	keyed := load{refs: q.Sort.Attr.Attr.Name() == "members" || onMembers, attrs: true, maxRefs: ld.maxRefs}
	// Groups' members read to sort or filter by are charged to
	// MaxFilterWork from their count, batch by batch, before they are
	// loaded, as the unsorted matcher charges them.
	terms, work := max(resources.FilterTerms(q.Filter), 1), 0
	for start := 0; start < len(ids); start += scanBatch {
		if err := ctx.Err(); err != nil {
			return resources.Page{}, err // the client left
		}
		batch := ids[start:min(start+scanBatch, len(ids))]
		if keyed.refs && k.rt.HasMembers {
			n, err := s.memberCount(ctx, p, batch)
			if err != nil {
				return resources.Page{}, err
			}
			if work += terms * (n + len(batch)); work > s.MaxFilterWork {
				return resources.Page{}, resources.Errorf(resources.TooMany,
					"sorting by %s needs the groups' members read, %d comparisons each, more than the %d evaluations one query may cost; filter on an indexed attribute (%s) first, or sort by another attribute",
					q.Sort.Attr.FullName(), terms, s.MaxFilterWork, k.indexHint())
			}
		}
		rs, err := s.fetch(ctx, p, k, batch, keyed)
		if err != nil {
			return resources.Page{}, err
		}
		for _, r := range rs {
			if r == nil {
				continue
			}
			doc := resources.Document(k.rt, *r, "")
			if !exact && !resources.Match(doc, q.Filter) {
				continue
			}
			key, ok := q.Sort.SortKey(doc)
			items = append(items, item{r.ID, key, ok})
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := q.Sort.Compare(a.key, a.present, b.key, b.present); c != 0 {
			return c
		}
		if q.Sort.Descending {
			return strings.Compare(b.id, a.id)
		}
		return strings.Compare(a.id, b.id)
	})
	lo, hi := w.bounds(len(items))
	pageIDs := make([]string, 0, hi-lo)
	for _, it := range items[lo:hi] {
		pageIDs = append(pageIDs, it.id)
	}
	return s.page(ctx, p, k, len(items), pageIDs, ld)
}

// errPageFilled stops a walk once the page it fills is full.
var errPageFilled = errors.New("page filled")

// sortedWalk answers a filtered, sorted query whose plan yields more than
// MaxScan ids (est; or, with no plan, every resource) by walking the index
// of the attribute sorted by, in the query's order, and checking the filter
// on each document. ok is false when that index cannot order every
// resource (it is multi-valued, or some resources lack the attribute).
//
// When the plan is an exact single-valued leaf (or an active leaf), est is
// the exact total and the walk stops once the page is full: it costs the
// documents before the page's end, charged to MaxFilterWork batch by
// batch. Otherwise the total needs every document checked: that is charged
// before the first read. Leaves read by creation score are checked on the
// ids' scores instead of the documents (idLeaves); an "and" of such leaves
// and one leaf of the index sorted by walks only that leaf's ranges.
func (s *Store) sortedWalk(ctx context.Context, p string, k *kind, q resources.Query, n *node, est int64, w window, ld load) (resources.Page, bool, error) {
	var walk func(fn func(ids []string) error) error
	var walked int64 // the entries the walk may read: the total's cost
	var drive *node  // the leaf walked, when not the whole index
	if k.createdSort(q) {
		// The ordering set orders meta.created (created.go).
		card, err := s.client.ZCard(ctx, p+"all:"+k.name).Result()
		if err != nil {
			return resources.Page{}, false, fmt.Errorf("redis: %w", err)
		}
		walked = card
		walk = func(fn func(ids []string) error) error {
			return s.walkActiveSeqs(ctx, p, k, createdAll(), q.Sort.Descending, func(ids []string, _ []int64) error { return fn(ids) })
		}
	} else {
		ix, found := k.paths[strings.ToLower(q.Sort.Attr.FullName())]
		if !found || ix.whole || ix.ix.multi {
			return resources.Page{}, false, nil
		}
		key := p + "ix:" + k.name + ":" + ix.ix.name
		pipe := s.client.Pipeline()
		card := pipe.ZCard(ctx, p+"all:"+k.name)
		indexed := pipe.ZCard(ctx, key)
		if _, err := pipe.Exec(ctx); err != nil {
			return resources.Page{}, false, fmt.Errorf("redis: %w", err)
		}
		along := sortLeaf(k, q, n)
		if card.Val() != indexed.Val() && along == nil {
			// Some lack the attribute: they sort after every value (none
			// matches a leaf on it).
			return resources.Page{}, false, nil
		}
		walked = card.Val()
		ranges := []lexRange{wholeSet}
		// An "and" with a leaf of the index sorted by, its other leaves read
		// by creation score: only that leaf's ranges are walked, the others
		// checked by id (active eq true and userName sw "a", by userName).
		if along != nil {
			e, err := s.estimate(ctx, p, k, along)
			if err != nil {
				return resources.Page{}, true, err
			}
			drive, ranges, walked = along, along.ranges, e
		}
		walk = func(fn func(ids []string) error) error {
			rs := slices.Clone(ranges)
			if q.Sort.Descending {
				slices.Reverse(rs)
			}
			for _, r := range rs {
				err := s.walkRange(ctx, key, r, q.Sort.Descending, func(members []string) error {
					ids := make([]string, len(members))
					for i, member := range members {
						ids[i] = idOf(member)
					}
					return fn(ids)
				})
				if err != nil {
					return err
				}
			}
			return nil
		}
	}
	counted := n != nil && n.exact && (n.isLeaf() && !n.multi || n.active != "")
	if !counted {
		if err := s.checkWork(k, q.Filter, int(walked)); err != nil {
			return resources.Page{}, true, err
		}
	} else if w.count == 0 {
		return resources.Page{Total: int(est), Resources: []resources.Resource{}}, true, nil
	}
	// A filter of leaves read by creation score (active, a users'
	// meta.created) is checked on the ids' scores, a command per batch,
	// and only the page's documents are read (idLeaves); so are the other
	// leaves of an "and" walked along one of its leaves.
	checks, byID := idLeaves(n, drive)
	var pageIDs []string
	m := s.matcher(k, q.Filter, w, q.WithMembers)
	examined := 0
	err := walk(func(ids []string) error {
		if counted {
			examined += len(ids)
			if err := s.checkWork(k, q.Filter, examined); err != nil {
				return err
			}
		}
		if byID {
			holds, err := s.holdByID(ctx, p, k, checks, ids)
			if err != nil {
				return err
			}
			for i, id := range ids {
				if holds[i] {
					if m.seen >= w.start && m.seen < w.start+w.count {
						pageIDs = append(pageIDs, id)
					}
					m.seen++
				}
			}
		} else if err := m.add(ctx, s, p, ids); err != nil {
			return err
		}
		if counted && m.seen >= w.start+w.count {
			return errPageFilled
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFilled) {
		return resources.Page{}, true, err
	}
	page := m.page
	if byID {
		if page, err = s.page(ctx, p, k, m.seen, pageIDs, ld); err != nil {
			return resources.Page{}, true, err
		}
	}
	if counted {
		page.Total = int(est)
	}
	return page, true, nil
}

// sortedFromIndex reads a sorted page from a single-valued attribute's index
// when every resource is in it. ok is false when the index cannot answer.
func (s *Store) sortedFromIndex(ctx context.Context, p string, k *kind, q resources.Query, w window, ld load) (resources.Page, bool, error) {
	if k.createdSort(q) {
		page, err := s.createdSorted(ctx, p, k, q.Sort.Descending, w, ld) // created.go
		return page, true, err
	}
	ix, found := k.paths[strings.ToLower(q.Sort.Attr.FullName())]
	if !found || ix.whole || ix.ix.multi {
		return resources.Page{}, false, nil
	}
	key := p + "ix:" + k.name + ":" + ix.ix.name
	pipe := s.client.Pipeline()
	total := pipe.ZCard(ctx, p+"all:"+k.name)
	indexed := pipe.ZCard(ctx, key)
	var rng *redis.StringSliceCmd
	if w.count > 0 {
		// By rank: the members share one score, so rank order is their
		// lexicographic order, and a rank is found in O(log N) where a
		// BYLEX LIMIT offset walks the offset (141 ms at startIndex 900,000
		// of a million, every other client waiting).
		lo, hi := int64(w.start), int64(w.start+w.count-1)
		if q.Sort.Descending {
			rng = pipe.ZRevRange(ctx, key, lo, hi)
		} else {
			rng = pipe.ZRange(ctx, key, lo, hi)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return resources.Page{}, false, fmt.Errorf("redis: %w", err)
	}
	if total.Val() != indexed.Val() {
		return resources.Page{}, false, nil // some lack the attribute: they sort after every value, which the index cannot say
	}
	var ids []string
	if rng != nil {
		for _, m := range rng.Val() {
			if i := strings.LastIndexByte(m, 0); i >= 0 {
				ids = append(ids, m[i+1:])
			}
		}
	}
	page, err := s.page(ctx, p, k, int(total.Val()), ids, ld)
	return page, true, err
}

// page fetches the resources of one page, in the order of ids.
func (s *Store) page(ctx context.Context, p string, k *kind, total int, ids []string, ld load) (resources.Page, error) {
	page := resources.Page{Total: total, Resources: []resources.Resource{}}
	rs, err := s.fetch(ctx, p, k, ids, ld)
	if err != nil {
		return resources.Page{}, err
	}
	for _, r := range rs {
		if r != nil {
			page.Resources = append(page.Resources, *r)
		}
	}
	return page, nil
}

// sortTooMany is the error of a sorted query whose filter matches more
// than MaxScan resources that no index can walk in order.
func (s *Store) sortTooMany(k *kind) error {
	return resources.Errorf(resources.TooMany,
		"the filter matches more than %d %ss, too many to sort; narrow it", s.MaxScan, k.name)
}

// sortLeaf returns the leaf of plan n that reads the single-valued index
// q is sorted by, when n is an "and" of it and leaves read by creation
// score (idLeaves); nil otherwise.
func sortLeaf(k *kind, q resources.Query, n *node) *node {
	if k.createdSort(q) {
		return nil
	}
	ix, found := k.paths[strings.ToLower(q.Sort.Attr.FullName())]
	if !found || ix.whole || ix.ix.multi {
		return nil
	}
	l := indexLeaf(n, ix.ix.name)
	if l == nil || l == n {
		return nil
	}
	if _, ok := idLeaves(n, l); !ok {
		return nil
	}
	return l
}

// indexLeaf returns the exact, single-valued leaf of n, or of its "and"s,
// that reads the index of attribute name, if there is one.
func indexLeaf(n *node, name string) *node {
	switch {
	case n == nil:
		return nil
	case n.op == filter.AND:
		if l := indexLeaf(n.left, name); l != nil {
			return l
		}
		return indexLeaf(n.right, name)
	case n.isLeaf() && n.exact && !n.multi && n.group == "" && n.ix.name == name:
		return n
	}
	return nil
}
