package backend

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// ListUsers runs a query over an organization's users. See the package
// documentation for how filters are planned.
func (s *Store) ListUsers(ctx context.Context, org string, q resources.Query) (resources.Page, error) {
	page, err := s.list(ctx, org, &s.users, q)
	if err != nil {
		return resources.Page{}, fmt.Errorf("list users: %w", err)
	}
	return page, nil
}

// ListGroups runs a query over an organization's groups; members are loaded
// only when q.WithMembers is set.
func (s *Store) ListGroups(ctx context.Context, org string, q resources.Query) (resources.Page, error) {
	page, err := s.list(ctx, org, &s.groups, q)
	if err != nil {
		return resources.Page{}, fmt.Errorf("list groups: %w", err)
	}
	return page, nil
}

// node is a filter planned onto the indexes. A leaf is a range read of one
// index (or, for userName eq, one uniqueness hash field). exact reports
// whether the ids a node yields are exactly the matches of its filter;
// otherwise they are candidates, a superset, to check with resources.Match.
type node struct {
	// leaf
	ix       indexAttr
	min, max string
	unique   string // userName eq: the lowercase userName
	isUnique bool
	group    string // groups.value eq: the group whose members are the ids (membership.go)
	// inner: and, or
	op          filter.LogicalOperator
	left, right *node

	exact bool
}

type window struct{ start, count int }

func pageWindow(q resources.Query) window {
	w := window{start: q.StartIndex - 1, count: q.Count}
	if w.start < 0 {
		w.start = 0
	}
	if w.count < 0 {
		w.count = 0
	}
	return w
}

func (s *Store) list(ctx context.Context, org string, k *kind, q resources.Query) (resources.Page, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Page{}, err
	}
	k = k.forType(q.Type) // an organization's custom attributes
	w := pageWindow(q)
	ld := load{refs: k.groupRefs || q.WithMembers, attrs: !q.RawOnly, maxRefs: s.maxRefs(q.WithMembers)}
	if q.Seek != nil {
		return s.seekList(ctx, p, k, q, ld) // cursor.go
	}
	if q.Sort != nil {
		return s.sortedList(ctx, p, k, q, w, ld)
	}
	if q.Filter == nil {
		return s.listAll(ctx, p, k, w, ld)
	}
	n := s.plan(k, q.Filter, false)
	if n == nil {
		return s.scan(ctx, p, k, q.Filter, w, ld.refs)
	}
	if n.isUnique && n.exact {
		return s.findByUserName(ctx, p, k, n.unique, w, ld)
	}
	if n.exact && w.count == 0 && !n.isUnique && n.group == "" && n.left == nil && !n.ix.multi {
		total, err := s.client.ZLexCount(ctx, p+"ix:"+k.name+":"+n.ix.name, n.min, n.max).Result()
		if err != nil {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
		return resources.Page{Total: int(total), Resources: []resources.Resource{}}, nil
	}
	ids, err := s.run(ctx, p, k, n)
	if err != nil {
		return resources.Page{}, err
	}
	if len(ids) > s.MaxScan {
		// Ordering (and, for a partly indexed filter, checking) the matches
		// costs their number: bounded like a scan.
		return resources.Page{}, resources.Errorf(resources.TooMany,
			"filter %v matches more than %d %ss; narrow it with an indexed attribute (%s)", q.Filter, s.MaxScan, k.name, k.indexHint())
	}
	if !n.exact {
		if err := s.checkWork(k, q.Filter, len(ids)); err != nil {
			return resources.Page{}, err
		}
	}
	ids, err = s.inOrder(ctx, p, k, ids)
	if err != nil {
		return resources.Page{}, err
	}
	if n.exact {
		lo, hi := w.bounds(len(ids))
		return s.page(ctx, p, k, len(ids), ids[lo:hi], ld)
	}
	m := s.matcher(k, q.Filter, w, q.WithMembers)
	for len(ids) > 0 {
		batch := ids[:min(scanBatch, len(ids))]
		ids = ids[len(batch):]
		if err := m.add(ctx, s, p, batch); err != nil {
			return resources.Page{}, err
		}
	}
	return m.page, nil
}

func (w window) bounds(n int) (lo, hi int) {
	lo = min(w.start, n)
	hi = min(lo+w.count, n)
	return lo, hi
}

// listAll pages through the ordering set: O(log N + count).
func (s *Store) listAll(ctx context.Context, p string, k *kind, w window, ld load) (resources.Page, error) {
	all := p + "all:" + k.name
	pipe := s.client.Pipeline()
	card := pipe.ZCard(ctx, all)
	var rng *redis.StringSliceCmd
	if w.count > 0 {
		rng = pipe.ZRange(ctx, all, int64(w.start), int64(w.start+w.count-1))
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

// findByUserName answers "userName eq" with one script round trip. The user's
// groups are always loaded; ld says whether to decode the document.
func (s *Store) findByUserName(ctx context.Context, p string, k *kind, lower string, w window, ld load) (resources.Page, error) {
	res, err := s.findUserName.Run(ctx, s.client, []string{p + k.uniqueHash()}, p, lower).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	page := resources.Page{Resources: []resources.Resource{}}
	if len(res) < 6 {
		return page, nil
	}
	id, _ := res[0].(string)
	r, ok, err := decode(id, res[1:5], ld.attrs)
	if err != nil || !ok {
		return page, err
	}
	r.Groups = refs(res[5])
	page.Total = 1
	if lo, hi := w.bounds(1); hi > lo {
		page.Resources = append(page.Resources, *r)
	}
	return page, nil
}

// plan maps a filter onto the indexes; nil means no index helps. Inside a
// value path (emails[value sw "a"]) leaves are candidates only.
func (s *Store) plan(k *kind, e filter.Expression, inValuePath bool) *node {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		n := s.planLeaf(k, e)
		if n != nil && inValuePath {
			n.exact = false
		}
		return n
	case *filter.ValuePath:
		return s.plan(k, qualify(e.AttributePath, e.ValueFilter), true)
	case *filter.LogicalExpression:
		l, r := s.plan(k, e.Left, inValuePath), s.plan(k, e.Right, inValuePath)
		switch filter.LogicalOperator(strings.ToLower(string(e.Operator))) {
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
			return &node{op: filter.AND, left: l, right: r, exact: false}
		case filter.OR:
			if l == nil || r == nil {
				return nil
			}
			return &node{op: filter.OR, left: l, right: r, exact: l.exact && r.exact}
		}
	}
	return nil
}

// qualify rewrites the attribute paths of a value path's filter to full
// paths: emails[value eq "x"] -> emails.value eq "x". Only attribute
// expressions and logical combinations are kept; anything else becomes nil.
func qualify(parent filter.AttributePath, e filter.Expression) filter.Expression {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		sub := e.AttributePath.AttributeName
		return &filter.AttributeExpression{
			AttributePath: filter.AttributePath{URIPrefix: parent.URIPrefix, AttributeName: parent.AttributeName, SubAttribute: &sub},
			Operator:      e.Operator,
			CompareValue:  e.CompareValue,
		}
	case *filter.LogicalExpression:
		return &filter.LogicalExpression{Left: qualify(parent, e.Left), Right: qualify(parent, e.Right), Operator: e.Operator}
	}
	return nil
}

func (s *Store) planLeaf(k *kind, e *filter.AttributeExpression) *node {
	if n := membershipLeaf(k, e); n != nil {
		return n
	}
	if n := substringPlan(k, e); n != nil { // substring leaf
		return n
	}
	op := filter.CompareOperator(strings.ToLower(string(e.Operator)))
	ix, whole, ok := k.indexOf(e.AttributePath)
	if !ok || whole && op == filter.PR {
		// A complex attribute compared as a whole compares its "value"
		// (emails eq "x" is emails.value eq "x"), but "pr" is about the whole.
		return nil
	}
	n := &node{ix: ix, exact: true}
	if op == filter.PR {
		if ix.typ == schemas.TypeString {
			n.min, n.max = "[\x01", "+" // empty strings are not present
		} else {
			n.min, n.max = "-", "+"
		}
		return n
	}
	var v string
	switch ix.typ {
	case schemas.TypeBoolean:
		b, ok := resources.ParseBool(e.CompareValue)
		if !ok || op != filter.EQ {
			return nil
		}
		v = fmt.Sprint(b)
	case schemas.TypeDateTime:
		str, ok := e.CompareValue.(string)
		if !ok {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return nil
		}
		v = t.UTC().Format(tsFormat)
	default:
		str, ok := e.CompareValue.(string)
		if !ok || strings.IndexByte(str, 0) >= 0 {
			return nil
		}
		v = str
		if !ix.caseExact {
			v = strings.ToLower(v)
		}
	}
	switch op {
	case filter.EQ:
		if k.findByUnique && ix.name == k.unique {
			n.isUnique, n.unique = true, v
			return n
		}
		n.min, n.max = "["+v+"\x00", "("+v+"\x01"
	case filter.SW:
		if ix.typ != schemas.TypeString {
			return nil
		}
		n.min, n.max = "["+v, "("+v+"\xff"
	case filter.GT:
		n.min, n.max = "["+v+"\x01", "+"
	case filter.GE:
		n.min, n.max = "["+v+"\x00", "+"
	case filter.LT:
		n.min, n.max = "-", "("+v+"\x00"
	case filter.LE:
		n.min, n.max = "-", "("+v+"\x01"
	default: // ne, co, ew: evaluated on documents
		return nil
	}
	return n
}

// run returns the ids a planned node yields, without repeats.
func (s *Store) run(ctx context.Context, p string, k *kind, n *node) ([]string, error) {
	switch {
	case n.isUnique:
		id, err := s.client.HGet(ctx, p+k.uniqueHash(), n.unique).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		return []string{id}, nil
	case n.group != "":
		return s.groupMembers(ctx, p, n.group)
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
	members, err := s.client.ZRangeByLex(ctx, p+"ix:"+k.name+":"+n.ix.name, &redis.ZRangeBy{Min: n.min, Max: n.max}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m[strings.LastIndexByte(m, 0)+1:]
	}
	if n.ix.multi {
		ids = dedupe(ids)
	}
	return ids, nil
}

// estimate returns an upper bound of the number of ids a node yields,
// cheaply: O(log N) per leaf.
func (s *Store) estimate(ctx context.Context, p string, k *kind, n *node) (int64, error) {
	switch {
	case n.isUnique:
		return 1, nil
	case n.group != "":
		return s.memberTotal(ctx, p, n.group)
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
	c, err := s.client.ZLexCount(ctx, p+"ix:"+k.name+":"+n.ix.name, n.min, n.max).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return c, nil
}

// inOrder sorts ids by creation (their score in the ordering set), dropping
// ids deleted meanwhile.
func (s *Store) inOrder(ctx context.Context, p string, k *kind, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return ids, nil
	}
	const chunk = 1000
	pipe := s.client.Pipeline()
	var cmds []*redis.FloatSliceCmd
	for i := 0; i < len(ids); i += chunk {
		cmds = append(cmds, pipe.ZMScore(ctx, p+"all:"+k.name, ids[i:min(i+chunk, len(ids))]...))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis: %w", err)
	}
	type scored struct {
		id    string
		score float64
	}
	all := make([]scored, 0, len(ids))
	for c, cmd := range cmds {
		for i, sc := range cmd.Val() {
			if sc == 0 { // missing: ZMSCORE answers nil, read as 0; sequence scores start at 1
				continue
			}
			all = append(all, scored{ids[c*chunk+i], sc})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].score < all[j].score })
	out := make([]string, len(all))
	for i, x := range all {
		out[i] = x.id
	}
	return out, nil
}

// matcher evaluates a filter on fetched documents, counting matches and
// keeping those in the page window.
type matcher struct {
	k           *kind
	e           filter.Expression
	w           window
	withMembers bool // return members
	// filterRefs: the filter needs the refs to be evaluated (a user's
	// groups, always loaded; a group's members, when it mentions them).
	filterRefs bool
	// onMembers: the filter is evaluated on groups' members, whose number
	// it is charged for (work, terms) before they are loaded.
	onMembers   bool
	terms, work int
	seen        int
	page        resources.Page
}

func (s *Store) matcher(k *kind, e filter.Expression, w window, withMembers bool) *matcher {
	onMembers := k.rt.HasMembers && mentions(e, "members")
	return &matcher{
		k: k, e: e, w: w, withMembers: withMembers,
		filterRefs: k.groupRefs || onMembers,
		onMembers:  onMembers,
		terms:      resources.FilterTerms(e),
		page:       resources.Page{Resources: []resources.Resource{}},
	}
}

// add examines the resources ids. A filter on groups' members costs its
// comparisons times their members: that is charged to MaxFilterWork, from
// the members' count, before any member is loaded. Groups returned with
// their members are loaded again, the matching ones of the page only, within
// MaxListMembers: a group the filter does not keep costs nothing.
func (m *matcher) add(ctx context.Context, s *Store, p string, ids []string) error {
	if err := ctx.Err(); err != nil {
		return err // the client left: stop examining
	}
	if m.onMembers {
		n, err := s.memberCount(ctx, p, ids)
		if err != nil {
			return err
		}
		m.work += m.terms * (n + len(ids))
		if m.work > s.MaxFilterWork {
			return resources.Errorf(resources.TooMany,
				"the filter needs its %d comparisons evaluated on the members of the groups, more than the %d evaluations one query may cost; filter on an indexed attribute (%s) first, or with fewer comparisons",
				m.terms, s.MaxFilterWork, m.k.indexHint())
		}
	}
	rs, err := s.fetch(ctx, p, m.k, ids, load{refs: m.filterRefs, attrs: true})
	if err != nil {
		return err
	}
	var kept []string // groups of the page to return with their members
	for _, r := range rs {
		if r == nil || !resources.Match(m.k.rt, resources.Document(m.k.rt, *r, ""), m.e) {
			continue
		}
		if m.seen >= m.w.start && m.seen < m.w.start+m.w.count {
			if m.k.rt.HasMembers {
				if m.withMembers {
					kept = append(kept, r.ID)
				}
				r.Members = nil
			}
			m.page.Resources = append(m.page.Resources, *r)
		}
		m.seen++
	}
	m.page.Total = m.seen
	if len(kept) == 0 {
		return nil
	}
	withMembers, err := s.fetch(ctx, p, m.k, kept, load{refs: true, attrs: true, maxRefs: s.MaxListMembers})
	if err != nil {
		return err
	}
	byID := make(map[string]*resources.Resource, len(withMembers))
	for _, r := range withMembers {
		if r != nil {
			byID[r.ID] = r
		}
	}
	for i := len(m.page.Resources) - len(kept); i < len(m.page.Resources); i++ {
		if r := byID[m.page.Resources[i].ID]; r != nil {
			m.page.Resources[i].Members = r.Members
		}
	}
	return nil
}

// scan evaluates a filter no index covers on every resource, in creation
// order, up to MaxScan resources.
func (s *Store) scan(ctx context.Context, p string, k *kind, e filter.Expression, w window, withRefs bool) (resources.Page, error) {
	all := p + "all:" + k.name
	n, err := s.client.ZCard(ctx, all).Result()
	if err != nil {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	if n > int64(s.MaxScan) {
		return resources.Page{}, resources.Errorf(resources.TooMany,
			"filter %v needs a full scan of more than %d %ss; filter on an indexed attribute (%s)", e, s.MaxScan, k.name, k.indexHint())
	}
	if err := s.checkWork(k, e, int(n)); err != nil {
		return resources.Page{}, err
	}
	m := s.matcher(k, e, w, withRefs && k.rt.HasMembers)
	for start := int64(0); ; start += scanBatch {
		ids, err := s.client.ZRange(ctx, all, start, start+scanBatch-1).Result()
		if err != nil {
			return resources.Page{}, fmt.Errorf("redis: %w", err)
		}
		if err := m.add(ctx, s, p, ids); err != nil {
			return resources.Page{}, err
		}
		if len(ids) < scanBatch {
			return m.page, nil
		}
	}
}

// checkWork fails with [resources.TooMany] when evaluating e on n resources
// would cost more than MaxFilterWork comparisons: checked before the first
// is examined, so a hostile filter costs nothing but this.
func (s *Store) checkWork(k *kind, e filter.Expression, n int) error {
	terms := resources.FilterTerms(e)
	if n*terms <= s.MaxFilterWork {
		return nil
	}
	return resources.Errorf(resources.TooMany,
		"the filter needs its %d comparisons evaluated on %d %ss, more than the %d evaluations one query may cost; filter on an indexed attribute (%s) or with fewer comparisons",
		terms, n, k.name, s.MaxFilterWork, k.indexHint())
}

// maxRefs is the bound of a list's load: MaxListMembers when it returns
// members; a filter on members reads them to evaluate it, batch by batch.
func (s *Store) maxRefs(withMembers bool) int {
	if withMembers {
		return s.MaxListMembers
	}
	return 0
}

// mentions reports whether a filter refers to the attribute name.
func mentions(e filter.Expression, name string) bool {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		return strings.EqualFold(e.AttributePath.AttributeName, name)
	case *filter.ValuePath:
		return strings.EqualFold(e.AttributePath.AttributeName, name) || mentions(e.ValueFilter, name)
	case *filter.LogicalExpression:
		return mentions(e.Left, name) || mentions(e.Right, name)
	case *filter.NotExpression:
		return mentions(e.Expression, name)
	}
	return false
}
