package scim

import (
	"errors"
	"testing"

	"github.com/scimd/scimd/resources"
)

// decodeCases are request bodies and what decodeObject answers: the
// attributes' count, or the detail of its error.
var decodeCases = []struct {
	name, body string
	attrs      int
	detail     string
}{
	{"object", `{"userName":"a@b.c","name":{"givenName":"A"}}`, 2, ""},
	{"spaces around", " \n{\"a\":1}\t\r\n ", 1, ""},
	{"empty object", `{}`, 0, ""},
	{"empty", ``, 0, "the request body must be a JSON object: it is empty"},
	{"spaces only", "  \n", 0, "the request body must be a JSON object: it is empty"},
	{"null", `null`, 0, "the request body must be a JSON object"},
	{"array", `[{"a":1}]`, 0, "the request body must be a JSON object: it is an array"},
	{"string", `"a"`, 0, "the request body must be a JSON object: it is a string"},
	{"number out of range", `{"a":1e400}`, 0, "the request body must be a JSON object: number 1e400 at byte 11 is out of range"},
	{"cut short", `{"a":`, 0, "the request body must be a JSON object: it ends too early"},
	{"syntax", `{"a" 1}`, 0, "the request body must be a JSON object: invalid JSON at byte 6: invalid character '1' after object key"},
	{"two objects", `{"a":1}{"b":2}`, 0, "the request body must hold exactly one JSON object: there is more after it, at byte 8"},
	{"garbage after", `{"a":1} x`, 0, "the request body must hold exactly one JSON object: there is more after it, at byte 8"},
	// Unicode spaces after the object are no JSON, but bytes.TrimSpace
	// drops them: accepted, as they always were.
	{"no-break space after", "{\"a\":1}\u00a0", 1, ""},
}

// TestDecodeObject: decodeObject's answers, whichever of its decoders
// gives them.
func TestDecodeObject(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			m, err := decodeObject([]byte(c.body))
			var e resources.Error
			switch {
			case c.detail == "" && err != nil:
				t.Fatalf("decodeObject(%q): %v, want %d attributes", c.body, err, c.attrs)
			case c.detail == "" && len(m) != c.attrs:
				t.Errorf("decodeObject(%q) = %v, want %d attributes", c.body, m, c.attrs)
			case c.detail != "" && !errors.As(err, &e):
				t.Errorf("decodeObject(%q) = %v, %v; want the error %q", c.body, m, err, c.detail)
			case c.detail != "" && (e.Detail != c.detail || e.Code != resources.InvalidSyntax):
				t.Errorf("decodeObject(%q): %v %q, want %v %q", c.body, e.Code, e.Detail, resources.InvalidSyntax, c.detail)
			}
		})
	}
}

func BenchmarkDecodeObject(b *testing.B) {
	body := []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new00000001@example.com","name":{"givenName":"New","familyName":"User"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeObject(body); err != nil {
			b.Fatal(err)
		}
	}
}
