package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
)

const reviewURN = "urn:example:scim:schemas:extension:review:1.0:User"

func reviewUser(userName string, ext map[string]any) map[string]any {
	return user(userName, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", reviewURN}, reviewURN: ext})
}

// filtered returns the sorted userNames filter f selects.
func filtered(t *testing.T, a *api, f string) string {
	t.Helper()
	r := a.do("GET", "/Users?count=1000&filter="+url.QueryEscape(f), ownerToken, nil).must(t, http.StatusOK)
	var names []string
	res, _ := r.body["Resources"].([]any)
	for _, x := range res {
		names = append(names, str(x, "userName"))
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// "pr" of an indexed reference attribute answers as an unindexed one: ""
// is not present (RFC 7644 §3.4.2.2), for references as for strings.
func TestIndexedReferencePresentIgnoresEmpty(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, map[string]any{"id": reviewURN, "name": "R", "attributes": []any{
			map[string]any{"name": "rix", "type": "reference", "indexed": true},
			map[string]any{"name": "rnx", "type": "reference"},
		}}).must(t, http.StatusCreated)
		a.do("POST", "/Users", ownerToken, reviewUser("empty@example.com", map[string]any{"rix": "", "rnx": ""})).must(t, http.StatusCreated)
		a.do("POST", "/Users", ownerToken, reviewUser("full@example.com", map[string]any{"rix": "https://x/1", "rnx": "https://x/1"})).must(t, http.StatusCreated)
		for _, f := range []string{"%s pr", "not (%s pr)"} {
			ix, nx := fmt.Sprintf(f, reviewURN+":rix"), fmt.Sprintf(f, reviewURN+":rnx")
			if gi, gn := filtered(t, a, ix), filtered(t, a, nx); gi != gn {
				t.Errorf("%s = [%s], but unindexed %s = [%s]", ix, gi, nx, gn)
			}
		}
		if got := filtered(t, a, reviewURN+":rix pr"); got != "full@example.com" {
			t.Errorf("rix pr = [%s], want [full@example.com]", got)
		}
	})
}

// Narrowed canonicalValues apply to values written later: a PATCH that
// leaves stored values as they are is not refused for them (as a PUT that
// resends them is not).
func TestNarrowedCanonicalValuesKeepStoredOnes(t *testing.T) {
	a := newAPI(t, "", func(c *scim.Config) { c.TokenRate = -1 })
	def := func(ml, sub []any) map[string]any {
		return map[string]any{"id": reviewURN, "name": "R", "attributes": []any{
			map[string]any{"name": "ml", "type": "string", "multiValued": true, "canonicalValues": ml},
			map[string]any{"name": "one", "type": "complex", "subAttributes": []any{
				map[string]any{"name": "s", "type": "string", "canonicalValues": sub},
				map[string]any{"name": "k", "type": "integer"},
			}},
		}}
	}
	a.schemaAdmin("POST", "", ownerToken, def([]any{"x", "y", "z"}, []any{"p", "q"})).must(t, http.StatusCreated)
	id := str(a.do("POST", "/Users", ownerToken, reviewUser("a@example.com", map[string]any{
		"ml": []any{"x", "y"}, "one": map[string]any{"s": "p", "k": 1}})).must(t, http.StatusCreated).body, "id")
	a.schemaAdmin("PUT", "/"+reviewURN, ownerToken, def([]any{"y", "z"}, []any{"q"})).must(t, http.StatusOK)
	a.do("PATCH", "/Users/"+id, ownerToken, patch(op("add", reviewURN+":ml", []any{"z"}))).must(t, http.StatusOK)
	a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", reviewURN+":one.k", 2))).must(t, http.StatusOK)
	// New values still follow the narrowed list.
	a.do("PATCH", "/Users/"+id, ownerToken, patch(op("add", reviewURN+":ml", []any{"x2"}))).scimError(t, http.StatusBadRequest, "invalidValue", "canonicalValues")
	a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", reviewURN+":one.s", "p2"))).scimError(t, http.StatusBadRequest, "invalidValue", "canonicalValues")
}

// An integer from 2^53 on is refused: JSON carries it as a float, so it
// would be stored as another number, and two distinct unique values would
// collide.
func TestLargeIntegerRefused(t *testing.T) {
	a := newAPI(t, "")
	a.schemaAdmin("POST", "", ownerToken, map[string]any{"id": reviewURN, "name": "R", "attributes": []any{
		map[string]any{"name": "customerNumber", "type": "integer", "uniqueness": "server"},
	}}).must(t, http.StatusCreated)
	const sent = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + reviewURN + `"],"userName":"%s","` + reviewURN + `":{"customerNumber":%s}}`
	a.do("POST", "/Users", ownerToken, fmt.Sprintf(sent, "one@example.com", "12345678901234567")).scimError(t, http.StatusBadRequest, "invalidValue", "2^53")
	a.do("POST", "/Users", ownerToken, fmt.Sprintf(sent, "two@example.com", "9007199254740991")).must(t, http.StatusCreated)
	a.do("POST", "/Users", ownerToken, fmt.Sprintf(sent, "four@example.com", "9007199254740992")).scimError(t, http.StatusBadRequest, "invalidValue", "2^53")
	a.do("POST", "/Users", ownerToken, fmt.Sprintf(sent, "three@example.com", "-9007199254740993")).scimError(t, http.StatusBadRequest, "invalidValue", "2^53")
}
