package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/webtest"
)

// TestSettingsSubstringSearch: an owner chooses the attributes searched by
// substring on the General tab, each shown with its memory cost; the
// change is the one the settings API reads, audited once with the owner as
// actor, and makes co filters answer from the index where the bounded scan
// refuses them; a collaborator and an unknown attribute are refused and
// change nothing; unchecking every attribute turns it off.
func TestSettingsSubstringSearch(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, redisURL string) {
		store := webtest.Store(t, redisURL)
		store.MaxScan = 2 // fewer than the customers: a scan cannot answer
		e := wireEnv(t, store)
		owner := e.admin("boss@acme.com", resources.RoleOwner)
		collab := e.admin("helper@acme.com", resources.RoleCollaborator)
		boss := e.adminByEmail("boss@acme.com")
		for _, n := range []string{"Lovelace", "Hopper", "Loveless"} {
			e.createCustomer(n+"@example.com", "Ada", n)
		}

		owner.Get(owner.console("settings")).Must(t, http.StatusOK, "Substring search",
			`id="substring-userName" name="substringSearch" value="userName" aria-describedby`,
			`id="substring-name-familyName" name="substringSearch" value="name.familyName" aria-describedby`,
			"about 3.0 KB a customer: 9.1 KB for your 3 customers", "about 352 B a customer: 1.1 KB for your 3 customers",
			`action="/t/acme/console/settings/substring-search"`).
			Lacks(t, "Index built", " checked aria-describedby")

		coLove := "/Users?filter=" + url.QueryEscape(`name.familyName co "love"`)
		if status, body := e.scim("GET", coLove, nil); status != http.StatusBadRequest || body["scimType"] != "tooMany" {
			t.Errorf("GET %s before substring search = %d %v, want 400 tooMany", coLove, status, body)
		}

		before, log := e.orgSettings(), e.changeLog("substringSearch")
		collab.submit("settings/substring-search", url.Values{"substringSearch": {"userName"}}).Must(t, http.StatusForbidden, "Owners only")
		owner.submit("settings/substring-search", url.Values{"substringSearch": {"userName", "nickName"}}).
			Must(t, http.StatusBadRequest, "Form not accepted", "Choose among the attributes the settings list. Nothing was changed.",
				"substringSearch: &#34;nickName&#34; cannot be searched by substring; the attributes that can are userName, emails.value", "Back to the settings")
		if got := e.orgSettings(); got != before {
			t.Errorf("settings after refused forms = %+v, want %+v", got, before)
		}
		if got := e.changeLog("substringSearch"); !slices.Equal(got, log) {
			t.Errorf("change log after refused forms = %v, want %v", got, log)
		}

		p := owner.submit("settings/substring-search", url.Values{"substringSearch": {"name.familyName", "userName"}})
		p.Must(t, http.StatusOK, "Substring search now covers userName, name.familyName.",
			`id="substring-userName" name="substringSearch" value="userName" checked`,
			`id="substring-name-familyName" name="substringSearch" value="name.familyName" checked`,
			`<span class="index-state" id="substring-userName-state">Index built.</span>`).
			Lacks(t, `value="externalId" checked`, "being built")
		if s := e.orgSettings(); s.SubstringSearch != "userName,name.familyName" || s.SubstringPending != "" {
			t.Errorf("settings = %+v, want substringSearch userName,name.familyName, nothing pending", s)
		}
		// The setting the API reads; co answered from the index.
		if got := e.apiSubstringSearch(); !slices.Equal(got, []string{"userName", "name.familyName"}) {
			t.Errorf("GET %s: substringSearch %v, want [userName name.familyName]", scim.SettingsPath, got)
		}
		// The API reads the organization's User type at most a few seconds
		// ago (resources.Users.TypeFor), and read it for the query above.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			status, body := e.scim("GET", coLove, nil)
			if status == http.StatusOK && body["totalResults"] == 2.0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s = %d %v within 10s of the change, want 2 results", coLove, status, body)
			}
		}
		actor := resources.AdminActor(boss.ID)
		if got, want := e.changeLog("substringSearch"), append(slices.Clone(log), actor+" "+string(resources.ActionReplace)); !slices.Equal(got, want) {
			t.Errorf("change log = %v, want %v", got, want)
		}
		owner.Get(owner.console("settings/audit")).Must(t, http.StatusOK, "setting: substring search")

		// The same choice again changes nothing and writes no entry.
		owner.submit("settings/substring-search", url.Values{"substringSearch": {"userName", "name.familyName"}}).
			Must(t, http.StatusOK, "Substring search now covers userName, name.familyName.")
		if got := e.changeLog("substringSearch"); len(got) != len(log)+1 {
			t.Errorf("change log after saving the same choice = %v, want one entry more than %v", got, log)
		}

		// Nothing checked: off.
		owner.submit("settings/substring-search", nil).Must(t, http.StatusOK, "Substring search is off").
			Lacks(t, " checked aria-describedby", "Index built")
		if s := e.orgSettings(); s.SubstringSearch != "" || s.SubstringPending != "" {
			t.Errorf("settings after unchecking all = %+v, want none", s)
		}
		if got := e.changeLog("substringSearch"); len(got) != len(log)+2 || got[len(got)-1] != actor+" "+string(resources.ActionReplace) {
			t.Errorf("change log after turning it off = %v, want a second entry by %s", got, actor)
		}
	})
}

// TestSettingsSubstringSearchPending: while a sweep is unfinished (as a
// change whose sweep ran out of time leaves it), the page says which index
// is being built and which removed.
func TestSettingsSubstringSearchPending(t *testing.T) {
	redisURL := redistest.Start(t)
	e := newEnv(t, redisURL)
	owner := e.admin("boss@acme.com", resources.RoleOwner)
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	// userName added and externalId removed, the sweep not started.
	const p = "scimd:{acme}:"
	if err := c.HSet(t.Context(), p+"settings", "substringSearch", "userName", "substringSweep", `{"attrs":["userName","externalId"],"after":0}`).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Incr(t.Context(), p+"exts:gen").Err(); err != nil {
		t.Fatal(err)
	}
	owner.Get(owner.console("settings")).Must(t, http.StatusOK,
		`value="userName" checked`, `<span class="index-state" id="substring-userName-state">Index being built: until it is, the bounded scan answers.</span>`,
		`<span class="index-state" id="substring-externalId-state">Index being removed.</span>`).
		Lacks(t, `value="externalId" checked`, "Index built.")
}

// apiSubstringSearch returns acme's substringSearch as the settings API
// shows it to the owner token.
func (e *env) apiSubstringSearch() []string {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+scim.SettingsPath, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+webtest.OwnerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", scim.SettingsPath, err)
	}
	defer resp.Body.Close()
	var body struct {
		SubstringSearch []string `json:"substringSearch"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); resp.StatusCode != http.StatusOK || err != nil {
		e.t.Fatalf("GET %s = %d, %v", scim.SettingsPath, resp.StatusCode, err)
	}
	return body.SubstringSearch
}
