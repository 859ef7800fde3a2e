package resources

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// createBodies are POST /Users bodies as identity providers send them
// (from testdata/replay: Entra ID's with the enterprise extension, Okta's).
var createBodies = []struct{ name, body string }{
	{"entra", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"0a21f0f2-8d2a-4f8e-bf98-7a2c8e3b1f01","userName":"Ada.Lovelace@contoso.com","active":true,"displayName":"Ada Lovelace","roles":[],"meta":{"resourceType":"User"},"emails":[{"primary":true,"type":"work","value":"Ada.Lovelace@contoso.com"}],"name":{"formatted":"Ada Lovelace","familyName":"Lovelace","givenName":"Ada"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Engineering"}}`},
	{"okta", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Grace.Hopper@example.org","name":{"givenName":"Grace","familyName":"Hopper"},"emails":[{"primary":true,"value":"Grace.Hopper@example.org","type":"work"}],"displayName":"Grace Hopper","locale":"en-US","externalId":"00u1abcdEFGH","groups":[],"active":true}`},
}

// TestNormalizeLeavesRaw checks that normalize neither changes the body it
// is given nor keeps any of its maps or arrays: Users.Create normalizes the
// same body again when it retries, and prepare changes what normalize
// returns.
func TestNormalizeLeavesRaw(t *testing.T) {
	for _, c := range createBodies {
		t.Run(c.name, func(t *testing.T) {
			raw := jsonDoc(t, c.body)
			b, err := normalize(schemas.Users(), raw)
			if err != nil {
				t.Fatalf("normalize(%s): %v", c.body, err)
			}
			if want := jsonDoc(t, c.body); !reflect.DeepEqual(raw, want) {
				t.Errorf("normalize changed its input:\ngot  %s\nwant %s", jsonString(raw), jsonString(want))
			}
			containers := map[uintptr]bool{}
			walkContainers(raw, func(p uintptr) { containers[p] = true })
			walkContainers(b.attrs, func(p uintptr) {
				if containers[p] {
					t.Errorf("normalize(%s) = %s shares a map or array with its input", c.body, jsonString(b.attrs))
				}
			})
		})
	}
}

// walkContainers calls fn with the address of each map and non-empty array
// in v.
func walkContainers(v any, fn func(uintptr)) {
	switch x := v.(type) {
	case map[string]any:
		fn(reflect.ValueOf(x).Pointer())
		for _, e := range x {
			walkContainers(e, fn)
		}
	case []any:
		if len(x) > 0 {
			fn(reflect.ValueOf(x).Pointer())
		}
		for _, e := range x {
			walkContainers(e, fn)
		}
	}
}

// BenchmarkCreateBody measures what Users.Create does with a POST body
// before the store: normalize and prepare.
func BenchmarkCreateBody(b *testing.B) {
	rt := schemas.Users()
	for _, c := range createBodies {
		b.Run(c.name, func(b *testing.B) {
			var raw map[string]any
			if err := json.Unmarshal([]byte(c.body), &raw); err != nil {
				b.Fatal(err)
			}
			u := &Users{rt: rt}
			rules := userRules{format: schemas.UserNameFormatEmail, onboarding: OnboardingNone, whole: true, rt: rt}
			b.ReportAllocs()
			for b.Loop() {
				body, err := normalize(rt, raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := u.prepare(body, nil, rules); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
