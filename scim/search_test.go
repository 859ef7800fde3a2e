package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// userNames returns the userName (or displayName) of each listed resource.
func names(body map[string]any) []string {
	var out []string
	list, _ := body["Resources"].([]any)
	for _, r := range list {
		n := str(r, "userName")
		if n == "" {
			n = str(r, "displayName")
		}
		out = append(out, n)
	}
	return out
}

func TestSorting(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		// Created in an order that is neither sorted nor reverse sorted.
		for _, u := range []struct{ name, given, family string }{
			{"carol@example.com", "carol", "Zeta"},
			{"Alice@example.com", "Alice", ""},
			{"bob@example.com", "Bob", "alpha"},
			{"dave@example.com", "dave", "Beta"},
		} {
			extra := map[string]any{"name": map[string]any{"givenName": u.given}}
			if u.family != "" {
				extra["name"].(map[string]any)["familyName"] = u.family
				extra["emails"] = []any{
					map[string]any{"value": "z-" + u.name, "type": "home"},
					map[string]any{"value": u.family + "@primary.example", "type": "work", "primary": true},
				}
			}
			a.do("POST", "/Users", ownerToken, user(u.name, extra)).must(t, 201)
		}
		cases := []struct {
			query string
			want  string
		}{
			{"sortBy=userName", "Alice bob carol dave"},
			{"sortBy=userName&sortOrder=descending", "dave carol bob Alice"},
			{"sortBy=USERNAME&sortOrder=Descending", "dave carol bob Alice"},
			{"sortBy=name.givenName", "Alice bob carol dave"},                       // caseExact false: case ignored
			{"sortBy=name.familyName", "bob dave carol Alice"},                      // no value: last when ascending
			{"sortBy=name.familyName&sortOrder=descending", "Alice carol dave bob"}, // and first when descending (RFC 7644 §3.4.2.3)
			{"sortBy=emails", "Alice bob dave carol"},                               // by the primary value; Alice got her userName as primary email
			{"sortBy=meta.created&sortOrder=descending", "dave bob Alice carol"},    // indexed, from the index
			{"sortBy=userName&startIndex=2&count=2", "bob carol"},
			{"sortBy=userName&filter=" + urlQuery(`userName ne "bob@example.com"`), "Alice carol dave"},
			{"sortBy=name.givenName&sortOrder=descending&filter=" + urlQuery(`name.familyName pr`), "dave carol bob"},
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				r := a.do("GET", "/Users?"+c.query, ownerToken, nil).must(t, 200)
				var got []string
				for _, n := range names(r.body) {
					got = append(got, strings.Split(n, "@")[0])
				}
				if strings.Join(got, " ") != c.want {
					t.Errorf("GET /Users?%s = %v, want %s", c.query, got, c.want)
				}
			})
		}
		a.do("GET", "/Users?sortBy=shoeSize", ownerToken, nil).scimError(t, 400, "invalidValue", "shoeSize")
		a.do("GET", "/Users?sortBy=userName&sortOrder=sideways", ownerToken, nil).scimError(t, 400, "invalidValue", "sortOrder")
	})
}

func TestSearchAndRoot(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for i := 0; i < 3; i++ {
			a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("s%d@example.com", i), nil)).must(t, 201)
		}
		a.do("POST", "/Groups", ownerToken, group("Staff")).must(t, 201)
		search := func(filter string, extra map[string]any) map[string]any {
			m := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": filter}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		r := a.do("POST", "/Users/.search", readerToken, search(`userName sw "s"`, map[string]any{
			"attributes": []string{"userName"}, "sortBy": "userName", "sortOrder": "descending", "startIndex": 1, "count": 2})).must(t, 200)
		if r.body["totalResults"] != float64(3) || strings.Join(names(r.body), ",") != "s2@example.com,s1@example.com" {
			t.Errorf("POST /Users/.search = %s", r.raw)
		}
		if str(r.body, "Resources", 0, "name") != "" || str(r.body, "Resources", 0, "id") == "" {
			t.Errorf("attributes=userName: got %s, want only id, schemas and userName", str(r.body, "Resources", 0))
		}
		a.do("POST", "/Users/.search", ownerToken, map[string]any{"filter": "userName pr"}).scimError(t, 400, "invalidSyntax", "SearchRequest")
		a.do("POST", "/Users/.search", ownerToken, search(`nope eq 1`, nil)).scimError(t, 400, "invalidFilter", "nope")
		a.do("GET", "/Users/.search", ownerToken, nil).must(t, 405)

		// The root spans users and groups.
		root := a.do("GET", "/?count=10", ownerToken, nil).must(t, 200)
		if root.body["totalResults"] != float64(4) {
			t.Errorf("GET / totalResults = %v, want 4", root.body["totalResults"])
		}
		rs := a.do("POST", "/.search", ownerToken, search(`displayName eq "staff"`, nil)).must(t, 200)
		if rs.body["totalResults"] != float64(1) || str(rs.body, "Resources", 0, "displayName") != "Staff" {
			t.Errorf("root search on a Group attribute = %s", rs.raw)
		}
		page := a.do("GET", "/?startIndex=3&count=2", ownerToken, nil).must(t, 200)
		if got := names(page.body); len(got) != 2 || got[0] != "s2@example.com" || got[1] != "Staff" {
			t.Errorf("root page 3..4 = %v, want [s2@example.com Staff]", got)
		}
		a.do("GET", "/?filter="+urlQuery(`nope eq "x"`), ownerToken, nil).scimError(t, 400, "invalidFilter", "nope")
		if other := a.do("GET", "/", otherToken, nil).must(t, 200); other.body["totalResults"] != float64(0) {
			t.Errorf("another organization's root query sees %v resources", other.body["totalResults"])
		}
	})
}

func TestRootQueryDepthBounded(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("GET", "/?startIndex=9990&count=10", ownerToken, nil).must(t, 200)
		a.do("GET", "/?startIndex=9992&count=10", ownerToken, nil).scimError(t, 400, "tooMany", "/Users")
		a.do("GET", "/?startIndex=9223372036854775807&count=10", ownerToken, nil).scimError(t, 400, "tooMany", "deep")
	})
}

// TestSearchRequestNamesParameterOnce: names are case-insensitive (RFC 7643
// §2.1), so a SearchRequest naming "filter" and "FILTER" names it twice:
// 400 invalidSyntax, as a resource body naming an attribute twice is
// (TestBodyNamesAttributeOnce), never one of the two at random.
func TestSearchRequestNamesParameterOnce(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("dup-a@example.com", nil)).must(t, http.StatusCreated)
		a.do("POST", "/Users", ownerToken, user("dup-b@example.com", nil)).must(t, http.StatusCreated)
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],` +
			`"filter":"userName eq \"dup-a@example.com\"","FILTER":"userName eq \"dup-b@example.com\""}`
		for range 10 {
			a.do("POST", "/Users/.search", ownerToken, body).scimError(t, http.StatusBadRequest, "invalidSyntax", `names "filter" twice`)
		}
	})
}
