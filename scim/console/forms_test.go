package console_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/webtest"
)

// TestFormsRefuseControlText: names typed into the console must be valid
// text without control characters; such a form is refused on the form and
// nothing is created.
func TestFormsRefuseControlText(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleCollaborator)
		sent := len(e.mail.Messages())
		for _, name := range []string{"Ac\xff\xfeme", "Red\x1b[31m", "two\r\nlines", "rtl\u202eevil"} {
			p := b.submit("groups", url.Values{"displayName": {name}})
			if p.Status < 400 || p.Status >= 500 {
				t.Errorf("create group %q = %d, want a 4xx form error", name, p.Status)
			}
			p = b.submit("users/new", url.Values{"email": {"ctl@example.com"}, "givenName": {name}, "familyName": {"Doe"},
				"method": {"invite"}})
			if p.Status < 400 || p.Status >= 500 {
				t.Errorf("new customer named %q = %d, want a 4xx form error", name, p.Status)
			}
		}
		if _, body := e.scim("GET", "/Groups", nil); body["totalResults"] != float64(0) {
			t.Errorf("groups after refused forms: %v, want none", body["totalResults"])
		}
		if _, body := e.scim("GET", "/Users", nil); body["totalResults"] != float64(0) {
			t.Errorf("customers after refused forms: %v, want none", body["totalResults"])
		}
		if n := len(e.mail.Messages()) - sent; n != 0 {
			t.Errorf("%d messages sent, want none", n)
		}
	})
}

// TestRemoveNonMember: removing someone who is not a member (another
// organization's customer, an unknown id) says so and changes nothing.
func TestRemoveNonMember(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		b := e.admin("boss@example.com", resources.RoleCollaborator)
		ada := e.createCustomer("ada@example.com", "Ada", "Lovelace")
		id := e.createGroup("Beta testers", ada)
		status, other := e.scimAs(webtest.OtherToken, "POST", "/Users", map[string]any{"schemas": []string{schemas.UserURN}, "userName": "x@globex.com"})
		if status != http.StatusCreated {
			t.Fatalf("create globex's customer = %d %v", status, other)
		}
		for _, uid := range []string{"no-such-id", other["id"].(string)} {
			b.submit("groups/"+id+"/members/remove", url.Values{"user": {uid}}).
				Must(t, http.StatusOK, "is not in “Beta testers”: nothing to remove").Lacks(t, "Removed")
		}
		_, g := e.scim("GET", "/Groups/"+id, nil)
		if ms, _ := g["members"].([]any); len(ms) != 1 {
			t.Errorf("members after removing non-members: %v, want Ada only", g["members"])
		}
	})
}
