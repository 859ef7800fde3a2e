package console

import (
	"flag"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

var update = flag.Bool("update", false, "rewrite README.md's substring search figures from substringChoices")

// TestSubstringChoices: the page has words and a figure for every
// attribute that may be searched by substring, and for no other.
func TestSubstringChoices(t *testing.T) {
	got := slices.Sorted(maps.Keys(substringChoices))
	want := slices.Sorted(slices.Values(resources.SubstringAttributes))
	if !slices.Equal(got, want) {
		t.Errorf("substringChoices has %v, want resources.SubstringAttributes %v", got, want)
	}
	for a, c := range substringChoices {
		if c.Label == "" || c.Bytes <= 0 {
			t.Errorf("substringChoices[%q] = %+v, want a label and a measured size", a, c)
		}
	}
}

// TestSubstringMemoryInREADME: README's "Substring search" table shows
// substringChoices' figures in its used_memory column (go test
// ./scim/console -run SubstringMemory -update rewrites that column).
func TestSubstringMemoryInREADME(t *testing.T) {
	const path, column = "../../README.md", "`used_memory` growth per customer"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	head := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "| attribute | trigrams per customer |") })
	if head < 0 {
		t.Fatalf("README.md has no substring search table (a line starting %q)", "| attribute | trigrams per customer |")
	}
	col := slices.Index(cells(lines[head]), column)
	if col < 0 {
		t.Fatalf("README.md's substring search table has no column %q: %s", column, lines[head])
	}
	seen := map[string]bool{}
	for i := head + 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		row := cells(lines[i])
		attr := strings.Trim(row[0], "`")
		c, ok := substringChoices[attr]
		if !ok {
			t.Errorf("README.md's substring search table has a row for %q, which cannot be searched by substring", attr)
			continue
		}
		seen[attr] = true
		want := thousands(c.Bytes) + " B"
		if *update {
			row[col] = want
			lines[i] = "| " + strings.Join(row, " | ") + " |"
			continue
		}
		if row[col] != want {
			t.Errorf("README.md shows %s for %s, substringChoices %s (go test ./scim/console -run SubstringMemory -update)", row[col], attr, want)
		}
	}
	for a := range substringChoices {
		if !seen[a] {
			t.Errorf("README.md's substring search table has no row for %s", a)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cells are the trimmed cells of a Markdown table row.
func cells(row string) []string {
	parts := strings.Split(strings.Trim(row, "|"), "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// TestByteSize: sizes are said in B, KB, MB or GB, to two figures.
func TestByteSize(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{352, "352 B"}, {999, "999 B"}, {3017, "3.0 KB"}, {30170, "30 KB"}, {3017000, "3.0 MB"},
		{301700000, "302 MB"}, {3017000000, "3.0 GB"}, {3017000000000, "3017 GB"},
	} {
		if got := byteSize(c.n); got != c.want {
			t.Errorf("byteSize(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
