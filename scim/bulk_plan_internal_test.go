package scim

import (
	"fmt"
	"math/rand"
	"net/http"
	"slices"
	"testing"
)

// TestPlanBulkProperties: over random reference graphs (POSTs declaring
// bulkIds, PATCHes of a few resources, references forward, backward, to
// nothing and to themselves), planBulk plans every operation once; a
// referenced POST off the referrer's cycle runs before it; a cycle runs
// together; an operation runs before one listed earlier only when that one
// waits (for a later POST, behind a waiting write of its resource, or, for
// a POST no waiting operation needs, behind the waiting); and two PATCHes
// of one resource keep request order.
func TestPlanBulkProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for range 20000 {
		n := 1 + rng.Intn(7)
		ops := make([]bulkOp, n)
		for i := range ops {
			ops[i].endpoint = "Users"
			ops[i].method = http.MethodPatch
			ops[i].id = fmt.Sprint("u", rng.Intn(3))
			if rng.Intn(2) == 0 {
				ops[i].method, ops[i].id = http.MethodPost, ""
				ops[i].bulkID = fmt.Sprint("b", i)
			}
			for k := rng.Intn(3); k > 0; k-- {
				ops[i].refs = append(ops[i].refs, fmt.Sprint("b", rng.Intn(n+1)))
			}
		}
		p := planBulk(ops)
		pos := map[int]int{}
		for k, i := range p.order {
			if _, dup := pos[i]; dup {
				t.Fatalf("operation %d planned twice: %v", i, p.order)
			}
			pos[i] = k
		}
		if len(pos) != n {
			t.Fatalf("planned %d of %d: %v", len(pos), n, p.order)
		}
		for i, o := range ops {
			for _, name := range o.refs {
				for j, q := range ops {
					if q.bulkID == name && q.method == http.MethodPost && !slices.Contains(p.cycles[i], j) && pos[j] > pos[i] {
						t.Fatalf("operation %d runs before the POST %d it references: %+v, order %v", i, j, ops, p.order)
					}
				}
			}
			if c := p.cycles[i]; c != nil {
				for k, m := range c {
					if pos[m] != pos[c[0]]+k {
						t.Fatalf("cycle %v does not run together: %v", c, p.order)
					}
				}
			}
		}
		// waits: operation i runs after operations listed after it: it
		// references a later POST (or one that waits), it writes what an
		// earlier waiting operation writes, or it is on a cycle not at its
		// last operation.
		waits := make([]bool, n)
		declared := map[string]int{}
		for i, o := range ops {
			if o.method == http.MethodPost {
				declared[o.bulkID] = i
			}
		}
		at := func(i int) int { // where i's component runs: a cycle at its last
			if c := p.cycles[i]; c != nil {
				return c[len(c)-1]
			}
			return i
		}
		needsPost := func(k, j int) bool { // k references POST j, directly or through POSTs
			seen := map[int]bool{}
			var from func(x int) bool
			from = func(x int) bool {
				for _, name := range ops[x].refs {
					if d, ok := declared[name]; ok && !seen[d] {
						seen[d] = true
						if d == j || from(d) {
							return true
						}
					}
				}
				return false
			}
			return from(k)
		}
		for changed := true; changed; {
			changed = false
			set := func(i int) {
				if !waits[i] {
					waits[i], changed = true, true
				}
			}
			for i, o := range ops {
				if at(i) != i {
					set(i)
				}
				for _, name := range o.refs {
					if j, ok := declared[name]; ok && at(j) != at(i) && (at(j) > at(i) || waits[j]) {
						for _, m := range append(slices.Clone(p.cycles[i]), i) {
							set(m)
						}
					}
				}
				for k := range i {
					if waits[k] && o.method == http.MethodPatch && ops[k].method == http.MethodPatch && ops[k].id == o.id {
						set(i)
					}
					// A POST no earlier waiting operation needs waits behind it.
					if waits[k] && o.method == http.MethodPost && !needsPost(k, i) {
						set(i)
					}
				}
			}
		}
		for i := range ops {
			for j := i + 1; j < n; j++ {
				if pos[j] < pos[i] && !waits[i] && !slices.Contains(p.cycles[j], i) {
					t.Fatalf("operation %d runs before %d, listed earlier, which has nothing to wait for: %+v, order %v", j, i, ops, p.order)
				}
				if pos[j] < pos[i] && ops[i].method == http.MethodPatch && ops[j].method == http.MethodPatch && ops[i].id == ops[j].id &&
					p.cycles[i] == nil && p.cycles[j] == nil {
					t.Fatalf("PATCHes %d and %d of %s reordered: %+v, order %v", i, j, ops[i].id, ops, p.order)
				}
			}
		}
	}
}
