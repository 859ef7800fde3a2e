package resources

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// TestPatchPathComparisons: a PATCH path's value filter may have at most
// MaxFilterTerms comparisons, counted before it is parsed, as a query's
// filter; the check is the one both use.
func TestPatchPathComparisons(t *testing.T) {
	rt := schemas.Users()
	over := fmt.Sprintf(`[{"op":"remove","path":"emails[%s].display"}]`, orTerms("value", "co", MaxFilterTerms+1))
	_, err := ApplyPatch(t.Context(), rt, jsonDoc(t, baseUser), patchOps(t, over))
	checkErr(t, err, InvalidPath, fmt.Sprintf("%d comparisons, at most %d", MaxFilterTerms+1, MaxFilterTerms))
	atLimit := fmt.Sprintf(`[{"op":"remove","path":"emails[%s].display"}]`, orTerms("value", "co", MaxFilterTerms))
	if _, err := ApplyPatch(t.Context(), rt, jsonDoc(t, baseUser), patchOps(t, atLimit)); err != nil {
		t.Errorf("ApplyPatch(a path of %d comparisons): %v", MaxFilterTerms, err)
	}
}

// TestPatchFilterWork: the value filters of one PATCH share one budget,
// charged for parsing (filterParseWork per comparison) and for each
// evaluation (values x comparisons), before the work.
// A path named by several operations is parsed, and charged, once.
func TestPatchFilterWork(t *testing.T) {
	rt := schemas.Users()
	// A user with 100 emails.
	var emails []string
	for i := range MaxValues {
		emails = append(emails, fmt.Sprintf(`{"value":"e%d@example.com","type":"other"}`, i))
	}
	doc := jsonDoc(t, `{"userName":"bulk@example.com","emails":[`+strings.Join(emails, ",")+`]}`)
	path := func(i, n int) string {
		terms := make([]string, n)
		for j := range terms {
			terms[j] = fmt.Sprintf(`value co \"zz%d-%d\"`, i, j)
		}
		return `emails[` + strings.Join(terms, " or ") + `].display`
	}
	opsOf := func(n int, op func(i int) string) []PatchOp {
		list := make([]string, n)
		for i := range list {
			list[i] = op(i)
		}
		return patchOps(t, "["+strings.Join(list, ",")+"]")
	}
	perPath := 10*filterParseWork + 10*100 // 10 comparisons to parse, evaluated on 100 values
	cases := []struct {
		name   string
		budget int
		ops    []PatchOp
		fails  bool
	}{
		{"two paths, within", 2 * perPath, opsOf(2, func(i int) string { return `{"op":"remove","path":"` + path(i, 10) + `"}` }), false},
		{"three paths, over", 2 * perPath, opsOf(3, func(i int) string { return `{"op":"remove","path":"` + path(i, 10) + `"}` }), true},
		// One path, parsed once, evaluated by each of 1000 operations.
		{"one path, many operations", 10*filterParseWork + 1000*1000, opsOf(1000, func(int) string { return `{"op":"remove","path":"` + path(0, 10) + `"}` }), false},
		{"one path, many operations, over", 10*filterParseWork + 1000*1000 - 1, opsOf(1000, func(int) string { return `{"op":"remove","path":"` + path(0, 10) + `"}` }), true},
		// One comparison to parse, 100 values to evaluate.
		{"evaluation, within", 50 * (filterParseWork + 100), opsOf(50, func(i int) string {
			return fmt.Sprintf(`{"op":"replace","path":"emails[value eq \"e%d@example.com\"].display","value":"x"}`, i)
		}), false},
		{"evaluation, over", 50*(filterParseWork+100) - 1, opsOf(50, func(i int) string {
			return fmt.Sprintf(`{"op":"replace","path":"emails[value eq \"e%d@example.com\"].display","value":"x"}`, i)
		}), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := applyPatch(t.Context(), newPatchWork(t.Context(), rt, c.budget), doc, c.ops)
			if !c.fails {
				if err != nil {
					t.Fatalf("applyPatch(budget %d): %v", c.budget, err)
				}
				return
			}
			checkErr(t, err, TooMany, fmt.Sprintf("the filters of this PATCH cost more than the %d comparisons one request may evaluate", c.budget))
		})
	}
}

// TestPatchFilterWorkAcrossRetries: a write retried after losing a race
// applies its operations again without parsing their paths again: the
// budget is the request's.
func TestPatchFilterWorkAcrossRetries(t *testing.T) {
	rt := schemas.Users()
	w := newPatchWork(t.Context(), rt, 10*filterParseWork)
	ops := patchOps(t, `[{"op":"remove","path":"emails[`+orTerms("value", "co", 10)+`].display"}]`)
	for attempt := range 5 {
		if _, err := applyPatch(t.Context(), w, jsonDoc(t, `{"userName":"a@example.com"}`), ops); err != nil {
			t.Fatalf("attempt %d: applyPatch: %v", attempt+1, err)
		}
	}
}

// BenchmarkParsePatchPath measures parsing a PATCH path's value filter by
// its comparisons: filterParseWork is its cost per comparison over that of
// one evaluated.
func BenchmarkParsePatchPath(b *testing.B) {
	rt := schemas.Users()
	for _, n := range []int{1, 2, 10, 50, MaxFilterTerms} {
		terms := make([]string, n)
		for i := range terms {
			terms[i] = fmt.Sprintf(`value co "zz%d"`, i)
		}
		path := "emails[" + strings.Join(terms, " or ") + "].display"
		b.Run(fmt.Sprintf("comparisons=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := parsePatchPath(rt, path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPatchWorkUse: a write's attempt that reads another resource type (the
// organization's custom attributes changed) resolves its paths again; the
// same type keeps them, and the budget spent stays spent.
func TestPatchWorkUse(t *testing.T) {
	rt := schemas.Users()
	w := newPatchWork(t.Context(), rt, MaxFilterWork)
	if _, err := w.target(`emails[type eq "work" and primary eq true].value`); err != nil {
		t.Fatalf("target: %v", err)
	}
	spent := MaxFilterWork - w.left
	if w.use(rt); len(w.paths) != 1 {
		t.Errorf("use(the same type) left %d paths parsed, want 1", len(w.paths))
	}
	next := rt
	next.Custom.Generation++
	if w.use(next); len(w.paths) != 0 || MaxFilterWork-w.left != spent {
		t.Errorf("use(a newer generation) left %d paths parsed and %d spent, want 0 and %d", len(w.paths), MaxFilterWork-w.left, spent)
	}
}
