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
			// co and ew on an indexed attribute: its index is there; the
			// advice is substring search, or eq and sw.
			{schemas.Users(), s.ListUsers, `userName co "1"`, "co and ew on userName read every value of its index, more than 5; " +
				"an administrator can turn on substring search for userName (the organization's substringSearch setting); or filter with eq or sw"},
			{schemas.Users(), s.ListUsers, `name.familyName ew "1" or userName co "1"`, "co and ew on name.familyName, userName read every value of their indexes"},
			{schemas.Users(), s.ListUsers, `title co "1"`, "(userName, externalId, emails.value, ...)"},
			{schemas.Groups(), s.ListGroups, `displayName sw "g" and displayName co "1"`, "(displayName, externalId, ...)"},
			{schemas.Groups(), s.ListGroups, `displayName co "1"`, "co and ew on displayName read every value of its index, more than 5; or filter with eq or sw"},
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
		// Substring search on, a value too short for it.
		if _, err := s.SetSubstringSearch(ctx, org, []string{"userName"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SweepSubstring(ctx, org); err != nil {
			t.Fatal(err)
		}
		rt, err := resources.NewUsers(s).TypeFor(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := resources.ParseFilter(rt, `userName co "g1"`, "")
		_, err = s.ListUsers(ctx, org, resources.Query{Filter: e, Count: 10, Type: &rt})
		want := "co and ew on userName read every value of its index, more than 5; co and ew need a value of at least 3 characters with substringSearch on userName; or filter with eq or sw"
		if resources.ErrorCode(err) != resources.TooMany || !strings.Contains(err.Error(), want) {
			t.Errorf("list %v with substring search on userName: error %v, want %q", e, err, want)
		}
	})
}
