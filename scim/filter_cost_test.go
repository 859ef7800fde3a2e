package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

// orFilter joins n comparisons made by fn from their index with "or".
func orFilter(n int, fn func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fn(i)
	}
	return strings.Join(parts, " or ")
}

// TestFilterComparisonLimit: a filter of more than resources.MaxFilterTerms
// comparisons is refused as it is parsed, whoever asks (a reader token too),
// on every way in; one of exactly that many runs.
func TestFilterComparisonLimit(t *testing.T) {
	co := func(i int) string { return fmt.Sprintf(`userName co "zz%d"`, i) }
	over, atLimit := orFilter(resources.MaxFilterTerms+1, co), orFilter(resources.MaxFilterTerms, co)
	detail := fmt.Sprintf("%d comparisons, at most %d", resources.MaxFilterTerms+1, resources.MaxFilterTerms)
	stores(t, func(t *testing.T, a *api) {
		createCustomer(t, a, "terms@example.com", nil)
		a.do("GET", "/Users?filter="+url.QueryEscape(over), readerToken, nil).scimError(t, http.StatusBadRequest, "invalidFilter", detail)
		a.do("GET", "/?filter="+url.QueryEscape(over), readerToken, nil).scimError(t, http.StatusBadRequest, "invalidFilter", detail)
		a.do("POST", "/Users/.search", readerToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": over,
		}).scimError(t, http.StatusBadRequest, "invalidFilter", detail)
		a.do("GET", "/Users?filter="+url.QueryEscape(atLimit), readerToken, nil).must(t, http.StatusOK)
	})
}

// TestFilterWorkBudget: a filter evaluated on fetched documents costs its
// comparisons times the documents examined; past the store's MaxFilterWork
// the query is 400 tooMany, on a full scan, on an index's candidates and when
// sorting, and a query within it answers.
func TestFilterWorkBudget(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for i := range 10 {
			a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("budget%d@example.com", i), map[string]any{"displayName": fmt.Sprintf("B%d", i)})).must(t, http.StatusCreated)
		}
		a.store.MaxFilterWork = 25 // 10 users: two comparisons each fit, three do not
		const detail = "the filter needs its 3 comparisons evaluated on 10 users, more than the 25 evaluations one query may cost"
		for _, q := range []string{
			"filter=" + url.QueryEscape(`title co "a" or title co "b" or title co "c"`),                        // full scan
			"filter=" + url.QueryEscape(`userName sw "budget" and (displayName co "a" or displayName co "b")`), // index candidates
			"sortBy=displayName&filter=" + url.QueryEscape(`userName co "a" or userName co "b" or title co "c"`),
		} {
			a.do("GET", "/Users?"+q, readerToken, nil).scimError(t, http.StatusBadRequest, "tooMany", detail)
		}
		r := a.do("GET", "/Users?filter="+url.QueryEscape(`userName co "budget1" or displayName eq "B2"`), readerToken, nil).must(t, http.StatusOK)
		if got := r.body["totalResults"]; got != float64(2) {
			t.Errorf("a filter within the budget: totalResults = %v, want 2", got)
		}
	})
}
