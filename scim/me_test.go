package scim_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

const (
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	mePath        = "/t/acme/scim/v2/Me"
	tempPassword  = "Temporary-Pass-1"
	newPassword   = "Brand-New-Pass-2"
	badDetail     = "invalid email or password"
)

// secrets are the passwords the /Me tests use; no response may contain one.
var secrets = []string{tempPassword, newPassword, "Third-Pass-3", "Fourth-Pass-4", "wrong-password"}

// basic returns an HTTP Basic Authorization header value (RFC 7617).
func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// me sends a request to path (relative to the server root) with the given
// Authorization header, and checks that the response leaks no password.
func (a *api) me(method, path, authorization string, body any, headers ...string) response {
	a.t.Helper()
	if body != nil {
		data, err := json.Marshal(body) // a string body is JSON too here
		if err != nil {
			a.t.Fatalf("marshal: %v", err)
		}
		body = string(data)
	}
	out := a.send(method, path, authorization, body, headers...)
	for _, s := range secrets {
		if strings.Contains(out.raw, s) {
			a.t.Errorf("%s %s: response contains a password: %s", method, path, out.raw)
		}
	}
	if strings.Contains(out.raw, `"password"`) {
		a.t.Errorf("%s %s: response has a password attribute: %s", method, path, out.raw)
	}
	return out
}

// createCustomer creates a customer as an admin of acme and returns the id.
func createCustomer(t *testing.T, a *api, userName string, extra map[string]any) string {
	t.Helper()
	r := a.do("POST", "/Users", ownerToken, user(userName, extra)).must(t, http.StatusCreated)
	return str(r.body, "id")
}

// withTempPassword are the attributes of a customer onboarded with a temporary
// password.
func withTempPassword(extra map[string]any) map[string]any {
	m := map[string]any{"password": tempPassword, customerURN: map[string]any{"passwordSetup": "temporaryPassword"}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// activeCustomer creates a customer and has them change the temporary
// password to newPassword, so that the account is active.
func activeCustomer(t *testing.T, a *api, userName string, extra map[string]any) string {
	t.Helper()
	id := createCustomer(t, a, userName, withTempPassword(extra))
	a.me("PATCH", mePath, basic(userName, tempPassword), patch(op("replace", "password", newPassword))).must(t, http.StatusOK)
	return id
}

func TestMeTemporaryPassword(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := createCustomer(t, a, "Temp.User@Example.com", withTempPassword(nil))
		temp := basic("temp.user@example.com", tempPassword) // any case
		location := a.srv.URL + "/scim/v2/Users/" + id

		r := a.me("GET", mePath, temp, nil)
		r.scimError(t, http.StatusForbidden, "", "change your temporary password first: PATCH /Me with a new password")
		if got := r.header.Get("Location"); got != location {
			t.Errorf("GET /Me Location = %q, want %q", got, location)
		}
		a.me("PATCH", mePath, temp, patch(op("replace", "name.givenName", "Tina"))).scimError(t, http.StatusForbidden, "", "change your temporary password first")
		a.me("PUT", mePath, temp, user("temp.user@example.com", nil)).scimError(t, http.StatusForbidden, "", "change your temporary password first")
		a.me("PATCH", mePath, temp, patch(op("replace", "password", tempPassword))).scimError(t, http.StatusBadRequest, "invalidValue", "must differ")
		a.me("PATCH", mePath, temp, patch(op("replace", "password", "short"))).scimError(t, http.StatusBadRequest, "invalidValue", "at least 8")
		a.me("PATCH", mePath, temp, patch(op("replace", "password", "Temp.User@Example.com"))).scimError(t, http.StatusBadRequest, "invalidValue", "email")

		changed := a.me("PATCH", mePath, temp, patch(op("replace", "password", newPassword))).must(t, http.StatusOK)
		if got := str(changed.body, customerURN, "accountState"); got != "active" {
			t.Errorf("PATCH /Me password: accountState = %q, want active", got)
		}
		if got := changed.header.Get("Location"); got != location {
			t.Errorf("PATCH /Me Location = %q, want %q", got, location)
		}
		a.me("GET", mePath, temp, nil).scimError(t, http.StatusUnauthorized, "", badDetail)
		a.me("GET", mePath, basic("temp.user@example.com", newPassword), nil).must(t, http.StatusOK)
		admin := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if got := str(admin.body, customerURN, "accountState"); got != "active" {
			t.Errorf("admin GET after the change: accountState = %q, want active", got)
		}
		if got := str(admin.body, customerURN, "passwordSetup"); got != "temporaryPassword" {
			t.Errorf("admin GET after the change: passwordSetup = %q, want temporaryPassword kept", got)
		}

		// A password an admin sets is temporary again; one the customer sets is not.
		reset := a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "password", "Third-Pass-3"))).must(t, http.StatusOK)
		if got := str(reset.body, customerURN, "accountState"); got != "passwordChangeRequired" {
			t.Errorf("admin password reset: accountState = %q, want passwordChangeRequired", got)
		}
		third := basic("temp.user@example.com", "Third-Pass-3")
		a.me("GET", mePath, third, nil).scimError(t, http.StatusForbidden, "", "change your temporary password first")
		put := a.me("PUT", mePath, third, user("temp.user@example.com", map[string]any{"password": "Fourth-Pass-4"})).must(t, http.StatusOK)
		if got := str(put.body, customerURN, "accountState"); got != "active" {
			t.Errorf("PUT /Me with a password: accountState = %q, want active", got)
		}
		a.me("GET", mePath, basic("temp.user@example.com", "Fourth-Pass-4"), nil).must(t, http.StatusOK)

		// The audit trail tells the customer's own password changes (PATCH
		// and PUT) from the administrator's reset in between.
		var trail []string
		for _, c := range a.changes("acme") {
			if c.ResourceID == id && c.Action != resources.ActionCreate {
				trail = append(trail, c.Who+" "+string(c.Action))
			}
		}
		customer := resources.CustomerActor(id)
		if want := []string{customer + " setPassword", "token:owner patch", customer + " setPassword"}; !slices.Equal(trail, want) {
			t.Errorf("change log of the user = %v, want %v", trail, want)
		}
	})
}

func TestMeGet(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := activeCustomer(t, a, "reader@example.com", map[string]any{
			"displayName": "Jane D", "externalId": "crm-7",
		})
		gid := str(a.do("POST", "/Groups", ownerToken, group("VIP", id)).must(t, http.StatusCreated).body, "id")
		auth := basic("READER@example.com", newPassword)

		me := a.me("GET", mePath, auth, nil).must(t, http.StatusOK)
		admin := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if me.raw != admin.raw {
			t.Errorf("GET /Me differs from GET /Users/{id}:\n/Me:    %s\n/Users: %s", me.raw, admin.raw)
		}
		if got, want := str(me.body, "meta", "location"), a.srv.URL+"/scim/v2/Users/"+id; got != want {
			t.Errorf("meta.location = %q, want %q", got, want)
		}
		if got := me.header.Get("Location"); got != str(me.body, "meta", "location") {
			t.Errorf("Location = %q, want meta.location", got)
		}
		if etag := me.header.Get("ETag"); etag == "" || etag != str(me.body, "meta", "version") {
			t.Errorf("ETag = %q, meta.version = %q: want equal and set", etag, str(me.body, "meta", "version"))
		}
		if str(me.body, "userName") != "reader@example.com" || str(me.body, "displayName") != "Jane D" ||
			str(me.body, "groups", 0, "value") != gid || str(me.body, customerURN, "accountState") != "active" {
			t.Errorf("GET /Me = %s", me.raw)
		}

		p := a.me("GET", mePath+"?attributes=userName", auth, nil).must(t, http.StatusOK)
		if p.body["userName"] == nil || p.body["displayName"] != nil || p.body["id"] != id {
			t.Errorf("GET /Me?attributes=userName = %s", p.raw)
		}
		x := a.me("GET", mePath+"?excludedAttributes=displayName,groups", auth, nil).must(t, http.StatusOK)
		if x.body["displayName"] != nil || x.body["groups"] != nil || x.body["userName"] == nil {
			t.Errorf("GET /Me?excludedAttributes=displayName,groups = %s", x.raw)
		}
		nm := a.me("GET", mePath, auth, nil, "If-None-Match", me.header.Get("ETag"))
		if nm.status != http.StatusNotModified {
			t.Errorf("GET /Me If-None-Match current ETag: status = %d, want 304", nm.status)
		}
		a.me("HEAD", mePath, auth, nil).must(t, http.StatusOK)
	})
}

func TestMeCustomerEdits(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := activeCustomer(t, a, "editor@example.com", map[string]any{"externalId": "crm-1"})
		auth := basic("editor@example.com", newPassword)

		r := a.me("PATCH", mePath, auth, patch(
			op("replace", "name", map[string]any{"givenName": "Janet", "familyName": "Roe", "formatted": "Janet Roe"}),
			op("add", "", map[string]any{"displayName": "JR", "nickName": "jr", "preferredLanguage": "fr", "locale": "fr-FR", "timezone": "Europe/Paris"}),
			op("add", "phoneNumbers", []any{map[string]any{"value": "+33 1 23", "type": "mobile"}}),
			op("add", "addresses", []any{map[string]any{"locality": "Paris", "type": "home"}}),
			op("add", "photos", []any{map[string]any{"value": "https://example.com/p.jpg", "type": "photo"}}),
		)).must(t, http.StatusOK)
		if etag := r.header.Get("ETag"); etag == "" || etag != str(r.body, "meta", "version") {
			t.Errorf("PATCH /Me ETag = %q, meta.version = %q", etag, str(r.body, "meta", "version"))
		}
		admin := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		for _, c := range []struct {
			path []any
			want string
		}{
			{[]any{"name", "givenName"}, "Janet"},
			{[]any{"name", "formatted"}, "Janet Roe"},
			{[]any{"displayName"}, "JR"},
			{[]any{"nickName"}, "jr"},
			{[]any{"preferredLanguage"}, "fr"},
			{[]any{"locale"}, "fr-FR"},
			{[]any{"timezone"}, "Europe/Paris"},
			{[]any{"phoneNumbers", 0, "value"}, "+33 1 23"},
			{[]any{"addresses", 0, "locality"}, "Paris"},
			{[]any{"photos", 0, "value"}, "https://example.com/p.jpg"},
			{[]any{"externalId"}, "crm-1"},
		} {
			if got := str(admin.body, c.path...); got != c.want {
				t.Errorf("admin GET after PATCH /Me: %v = %q, want %q", c.path, got, c.want)
			}
		}

		// If-Match pins the version the customer saw.
		a.me("PATCH", mePath, auth, patch(op("replace", "nickName", "x")), "If-Match", `W/"1"`).scimError(t, http.StatusPreconditionFailed, "", "")
		a.me("PATCH", mePath, auth, patch(op("replace", "nickName", "x")), "If-Match", admin.header.Get("ETag")).must(t, http.StatusOK)
		// Resending unchanged protected values is no change.
		a.me("PATCH", mePath, auth, patch(op("replace", "externalId", "crm-1"), op("replace", "nickName", "y"))).must(t, http.StatusOK)
		// A list of tags pins the current one, for a customer as for an
		// administrator (RFC 9110 §13.1.1); a stale list is 412.
		cur := a.me("GET", mePath, auth, nil).must(t, http.StatusOK).header.Get("ETag")
		a.me("PATCH", mePath, auth, patch(op("replace", "nickName", "z")), "If-Match", `W/"1", `+cur).must(t, http.StatusOK)
		a.me("PUT", mePath, auth, user("editor@example.com", nil), "If-Match", `W/"1", `+cur).scimError(t, http.StatusPreconditionFailed, "", "")
	})
}

func TestMeForbiddenChanges(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := activeCustomer(t, a, "locked@example.com", map[string]any{
			"externalId": "crm-2", enterpriseURN: map[string]any{"department": "Sales"},
		})
		gid := str(a.do("POST", "/Groups", ownerToken, group("Staff")).must(t, http.StatusCreated).body, "id")
		auth := basic("locked@example.com", newPassword)
		before := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)

		cases := []struct {
			name     string
			ops      map[string]any
			status   int
			scimType string
			detail   string
		}{
			{"userName", patch(op("replace", "userName", "other@example.com")), 400, "mutability", "immutable"},
			{"groups", patch(op("add", "groups", []any{map[string]any{"value": gid}})), 400, "mutability", "groups"},
			{"accountState", patch(op("replace", customerURN+":accountState", "active")), 400, "mutability", "accountState"},
			{"passwordSetup", patch(op("replace", customerURN+":passwordSetup", "invite")), 400, "mutability", "passwordSetup"},
			{"customer extension whole", patch(op("replace", customerURN, map[string]any{"passwordSetup": "invite"})), 400, "mutability", "passwordSetup"},
			{"active", patch(op("replace", "active", false)), 403, "", `customers cannot change attribute "active"`},
			{"active without path", patch(op("replace", "", map[string]any{"active": false})), 403, "", `"active"`},
			{"externalId", patch(op("replace", "externalId", "mine")), 403, "", `"externalId"`},
			{"externalId removed", patch(op("remove", "externalId", nil)), 403, "", `"externalId"`},
			{"emails", patch(op("add", "emails", []any{map[string]any{"value": "alt@example.com", "type": "home"}})), 403, "", `"emails"`},
			{"userType", patch(op("replace", "userType", "Employee")), 403, "", `"userType"`},
			{"roles", patch(op("add", "roles", []any{map[string]any{"value": "admin"}})), 403, "", `"roles"`},
			{"entitlements", patch(op("add", "entitlements", []any{map[string]any{"value": "all"}})), 403, "", `"entitlements"`},
			{"enterprise", patch(op("replace", enterpriseURN+":department", "Board")), 403, "", enterpriseURN + ":department"},
			{"editable and protected together", patch(op("replace", "nickName", "n"), op("replace", "active", false)), 403, "", `"active"`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a.me("PATCH", mePath, auth, c.ops).scimError(t, c.status, c.scimType, c.detail)
			})
		}
		after := a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if after.raw != before.raw {
			t.Errorf("refused PATCH /Me changed the user:\nbefore: %s\nafter:  %s", before.raw, after.raw)
		}
	})
}

func TestMePut(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := activeCustomer(t, a, "putter@example.com", map[string]any{
			"externalId": "crm-3", "nickName": "old", "title": "Buyer",
			"phoneNumbers": []any{map[string]any{"value": "+1 555", "type": "work"}},
			enterpriseURN:  map[string]any{"department": "Sales", "employeeNumber": "42"},
		})
		auth := basic("putter@example.com", newPassword)

		r := a.me("PUT", mePath, auth, user("PUTTER@example.com", map[string]any{
			"name":       map[string]any{"givenName": "Pat", "familyName": "Utter"},
			"locale":     "en-GB",
			"externalId": "crm-3", // unchanged: accepted
		})).must(t, http.StatusOK)
		for _, b := range []response{r, a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)} {
			if str(b.body, "name", "givenName") != "Pat" || str(b.body, "locale") != "en-GB" {
				t.Errorf("PUT /Me did not apply the editable attributes: %s", b.raw)
			}
			if str(b.body, "nickName") != "" || b.body["phoneNumbers"] != nil {
				t.Errorf("PUT /Me kept editable attributes it left out: %s", b.raw)
			}
			if str(b.body, "externalId") != "crm-3" || str(b.body, "title") != "Buyer" || b.body["active"] != true ||
				str(b.body, enterpriseURN, "department") != "Sales" || str(b.body, enterpriseURN, "employeeNumber") != "42" ||
				str(b.body, "emails", 0, "value") != "putter@example.com" || str(b.body, "userName") != "putter@example.com" ||
				str(b.body, customerURN, "accountState") != "active" {
				t.Errorf("PUT /Me lost attributes the customer may not change: %s", b.raw)
			}
		}

		a.me("PUT", mePath, auth, user("other@example.com", nil)).scimError(t, 400, "mutability", "immutable")
		a.me("PUT", mePath, auth, user("putter@example.com", map[string]any{"active": false})).scimError(t, 403, "", `"active"`)
		a.me("PUT", mePath, auth, user("putter@example.com", map[string]any{"externalId": "mine"})).scimError(t, 403, "", `"externalId"`)
		a.me("PUT", mePath, auth, user("putter@example.com", map[string]any{enterpriseURN: map[string]any{"department": "Board"}})).scimError(t, 403, "", "department")
		a.me("PUT", mePath, auth, map[string]any{"userName": "putter@example.com"}).scimError(t, 400, "invalidSyntax", "schemas")
	})
}

func TestMeAuthentication(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		activeCustomer(t, a, "known@example.com", nil)
		createCustomer(t, a, "invited@example.com", map[string]any{customerURN: map[string]any{"passwordSetup": "invite"}})
		createCustomer(t, a, "nopassword@example.com", nil)
		disabled := createCustomer(t, a, "disabled@example.com", withTempPassword(nil))
		a.do("PATCH", "/Users/"+disabled, ownerToken, patch(op("replace", "active", false))).must(t, http.StatusOK)

		cases := []struct {
			name, path, authorization, detail string
		}{
			{"unknown email", mePath, basic("nobody@example.com", newPassword), badDetail},
			{"wrong password", mePath, basic("known@example.com", "wrong-password"), badDetail},
			{"empty password", mePath, basic("known@example.com", ""), badDetail},
			{"pending invitation", mePath, basic("invited@example.com", newPassword), badDetail},
			{"no password set", mePath, basic("nopassword@example.com", ""), badDetail},
			{"not active", mePath, basic("disabled@example.com", tempPassword), badDetail},
			{"other organization's path", "/t/globex/scim/v2/Me", basic("known@example.com", newPassword), badDetail},
			{"unknown organization", "/t/nosuch/scim/v2/Me", basic("known@example.com", newPassword), badDetail},
			{"braces in organization", "/t/%7Bacme%7D/scim/v2/Me", basic("known@example.com", newPassword), badDetail},
			{"filter injection", mePath, basic(`known@example.com" or userName pr or userName eq "`, newPassword), badDetail},
			{"no credentials", mePath, "", "authentication required"},
			{"not base64", mePath, "Basic !!!", "authentication required"},
			{"no colon", mePath, "Basic " + base64.StdEncoding.EncodeToString([]byte("known@example.com")), "authentication required"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, method := range []string{"GET", "PATCH", "DELETE"} {
					var body any
					if method == "PATCH" {
						body = patch(op("replace", "nickName", "x"))
					}
					r := a.me(method, c.path, c.authorization, body)
					r.scimError(t, http.StatusUnauthorized, "", c.detail)
					if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="scimd"` {
						t.Errorf("%s: WWW-Authenticate = %q, want Basic realm=\"scimd\"", method, got)
					}
					if r.header.Get("Location") != "" {
						t.Errorf("%s: unauthenticated response has a Location: %q", method, r.header.Get("Location"))
					}
				}
			})
		}
		a.me("GET", mePath, basic("  KNOWN@example.com ", newPassword), nil).must(t, http.StatusOK)
	}, func(c *scim.Config) { c.AuthFailureLimit = -1 }) // it fails on purpose, many times: the limit has its own test
}

func TestMeNotSupported(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		id := activeCustomer(t, a, "plain@example.com", nil)
		auth := basic("plain@example.com", newPassword)
		for _, c := range []struct {
			name, method, path, authorization string
			status                            int
			detail                            string
		}{
			{"bearer token", "GET", mePath, "Bearer " + ownerToken, 501, "an API token is not a user"},
			{"bearer token, no org", "GET", "/scim/v2/Me", "Bearer " + ownerToken, 501, "an API token is not a user"},
			{"invalid bearer token", "PATCH", mePath, "Bearer nonsense", 501, "an API token is not a user"},
			{"no org in path", "GET", "/scim/v2/Me", auth, 501, "/t/{org}/scim/v2/Me"},
			{"no org, no credentials", "GET", "/scim/v2/Me", "", 501, "/t/{org}/scim/v2/Me"},
			{"POST", "POST", mePath, auth, 501, "POST /Me is not supported"},
			{"DELETE", "DELETE", mePath, auth, 403, "customers cannot delete their own account"},
		} {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.method == "POST" || c.method == "PATCH" {
					body = user("plain@example.com", nil)
				}
				a.me(c.method, c.path, c.authorization, body).scimError(t, c.status, "", c.detail)
			})
		}
		r := a.me("OPTIONS", mePath, auth, nil)
		r.scimError(t, http.StatusMethodNotAllowed, "", "OPTIONS")
		// Allow names what /Me serves: not DELETE (403) nor POST (501).
		if got := r.header.Get("Allow"); got != "GET, HEAD, PUT, PATCH" {
			t.Errorf("OPTIONS /Me: Allow = %q, want %q", got, "GET, HEAD, PUT, PATCH")
		}
		a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
	})
}
