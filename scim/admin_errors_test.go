package scim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// The admin API's answers to bad bodies: an expiry in the past is refused
// whatever the time (the zero time was taken as "none": a token that never
// expires), details say what is wrong in the client's terms (no Go type),
// and an unknown settings field is invalidSyntax, as elsewhere in the API.
func TestAdminAPIBodyErrors(t *testing.T) {
	a := newAPI(t, "")
	a.send("POST", scim.AdminPath, "Bearer "+ownerToken,
		`{"name":"y1","role":"reader","expiresAt":"0001-01-01T00:00:00Z"}`).scimError(t, 400, "invalidValue", "expiresAt")
	a.send("POST", scim.AdminPath+"/reader/rotate", "Bearer "+ownerToken,
		`{"previousExpiresAt":"0001-01-01T00:00:00Z"}`).scimError(t, 400, "invalidValue", "previousExpiresAt")
	for _, c := range []struct{ path, body, want string }{
		{scim.AdminPath, `[]`, "it is an array"},
		{scim.AdminPath, `{"name":1,"role":"reader"}`, `"name" must be a string, not a number`},
		{scim.AdminPath, `{"name":"x","role":"reader","expiresAt":1767225600}`, `"expiresAt" must be a string, not a number`},
		{scim.AdminPath + "/reader/rotate", `"x"`, "it is a string"},
		{scim.SchemasPath, `[]`, "it is an array"},
		{scim.SchemasPath, `{"id":1,"attributes":[]}`, `"id" must be a string, not a number`},
		{scim.SchemasPath, `{"id":"urn:example:x","attributes":[{"name":"a","type":"string","multiValued":"yes"}]}`, "must be true or false, not a string"},
	} {
		r := a.send("POST", c.path, "Bearer "+ownerToken, c.body)
		r.scimError(t, 400, "invalidSyntax", c.want)
		if d := str(r.body, "detail"); strings.Contains(d, "Go ") || strings.Contains(d, "struct") || strings.Contains(d, "schemas.") || strings.Contains(d, "2006-01-02") {
			t.Errorf("POST %s %s: detail %q names Go types or layouts", c.path, c.body, d)
		}
	}
	a.send("POST", scim.AdminPath, "Bearer "+ownerToken, `{"name":"y2","role":"reader","expiresAt":"tomorrow"}`).
		scimError(t, 400, "invalidSyntax", `expiresAt "tomorrow" is not an RFC 3339 time`)
	if got := a.send("GET", scim.AdminPath, "Bearer "+ownerToken, nil).must(t, 200).raw; strings.Contains(got, `"y1"`) || strings.Contains(got, `"y2"`) {
		t.Errorf("a refused token was created: %s", got)
	}
	a.send("PATCH", scim.SettingsPath, "Bearer "+ownerToken, `{"onboard":"invite"}`).scimError(t, 400, "invalidSyntax", "onboard")
	a.send("PATCH", scim.SettingsPath, "Bearer "+ownerToken, `[1]`).scimError(t, 400, "invalidSyntax", "substringSearch")
}

// An organization has at most resources.MaxTokens tokens: the lists of
// them are read whole. The next is refused, creating nothing, until one
// is revoked.
func TestTokenCountBounded(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		have := len(a.send("GET", scim.AdminPath, "Bearer "+ownerToken, nil).must(t, 200).body["tokens"].([]any))
		for i := have; i < resources.MaxTokens; i++ {
			a.send("POST", scim.AdminPath, "Bearer "+ownerToken, fmt.Sprintf(`{"name":"t%d","role":"reader"}`, i)).must(t, 201)
		}
		a.send("POST", scim.AdminPath, "Bearer "+ownerToken, `{"name":"one-more","role":"reader"}`).scimError(t, 400, "invalidValue", "revoke one")
		if n := len(a.send("GET", scim.AdminPath, "Bearer "+ownerToken, nil).must(t, 200).body["tokens"].([]any)); n != resources.MaxTokens {
			t.Errorf("%d tokens, want %d", n, resources.MaxTokens)
		}
		a.send("DELETE", scim.AdminPath+"/t"+fmt.Sprint(resources.MaxTokens-1), "Bearer "+ownerToken, nil).must(t, 204)
		a.send("POST", scim.AdminPath, "Bearer "+ownerToken, `{"name":"one-more","role":"reader"}`).must(t, 201)
	})
}

// The secret a rotation replaced keeps working for the SCIM API during the
// overlap, not for the admin API: a leaked owner secret, rotated away,
// cannot rotate the token again (which would hand its holder a current
// secret and demote the owner's), mint tokens, or change settings and
// schemas.
func TestReplacedOwnerSecretCannotAdminister(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		old := a.createToken(`{"name":"boss","role":"owner"}`)["token"].(string)
		a.send("GET", scim.AdminPath, "Bearer "+old, nil).must(t, 200)
		st, raw := a.admin("POST", "/boss/rotate", ownerToken, "")
		if st != 200 {
			t.Fatalf("rotate = %d %s", st, raw)
		}
		var rotated struct{ Token string }
		if err := json.Unmarshal([]byte(raw), &rotated); err != nil {
			t.Fatal(err)
		}
		a.do("GET", "/Users", old, nil).must(t, 200)
		a.do("POST", "/Users", old, user("still@example.com", nil)).must(t, 201)
		for _, c := range []struct{ method, path, body string }{
			{"POST", scim.AdminPath + "/boss/rotate", ""},
			{"POST", scim.AdminPath, `{"name":"mine","role":"owner"}`},
			{"GET", scim.AdminPath, ""},
			{"PATCH", scim.SettingsPath, `{"onboarding":"none"}`},
			{"GET", scim.SchemasPath, ""},
			{"GET", scim.SettingsPath, ""},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			a.send(c.method, c.path, "Bearer "+old, body).scimError(t, 403, "", "replaced by a rotation")
		}
		a.send("POST", scim.AdminPath+"/boss/rotate", "Bearer "+rotated.Token, nil).must(t, 200)
	})
}

// failingSettings is a store whose settings writes fail, as a Redis that
// goes away mid-request.
type failingSettings struct{ *backend.Store }

func (failingSettings) SetSettings(context.Context, string, resources.SettingsChange) (bool, error) {
	return false, errors.New("redis: i/o timeout")
}

// A PATCH of several settings changes them all or none: a write that
// fails leaves every one as it was (before, onboarding and userNameFormat
// were written one by one, then substringSearch failed).
func TestSettingsPatchIsAllOrNothing(t *testing.T) {
	a := newAPI(t, "")
	body := `{"onboarding":"invite","userNameFormat":"any","substringSearch":["userName"]}`
	log := slog.New(slog.DiscardHandler)
	h := scim.NewHandler(scim.Config{BaseURL: a.srv.URL + scim.BasePath}, resources.NewUsers(a.store), resources.NewGroups(a.store), failingSettings{a.store}, log)
	r := httptest.NewRequest("PATCH", scim.SettingsPath, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+ownerToken)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code < 500 {
		t.Fatalf("PATCH with a failing store = %d %s, want 5xx", w.Code, w.Body)
	}
	s, err := a.store.OrgSettings(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s.OnboardingPolicy() != "none" || s.UserNameRule() != "email" || len(s.SubstringSearch) != 0 {
		t.Errorf("after a failed PATCH: onboarding %q, userNameFormat %q, substringSearch %v; want none, email, none", s.OnboardingPolicy(), s.UserNameRule(), s.SubstringSearch)
	}
	// A refused value changes nothing either; a good PATCH changes all.
	a.send("PATCH", scim.SettingsPath, "Bearer "+ownerToken, `{"onboarding":"invite","userNameFormat":"whatever"}`).scimError(t, 400, "invalidValue", "userNameFormat")
	if s, _ := a.store.OrgSettings(context.Background(), "acme"); s.OnboardingPolicy() != "none" {
		t.Errorf("a refused PATCH changed onboarding to %q", s.OnboardingPolicy())
	}
	got := a.send("PATCH", scim.SettingsPath, "Bearer "+ownerToken, body).must(t, 200)
	if str(got.body, "onboarding") != "invite" || str(got.body, "userNameFormat") != "any" || !strings.Contains(got.raw, `"userName"`) {
		t.Errorf("PATCH = %s, want all three changed", got.raw)
	}
	changes, err := a.store.Changes(context.Background(), "acme", 100)
	if err != nil {
		t.Fatal(err)
	}
	settings := 0
	for _, c := range changes {
		if c.Type == "Settings" {
			settings++
		}
	}
	if settings != 3 {
		t.Errorf("%d Settings entries in the change log, want 3 (one per field)", settings)
	}
}
