package scim_test

import (
	"net/http"
	"testing"
)

// TestMembersDisplayIsTheServers: /Schemas says members.display is
// readOnly, and it is: a display a client sends (POST, PUT, PATCH add) is
// ignored, and every GET shows the member's displayName, else its userName,
// kept current when the user is renamed.
func TestMembersDisplayIsTheServers(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		schema := a.do("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", ownerToken, nil).must(t, http.StatusOK)
		var display map[string]any
		for _, attr := range schema.body["attributes"].([]any) {
			if m := attr.(map[string]any); m["name"] == "members" {
				for _, sub := range m["subAttributes"].([]any) {
					if s := sub.(map[string]any); s["name"] == "display" {
						display = s
					}
				}
			}
		}
		if display["mutability"] != "readOnly" {
			t.Errorf("/Schemas members.display = %v, want mutability readOnly", display)
		}

		jane := a.do("POST", "/Users", ownerToken, user("jane@example.com", map[string]any{"displayName": "Jane Doe"})).must(t, http.StatusCreated).body["id"].(string)
		sam := a.do("POST", "/Users", ownerToken, user("sam@example.com", nil)).must(t, http.StatusCreated).body["id"].(string)
		shown := func(gid string) map[string]any {
			t.Helper()
			out := map[string]any{}
			for _, m := range a.do("GET", "/Groups/"+gid, ownerToken, nil).must(t, http.StatusOK).body["members"].([]any) {
				mm := m.(map[string]any)
				out[mm["value"].(string)] = mm["display"]
			}
			return out
		}
		want := func(gid string, w map[string]any) {
			t.Helper()
			got := shown(gid)
			for id, d := range w {
				if got[id] != d {
					t.Errorf("members of the group: %v, want %v", got, w)
					return
				}
			}
		}
		g := group("displays")
		g["members"] = []any{map[string]any{"value": jane, "display": "Not Jane"}}
		gid := a.do("POST", "/Groups", ownerToken, g).must(t, http.StatusCreated).body["id"].(string)
		want(gid, map[string]any{jane: "Jane Doe"})

		a.do("PATCH", "/Groups/"+gid, ownerToken, patch(op("add", "members", []any{map[string]any{"value": sam, "display": "Someone Else"}}))).must(t, http.StatusOK)
		want(gid, map[string]any{jane: "Jane Doe", sam: "sam@example.com"})

		g["members"] = []any{map[string]any{"value": jane, "display": "X"}, map[string]any{"value": sam, "display": "Y"}}
		a.do("PUT", "/Groups/"+gid, ownerToken, g).must(t, http.StatusOK)
		want(gid, map[string]any{jane: "Jane Doe", sam: "sam@example.com"})

		a.do("PATCH", "/Users/"+sam, ownerToken, patch(op("replace", "displayName", "Sam Lee"))).must(t, http.StatusOK)
		want(gid, map[string]any{jane: "Jane Doe", sam: "Sam Lee"})
	})
}
