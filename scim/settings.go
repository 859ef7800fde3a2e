package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// SettingsPath is where an organization's settings are read and, by its
// owners, changed over HTTP.
const SettingsPath = "/admin/v1/settings"

// settingsAdmin is what the settings API needs from the store. The handler
// serves the API when the token store it is given has it.
type settingsAdmin interface {
	OrgSettings(ctx context.Context, org string) (resources.OrgSettings, error)
	SetSettings(ctx context.Context, org string, c resources.SettingsChange) (bool, error)
}

// settingsInfo is the organization's settings as the API shows them, with
// their defaults filled in.
type settingsInfo struct {
	DisplayName      string `json:"displayName"`
	SelfRegistration bool   `json:"selfRegistration"`
	Onboarding       string `json:"onboarding"`
	UserNameFormat   string `json:"userNameFormat"`
	// SubstringSearch are the attributes whose co and ew filters a trigram
	// index answers; SubstringSearchPending those whose index is still
	// being built or removed (the bounded scan answers them meanwhile).
	SubstringSearch        []string `json:"substringSearch"`
	SubstringSearchPending []string `json:"substringSearchPending"`
}

// The settings API: GET (any token of the organization) shows the settings;
// PATCH {"onboarding": "invite"|"none", "userNameFormat": "email"|"any",
// "substringSearch": [attribute, ...]} (owners only) changes those given,
// each audited; a change of substringSearch answers once the existing
// customers' trigram entries are written (or removed), or after 10 s,
// the rest continuing later (substringSearchPending). The other settings are
// the console's and the CLI's; a field the API does not change is refused,
// never ignored.

// getSettings serves GET.
func (h *Handler) getSettings(admin settingsAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principal(r.Context())
		if p.Replaced {
			return resources.Errorf(resources.Forbidden, "this secret was replaced by a rotation and works for the SCIM API only, until it expires: read the settings with the token's current secret")
		}
		s, err := admin.OrgSettings(r.Context(), p.Org)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, settingsInfo{DisplayName: s.DisplayName, SelfRegistration: s.SelfRegistration,
			Onboarding: s.OnboardingPolicy(), UserNameFormat: s.UserNameRule(),
			SubstringSearch: resources.SplitAttributes(s.SubstringSearch), SubstringSearchPending: resources.SplitAttributes(s.SubstringPending)})
		return nil
	}
}

// patchSettings serves PATCH: the fields given, checked all before any is
// stored.
func (h *Handler) patchSettings(admin settingsAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principal(r.Context())
		if err := ownerOnly(p, "change the organization's settings"); err != nil {
			return err
		}
		data, err := readBody(w, r, h.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		var req map[string]json.RawMessage
		if err := json.Unmarshal(data, &req); err != nil {
			return resources.Errorf(resources.InvalidSyntax, `the body is not a JSON object (%s): send {"onboarding": "invite|none", "userNameFormat": "email|any", "substringSearch": ["userName", ...]} (any of them)`, schemas.JSONProblem(err))
		}
		known := []string{"onboarding", "userNameFormat", "substringSearch"}
		values := map[string]string{}
		var substring []string
		for k, raw := range req {
			if !slices.Contains(known, k) {
				return resources.Errorf(resources.InvalidSyntax, "setting %q cannot be changed here: send onboarding, userNameFormat or substringSearch (the others are in the console and `scimd org set`)", k)
			}
			if k == "substringSearch" {
				if err := json.Unmarshal(raw, &substring); err != nil || substring == nil {
					return resources.Errorf(resources.InvalidValue, "setting \"substringSearch\" must be a list of attribute names ([] for none)")
				}
				if _, err := resources.ParseSubstringSearch(substring); err != nil {
					return err
				}
				continue
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return resources.Errorf(resources.InvalidValue, "setting %q must be a string", k)
			}
			values[k] = v
		}
		if v, ok := values["onboarding"]; ok {
			if _, err := resources.ParseOnboarding(v); err != nil {
				return err
			}
		}
		if v, ok := values["userNameFormat"]; ok {
			if _, err := resources.ParseUserNameFormat(v); err != nil {
				return err
			}
		}
		// One write: the fields given change together, or none does.
		c := resources.SettingsChange{SubstringSearch: substring, HasSubstring: substring != nil}
		if v, ok := values["onboarding"]; ok {
			c.Onboarding = &v
		}
		if v, ok := values["userNameFormat"]; ok {
			c.UserNameFormat = &v
		}
		if _, err := admin.SetSettings(r.Context(), p.Org, c); err != nil {
			return err
		}
		return h.getSettings(admin)(w, r)
	}
}
