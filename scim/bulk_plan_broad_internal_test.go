package scim

import (
	"fmt"
	"math/rand"
	"net/http"
	"slices"
	"testing"
)

// Broader random plans than TestPlanBulkProperties: all methods, both
// endpoints, bulkId paths, invalid POSTs. Checks: every operation once; a
// referenced POST (off the referrer's cycle) runs before; two non-POST
// writes of one resource key keep request order.
func TestPlanBulkBroad(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	methods := []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	for range 100000 {
		n := 1 + rng.Intn(8)
		ops := make([]bulkOp, n)
		for i := range ops {
			o := &ops[i]
			o.method = methods[rng.Intn(4)]
			o.endpoint = []string{"Users", "Groups"}[rng.Intn(2)]
			if o.method == http.MethodPost {
				if rng.Intn(5) > 0 {
					o.bulkID = fmt.Sprint("b", i)
				}
			} else if rng.Intn(3) == 0 {
				o.id = fmt.Sprint("bulkId:b", rng.Intn(n+1))
				o.refs = append(o.refs, o.id[len("bulkId:"):])
			} else {
				o.id = fmt.Sprint("x", rng.Intn(3))
			}
			if o.method != http.MethodDelete {
				for k := rng.Intn(3); k > 0; k-- {
					o.refs = append(o.refs, fmt.Sprint("b", rng.Intn(n+1)))
				}
			}
		}
		p := planBulk(ops)
		pos := map[int]int{}
		for k, i := range p.order {
			if _, dup := pos[i]; dup {
				t.Fatalf("twice: %v", p.order)
			}
			pos[i] = k
		}
		if len(pos) != n {
			t.Fatalf("planned %d of %d", len(pos), n)
		}
		for i, o := range ops {
			for _, name := range o.refs {
				for j, q := range ops {
					if q.bulkID == name && q.method == http.MethodPost && q.err == nil && !slices.Contains(p.cycles[i], j) && pos[j] > pos[i] {
						t.Fatalf("op %d before POST %d it references: %+v order %v", i, j, ops, p.order)
					}
				}
			}
			for j := i + 1; j < n; j++ {
				q := ops[j]
				if o.method != http.MethodPost && q.method != http.MethodPost && o.resource() == q.resource() && o.resource() != "" && pos[j] < pos[i] {
					t.Fatalf("writes %d and %d of %s reordered: %+v order %v", i, j, o.resource(), ops, p.order)
				}
			}
		}
	}
}
