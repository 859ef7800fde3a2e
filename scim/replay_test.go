package scim_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// update rewrites the golden files under ../testdata (discovery documents,
// replay recordings) from what the handler answers, after a deliberate change.
var update = flag.Bool("update", false, "rewrite the golden files under ../testdata")

// replayStep is one request of an identity provider's documented
// provisioning sequence (testdata/replay/NAME.json). Path and Body may use
// ${name} for an id captured from an earlier response.
type replayStep struct {
	Name        string          `json:"name"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	Token       string          `json:"token"`
	ContentType string          `json:"contentType"`
	Body        json.RawMessage `json:"body"`
	// Capture names a value of the response ("id") for later steps.
	Capture map[string]string `json:"capture"`
}

// replayExchange is one recorded answer (testdata/replay/NAME.golden.json):
// the whole response, normalized so that it is the same on every run and
// store: captured ids read ${name}, the server's address
// https://scim.example.com, timestamps ${time}, versions ${version}.
type replayExchange struct {
	Step     string          `json:"step"`
	Request  string          `json:"request"`
	Status   int             `json:"status"`
	Location string          `json:"location,omitempty"`
	ETag     string          `json:"etag,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
}

// TestReplayIdentityProviders replays Entra ID's and Okta's documented
// provisioning sequences and compares every whole response with the
// recording; go test ./scim -run Replay -update records them again.
func TestReplayIdentityProviders(t *testing.T) {
	files, err := filepath.Glob("../testdata/replay/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no replay files: %v", err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		var rec struct {
			Steps []replayStep `json:"steps"`
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		golden := strings.TrimSuffix(file, ".json") + ".golden.json"
		t.Run(filepath.Base(file), func(t *testing.T) {
			stores(t, func(t *testing.T, a *api) {
				var got bytes.Buffer
				enc := json.NewEncoder(&got)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false) // paths keep their & as written
				if err := enc.Encode(replay(t, a, rec.Steps)); err != nil {
					t.Fatal(err)
				}
				compareGolden(t, golden, got.Bytes())
			})
		})
	}
}

// replay sends steps in order and returns the normalized exchanges.
func replay(t *testing.T, a *api, steps []replayStep) []replayExchange {
	vars := map[string]string{} // name -> value, from captures
	expand := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "${"+k+"}", v)
		}
		return s
	}
	var out []replayExchange
	for i, s := range steps {
		token := ownerToken
		if s.Token != "" {
			token = s.Token
		}
		var body any
		if len(s.Body) > 0 {
			body = expand(string(s.Body))
		}
		var headers []string
		if s.ContentType != "" {
			headers = append(headers, "Content-Type", s.ContentType)
		}
		r := a.do(s.Method, expand(s.Path), token, body, headers...)
		for name, path := range s.Capture {
			vars[name] = str(r.body, path)
		}
		if id := str(r.body, "id"); r.status == 201 && id != "" && !slices.Contains(mapValues(vars), id) {
			vars[fmt.Sprintf("step%d", i)] = id // an id no step captured still normalizes
		}
		n := normalizer{vars: vars, base: a.srv.URL}
		ex := replayExchange{Step: s.Name, Request: s.Method + " " + s.Path, Status: r.status,
			Location: n.text(r.header.Get("Location")), ETag: n.version(r.header.Get("ETag"))}
		if r.body != nil {
			b, err := json.Marshal(n.value("", r.body))
			if err != nil {
				t.Fatal(err)
			}
			ex.Body = b
		}
		out = append(out, ex)
	}
	return out
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

// timestampRE matches an RFC 3339 time, as meta.created and the customer
// extension's invitation times are written.
var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// normalizer rewrites what differs between runs and stores in a response.
type normalizer struct {
	vars map[string]string
	base string
}

func (n normalizer) text(s string) string {
	if timestampRE.MatchString(s) {
		return "${time}"
	}
	s = strings.ReplaceAll(s, n.base, goldenBaseURL)
	for name, v := range n.vars {
		if v != "" {
			s = strings.ReplaceAll(s, v, "${"+name+"}")
		}
	}
	return s
}

func (n normalizer) version(s string) string {
	if s == "" {
		return ""
	}
	return "${version}"
}

// value normalizes v, found under key; members and groups are sorted, as a
// group's members come from Redis in no particular order.
func (n normalizer) value(key string, v any) any {
	switch x := v.(type) {
	case string:
		if key == "version" {
			return n.version(x)
		}
		return n.text(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = n.value(k, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = n.value("", e)
		}
		if key == "members" || key == "groups" {
			slices.SortFunc(out, func(a, b any) int {
				x, _ := json.Marshal(a)
				y, _ := json.Marshal(b)
				return strings.Compare(string(x), string(y))
			})
		}
		return out
	}
	return v
}
