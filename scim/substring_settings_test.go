package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// TestSubstringSearchSetting: the settings API shows substringSearch (none
// by default), owners change it (names in any case), a bad name is 400
// invalidValue naming the allowed ones, and a co filter on an opted-in
// attribute is answered through HTTP once the build is done.
func TestSubstringSearchSetting(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, _ *resources.Users, _ mailbox) {
		r := a.send("GET", scim.SettingsPath, "Bearer "+readerToken, nil).must(t, http.StatusOK)
		if got, ok := r.body["substringSearch"].([]any); !ok || len(got) != 0 {
			t.Errorf("default substringSearch = %s, want []", r.raw)
		}
		a.do("POST", "/Users", ownerToken, map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "zoë@example.com", "name": map[string]any{"familyName": "Van Zoëlen"}}).must(t, http.StatusCreated)
		a.setting(t, ownerToken, map[string]any{"substringSearch": []any{"nickName"}}).
			scimError(t, http.StatusBadRequest, "invalidValue", strings.Join(resources.SubstringAttributes, ", "))
		a.setting(t, collabToken, map[string]any{"substringSearch": []any{"userName"}}).must(t, http.StatusForbidden)
		r = a.setting(t, ownerToken, map[string]any{"substringSearch": []any{"NAME.FAMILYNAME"}}).must(t, http.StatusOK)
		got, _ := r.body["substringSearch"].([]any)
		pending, _ := r.body["substringSearchPending"].([]any)
		if len(got) != 1 || got[0] != "name.familyName" || len(pending) != 0 {
			t.Fatalf("PATCH substringSearch answered %s", r.raw)
		}
		r = a.do("GET", "/Users?filter="+q(`name.familyName co "ZOËL"`), ownerToken, nil).must(t, http.StatusOK)
		if r.body["totalResults"] != float64(1) {
			t.Errorf("co through the trigram index answered %s", r.raw)
		}
	})
}
