package scim_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// matching returns the sorted names (userName, or displayName for groups)
// that filter selects on endpoint.
func matching(t *testing.T, a *api, endpoint, filter string) string {
	t.Helper()
	r := a.do("GET", endpoint+"?filter="+url.QueryEscape(filter), ownerToken, nil).must(t, 200)
	n := names(r.body)
	slices.Sort(n)
	return strings.Join(n, ",")
}

// RFC 7644 §3.4.2.2: a comparison of a multi-valued attribute matches when
// any of its values matches the criterion, and "ne" is a criterion like the
// others: a user with a work and a home email has an email type that is not
// "work".
func TestFilterNotEqualOnMultiValued(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("alice@example.com", map[string]any{"emails": []any{
			map[string]any{"value": "a@work.example", "type": "work"},
			map[string]any{"value": "a@home.example", "type": "home"}}})).must(t, 201)
		a.do("POST", "/Users", ownerToken, user("bob@example.com", map[string]any{"emails": []any{
			map[string]any{"value": "b@work.example", "type": "work"}}})).must(t, 201)
		// carol gets the server's one email: her userName, type "work".
		a.do("POST", "/Users", ownerToken, user("carol@example.com", nil)).must(t, 201)
		for f, want := range map[string]string{
			`emails.type ne "work"`:            "alice@example.com",
			`emails.value ne "a@work.example"`: "alice@example.com,bob@example.com,carol@example.com",
			`emails.value ne "b@work.example"`: "alice@example.com,carol@example.com",
			`emails[type ne "work"]`:           "alice@example.com",
			`not (emails.type eq "work")`:      "",
			`emails ne "A@HOME.example"`:       "alice@example.com,bob@example.com,carol@example.com",
			`userName ne "bob@example.com"`:    "alice@example.com,carol@example.com",
		} {
			if got := matching(t, a, "/Users", f); got != want {
				t.Errorf("%s = [%s], want [%s]", f, got, want)
			}
		}
	})
}

// RFC 7644 §3.4.2.2 "pr": "If the attribute has a non-empty value, or if it
// contains a non-empty node for complex attributes, there is a match."
func TestFilterPresentComplexWithEmptyNodes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("blank@example.com", map[string]any{"title": "",
			"name":      map[string]any{"givenName": ""},
			"addresses": []any{map[string]any{"formatted": ""}}})).must(t, 201)
		a.do("POST", "/Users", ownerToken, user("full@example.com", map[string]any{"title": "Boss",
			"name":      map[string]any{"givenName": "Full"},
			"addresses": []any{map[string]any{"formatted": ""}, map[string]any{"locality": "Ghent"}}})).must(t, 201)
		for f, want := range map[string]string{
			`title pr`:               "full@example.com",
			`name.givenName pr`:      "full@example.com",
			`name pr`:                "full@example.com",
			`addresses pr`:           "full@example.com",
			`addresses.formatted pr`: "",
			`not (name pr)`:          "blank@example.com",
		} {
			if got := matching(t, a, "/Users", f); got != want {
				t.Errorf("%s = [%s], want [%s]", f, got, want)
			}
		}
	})
}

// RFC 7644 §3.4.2.2: "Clients MAY query by schema or schema extensions by
// using a filter expression including the "schemas" attribute".
func TestFilterBySchemas(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const core = "urn:ietf:params:scim:schemas:core:2.0:User"
		const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		a.do("POST", "/Users", ownerToken, map[string]any{"schemas": []string{core, ent},
			"userName": "emp@example.com", ent: map[string]any{"employeeNumber": "7"}}).must(t, 201)
		a.do("POST", "/Users", ownerToken, user("plain@example.com", nil)).must(t, 201)
		a.do("POST", "/Groups", ownerToken, group("Staff")).must(t, 201)
		for f, want := range map[string]string{
			`schemas eq "` + ent + `"`:                                   "emp@example.com",
			`SCHEMAS eq "` + strings.ToUpper(ent) + `"`:                  "emp@example.com",
			core + `:schemas eq "` + core + `"`:                          "emp@example.com,plain@example.com",
			`not (schemas eq "` + ent + `")`:                             "plain@example.com",
			`schemas[value sw "urn:ietf:params:scim:schemas:extension"]`: "emp@example.com",
		} {
			if got := matching(t, a, "/Users", f); got != want {
				t.Errorf("%s = [%s], want [%s]", f, got, want)
			}
		}
		r := a.do("POST", "/Users/.search", ownerToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
			"filter":  `schemas eq "` + ent + `"`}).must(t, 200)
		if got := strings.Join(names(r.body), ","); got != "emp@example.com" {
			t.Errorf(".search schemas eq enterprise = [%s]", got)
		}
		if got := matching(t, a, "/Groups", `schemas eq "urn:ietf:params:scim:schemas:core:2.0:Group"`); got != "Staff" {
			t.Errorf("groups by schema = [%s], want [Staff]", got)
		}
		bad := a.do("GET", "/Users?filter="+url.QueryEscape(`schemas.value eq "x"`), ownerToken, nil)
		if bad.status != 400 || str(bad.body, "scimType") != "invalidFilter" {
			t.Errorf("schemas.value: %d %s, want 400 invalidFilter", bad.status, bad.raw)
		}
	})
}

// meta.location and $ref compare as the server returns them, absolute
// URLs (RFC 7643 §3.1: location "MUST be the same as the
// "Content-Location" HTTP response header"), with every operator.
func TestFilterReferencesAsReturned(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := a.do("POST", "/Users", ownerToken, user("ref@example.com", nil)).must(t, 201)
		loc := str(u.body, "meta", "location")
		a.do("POST", "/Users", ownerToken, user("other@example.com", nil)).must(t, 201)
		a.do("POST", "/Groups", ownerToken, group("Refs", str(u.body, "id"))).must(t, 201)
		if !strings.HasPrefix(loc, "http://") {
			t.Fatalf("meta.location = %q", loc)
		}
		for f, want := range map[string]string{
			`meta.location sw "http://"`:                                    "other@example.com,ref@example.com",
			`meta.location co "/scim/v2/Users/"`:                            "other@example.com,ref@example.com",
			`meta.location gt "http"`:                                       "other@example.com,ref@example.com",
			`meta.location eq "` + loc + `"`:                                "ref@example.com",
			`meta.location eq "` + strings.ToUpper(loc[:8]) + loc[8:] + `"`: "ref@example.com",
			`meta.location ew "` + str(u.body, "id") + `"`:                  "ref@example.com",
			`meta.location eq "/Users/` + str(u.body, "id") + `"`:           "",
		} {
			if got := matching(t, a, "/Users", f); got != want {
				t.Errorf("%s = [%s], want [%s] (meta.location is %q)", f, got, want, loc)
			}
		}
		if got := matching(t, a, "/Groups", `members.$ref sw "http://"`); got != "Refs" {
			t.Errorf(`members.$ref sw "http://" = [%s], want [Refs]`, got)
		}
		if got := matching(t, a, "/Groups", `members[$ref eq "`+loc+`"]`); got != "Refs" {
			t.Errorf(`members[$ref eq loc] = [%s], want [Refs]`, got)
		}
	})
}

// TestFilterErrorQuotesNoPassword: a filter's error detail quotes parts of
// it back, unless it names a password, whose value never comes back in a
// response.
func TestFilterErrorQuotesNoPassword(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for _, f := range []string{`password sw "S3cret-pw" and x`, `password eq "S3cret-pw`, `(password eq "S3cret-pw"`} {
			for _, path := range []string{"/Users?filter=", "/?filter="} {
				r := a.do("GET", path+url.QueryEscape(f), ownerToken, nil)
				r.scimError(t, 400, "invalidFilter", "names a password")
				if strings.Contains(r.raw, "S3cret") {
					t.Errorf("GET %s%s: the error quotes the password: %s", path, f, r.raw)
				}
			}
		}
		a.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "x" and`), ownerToken, nil).scimError(t, 400, "invalidFilter", `invalid syntax in "userName eq \"x\" and"`)
	})
}

// A value the server never returns (password, a custom attribute writeOnly
// or returned "never") cannot be filtered or sorted on: matching would tell
// a client its values one guess at a time (sw "1", sw "12", …), and a
// response that refused the filter quoted its literal back. RFC 7643 §2.2:
// such values "SHALL NOT be returned"; a filter is refused with
// invalidFilter, naming the attribute and no value.
func TestFilterRefusesSecretAttributes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.schemaAdmin("POST", "", ownerToken, acmeSchema()).must(t, 201)
		a.do("POST", "/Users", ownerToken, customUser("alice@example.com", map[string]any{"secretCode": "1234-S3cret"})).must(t, 201)
		secret := acmeURN + ":secretCode"
		for _, f := range []string{
			secret + ` sw "1234"`,
			secret + ` pr`,
			`not (` + secret + ` eq "1234-S3cret")`,
			`userName pr and ` + secret + ` ge "1"`,
			`password eq "S3cret-pw"`,
			`password pr`,
		} {
			for _, path := range []string{"/Users?filter=", "/?filter="} {
				r := a.do("GET", path+url.QueryEscape(f), ownerToken, nil)
				r.scimError(t, 400, "invalidFilter", "is never returned")
				if strings.Contains(r.raw, "S3cret") || strings.Contains(r.raw, `"1234`) {
					t.Errorf("GET %s%s: the error quotes the value: %s", path, f, r.raw)
				}
			}
			a.do("POST", "/Users/.search", ownerToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": f}).
				scimError(t, 400, "invalidFilter", "is never returned")
		}
		a.do("GET", "/Users?sortBy="+url.QueryEscape(secret), ownerToken, nil).scimError(t, 400, "invalidValue", "is never returned")
		a.do("GET", "/Users?sortBy=password", ownerToken, nil).scimError(t, 400, "invalidValue", "is never returned")
		// What is returned stays filterable, in the same schema.
		if got := matching(t, a, "/Users", acmeURN+`:nickname pr or userName sw "alice"`); got != "alice@example.com" {
			t.Errorf("a returned attribute's filter = [%s], want [alice@example.com]", got)
		}
	})
}
