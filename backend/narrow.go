package backend

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// A scan narrowed by index entries: co and ew without a trigram index.
//
// A filter no index range answers is a scan (query.go): every document of
// the organization read and checked, about 15 µs each (150 ms for 10,000
// users). But when what makes it a scan is a co or ew comparison on an
// indexed string attribute (name.familyName co "123", with no trigram
// index: substring.go), the attribute's index already holds every value,
// folded as the comparison folds it (entryList, resources.Match): reading
// the index's entries, about 50 bytes each, and keeping the ids of those
// whose value contains (or ends with) the operand finds the matches
// without a document. The filter's other comparisons narrow it the same
// way: an "and" needs one side narrowed (the ids of both when both are),
// an "or" both.
//
// The ids are put in creation order (inOrder), so that the answer is the
// scan's, page for page; a sorted query (sort.go) and a cursor (cursor.go)
// take them instead of every resource. When the narrowing is the filter itself (plain
// comparisons, not inside a value path, whose entries decide them, and
// their "or"s), the ids are the matches: the total is their number and
// only the page's documents are read. Otherwise they are candidates,
// checked on their documents as the scan checks every one. An "and" of two
// narrowed sides is such candidates too: its two indexes are read one after
// the other, and a user changed between the reads (familyName "Smith" to
// "Jones", givenName "Xavier" to "Bob", for familyName co "smith" and
// givenName co "bob") would be in both without ever matching both, as the
// planner never takes an intersection of two keys for the matches either.
//
// The entries read are bounded by MaxScan, counted (ZCARD of each index
// read) before any is read: past it, the scan answers as it would have
// (and refuses an organization of more than MaxScan resources). Reads go
// idBatch entries at a time and stop when the client leaves.

// narrowing is what index entries tell of a filter: the ids of the
// entries of key whose value keep accepts (a leaf), or the intersection
// (and) or union (or) of two narrowings.
type narrowing struct {
	key  string // after the organization's prefix: "ix:user:name.familyName"
	keep func(value string) bool

	op          filter.LogicalOperator
	left, right *narrowing

	// exact: the ids are the filter's matches, not candidates.
	exact bool
}

// narrow returns the narrowing of a filter by index entries, nil when
// entries do not narrow it. inValuePath: the comparisons are inside a
// value path, where several may have to hold of one value, so the ids
// are candidates.
func (k *kind) narrow(e resources.Filter, inValuePath bool) *narrowing {
	switch e := e.(type) {
	case *resources.Comparison:
		n := k.narrowLeaf(e)
		if n != nil && inValuePath {
			n.exact = false
		}
		return n
	case *resources.ValuePath:
		return k.narrow(e.Filter, true)
	case *resources.Logical:
		l, r := k.narrow(e.Left, inValuePath), k.narrow(e.Right, inValuePath)
		switch {
		case e.Op == filter.AND && l != nil && r != nil:
			// Candidates: the sides' indexes are read at different moments.
			return &narrowing{op: filter.AND, left: l, right: r, exact: false}
		case e.Op == filter.AND && (l != nil || r != nil):
			if l == nil {
				l = r
			}
			return &narrowing{op: filter.AND, left: l, exact: false}
		case e.Op == filter.OR && l != nil && r != nil:
			return &narrowing{op: filter.OR, left: l, right: r, exact: l.exact && r.exact}
		}
	}
	return nil
}

// narrowLeaf narrows a co or ew comparison on an indexed string
// attribute: nil for any other (the others that an index answers are
// planned as ranges; planner.go).
func (k *kind) narrowLeaf(e *resources.Comparison) *narrowing {
	if e.Op != filter.CO && e.Op != filter.EW {
		return nil
	}
	ix, _, ok := k.indexOf(e)
	if !ok || ix.meta || ix.sparse || ix.typ != schemas.TypeString {
		return nil
	}
	v, ok := e.Value.(string)
	if !ok || strings.IndexByte(v, 0) >= 0 {
		return nil
	}
	if !ix.caseExact {
		v = strings.ToLower(v) // as entryList folds the values
	}
	keep := func(value string) bool { return strings.Contains(value, v) }
	if e.Op == filter.EW {
		keep = func(value string) bool { return strings.HasSuffix(value, v) }
	}
	return &narrowing{key: "ix:" + k.name + ":" + ix.name, keep: keep, exact: true}
}

// leaves appends the keys n reads, one per leaf.
func (n *narrowing) leaves(keys []string) []string {
	if n == nil {
		return keys
	}
	if n.key != "" {
		return append(keys, n.key)
	}
	return n.right.leaves(n.left.leaves(keys))
}

// narrowedIDs returns the ids n yields, each once, in no order. ok is
// false, with nothing read, when its leaves hold more than MaxScan entries
// in all.
func (s *Store) narrowedIDs(ctx context.Context, p string, n *narrowing) (ids []string, ok bool, err error) {
	keys := n.leaves(nil)
	pipe := s.client.Pipeline()
	cards := make([]*redis.IntCmd, len(keys))
	for i, key := range keys {
		cards[i] = pipe.ZCard(ctx, p+key)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	entries := int64(0)
	for _, c := range cards {
		entries += c.Val()
	}
	if entries > int64(s.MaxScan) {
		return nil, false, nil
	}
	set, err := s.narrowedSet(ctx, p, n)
	if err != nil {
		return nil, false, err
	}
	ids = make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	return ids, true, nil
}

// narrowedSet returns the set of ids n yields.
func (s *Store) narrowedSet(ctx context.Context, p string, n *narrowing) (map[string]bool, error) {
	if n.key != "" {
		set := map[string]bool{}
		// Every entry, idBatch a read (a reply of 10,000 costs Redis some
		// milliseconds).
		err := s.walkRangeBy(ctx, p+n.key, wholeSet, false, idBatch, func(members []string) error {
			for _, m := range members {
				at := strings.LastIndexByte(m, 0)
				if at >= 0 && n.keep(m[:at]) {
					set[m[at+1:]] = true
				}
			}
			return nil
		})
		return set, err
	}
	l, err := s.narrowedSet(ctx, p, n.left)
	if err != nil || n.right == nil || n.op == filter.AND && len(l) == 0 {
		return l, err // an "and" with an empty side is empty: its other index is not read
	}
	r, err := s.narrowedSet(ctx, p, n.right)
	if err != nil {
		return nil, err
	}
	if n.op == filter.OR {
		for id := range r {
			l[id] = true
		}
		return l, nil
	}
	for id := range l {
		if !r[id] {
			delete(l, id)
		}
	}
	return l, nil
}

// narrowedScan answers a query whose filter has no plan but index entries
// narrow it (see above), in creation order as the scan would. ok is false
// when they do not, or hold more than MaxScan entries: the scan answers
// then.
func (s *Store) narrowedScan(ctx context.Context, p string, k *kind, q resources.Query, w window, ld load) (page resources.Page, ok bool, err error) {
	n := k.narrow(q.Filter, false)
	if n == nil {
		return resources.Page{}, false, nil
	}
	ids, ok, err := s.narrowedIDs(ctx, p, n)
	if err != nil || !ok {
		return resources.Page{}, false, err
	}
	page, err = s.orderedPage(ctx, p, k, q, ids, n.exact, w, ld) // query.go
	return page, true, err
}

// scanAdvice is what a refusal of a filter's scan (more than maxScan
// resources) tells the client to do instead. When co or ew comparisons on
// indexed attributes narrowed the filter but their indexes hold more than
// maxScan entries, the attribute is indexed already: the advice is the
// substring search an administrator can turn on for it (users' attributes
// that may have one, resources.SubstringAttributes), values of at least 3
// characters when it is on (shorter ones, or a side without it, make the
// scan), or eq and sw, which its index answers.
// Otherwise it names indexed attributes to filter on.
func (k *kind) scanAdvice(e resources.Filter, maxScan int) string {
	n := k.narrow(e, false)
	if n == nil {
		return "filter on an indexed attribute (" + k.indexHint() + ")"
	}
	var attrs, off, short []string
	for _, key := range n.leaves(nil) {
		a := strings.TrimPrefix(key, "ix:"+k.name+":")
		if slices.Contains(attrs, a) {
			continue
		}
		attrs = append(attrs, a)
		switch {
		case k.name != "user" || !slices.Contains(substringAttrs, a):
		case slices.Contains(k.substringReady, a):
			short = append(short, a)
		default:
			off = append(off, a)
		}
	}
	var b strings.Builder
	its := "its index"
	if len(attrs) > 1 {
		its = "their indexes"
	}
	fmt.Fprintf(&b, "co and ew on %s read every value of %s, more than %d", strings.Join(attrs, ", "), its, maxScan)
	if len(off) > 0 {
		fmt.Fprintf(&b, "; an administrator can turn on substring search for %s (the organization's substringSearch setting)", strings.Join(off, ", "))
	}
	b.WriteString(shortValueHint(short)) // substring.go
	b.WriteString("; or filter with eq or sw, which the index answers")
	return b.String()
}
