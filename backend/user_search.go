package backend

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// The console's customers search: a page of the users whose attributes
// start with what was typed, newest first (resources.UserSearch).
//
// A filter ("userName sw x or name.givenName sw x ...") is planned onto the
// indexes as a union of range reads, which must be read whole to be put in
// creation order: a search that matches 100,000 users reads 100,000 ids,
// twice (the count, then the page). SearchUsers picks one of two plans by
// the size of the ranges (ZLEXCOUNT, O(log N) each):
//
//   - few matches: read them (the smallest range of each term, each id
//     checked against its term in a script), sort them by creation, cut the
//     page: O(matches);
//   - many matches: walk the ordering set newest first, checking each user
//     against the terms in a script, until the page is full: O(page × N /
//     matches), a few hundred users for a search that matches a good part
//     of the organization. The count is then the largest single-range
//     term's ZLEXCOUNT plus the matches of the other terms that the larger
//     ones do not match, read as above: O(the other terms' ranges).
//
// Either way a user is checked against a term with its stored index
// entries (ix of user:<id>, see luaStoredHash), the values the indexes hold.
//
// A search without terms (the customers list before anything is typed) is
// every user: the page is read by rank from the ordering set, newest first,
// O(log N + page) (createdSorted).

// luaSearch is the check of a user against a search's terms.
const luaSearch = luaStoredHash + `
-- matchedTerm returns the index of the first of terms (each a flat list
-- attr, prefix, attr, prefix, ...) that user id matches, 0 for none.
local function matchedTerm(prefix, id, terms)
  if #terms == 0 then return 0 end
  local e = readHash(prefix .. 'user:' .. id).entries
  if not e then return 0 end
  for t, term in ipairs(terms) do
    local all = true
    for j = 1, #term, 2 do
      local attr, pre, found = term[j], term[j + 1], false
      for i = 1, #e, 2 do
        if e[i] == attr and string.sub(e[i + 1], 1, #pre) == pre then
          found = true
          break
        end
      end
      if not found then
        all = false
        break
      end
    end
    if all then return t end
  end
  return 0
end
`

// searchWalkSrc walks the users newest first from rank ARGV 3 (of
// ZREVRANGE), at most ARGV 4 of them, skipping the first ARGV 5 matches
// and returning the next ones, at most ARGV 6.
//
// KEYS: 1 the users' ordering set. ARGV: 1 prefix, 2 terms (JSON), 3 rank,
// 4 batch, 5 skip, 6 want.
// Returns {the rank to go on from (-1: the end), matches skipped, ids}.
const searchWalkSrc = luaSearch + `
local terms = cjson.decode(ARGV[2])
local start, batch, skip, want = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ids = redis.call('ZREVRANGE', KEYS[1], start, start + batch - 1)
local skipped, out, nxt = 0, {}, start + #ids
for i, id in ipairs(ids) do
  if matchedTerm(ARGV[1], id, terms) > 0 then
    if skipped < skip then
      skipped = skipped + 1
    else
      out[#out + 1] = id
      if #out == want then
        nxt = start + i
        break
      end
    end
  end
end
if #ids < batch and nxt == start + #ids then nxt = -1 end
return {nxt, skipped, out}
`

// searchRangeSrc reads a batch of an index range and keeps the users that
// match a term and none of the terms before it.
//
// KEYS: 1 the index. ARGV: 1 prefix, 2 the term (JSON list of one term;
// empty when the range is the term's matches), 3
// the terms before it (JSON), 4 min, 5 max (ZRANGEBYLEX bounds), 6 batch.
// Returns {the last entry read ("" at the range's end), ids}.
const searchRangeSrc = luaSearch + `
local this, before = cjson.decode(ARGV[2]), cjson.decode(ARGV[3])
local es = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[4], ARGV[5], 'LIMIT', 0, tonumber(ARGV[6]))
local out = {}
for _, e in ipairs(es) do
  local at = string.find(e, string.char(0), 1, true)
  if at then
    local id = string.sub(e, at + 1)
    if (#this == 0 or matchedTerm(ARGV[1], id, this) == 1) and matchedTerm(ARGV[1], id, before) == 0 then out[#out + 1] = id end
  end
end
local last = ''
if #es == tonumber(ARGV[6]) then last = es[#es] end
return {last, out}
`

// searchBatch is how many users or index entries one search script reads:
// its cost, whatever the organization's size.
const searchBatch = 1000

// searchTuning is what tests change of the search: the batch (0:
// searchBatch) and the plan ("walk", "ranges"; "": by the counts).
type searchTuning struct {
	batch int
	plan  string
}

// batchSize is the batch a search script reads.
func (t searchTuning) batchSize() int {
	if t.batch > 0 {
		return t.batch
	}
	return searchBatch
}

// searchLeaf is one Prefix of a term, planned onto its index.
type searchLeaf struct {
	ix       indexAttr
	min, max string
	count    int64
}

// searchTerm is a term: its leaves, the smallest first, and its flat
// attr, value list as the scripts read it.
type searchTerm struct {
	leaves []searchLeaf
	flat   []string
}

// exact reports whether the term's smallest range counts its matches: one
// leaf of a single-valued attribute.
func (t searchTerm) exact() bool { return len(t.leaves) == 1 && !t.leaves[0].ix.multi }

// SearchUsers returns a page of the users q matches, newest first, and how
// many match (see the plans above).
func (s *Store) SearchUsers(ctx context.Context, org string, q resources.UserSearch) (resources.Page, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Page{}, fmt.Errorf("search users: %w", err)
	}
	if q.Offset < 0 || q.Count < 0 {
		return resources.Page{}, resources.Errorf(resources.InvalidValue, "a search's offset and count are not negative")
	}
	if len(q.Terms) == 0 {
		page, err := s.createdSorted(ctx, p, &s.users, true, window{start: q.Offset, count: q.Count}, load{refs: true})
		if err != nil {
			return resources.Page{}, fmt.Errorf("search users: %w", err)
		}
		return page, nil
	}
	terms, err := s.planSearch(ctx, p, q)
	if err != nil {
		return resources.Page{}, fmt.Errorf("search users: %w", err)
	}
	est := int64(0)
	for _, t := range terms {
		est += t.leaves[0].count
	}
	n, err := s.client.ZCard(ctx, p+"all:user").Result()
	if err != nil {
		return resources.Page{}, fmt.Errorf("search users: redis: %w", err)
	}
	ld := load{refs: true}
	walk := est > searchBatch && est*est > 3*int64(q.Offset+q.Count)*n
	if s.search.plan != "" {
		walk = s.search.plan == "walk"
	}
	if !walk {
		ids, err := s.searchMatches(ctx, p, terms, nil)
		if err != nil {
			return resources.Page{}, fmt.Errorf("search users: %w", err)
		}
		if ids, err = s.inOrder(ctx, p, &s.users, ids); err != nil {
			return resources.Page{}, fmt.Errorf("search users: %w", err)
		}
		slices.Reverse(ids)
		lo, hi := window{start: q.Offset, count: q.Count}.bounds(len(ids))
		return s.page(ctx, p, &s.users, len(ids), ids[lo:hi], ld)
	}
	total, err := s.searchCount(ctx, p, terms)
	if err != nil {
		return resources.Page{}, fmt.Errorf("search users: %w", err)
	}
	ids, err := s.searchWalk(ctx, p, terms, q.Offset, q.Count)
	if err != nil {
		return resources.Page{}, fmt.Errorf("search users: %w", err)
	}
	return s.page(ctx, p, &s.users, total, ids, ld)
}

// planSearch maps q's terms onto the users' indexes and counts each leaf's
// range; a term with no leaf matches every user, and is refused.
func (s *Store) planSearch(ctx context.Context, p string, q resources.UserSearch) ([]searchTerm, error) {
	terms := make([]searchTerm, 0, len(q.Terms))
	for _, qt := range q.Terms {
		if len(qt) == 0 {
			return nil, resources.Errorf(resources.InvalidValue, "a search term needs at least one prefix")
		}
		var t searchTerm
		for _, pre := range qt {
			i := slices.IndexFunc(s.users.indexes, func(ix indexAttr) bool { return strings.EqualFold(ix.name, pre.Attr) })
			if i < 0 || s.users.indexes[i].typ != schemas.TypeString || s.users.indexes[i].meta || strings.IndexByte(pre.Value, 0) >= 0 {
				return nil, resources.Errorf(resources.InvalidValue, "cannot search users by the start of %q", pre.Attr)
			}
			ix := s.users.indexes[i]
			v := pre.Value
			if !ix.caseExact {
				v = strings.ToLower(v)
			}
			t.leaves = append(t.leaves, searchLeaf{ix: ix, min: "[" + v, max: "(" + v + "\xff"})
			t.flat = append(t.flat, ix.name, v)
		}
		terms = append(terms, t)
	}
	pipe := s.client.Pipeline()
	var counts []*redis.IntCmd
	for _, t := range terms {
		for _, l := range t.leaves {
			counts = append(counts, pipe.ZLexCount(ctx, p+"ix:user:"+l.ix.name, l.min, l.max))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	for ti := range terms {
		for li := range terms[ti].leaves {
			terms[ti].leaves[li].count, counts = counts[0].Val(), counts[1:]
		}
		slices.SortStableFunc(terms[ti].leaves, func(a, b searchLeaf) int { return cmp.Compare(a.count, b.count) })
	}
	// A term whose smallest range is empty matches nobody: dropped, it
	// costs no check.
	return slices.DeleteFunc(terms, func(t searchTerm) bool { return t.leaves[0].count == 0 }), nil
}

// flatTerms is terms as the scripts read them.
func flatTerms(terms []searchTerm) string {
	out := make([][]string, len(terms))
	for i, t := range terms {
		out[i] = t.flat
	}
	b, _ := json.Marshal(out) // strings always encode
	return string(b)
}

// searchMatches returns the users that match one of terms and none of
// before, without repeats, reading the smallest range of each term: the
// term's own matches less those of the terms before it. It fails with
// [resources.TooMany] past MaxScan users read.
func (s *Store) searchMatches(ctx context.Context, p string, terms, before []searchTerm) ([]string, error) {
	read := int64(0)
	var out []string
	seen := map[string]bool{}
	for i, t := range terms {
		l := t.leaves[0]
		if read += l.count; read > int64(s.MaxScan) {
			return nil, resources.Errorf(resources.TooMany, "the search matches more than %d users", s.MaxScan)
		}
		prior := append(slices.Clone(before), terms[:i]...)
		min := l.min
		this := []searchTerm{t}
		if len(t.leaves) == 1 {
			this = nil // the range is the term's matches
		}
		for {
			res, err := s.searchRangeScript.Run(ctx, s, []string{p + "ix:user:" + l.ix.name},
				p, flatTerms(this), flatTerms(prior), min, l.max, s.search.batchSize()).Slice()
			if err != nil {
				return nil, fmt.Errorf("redis: %w", err)
			}
			ids, _ := res[1].([]any)
			for _, v := range ids {
				id, _ := v.(string)
				if !seen[id] { // a multi-valued attribute may name a user twice
					seen[id] = true
					out = append(out, id)
				}
			}
			last, _ := res[0].(string)
			if last == "" {
				break
			}
			min = "(" + last
		}
	}
	return out, nil
}

// searchCount counts the users that match one of terms: the largest exact
// term's range counts its own (ZLEXCOUNT), and the others' matches that it
// does not match are read.
func (s *Store) searchCount(ctx context.Context, p string, terms []searchTerm) (int, error) {
	big := -1
	for i, t := range terms {
		if t.exact() && (big < 0 || t.leaves[0].count > terms[big].leaves[0].count) {
			big = i
		}
	}
	if big < 0 {
		ids, err := s.searchMatches(ctx, p, terms, nil)
		return len(ids), err
	}
	rest := slices.Delete(slices.Clone(terms), big, big+1)
	ids, err := s.searchMatches(ctx, p, rest, terms[big:big+1])
	return int(terms[big].leaves[0].count) + len(ids), err
}

// searchWalk returns the matches offset to offset+count-1 of terms, newest
// first, walking the ordering set batch by batch.
func (s *Store) searchWalk(ctx context.Context, p string, terms []searchTerm, offset, count int) ([]string, error) {
	flat := flatTerms(terms)
	var ids []string
	rank := int64(0)
	for rank >= 0 && len(ids) < count {
		res, err := s.searchWalkScript.Run(ctx, s, []string{p + "all:user"}, p, flat, rank, s.search.batchSize(), offset, count-len(ids)).Slice()
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		rank, _ = res[0].(int64)
		skipped, _ := res[1].(int64)
		offset -= int(skipped)
		got, _ := res[2].([]any)
		for _, v := range got {
			id, _ := v.(string)
			ids = append(ids, id)
		}
	}
	return ids, nil
}
