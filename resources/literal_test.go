package resources

import (
	"encoding/json"
	"strings"
	"testing"
)

// decodeLiteral reads a filter's string literal exactly as json.Unmarshal
// does, its fast path included: the same string, or an error for the same
// inputs.
func FuzzDecodeLiteral(f *testing.F) {
	for _, s := range []string{`"bjensen@example.com"`, `""`, `"a\"b"`, `"\u00e9"`, "\"\xff\"", "\"a\tb\"", "\"a\x7fb\"",
		`"Ünïcødé"`, "\"\u2028\"", `"\\"`, `"a\/b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, quoted string) {
		// lexLiterals passes a string between two quotes, with no
		// unescaped quote inside.
		if len(quoted) < 2 || quoted[0] != '"' || quoted[len(quoted)-1] != '"' {
			return
		}
		var want string
		wantErr := json.Unmarshal([]byte(quoted), &want)
		got, err := decodeLiteral(quoted)
		if (err != nil) != (wantErr != nil) || (err == nil && got != want) {
			t.Fatalf("decodeLiteral(%q) = %q, %v; json.Unmarshal: %q, %v", quoted, got, err, want, wantErr)
		}
	})
}

// comparisons counts what lower-casing each word would count.
func FuzzComparisons(f *testing.F) {
	for _, s := range []string{`userName EQ "x"`, `a eq "b" and (c Pr or d[e Sw "f"])`, "ſw sW \u212Aeq eQ", `eqeq ne(`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		want := 0
		for _, w := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(" ()[]", r) }) {
			switch strings.ToLower(w) {
			case "eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr":
				want++
			}
		}
		if got := (lexed{text: text}).comparisons(); got != want {
			t.Fatalf("comparisons(%q) = %d, want %d", text, got, want)
		}
	})
}
