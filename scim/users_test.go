package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
)

const customerURN = "urn:scim:schemas:extension:customer:2.0:User"

func TestUserLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.do("POST", "/Users", ownerToken, user("Jane.Doe@Example.com", map[string]any{
			"externalId": "ext-1", "password": "correct horse battery",
			customerURN: map[string]any{"passwordSetup": "temporaryPassword"},
		})).must(t, http.StatusCreated)
		id := str(created.body, "id")
		if id == "" {
			t.Fatalf("POST /Users: no id in %s", created.raw)
		}
		if loc := created.header.Get("Location"); loc != a.srv.URL+"/scim/v2/Users/"+id {
			t.Errorf("Location = %q, want the user's URL", loc)
		}
		if got := str(created.body, "meta", "location"); got != created.header.Get("Location") {
			t.Errorf("meta.location = %q, want %q", got, created.header.Get("Location"))
		}
		if etag := created.header.Get("ETag"); etag == "" || etag != str(created.body, "meta", "version") {
			t.Errorf("ETag = %q, meta.version = %q: want equal and set", etag, str(created.body, "meta", "version"))
		}
		if strings.Contains(created.raw, "password\"") || strings.Contains(created.raw, "correct horse") {
			t.Errorf("POST response leaks the password: %s", created.raw)
		}
		if got := str(created.body, customerURN, "accountState"); got != "passwordChangeRequired" {
			t.Errorf("accountState = %q, want passwordChangeRequired", got)
		}
		if got := str(created.body, "emails", 0, "value"); got != "Jane.Doe@Example.com" {
			t.Errorf("emails[0].value = %q, want the userName", got)
		}

		got := a.do("GET", "/Users/"+id, readerToken, nil).must(t, http.StatusOK)
		if str(got.body, "userName") != "Jane.Doe@Example.com" || str(got.body, "name", "givenName") != "Jane" {
			t.Errorf("GET user = %s", got.raw)
		}
		if strings.Contains(got.raw, "correct horse") || strings.Contains(got.raw, `"password"`) {
			t.Errorf("GET leaks the password: %s", got.raw)
		}

		// Names change freely; resending the userName in another case is fine.
		put := a.do("PUT", "/Users/"+id, collabToken, user("jane.doe@example.com", map[string]any{
			"name": map[string]any{"givenName": "Janet", "familyName": "Smith"},
		})).must(t, http.StatusOK)
		if str(put.body, "name", "givenName") != "Janet" || str(put.body, "userName") != "Jane.Doe@Example.com" {
			t.Errorf("PUT result = %s", put.raw)
		}
		if str(put.body, "externalId") != "" {
			t.Errorf("PUT without externalId kept it: %s", put.raw)
		}
		if str(put.body, customerURN, "passwordSetup") != "temporaryPassword" {
			t.Errorf("PUT lost the immutable passwordSetup: %s", put.raw)
		}

		a.do("DELETE", "/Users/"+id, ownerToken, nil).must(t, http.StatusNoContent)
		a.do("GET", "/Users/"+id, ownerToken, nil).scimError(t, 404, "", id)
		a.do("DELETE", "/Users/"+id, ownerToken, nil).scimError(t, 404, "", id)
		// The userName is free again.
		a.do("POST", "/Users", ownerToken, user("jane.doe@example.com", nil)).must(t, http.StatusCreated)
	})
}

func TestUserValidation(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("taken@example.com", nil)).must(t, http.StatusCreated)
		cases := []struct {
			name     string
			body     any
			status   int
			scimType string
			detail   string
		}{
			{"duplicate userName ignoring case", user("TAKEN@example.com", nil), 409, "uniqueness", "already taken"},
			{"userName not an email", user("jane", nil), 400, "invalidValue", "email address"},
			{"userName missing", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}}, 400, "invalidValue", "userName"},
			{"schemas missing", map[string]any{"userName": "a@example.com"}, 400, "invalidSyntax", "schemas"},
			{"not JSON", `{"userName":`, 400, "invalidSyntax", "JSON"},
			{"wrong type", user("b@example.com", map[string]any{"active": "maybe"}), 400, "invalidValue", "active"},
			{"unknown attribute", user("c@example.com", map[string]any{"shoeSize": 42}), 400, "invalidValue", "shoeSize"},
			{"temporaryPassword without password", user("d@example.com", map[string]any{customerURN: map[string]any{"passwordSetup": "temporaryPassword"}}), 400, "invalidValue", "password"},
			{"invite with password", user("e@example.com", map[string]any{"password": "long enough pw", customerURN: map[string]any{"passwordSetup": "invite"}}), 400, "invalidValue", "password"},
			{"unknown passwordSetup", user("f@example.com", map[string]any{customerURN: map[string]any{"passwordSetup": "magic"}}), 400, "invalidValue", "passwordSetup"},
			{"short password", user("g@example.com", map[string]any{"password": "short"}), 400, "invalidValue", "at least 8"},
			{"two primary emails", user("h@example.com", map[string]any{"emails": []any{
				map[string]any{"value": "h@example.com", "primary": true}, map[string]any{"value": "h2@example.com", "primary": true}}}), 400, "invalidValue", "primary"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := a.do("POST", "/Users", ownerToken, c.body)
				r.scimError(t, c.status, c.scimType, c.detail)
				if strings.Contains(r.raw, "long enough pw") {
					t.Errorf("error leaks the password: %s", r.raw)
				}
			})
		}
		list := a.do("GET", "/Users", ownerToken, nil).must(t, 200)
		if list.body["totalResults"] != float64(1) {
			t.Errorf("bad input changed something: totalResults = %v, want 1", list.body["totalResults"])
		}
	})
}

func TestUserNameImmutable(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := str(a.do("POST", "/Users", ownerToken, user("fixed@example.com", nil)).must(t, 201).body, "id")
		put := a.do("PUT", "/Users/"+id, ownerToken, user("other@example.com", nil))
		put.scimError(t, 400, "mutability", `(it is "fixed@example.com": send that value`)
		if d := str(put.body, "detail"); strings.Contains(d, "leave it out") {
			t.Errorf("PUT detail = %q: a PUT that leaves userName out is refused too", d)
		}
		a.do("PUT", "/Users/"+id, ownerToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}}).scimError(t, 400, "invalidValue", `"userName" is required`)
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "userName", "other@example.com"))).scimError(t, 400, "mutability", "immutable")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "", map[string]any{"userName": "other@example.com"}))).scimError(t, 400, "mutability", "userName")
		// The same value again, in any case, is accepted.
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("Replace", "userName", "FIXED@example.com"))).must(t, 200)
		got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, 200)
		if str(got.body, "userName") != "fixed@example.com" {
			t.Errorf("userName = %q after refused changes", str(got.body, "userName"))
		}
	})
}

func TestInviteAndPasswordNeverReturned(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		r := a.do("POST", "/Users", ownerToken, user("invitee@example.com", map[string]any{
			customerURN: map[string]any{"passwordSetup": "invite"}})).must(t, 201)
		// No mailer here: nothing was sent (TestInvitationWithoutOnboardingIsNotSent).
		if got := str(r.body, customerURN, "accountState"); got != "invitationNotDelivered" {
			t.Errorf("accountState = %q, want invitationNotDelivered", got)
		}
		wso2 := a.do("POST", "/Users", ownerToken, user("asgardeo@example.com", map[string]any{
			"urn:scim:wso2:schema": map[string]any{"askPassword": "true"}})).must(t, 201)
		if got := str(wso2.body, customerURN, "passwordSetup"); got != "invite" {
			t.Errorf("askPassword true: passwordSetup = %q, want invite", got)
		}
		id := str(r.body, "id")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", customerURN+":accountState", "active"))).scimError(t, 400, "mutability", "accountState")
		list := a.do("GET", "/Users?attributes=password", ownerToken, nil).must(t, 200)
		if strings.Contains(list.raw, "password\"") {
			t.Errorf("list returns a password: %s", list.raw)
		}
	})
}

func TestUserPatchEntraAndOkta(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := str(a.do("POST", "/Users", ownerToken, user("p@example.com", map[string]any{"active": true})).must(t, 201).body, "id")
		steps := []struct {
			name  string
			ops   map[string]any
			check func(t *testing.T, body map[string]any)
		}{
			{"Entra disable with string boolean", patch(op("Replace", "active", "False")), func(t *testing.T, b map[string]any) {
				if b["active"] != false {
					t.Errorf("active = %v, want false", b["active"])
				}
			}},
			{"Okta no-path replace", patch(op("replace", "", map[string]any{"active": true})), func(t *testing.T, b map[string]any) {
				if b["active"] != true {
					t.Errorf("active = %v, want true", b["active"])
				}
			}},
			{"no-path keys that are paths", patch(op("Add", "", map[string]any{"name.givenName": "A", `emails[type eq "work"].value`: "p@example.com"})), func(t *testing.T, b map[string]any) {
				if str(b, "name", "givenName") != "A" {
					t.Errorf("name.givenName = %q", str(b, "name", "givenName"))
				}
			}},
			{"value path creates element", patch(op("Add", `phoneNumbers[type eq "mobile"].value`, "+1 555")), func(t *testing.T, b map[string]any) {
				if str(b, "phoneNumbers", 0, "value") != "+1 555" || str(b, "phoneNumbers", 0, "type") != "mobile" {
					t.Errorf("phoneNumbers = %v", b["phoneNumbers"])
				}
			}},
			{"enterprise by URN path", patch(op("Add", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Sales")), func(t *testing.T, b map[string]any) {
				if str(b, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department") != "Sales" {
					t.Errorf("department missing: %v", b)
				}
			}},
			{"case-insensitive names", patch(op("replace", "name.FamilyName", "Roe")), func(t *testing.T, b map[string]any) {
				if str(b, "name", "familyName") != "Roe" {
					t.Errorf("familyName = %q", str(b, "name", "familyName"))
				}
			}},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				r := a.do("PATCH", "/Users/"+id, ownerToken, s.ops).must(t, 200)
				s.check(t, r.body)
				s.check(t, a.do("GET", "/Users/"+id, ownerToken, nil).must(t, 200).body)
			})
		}
		// Entra's follow-up existence check sees the user disabled or not.
		f := a.do("GET", "/Users?filter=userName+eq+%22P@EXAMPLE.COM%22", ownerToken, nil).must(t, 200)
		if f.body["totalResults"] != float64(1) || str(f.body, "Resources", 0, "id") != id {
			t.Errorf("filter userName eq (other case) = %s", f.raw)
		}
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("add", "groups", []any{map[string]any{"value": "x"}}))).scimError(t, 400, "mutability", "groups")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "nosuch", "x"))).scimError(t, 400, "invalidPath", "nosuch")
		a.do("PATCH", "/Users/"+id, ownerToken, map[string]any{"Operations": []any{}}).scimError(t, 400, "invalidSyntax", "")
	})
}

func TestListPagingAndFilters(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for i := 0; i < 7; i++ {
			a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("user%d@example.com", i), map[string]any{
				"externalId": fmt.Sprintf("ext-%d", i%3),
				"name":       map[string]any{"givenName": fmt.Sprintf("G%d", i), "familyName": "F"},
			})).must(t, 201)
		}
		page := a.do("GET", "/Users?startIndex=3&count=2", ownerToken, nil).must(t, 200)
		if page.body["totalResults"] != float64(7) || page.body["itemsPerPage"] != float64(2) || page.body["startIndex"] != float64(3) {
			t.Errorf("paging = total %v items %v start %v", page.body["totalResults"], page.body["itemsPerPage"], page.body["startIndex"])
		}
		if str(page.body, "Resources", 0, "userName") != "user2@example.com" {
			t.Errorf("page starts at %q, want user2 (creation order)", str(page.body, "Resources", 0, "userName"))
		}
		last := a.do("GET", "/Users?startIndex=6&count=5", ownerToken, nil).must(t, 200)
		if last.body["itemsPerPage"] != float64(2) {
			t.Errorf("last page itemsPerPage = %v, want 2", last.body["itemsPerPage"])
		}
		totals := a.do("GET", "/Users?count=0", ownerToken, nil).must(t, 200)
		if totals.body["totalResults"] != float64(7) || totals.body["itemsPerPage"] != float64(0) {
			t.Errorf("count=0 = %s", totals.raw)
		}
		filters := map[string]int{
			`userName eq "user1@example.com"`:                  1,
			`userName eq "nobody@example.com"`:                 0,
			`externalId eq "ext-0"`:                            3,
			`externalId eq "EXT-0"`:                            0, // externalId is caseExact
			`userName sw "user"`:                               7,
			`userName co "3@"`:                                 1,
			`userName ew "example.com"`:                        7,
			`name.givenName gt "G4"`:                           2,
			`name.givenName ge "G4"`:                           3,
			`name.givenName lt "G1"`:                           1,
			`name.givenName le "G1"`:                           2,
			`name.givenName ne "G1"`:                           6,
			`title pr`:                                         0,
			`externalId pr`:                                    7,
			`not (externalId eq "ext-0")`:                      4,
			`externalId eq "ext-0" and name.givenName eq "g3"`: 1,
			`externalId eq "ext-1" or externalId eq "ext-2"`:   4,
			`(externalId eq "ext-1" or userName eq "user0@example.com") and active eq true`: 3,
			`emails[type eq "work" and value sw "user5"]`:                                   1,
			`meta.created gt "2000-01-01T00:00:00Z"`:                                        7,
			`meta.resourceType eq "User"`:                                                   7,
		}
		for f, want := range filters {
			t.Run(f, func(t *testing.T) {
				r := a.do("GET", "/Users?filter="+urlQuery(f), ownerToken, nil).must(t, 200)
				if r.body["totalResults"] != float64(want) {
					t.Errorf("filter %s: totalResults = %v, want %d", f, r.body["totalResults"], want)
				}
				if n := len(r.body["Resources"].([]any)); n != want {
					t.Errorf("filter %s: %d Resources, want %d", f, n, want)
				}
			})
		}
		a.do("GET", "/Users?filter="+urlQuery(`shoeSize eq 4`), ownerToken, nil).scimError(t, 400, "invalidFilter", "shoeSize")
		a.do("GET", "/Users?filter="+urlQuery(`userName eq`), ownerToken, nil).scimError(t, 400, "invalidFilter", "")
		a.do("GET", "/Users?count=abc", ownerToken, nil).scimError(t, 400, "invalidValue", "count")
	})
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "+", `"`, "%22", "[", "%5B", "]", "%5D", "&", "%26", "#", "%23", "(", "%28", ")", "%29")
	return r.Replace(s)
}

func TestAuthAndTenancy(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := str(a.do("POST", "/Users", ownerToken, user("mine@example.com", nil)).must(t, 201).body, "id")
		a.do("GET", "/Users", "", nil).scimError(t, 401, "", "Bearer")
		a.do("GET", "/Users", "wrong-token", nil).scimError(t, 401, "", "not valid")
		a.do("POST", "/Users", readerToken, user("r@example.com", nil)).scimError(t, 403, "", "reader")
		a.do("DELETE", "/Users/"+id, readerToken, nil).scimError(t, 403, "", "reader")
		a.do("GET", "/Users/"+id, readerToken, nil).must(t, 200)
		// Another organization sees nothing and can change nothing.
		a.do("GET", "/Users/"+id, otherToken, nil).scimError(t, 404, "", "")
		a.do("DELETE", "/Users/"+id, otherToken, nil).scimError(t, 404, "", "")
		a.do("PATCH", "/Users/"+id, otherToken, patch(op("replace", "active", false))).scimError(t, 404, "", "")
		if r := a.do("GET", "/Users", otherToken, nil).must(t, 200); r.body["totalResults"] != float64(0) {
			t.Errorf("other org lists %v users", r.body["totalResults"])
		}
		// The same userName may exist in another organization.
		a.do("POST", "/Users", otherToken, user("mine@example.com", nil)).must(t, 201)
		a.do("GET", "/Users/"+id, ownerToken, nil).must(t, 200)
	})
}

func TestProtocolErrors(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("GET", "/Nope", ownerToken, nil).scimError(t, 404, "", "/Nope")
		r := a.do("POST", "/Users", ownerToken, strings.Repeat("x", 70<<10))
		r.must(t, http.StatusRequestEntityTooLarge)
		a.do("POST", "/Users", ownerToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x@example.com"}`,
			"Content-Type", "text/plain").must(t, http.StatusUnsupportedMediaType)
		okta := a.do("POST", "/Users", ownerToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"okta@example.com"}`,
			"Content-Type", "application/json")
		okta.must(t, 201)
		id := str(okta.body, "id")
		stale := `W/"999"`
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "active", false)), "If-Match", stale).scimError(t, 412, "", "version")
		a.do("DELETE", "/Users/"+id, ownerToken, nil, "If-Match", stale).must(t, 412)
		a.do("GET", "/Users/"+id, ownerToken, nil).must(t, 200)
		etag := okta.header.Get("ETag")
		a.do("GET", "/Users/"+id, ownerToken, nil, "If-None-Match", etag).must(t, http.StatusNotModified)
		next := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "active", false)), "If-Match", etag).must(t, 200)
		if next.header.Get("ETag") == etag {
			t.Errorf("ETag did not change after a write")
		}
		a.do("PUT", "/ServiceProviderConfig", ownerToken, map[string]any{}).must(t, http.StatusMethodNotAllowed)
	})
}

// TestUnchangedPatchKeepsVersion: a PATCH or PUT that changes nothing, as
// identity providers send on every sync, writes nothing: the version,
// lastModified and the audit trail stay (RFC 7644 §3.14).
func TestUnchangedPatchKeepsVersion(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.do("POST", "/Users", ownerToken, user("same@example.com", map[string]any{"name": map[string]any{"givenName": "Sam"}})).must(t, 201)
		id, etag := str(created.body, "id"), created.header.Get("ETag")
		modified := str(created.body, "meta", "lastModified")
		unchanged := []struct {
			name, method string
			body         any
		}{
			{"PATCH same givenName", "PATCH", patch(op("replace", "name.givenName", "Sam"))},
			{"PATCH same userName, other case", "PATCH", patch(op("Replace", "userName", "SAME@example.com"))},
			{"PATCH active True as Entra sends it", "PATCH", patch(op("Replace", "active", "True"))},
			{"PUT of what GET returns", "PUT", created.body},
		}
		for _, u := range unchanged {
			t.Run(u.name, func(t *testing.T) {
				r := a.do(u.method, "/Users/"+id, ownerToken, u.body).must(t, 200)
				if got := r.header.Get("ETag"); got != etag {
					t.Errorf("ETag = %s, want %s unchanged", got, etag)
				}
				if got := str(r.body, "meta", "lastModified"); got != modified {
					t.Errorf("lastModified = %s, want %s unchanged", got, modified)
				}
			})
		}
		changed := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "name.givenName", "Samuel"))).must(t, 200)
		if changed.header.Get("ETag") == etag || str(changed.body, "name", "givenName") != "Samuel" {
			t.Errorf("a real change: ETag %s (was %s), body %s", changed.header.Get("ETag"), etag, changed.raw)
		}
	})
}

// TestUpdatesKeepCustomerDisabled: the defaults of a new customer (active
// true, an email from the userName, userType "Customer") apply on create
// only. A PUT that leaves "active" out keeps it; a PATCH that removes it
// leaves it unassigned, and an account whose "active" is not true cannot
// sign in.
func TestUpdatesKeepCustomerDisabled(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const name = "off@example.com"
		auth := basic(name, newPassword)
		id := activeCustomer(t, a, name, nil)
		a.me("GET", mePath, auth, nil).must(t, http.StatusOK)
		cases := []struct {
			name, method string
			body         any
			want         any // "active" after the write; nil: unassigned
		}{
			{"PATCH remove active", "PATCH", patch(op("remove", "active", nil)), nil},
			{"PATCH replace active with null", "PATCH", patch(map[string]any{"op": "replace", "path": "active", "value": nil}), nil},
			{"PATCH no-path active null", "PATCH", patch(map[string]any{"op": "replace", "value": map[string]any{"active": nil}}), nil},
			{"PUT without active", "PUT", user(name, nil), false},
			{"PUT with active null", "PUT", user(name, map[string]any{"active": nil}), false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "active", false))).must(t, http.StatusOK)
				r := a.do(c.method, "/Users/"+id, ownerToken, c.body).must(t, http.StatusOK)
				for _, body := range []map[string]any{r.body, a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).body} {
					if got, ok := body["active"]; got != c.want || (c.want == nil && ok) {
						t.Errorf("%s: active = %v (present %v), want %v", c.method, got, ok, c.want)
					}
				}
				a.me("GET", mePath, auth, nil).scimError(t, http.StatusUnauthorized, "", badDetail)
			})
		}
		// An active customer's PUT without "active" keeps it true.
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "active", true))).must(t, http.StatusOK)
		if r := a.do("PUT", "/Users/"+id, ownerToken, user(name, nil)).must(t, http.StatusOK); r.body["active"] != true {
			t.Errorf("PUT without active on an active customer: active = %v, want true", r.body["active"])
		}
		a.me("GET", mePath, auth, nil).must(t, http.StatusOK)

		// Emails and userType removed stay removed, through later writes too.
		removals := []struct {
			name string
			body any
		}{
			{"remove emails and userType", patch(op("remove", "emails", nil), op("remove", "userType", nil))},
			{"replace emails with nothing", patch(op("replace", "emails", []any{}), map[string]any{"op": "replace", "path": "userType", "value": nil})},
		}
		for _, c := range removals {
			t.Run(c.name, func(t *testing.T) {
				a.do("PATCH", "/Users/"+id, ownerToken, patch(op("add", "emails", []any{map[string]any{"value": name}}), op("add", "userType", "Customer"))).must(t, http.StatusOK)
				a.do("PATCH", "/Users/"+id, ownerToken, c.body).must(t, http.StatusOK)
				a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "nickName", c.name))).must(t, http.StatusOK)
				got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
				if _, ok := got.body["emails"]; ok {
					t.Errorf("emails came back: %s", got.raw)
				}
				if _, ok := got.body["userType"]; ok {
					t.Errorf("userType came back: %s", got.raw)
				}
			})
		}
		put := a.do("PUT", "/Users/"+id, ownerToken, user(name, nil)).must(t, http.StatusOK)
		if put.body["emails"] != nil || put.body["userType"] != nil {
			t.Errorf("PUT without emails and userType recreated them: %s", put.raw)
		}
	}, func(c *scim.Config) { c.AuthFailureLimit = -1 })
}

// TestUserNameOneCaseFolding: uniqueness and the immutability of userName
// fold case the same way (resources.FoldCase), so a userName the store holds
// apart from another is never "the same" userName on a PUT or PATCH.
func TestUserNameOneCaseFolding(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		// Lower case: "σς" and "σσ" differ, so these are two customers.
		final := str(a.do("POST", "/Users", ownerToken, user("σς@greek.com", nil)).must(t, http.StatusCreated).body, "id")
		a.do("POST", "/Users", ownerToken, user("ΣΣ@greek.com", nil)).must(t, http.StatusCreated)
		a.do("POST", "/Users", ownerToken, user("Σς@GREEK.com", nil)).scimError(t, http.StatusConflict, "uniqueness", "already taken")
		// So "ΣΣ@greek.com" is another userName for every writer.
		a.do("PUT", "/Users/"+final, ownerToken, user("ΣΣ@greek.com", nil)).scimError(t, 400, "mutability", "userName")
		a.do("PATCH", "/Users/"+final, ownerToken, patch(op("replace", "userName", "ΣΣ@greek.com"))).scimError(t, 400, "mutability", "userName")
		// The same userName in another case is the same.
		a.do("PUT", "/Users/"+final, ownerToken, user("Σς@GREEK.COM", nil)).must(t, http.StatusOK)
		a.do("PATCH", "/Users/"+final, ownerToken, patch(op("replace", "userName", "Σς@Greek.com"))).must(t, http.StatusOK)
		if got := str(a.do("GET", "/Users/"+final, ownerToken, nil).must(t, http.StatusOK).body, "userName"); got != "σς@greek.com" {
			t.Errorf("userName = %q, want σς@greek.com as created", got)
		}
	})
}

// TestUserNameSpaces: surrounding spaces are no part of a userName, for a
// PUT and a PATCH alike: both trim before they compare with the stored one.
func TestUserNameSpaces(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.do("POST", "/Users", ownerToken, user(" F1@filt.org\t", nil)).must(t, http.StatusCreated)
		id := str(created.body, "id")
		if got := str(created.body, "userName"); got != "F1@filt.org" {
			t.Errorf("POST userName = %q, want F1@filt.org", got)
		}
		a.do("POST", "/Users", ownerToken, user("f1@filt.org ", nil)).scimError(t, http.StatusConflict, "uniqueness", "already taken")
		writes := []struct {
			name, method string
			body         any
		}{
			{"PUT", "PUT", user("F1@filt.org ", nil)},
			{"PATCH with path", "PATCH", patch(op("replace", "userName", "F1@filt.org "))},
			{"PATCH without path", "PATCH", patch(op("replace", "", map[string]any{"userName": " f1@filt.org"}))},
			{"PATCH add", "PATCH", patch(op("add", "userName", "F1@FILT.ORG  "))},
		}
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				r := a.do(w.method, "/Users/"+id, ownerToken, w.body).must(t, http.StatusOK)
				if got := str(r.body, "userName"); got != "F1@filt.org" {
					t.Errorf("userName = %q, want F1@filt.org", got)
				}
			})
		}
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "userName", " F2@filt.org "))).scimError(t, 400, "mutability", "userName")
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "userName", "   "))).scimError(t, 400, "mutability", "userName")
	})
}

// TestNULRefused: a string value holding NUL cannot be indexed, so an
// indexed filter and a scanned one would disagree about it: every write
// refuses it, naming the attribute, and changes nothing.
func TestNULRefused(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.do("POST", "/Users", ownerToken, user("nul@example.com", nil)).must(t, http.StatusCreated)
		id, etag := str(created.body, "id"), created.header.Get("ETag")
		gid := str(a.do("POST", "/Groups", ownerToken, group("Nul")).must(t, http.StatusCreated).body, "id")
		const nul = "a\x00b"
		cases := []struct {
			name, method, path string
			body               any
			detail             string
		}{
			{"POST userName", "POST", "/Users", user("n\x00@example.com", nil), `"userName"`},
			{"POST name.givenName", "POST", "/Users", user("n1@example.com", map[string]any{"name": map[string]any{"givenName": nul}}), `"name.givenName"`},
			{"POST emails.value", "POST", "/Users", user("n2@example.com", map[string]any{"emails": []any{map[string]any{"value": nul}}}), `"emails.value"`},
			{"POST enterprise department", "POST", "/Users", user("n3@example.com", map[string]any{enterpriseURN: map[string]any{"department": nul}}), enterpriseURN + `:department"`},
			{"POST password", "POST", "/Users", user("n4@example.com", map[string]any{"password": "long enough\x00pw"}), `"password"`},
			{"PUT displayName", "PUT", "/Users/" + id, user("nul@example.com", map[string]any{"displayName": nul}), `"displayName"`},
			{"PATCH displayName", "PATCH", "/Users/" + id, patch(op("replace", "displayName", nul)), `"displayName"`},
			{"PATCH no path", "PATCH", "/Users/" + id, patch(op("add", "", map[string]any{"name.familyName": nul})), `"name.familyName"`},
			{"PATCH value filter creates", "PATCH", "/Users/" + id, patch(op("add", `emails[type eq "home"].value`, nul)), `"emails.value"`},
			{"PATCH password", "PATCH", "/Users/" + id, patch(op("replace", "password", "long enough\x00pw")), `"password"`},
			{"POST group displayName", "POST", "/Groups", group(nul), `"displayName"`},
			{"PATCH group members", "PATCH", "/Groups/" + gid, patch(op("add", "members", []any{map[string]any{"value": id + "\x00"}})), `"members.value"`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := a.do(c.method, c.path, ownerToken, c.body)
				r.scimError(t, 400, "invalidValue", c.detail)
				if d := str(r.body, "detail"); !strings.Contains(d, "NUL") || strings.Contains(d, "long enough") {
					t.Errorf("detail = %q: want it to name NUL, and never the password", d)
				}
			})
		}
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).header.Get("ETag"); got != etag {
			t.Errorf("refused writes changed the user: ETag %s, was %s", got, etag)
		}
		for path, want := range map[string]float64{"/Users": 1, "/Groups": 1} {
			if r := a.do("GET", path, ownerToken, nil).must(t, http.StatusOK); r.body["totalResults"] != want {
				t.Errorf("GET %s: totalResults = %v, want %v: a refused POST stored something", path, r.body["totalResults"], want)
			}
		}
	})
}

// TestBodyNamesAttributeOnce: a POST or PUT body that names one attribute
// twice (in two letter cases, or inside its schema's object and with its
// URN) is ambiguous: refused whole, naming both, rather than one of them
// winning at random.
func TestBodyNamesAttributeOnce(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.do("POST", "/Users", ownerToken, user("once@example.com", nil)).must(t, http.StatusCreated)
		id, etag := str(created.body, "id"), created.header.Get("ETag")
		const coreURN = "urn:ietf:params:scim:schemas:core:2.0:User"
		cases := []struct {
			name   string
			body   map[string]any
			detail string
		}{
			{"two cases", user("a1@example.com", map[string]any{"username": "b1@example.com"}), `both "userName" and "username" given`},
			{"two cases of a complex attribute", user("a2@example.com", map[string]any{"Name": map[string]any{"givenName": "X"}}), `both "Name" and "name" given`},
			{"core URN and plain", user("a3@example.com", map[string]any{coreURN + ":userName": "b3@example.com"}), `"` + coreURN + `:userName"`},
			{"core object and plain", user("a4@example.com", map[string]any{coreURN: map[string]any{"userName": "b4@example.com"}}), `"userName" in the "` + coreURN + `" object`},
			{"extension object and URN", user("a5@example.com", map[string]any{
				enterpriseURN:                 map[string]any{"department": "A"},
				enterpriseURN + ":department": "B",
			}), `"department" in the "` + enterpriseURN + `" object`},
			{"extension object in two cases", user("a6@example.com", map[string]any{
				enterpriseURN:                  map[string]any{"department": "A"},
				strings.ToUpper(enterpriseURN): map[string]any{"Department": "B"},
			}), `name the same attribute "` + enterpriseURN + `:department"`},
			{"inside an extension object", user("a7@example.com", map[string]any{
				enterpriseURN: map[string]any{"department": "A", "DEPARTMENT": "B"},
			}), `"DEPARTMENT" in the`},
			{"one of them null", user("a8@example.com", map[string]any{"DisplayName": nil, "displayName": "D"}), `both "DisplayName" and "displayName" given`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a.do("POST", "/Users", ownerToken, c.body).scimError(t, 400, "invalidSyntax", c.detail)
				c.body["userName"] = "once@example.com"
				a.do("PUT", "/Users/"+id, ownerToken, c.body).scimError(t, 400, "invalidSyntax", "given")
			})
		}
		if r := a.do("GET", "/Users", ownerToken, nil).must(t, http.StatusOK); r.body["totalResults"] != float64(1) {
			t.Errorf("refused POSTs stored users: totalResults = %v, want 1", r.body["totalResults"])
		}
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).header.Get("ETag"); got != etag {
			t.Errorf("refused PUTs changed the user: ETag %s, was %s", got, etag)
		}
		// An extension object and another attribute of it by URN go together.
		both := a.do("POST", "/Users", ownerToken, user("a9@example.com", map[string]any{
			enterpriseURN:                 map[string]any{"department": "A"},
			enterpriseURN + ":costCenter": "C",
		})).must(t, http.StatusCreated)
		if str(both.body, enterpriseURN, "department") != "A" || str(both.body, enterpriseURN, "costCenter") != "C" {
			t.Errorf("extension object and URN attribute: %s", both.raw)
		}
	})
}

// TestCoreSchemaObject: the core attributes may be sent in an object under
// the core schema's URN, as extension attributes are under theirs (RFC 7643
// §3), like URN-qualified names.
func TestCoreSchemaObject(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		const coreURN = "urn:ietf:params:scim:schemas:core:2.0:User"
		r := a.do("POST", "/Users", ownerToken, map[string]any{
			"schemas": []string{coreURN},
			strings.ToLower(coreURN): map[string]any{
				"userName": "core@example.com", "password": "Temporary-Pass-1", "name": map[string]any{"givenName": "Cora"},
			},
		}).must(t, http.StatusCreated)
		if str(r.body, "userName") != "core@example.com" || str(r.body, "name", "givenName") != "Cora" ||
			str(r.body, customerURN, "accountState") != "passwordChangeRequired" {
			t.Errorf("POST with the core schema object = %s; want its userName, name and password taken", r.raw)
		}
		id := str(r.body, "id")
		put := a.do("PUT", "/Users/"+id, ownerToken, map[string]any{
			"schemas": []string{coreURN}, coreURN: map[string]any{"userName": "core@example.com", "nickName": "C"},
		}).must(t, http.StatusOK)
		if str(put.body, "nickName") != "C" || str(put.body, "name", "givenName") != "" {
			t.Errorf("PUT with the core schema object = %s", put.raw)
		}
		a.do("POST", "/Users", ownerToken, map[string]any{"schemas": []string{coreURN}, coreURN: "x@example.com"}).
			scimError(t, 400, "invalidSyntax", "expected an object")
		a.do("POST", "/Users", ownerToken, map[string]any{"schemas": []string{coreURN}, coreURN: map[string]any{"userName": "y@example.com", "shoeSize": 42}}).
			scimError(t, 400, "invalidValue", "shoeSize")

		const groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
		g := a.do("POST", "/Groups", ownerToken, map[string]any{
			"schemas": []string{groupURN},
			groupURN:  map[string]any{"displayName": "Core", "members": []any{map[string]any{"value": id}}},
		}).must(t, http.StatusCreated)
		gid := str(g.body, "id")
		if str(g.body, "displayName") != "Core" || !equal(memberIDs(g.body), []string{id}) {
			t.Errorf("POST group with the core schema object = %s", g.raw)
		}
		// members by URN are members too, never part of the document.
		a.do("PUT", "/Groups/"+gid, ownerToken, map[string]any{
			"schemas": []string{groupURN}, "displayName": "Core", groupURN + ":members": []any{},
		}).must(t, http.StatusOK)
		got := a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK)
		if len(memberIDs(got.body)) != 0 || len(groupIDs(a.do("GET", "/Users/"+id, ownerToken, nil).body)) != 0 {
			t.Errorf("PUT members by URN: group %s", got.raw)
		}
		a.do("PUT", "/Groups/"+gid, ownerToken, map[string]any{
			"schemas": []string{groupURN}, "displayName": "Core", groupURN + ":members": []any{map[string]any{"value": id}},
		}).must(t, http.StatusOK)
		if !equal(groupIDs(a.do("GET", "/Users/"+id, ownerToken, nil).body), []string{gid}) {
			t.Errorf("PUT members by URN did not make the user a member")
		}
	})
}

// TestMultiValuedNeedsArray: in a POST or PUT body a multi-valued attribute
// is an array (RFC 7643 §2.4); a single value is refused rather than
// wrapped. A PATCH may still add one value alone.
func TestMultiValuedNeedsArray(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.do("POST", "/Users", ownerToken, user("arr@example.com", nil)).must(t, http.StatusCreated)
		id, etag := str(created.body, "id"), created.header.Get("ETag")
		cases := []struct {
			name   string
			extra  map[string]any
			status int
			typ    string
			detail string
		}{
			{"emails string", map[string]any{"emails": "arr@example.com"}, 400, "invalidValue", `attribute "emails" must be an array of values (RFC 7643 §2.4), got "arr@example.com"`},
			{"emails object", map[string]any{"emails": map[string]any{"value": "arr@example.com"}}, 400, "invalidValue", `attribute "emails" must be an array of values (RFC 7643 §2.4), got an object`},
			{"phoneNumbers object", map[string]any{"phoneNumbers": map[string]any{"value": "+1 555"}}, 400, "invalidValue", `"phoneNumbers" must be an array`},
			{"unknown sub-attribute", map[string]any{"emails": []any{map[string]any{"value": "arr@example.com", "foo": 1}}}, 400, "invalidValue", `unknown sub-attribute "foo"`},
			{"unknown sub-attribute of a complex attribute", map[string]any{"name": map[string]any{"givenName": "A", "shoeSize": 1}}, 400, "invalidValue", `unknown sub-attribute "shoeSize"`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a.do("POST", "/Users", ownerToken, user("arr2@example.com", c.extra)).scimError(t, c.status, c.typ, c.detail)
				a.do("PUT", "/Users/"+id, ownerToken, user("arr@example.com", c.extra)).scimError(t, c.status, c.typ, c.detail)
			})
		}
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).header.Get("ETag"); got != etag {
			t.Errorf("refused PUTs changed the user: ETag %s, was %s", got, etag)
		}
		// PATCH stays lenient: Entra ID and others add one value alone.
		r := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("add", "phoneNumbers", map[string]any{"value": "+1 555", "type": "work"}))).must(t, http.StatusOK)
		if str(r.body, "phoneNumbers", 0, "value") != "+1 555" {
			t.Errorf("PATCH add of one phoneNumber = %s", r.raw)
		}
	})
}

// TestPatchReadOnlySubAttribute: a readOnly sub-attribute with a value
// inside a PATCH value is refused as the same attribute named by path is,
// never dropped without a word; POST and PUT ignore it (RFC 7644 §3.3,
// §3.5.1).
func TestPatchReadOnlySubAttribute(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		created := a.do("POST", "/Users", ownerToken, user("boss@example.com", map[string]any{
			enterpriseURN: map[string]any{"manager": map[string]any{"value": "mgr0", "displayName": "Ignored"}},
		})).must(t, http.StatusCreated)
		id, etag := str(created.body, "id"), created.header.Get("ETag")
		if str(created.body, enterpriseURN, "manager", "value") != "mgr0" || str(created.body, enterpriseURN, "manager", "displayName") != "" {
			t.Errorf("POST manager = %s; want its value, displayName ignored", created.raw)
		}
		const detail = `"` + enterpriseURN + `:manager.displayName" is read-only`
		refused := []map[string]any{
			patch(op("replace", enterpriseURN+":manager", map[string]any{"value": "mgr1", "displayName": "Boss"})),
			patch(op("add", enterpriseURN+":manager", map[string]any{"value": "mgr1", "DisplayName": "Boss"})),
			patch(op("replace", "", map[string]any{enterpriseURN: map[string]any{"manager": map[string]any{"value": "mgr1", "displayName": "Boss"}}})),
			patch(op("replace", enterpriseURN+":manager.displayName", "Boss")),
		}
		for _, body := range refused {
			a.do("PATCH", "/Users/"+id, ownerToken, body).scimError(t, 400, "mutability", detail)
		}
		if got := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).header.Get("ETag"); got != etag {
			t.Errorf("refused PATCHes changed the user: ETag %s, was %s", got, etag)
		}
		// Entra ID's forms: the id alone, or {"value": id}; a null displayName is no value.
		for _, v := range []any{"mgr2", map[string]any{"value": "mgr3"}, map[string]any{"value": "mgr4", "displayName": nil}} {
			r := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("Replace", enterpriseURN+":manager", v))).must(t, http.StatusOK)
			if str(r.body, enterpriseURN, "manager", "value") == "" {
				t.Errorf("PATCH manager %v = %s", v, r.raw)
			}
		}
	})
}

// TestUserNameLookAlikes: a userName that reads as another customer's (an
// invisible character, a text-direction control, a Cyrillic letter among
// Latin ones, another Unicode spelling of the same letters), or one longer
// than an email address can be, is refused: it is no second account.
func TestUserNameLookAlikes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		a.do("POST", "/Users", ownerToken, user("jane@example.com", nil)).must(t, http.StatusCreated)
		for _, c := range []struct{ name, userName, detail string }{
			{"zero width joiner", "ja\u200dne@example.com", "invisible"},
			{"right-to-left override", "\u202ejane@example.com", "text-direction"},
			{"Cyrillic a", "j\u0430ne@example.com", "Latin and Cyrillic"},
			{"Cyrillic domain", "jane@ex\u0430mple.com", "xn--"},
			{"decomposed", "jo\u0308ne@example.com", "NFC"},
			{"60,000 characters", strings.Repeat("j", 60000) + "@example.com", "longer than 254 bytes"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := a.do("POST", "/Users", ownerToken, user(c.userName, nil))
				r.scimError(t, http.StatusBadRequest, "invalidValue", c.detail)
				if len(r.raw) > 2000 {
					t.Errorf("the error quotes the whole userName: %d bytes", len(r.raw))
				}
			})
		}
		if n := count(a, t, "/Users", `userName pr`); n != 1 {
			t.Errorf("%v customers, want only jane@example.com", n)
		}
	})
}
