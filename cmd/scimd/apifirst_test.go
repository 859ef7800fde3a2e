package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scimd/scimd/scim"
)

// apiFirst answers every request as the ServeMux it bypasses does: api
// under scim.BasePath (a ServeMux too, as scim.Handler is), the rest mux,
// with the same cleaning redirects.
func TestAPIFirstRoutesAsTheMux(t *testing.T) {
	api := http.NewServeMux()
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("api " + r.URL.Path)) })
	mux := http.NewServeMux()
	mux.Handle(scim.BasePath+"/", api)
	mux.Handle(scim.BasePath, api)
	mux.Handle("/t/", api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	first := apiFirst(api, mux)
	for _, path := range []string{
		"/scim/v2", "/scim/v2/", "/scim/v2/Users/1", "/scim/v2/../healthz", "/scim/v2//Users", "/scim/v2/./Users?count=1",
		"/scim/v2/..", "/scim/v2%2FUsers", "/scim/v2/Users%2F1", "/scim/v2%2f..%2fhealthz", "/scim/v2x", "/scim", "/healthz",
		"/t/o/scim/v2/Me", "/nowhere",
	} {
		for _, method := range []string{"GET", "PROPFIND"} {
			want, got := httptest.NewRecorder(), httptest.NewRecorder()
			mux.ServeHTTP(want, httptest.NewRequest(method, path, nil))
			first.ServeHTTP(got, httptest.NewRequest(method, path, nil))
			if got.Code != want.Code || got.Header().Get("Location") != want.Header().Get("Location") || got.Body.String() != want.Body.String() {
				t.Errorf("%s %s: apiFirst answers %d %q %q, the mux %d %q %q", method, path,
					got.Code, got.Header().Get("Location"), got.Body, want.Code, want.Header().Get("Location"), want.Body)
			}
		}
	}
}
