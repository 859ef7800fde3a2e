package backend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

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
// O(log N + count) a page, wherever the page is. Otherwise it orders the
// matches, at most MaxScan, like an index-paged query, and seeks among them.
func (s *Store) seekList(ctx context.Context, p string, k *kind, q resources.Query, ld load) (resources.Page, error) {
	count := max(q.Count, 0)
	if q.Filter == nil && q.Sort == nil {
		return s.seekCreated(ctx, p, k, *q.Seek, count, ld)
	}
	if q.Filter == nil {
		if page, ok, err := s.seekIndex(ctx, p, k, q, count, ld); ok || err != nil {
			return page, err
		}
	}
	return s.seekMatches(ctx, p, k, q, count, ld)
}

// seekCreated pages through the ordering set, whose scores (the creation
// sequence) are the positions.
func (s *Store) seekCreated(ctx context.Context, p string, k *kind, sk resources.Seek, count int, ld load) (resources.Page, error) {
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
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	zs := rng.Val()
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
	page := resources.Page{Total: int(card.Val())}
	other := beyond != nil && beyond.Val() > 0
	page.Next, page.Previous = more, other
	if sk.Before {
		page.Next, page.Previous = other, more
	}
	return s.seekPage(ctx, p, k, page, ids, pos, ld)
}

// seekIndex pages through the index of the attribute sorted by, when it
// orders every resource (see sortedFromIndex): its members, value NUL id,
// are the positions' key and id, in the same order. ok is false when the
// index cannot answer.
func (s *Store) seekIndex(ctx context.Context, p string, k *kind, q resources.Query, count int, ld load) (resources.Page, bool, error) {
	sk := *q.Seek
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
			ids, err := s.run(ctx, p, k, n)
			if err != nil {
				return nil, false, err
			}
			if len(ids) > s.MaxScan {
				return nil, false, resources.Errorf(resources.TooMany,
					"filter %v matches more than %d %ss; narrow it with an indexed attribute (%s)", q.Filter, s.MaxScan, k.name, k.indexHint())
			}
			if !n.exact {
				if err := s.checkWork(k, q.Filter, len(ids)); err != nil {
					return nil, false, err
				}
			}
			return ids, n.exact, nil
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
				"filter %v needs a full scan of more than %d %ss; filter on an indexed attribute (%s)", q.Filter, s.MaxScan, k.name, k.indexHint())
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
	onMembers := !exact && k.rt.HasMembers && mentions(q.Filter, "members")
	byMembers := q.Sort != nil && q.Sort.Attr.Attr.Name() == "members"
	ld := load{refs: k.groupRefs || onMembers || byMembers, attrs: true}
	terms, work := 0, 0
	if onMembers {
		terms = resources.FilterTerms(q.Filter)
	}
	var out []resources.Position
	for start := 0; start < len(ids); start += scanBatch {
		if err := ctx.Err(); err != nil {
			return nil, err // the client left: stop examining
		}
		batch := ids[start:min(start+scanBatch, len(ids))]
		if onMembers {
			n, err := s.memberCount(ctx, p, batch)
			if err != nil {
				return nil, err
			}
			if work += terms * (n + len(batch)); work > s.MaxFilterWork {
				return nil, resources.Errorf(resources.TooMany,
					"the filter needs its %d comparisons evaluated on the members of the groups, more than the %d evaluations one query may cost; filter on an indexed attribute (%s) first, or with fewer comparisons",
					terms, s.MaxFilterWork, k.indexHint())
			}
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
			if !exact && !resources.Match(k.rt, doc, q.Filter) {
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
