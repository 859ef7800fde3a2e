package backend

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// ListUsers runs a query over an organization's users. See the package
// documentation for how filters are planned.
func (s *Store) ListUsers(ctx context.Context, org string, q resources.Query) (resources.Page, error) {
	page, err := s.list(ctx, org, &s.users, q)
	if err == nil {
		err = s.boundPageGroups(page)
	}
	if err != nil {
		return resources.Page{}, fmt.Errorf("list users: %w", err)
	}
	return page, nil
}

// boundPageGroups fails with [resources.TooMany] when the users of page are
// in more than MaxListMembers groups in all: each is in MaxUserGroups at
// most, and a page returns the groups of its users within the bound of a
// page of groups' members.
func (s *Store) boundPageGroups(page resources.Page) error {
	total := 0
	for _, r := range page.Resources {
		total += len(r.Groups)
	}
	if s.MaxListMembers > 0 && total > s.MaxListMembers {
		return resources.Errorf(resources.TooMany,
			"the %d users of this page are in %d groups in all, more than the %d one list returns: ask for fewer users (count), or read each with GET /Users/{id}",
			len(page.Resources), total, s.MaxListMembers)
	}
	return nil
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
	if k, err = s.sparseReady(ctx, p, k); err != nil {
		return resources.Page{}, err
	}
	if k, err = s.createdReady(ctx, p, k); err != nil { // created.go
		return resources.Page{}, err
	}
	if k, err = s.substringCurrent(ctx, p, k, q.Filter); err != nil { // substring.go
		return resources.Page{}, err
	}
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
	if inner := s.complementOf(k, q.Filter); inner != nil {
		return s.complementPage(ctx, p, k, q.Filter, inner, w, ld) // complement.go
	}
	n := s.plan(k, q.Filter, false)
	switch {
	case n == nil:
		if page, ok, err := s.narrowedScan(ctx, p, k, q, w, ld); ok || err != nil { // narrow.go
			return page, err
		}
		return s.scan(ctx, p, k, q.Filter, w, ld.refs)
	case n.unique != "" && n.exact:
		return s.findByUserName(ctx, p, k, n.unique, w, ld)
	case n.active != "" && n.exact:
		return s.activePage(ctx, p, k, n, w, ld) // active.go
	case n.isLeaf() && n.exact && !n.multi:
		return s.leafPage(ctx, p, k, n, w, ld)
	}
	if n.op == filter.OR { // no leaf drives an "or" of different keys
		bs, ok, err := s.mergeBranches(ctx, p, k, q.Filter, n, false)
		if err != nil {
			return resources.Page{}, err
		}
		if ok {
			return s.mergePage(ctx, p, k, bs, w, ld) // merge.go
		}
		return s.collected(ctx, p, k, q, n, w, ld)
	}
	drive, est, ok, err := s.driver(ctx, p, k, n)
	if err != nil {
		return resources.Page{}, err
	}
	if ok {
		if drive, est, err = s.idDriver(ctx, p, k, n, drive, est); err != nil {
			return resources.Page{}, err
		}
		return s.streamPage(ctx, p, k, q, n, drive, est, w, ld)
	}
	return s.collected(ctx, p, k, q, n, w, ld)
}

// collected answers a plan no leaf drives nor merge streams (an "or" with
// a members.value eq branch): its
// ids, at most MaxScan, in creation order.
func (s *Store) collected(ctx context.Context, p string, k *kind, q resources.Query, n *node, w window, ld load) (resources.Page, error) {
	// Ordering (and, for a partly indexed filter, checking) the matches
	// costs their number: bounded like a scan.
	ids, err := s.collect(ctx, p, k, n, func(int64) error { return s.matchesTooMany(k, q.Filter) })
	if err != nil {
		return resources.Page{}, err
	}
	return s.orderedPage(ctx, p, k, q, ids, n.exact, w, ld)
}

// orderedPage answers a query from the ids that may match its filter,
// each once, in any order: in creation order, the ids themselves when they
// are exactly the matches (exact), else those whose documents match.
func (s *Store) orderedPage(ctx context.Context, p string, k *kind, q resources.Query, ids []string, exact bool, w window, ld load) (resources.Page, error) {
	if !exact {
		if err := s.checkWork(k, q.Filter, len(ids)); err != nil {
			return resources.Page{}, err
		}
	}
	ids, err := s.inOrder(ctx, p, k, ids)
	if err != nil {
		return resources.Page{}, err
	}
	if exact {
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
	named, err := s.userNamesReadyIn(ctx, p) // usernames.go
	if err != nil {
		return resources.Page{}, err
	}
	res, err := s.findUserName.Run(ctx, s, []string{userNameKey(p, lower), p + k.uniqueIndex()}, p, lower, named).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	page := resources.Page{Resources: []resources.Resource{}}
	if len(res) < 4 {
		return page, nil
	}
	id, _ := res[0].(string)
	r, err := scriptUser(id, res[1:], ld)
	if err != nil || r == nil {
		return page, err
	}
	page.Total = 1
	if lo, hi := w.bounds(1); hi > lo {
		page.Resources = append(page.Resources, *r)
	}
	return page, nil
}

// matchesTooMany is the error of a filter e whose matches, collected,
// would be more than MaxScan.
func (s *Store) matchesTooMany(k *kind, e resources.Filter) error {
	return resources.Errorf(resources.TooMany,
		"filter %v matches more than %d %ss; narrow it with an indexed attribute (%s)", e, s.MaxScan, k.name, k.indexHint())
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
	e           resources.Filter
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

func (s *Store) matcher(k *kind, e resources.Filter, w window, withMembers bool) *matcher {
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
		if r == nil || !resources.Match(resources.Document(m.k.rt, *r, ""), m.e) {
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
func (s *Store) scan(ctx context.Context, p string, k *kind, e resources.Filter, w window, withRefs bool) (resources.Page, error) {
	all := p + "all:" + k.name
	n, err := s.client.ZCard(ctx, all).Result()
	if err != nil {
		return resources.Page{}, fmt.Errorf("redis: %w", err)
	}
	if n > int64(s.MaxScan) {
		return resources.Page{}, resources.Errorf(resources.TooMany,
			"filter %v needs a full scan of more than %d %ss; %s", e, s.MaxScan, k.name, k.scanAdvice(e, s.MaxScan))
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
func (s *Store) checkWork(k *kind, e resources.Filter, n int) error {
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

// mentions reports whether a filter compares the core attribute name.
func mentions(e resources.Filter, name string) bool {
	switch e := e.(type) {
	case *resources.Comparison:
		return e.Attr.Core && e.Attr.Attr.Name() == name
	case *resources.ValuePath:
		return e.Attr.Core && e.Attr.Attr.Name() == name
	case *resources.Logical:
		return mentions(e.Left, name) || mentions(e.Right, name)
	case *resources.Not:
		return mentions(e.Filter, name)
	}
	return false
}
