package scim_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenBaseURL stands for the test server's address in golden files.
const goldenBaseURL = "https://scim.example.com"

// TestDiscoveryGolden: the discovery documents (RFC 7644 §4) are exactly
// those under testdata/discovery, one file each; go test ./scim -run
// DiscoveryGolden -update rewrites them after a deliberate change.
func TestDiscoveryGolden(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		paths := []string{"/ServiceProviderConfig", "/ResourceTypes", "/Schemas"}
		for _, list := range []string{"/ResourceTypes", "/Schemas"} {
			r := a.do("GET", list, readerToken, nil).must(t, 200)
			resources, _ := r.body["Resources"].([]any)
			if len(resources) == 0 {
				t.Fatalf("GET %s lists nothing: %s", list, r.raw)
			}
			for _, doc := range resources {
				paths = append(paths, list+"/"+url.PathEscape(str(doc, "id")))
			}
		}
		for _, path := range paths {
			r := a.do("GET", path, readerToken, nil).must(t, 200)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
				t.Errorf("GET %s: Content-Type %q, want application/scim+json", path, ct)
			}
			got := indentJSON(t, strings.ReplaceAll(r.raw, a.srv.URL, goldenBaseURL))
			compareGolden(t, filepath.Join("..", "testdata", "discovery", goldenName(path)), got)
		}
	})
}

// goldenName is the file of a discovery path: "/Schemas/urn:…:User" is
// Schemas/urn_…_User.json (no colons, which some file systems refuse).
func goldenName(path string) string {
	p, _ := url.PathUnescape(strings.TrimPrefix(path, "/"))
	return strings.ReplaceAll(p, ":", "_") + ".json"
}

// indentJSON is raw indented, one key per line, so that a diff shows the
// attribute that drifted.
func indentJSON(tb testing.TB, raw string) []byte {
	tb.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(raw), "", "  "); err != nil {
		tb.Fatalf("not JSON: %v\n%s", err, raw)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// compareGolden fails unless file holds got; with -update it writes got.
func compareGolden(tb testing.TB, file string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s drifted (run with -update after a deliberate change):\n%s", file, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the lines around the first where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	line := func(l []string, j int) string {
		if j < len(l) {
			return l[j]
		}
		return "(end)"
	}
	var b strings.Builder
	for j := max(0, i-3); j < i+5 && (j < len(w) || j < len(g)); j++ {
		if line(w, j) == line(g, j) {
			b.WriteString("  " + line(w, j) + "\n")
		} else {
			b.WriteString("- " + line(w, j) + "\n+ " + line(g, j) + "\n")
		}
	}
	return b.String()
}
