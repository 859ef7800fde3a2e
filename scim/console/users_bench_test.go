package console_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
)

// largeOrg is the number of customers BenchmarkUsersList seeds.
const largeOrg = 100000

// BenchmarkUsersList reads the customers list of an organization of
// largeOrg customers on a real redis-server, through HTTP as a browser
// does: the first page, a deep page, a narrow and a broad search by
// prefix (every customer's email starts with "w"), and a search that
// matches none. Run it with
//
//	go test ./scim/console -run '^$' -bench UsersList -benchtime 20x
func BenchmarkUsersList(b *testing.B) {
	e := newEnv(b, redistest.Start(b))
	ctx := context.Background()
	const batch = 250
	for lo := 0; lo < largeOrg; lo += batch {
		users := make([]resources.Resource, batch)
		ws := make([]resources.UserWrite, batch)
		for i := range users {
			n := lo + i
			users[i] = resources.Resource{Attributes: map[string]any{
				"schemas":  []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": fmt.Sprintf("w%07d@example.com", n), "active": true,
				"name":   map[string]any{"givenName": fmt.Sprintf("Given%d", n%977), "familyName": fmt.Sprintf("Family%07d", n)},
				"emails": []any{map[string]any{"value": fmt.Sprintf("w%07d@example.com", n), "primary": true}},
			}}
		}
		if _, errs, err := e.store.CreateUsers(ctx, "acme", users, ws); err != nil {
			b.Fatalf("CreateUsers: %v", err)
		} else {
			for _, err := range errs {
				if err != nil {
					b.Fatalf("CreateUsers: %v", err)
				}
			}
		}
	}
	br := e.admin("owner@acme.example", resources.RoleOwner)
	for _, c := range []struct{ name, query, want string }{
		{"first-page", "", "1–25 of 100000"},
		{"page-2000", "?page=2000", "49976–50000 of 100000"},
		{"prefix-narrow", "?q=w00012", "1–25 of 100"},
		{"prefix-broad", "?q=w", "1–25 of 100000"},
		{"name", "?q=Given12", "1–25 of 1133"},
		{"no-match", "?q=zz", "No customer"},
	} {
		b.Run(c.name, func(b *testing.B) {
			br.Get(br.console("users"+c.query)).Must(b, http.StatusOK, c.want)
			for b.Loop() {
				br.Get(br.console("users" + c.query))
			}
		})
	}
}
