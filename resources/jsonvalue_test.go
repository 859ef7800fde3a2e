package resources

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMarshalJSONAsEncodingJSON encodes random documents, with the strings
// and numbers JSON makes hard, as json.Marshal does, byte for byte.
func TestMarshalJSONAsEncodingJSON(t *testing.T) {
	strs := []string{"", "a", "bjensen@example.com", `q"uote`, `back\slash`, "<b>&amp;</b>", "tab\tnl\n",
		"\x00\x1f\x7f", "é", "日本", "\u2028\u2029", "\xff\xfe invalid", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
		// each character the plain-string test (jsonPlain) checks, alone,
		// so that every check is needed
		"<", ">", "&", `"`, `\`, "\x1f", "\x00", "\x7f", "\u2028", "\xff"}
	nums := []any{0.0, math.Copysign(0, -1), 1.0, -42.0, 3.25, 1e20, 1e21, 1e-6, 1e-7, 123456789012345678.0, math.MaxFloat64,
		math.SmallestNonzeroFloat64, json.Number("12.50"), 7, int64(-3), uint8(9)}
	r := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int) any
	gen = func(depth int) any {
		switch n := r.IntN(10); {
		case n == 0:
			return nil
		case n == 1:
			return r.IntN(2) == 0
		case n <= 3:
			return nums[r.IntN(len(nums))]
		case n <= 5 || depth > 3:
			return strs[r.IntN(len(strs))]
		case n <= 7:
			if r.IntN(8) == 0 {
				return []any(nil)
			}
			a := make([]any, r.IntN(4))
			for i := range a {
				a[i] = gen(depth + 1)
			}
			return a
		default:
			if r.IntN(8) == 0 {
				return map[string]any(nil)
			}
			m := map[string]any{}
			for range r.IntN(20) { // past 16 keys, the sort's stack array
				m[strs[r.IntN(len(strs))]+string(rune('a'+r.IntN(26)))] = gen(depth + 1)
			}
			return m
		}
	}
	for i := range 20000 {
		v := gen(0)
		want, werr := json.Marshal(v)
		got, gerr := MarshalJSON(v)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("value %d: MarshalJSON = %s, %v; json.Marshal = %s, %v", i, got, gerr, want, werr)
		}
	}
	cycle := map[string]any{}
	cycle["self"] = []any{cycle}
	deep := any("x")
	for range maxJSONDepth + 10 {
		deep = []any{map[string]any{"a": deep}}
	}
	want, _ := json.Marshal(deep)
	if got, err := MarshalJSON(deep); err != nil || !bytes.Equal(got, want) {
		t.Errorf("a value nested %d deep: MarshalJSON differs from json.Marshal (%v)", 2*(maxJSONDepth+10), err)
	}
	for _, bad := range []any{math.NaN(), map[string]any{"a": []any{math.Inf(1)}}, make(chan int), cycle} {
		if _, err := MarshalJSON(bad); err == nil {
			t.Errorf("MarshalJSON(%v) succeeded; json.Marshal fails", bad)
		}
	}
}

// FuzzMarshalJSON: any JSON text, decoded as the API decodes bodies, encodes
// as json.Marshal encodes it.
func FuzzMarshalJSON(f *testing.F) {
	for _, s := range []string{`{"userName":"a@b.c","name":{"givenName":"A"},"emails":[{"value":"a@b.c","primary":true}]}`,
		`[1,2.5e300,-0,"\u00e9\ud800",null,{}]`, `"<&>"`, `{"":{"":[]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		want, werr := json.Marshal(v)
		got, gerr := MarshalJSON(v)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("MarshalJSON = %s, %v; json.Marshal = %s, %v", got, gerr, want, werr)
		}
	})
}

// BenchmarkMarshalJSON encodes a stored user's document both ways.
func BenchmarkMarshalJSON(b *testing.B) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"w0000042@example.com",
		"externalId":"load-42","name":{"givenName":"User0000042","familyName":"Load","formatted":"User0000042 Load"},
		"displayName":"User0000042 Load","active":true,"userType":"Customer",
		"emails":[{"value":"w0000042@example.com","type":"work","primary":true}]}`), &doc); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		enc  func(any) ([]byte, error)
	}{{"encoding/json", json.Marshal}, {"MarshalJSON", MarshalJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.enc(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
