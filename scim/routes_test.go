package scim_test

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd/scim"
)

// TestRoutes: each path answers the methods it serves; any other method is a
// SCIM 405 whose Allow names them (RFC 9110 §15.5.6), once the client is
// authenticated; paths are case-sensitive and take no trailing slash.
func TestRoutes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		for _, c := range []struct {
			method, path, token string
			status              int
			allow, detail       string
		}{
			{"HEAD", "/Users", readerToken, http.StatusOK, "", ""},
			{"HEAD", "/Users/none", readerToken, http.StatusNotFound, "", ""},
			{"OPTIONS", "/Users", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD, POST", "OPTIONS is not allowed on /scim/v2/Users"},
			{"DELETE", "/Groups", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD, POST", "DELETE"},
			{"POST", "/Users/u1", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD, PUT, PATCH, DELETE", "POST"},
			{"GET", "/Users/.search", ownerToken, http.StatusMethodNotAllowed, "POST", "send a SearchRequest with POST"},
			{"OPTIONS", "/Groups/.search", ownerToken, http.StatusMethodNotAllowed, "POST", "send a SearchRequest with POST"},
			{"DELETE", "/Users/.search", ownerToken, http.StatusMethodNotAllowed, "POST", "send a SearchRequest with POST"},
			// Methods no pattern names reach /Users/{id}'s 405, which answers
			// for /Users/.search.
			{"PROPFIND", "/Users/.search", ownerToken, http.StatusMethodNotAllowed, "POST", "send a SearchRequest with POST"},
			{"HEAD", "/Groups/.search", ownerToken, http.StatusMethodNotAllowed, "POST", ""},
			{"PROPFIND", "/Users/u1", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD, PUT, PATCH, DELETE", "PROPFIND"},
			{"PUT", "/", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD", "not allowed on the service root"},
			{"PATCH", "", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD", "not allowed on the service root"},
			{"GET", "", readerToken, http.StatusOK, "", ""},
			{"GET", "/.search", ownerToken, http.StatusMethodNotAllowed, "POST", "not allowed on /.search: send a SearchRequest with POST"},
			{"GET", "/Bulk", ownerToken, http.StatusMethodNotAllowed, "POST", "send a BulkRequest with POST"},
			{"GET", "/Users/u1/resendInvitation", ownerToken, http.StatusMethodNotAllowed, "POST", "new invitation"},
			{"DELETE", "/Schemas", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD", "discovery endpoints are read-only"},
			// The method is checked before the filter.
			{"POST", "/ResourceTypes?filter=x", ownerToken, http.StatusMethodNotAllowed, "GET, HEAD", "read-only"},
			{"GET", "/ResourceTypes?filter=x", ownerToken, http.StatusForbidden, "", "do not support filter"},
			// Authentication and roles come first.
			{"DELETE", "/Users", "", http.StatusUnauthorized, "", ""},
			{"DELETE", "/Users", readerToken, http.StatusForbidden, "", "may only read"},
			// No trailing slash, no other case, no other path.
			{"GET", "/Users/", ownerToken, http.StatusNotFound, "", "no SCIM endpoint at /scim/v2/Users/"},
			{"GET", "/users", ownerToken, http.StatusNotFound, "", "no SCIM endpoint"},
			{"DELETE", "/nowhere", "", http.StatusNotFound, "", "no SCIM endpoint"},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				r := a.do(c.method, c.path, c.token, nil)
				if c.status >= 400 && c.method != "HEAD" {
					r.scimError(t, c.status, "", c.detail)
				} else {
					r.must(t, c.status)
				}
				if got := r.header.Get("Allow"); got != c.allow {
					t.Errorf("%s %s: Allow = %q, want %q", c.method, c.path, got, c.allow)
				}
			})
		}

		// The owners' token API and /Me.
		for _, c := range []struct {
			method, path, authorization string
			status                      int
			allow                       string
		}{
			{"PUT", scim.AdminPath, "Bearer " + ownerToken, http.StatusMethodNotAllowed, "GET, HEAD, POST"},
			{"GET", scim.AdminPath + "/cli", "Bearer " + ownerToken, http.StatusMethodNotAllowed, "DELETE"},
			{"PUT", scim.AdminPath, "Bearer " + collabToken, http.StatusForbidden, ""},
			{"OPTIONS", "/t/acme" + scim.BasePath + "/Me", "", http.StatusUnauthorized, ""},
			{"OPTIONS", scim.BasePath + "/Me", "", http.StatusNotImplemented, ""},
		} {
			r := a.send(c.method, c.path, c.authorization, nil)
			r.scimError(t, c.status, "", "")
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow = %q, want %q", c.method, c.path, got, c.allow)
			}
		}
	})
}
