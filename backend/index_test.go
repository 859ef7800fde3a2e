package backend

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestIndexedAttributesDocumented: the package documentation and README's
// limits table name exactly the attributes userKind and groupKind index.
func TestIndexedAttributesDocumented(t *testing.T) {
	users, groups := indexedNames(userKind()), indexedNames(groupKind())
	andList := func(names []string) string {
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	quoted := func(names []string) string {
		return "`" + strings.Join(names, "`, `") + "`"
	}
	for _, c := range []struct{ file, want string }{
		{"doc.go", "for users " + andList(users) + "; for groups " + andList(groups) + "."},
		{"../README.md", "filter on an indexed attribute (users: " + quoted(users) + "; groups: " + quoted(groups) + ")"},
	} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		// Comment lines joined: a sentence of doc.go may wrap anywhere.
		text := strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n//", " ")), " ")
		if !strings.Contains(text, c.want) {
			t.Errorf("%s does not say %q: say it when the indexes change", c.file, c.want)
		}
	}
}

func indexedNames(k kind) []string {
	out := make([]string, len(k.indexes))
	for i, ix := range k.indexes {
		out[i] = ix.name
	}
	return out
}

// TestIndexHint: a query refused for its cost names indexed attributes of
// its own resource type, whichever bound refused it.
func TestIndexHint(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := range 6 {
			mustCreateUser(t, s, user(fmt.Sprintf("g%d@example.com", i)))
			mustCreateGroup(t, s, group(fmt.Sprintf("g%d", i)))
		}
		s.MaxScan = 5        // the scans: 6 resources
		s.MaxFilterWork = 10 // the streamed ands: 6 candidates × 2 comparisons
		for _, c := range []struct {
			rt     schemas.ResourceType
			list   func(context.Context, string, resources.Query) (resources.Page, error)
			filter string
			hint   string
		}{
			{schemas.Users(), s.ListUsers, `userName sw "g" and userName co "1"`, "(userName, externalId, emails.value, ...)"},
			{schemas.Users(), s.ListUsers, `userName co "1"`, "(userName, externalId, emails.value, ...)"},
			{schemas.Groups(), s.ListGroups, `displayName sw "g" and displayName co "1"`, "(displayName, externalId, ...)"},
			{schemas.Groups(), s.ListGroups, `displayName co "1"`, "(displayName, externalId, ...)"},
		} {
			e, err := resources.ParseFilter(c.rt, c.filter, "")
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", c.filter, err)
			}
			_, err = c.list(ctx, org, resources.Query{Filter: e, Count: 10})
			wantCode(t, "list "+c.filter, err, resources.TooMany)
			if err == nil || !strings.Contains(err.Error(), c.hint) {
				t.Errorf("list %s: error %v, want it to name %s", c.filter, err, c.hint)
			}
		}
	})
}
