package schemas_test

import (
	"slices"
	"testing"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// TestVocabulary: every fact of every attribute scimd serves is a value of
// the typed vocabulary, so a comparison with a constant can never miss one
// that elimity spells differently.
func TestVocabulary(t *testing.T) {
	types := []schemas.AttributeType{schemas.TypeString, schemas.TypeBoolean, schemas.TypeDecimal, schemas.TypeInteger,
		schemas.TypeDateTime, schemas.TypeBinary, schemas.TypeReference, schemas.TypeComplex}
	mutability := []schemas.Mutability{schemas.ReadOnly, schemas.ReadWrite, schemas.Immutable, schemas.WriteOnly}
	returned := []schemas.Returned{schemas.ReturnedAlways, schemas.ReturnedNever, schemas.ReturnedDefault, schemas.ReturnedRequest}
	uniqueness := []schemas.Uniqueness{schemas.UniquenessNone, schemas.UniquenessServer, schemas.UniquenessGlobal}
	seen := map[schemas.AttributeType]bool{}
	var check func(name string, a schema.CoreAttribute)
	check = func(name string, a schema.CoreAttribute) {
		if !slices.Contains(types, schemas.TypeOf(a)) || !slices.Contains(mutability, schemas.MutabilityOf(a)) ||
			!slices.Contains(returned, schemas.ReturnedOf(a)) || !slices.Contains(uniqueness, schemas.UniquenessOf(a)) {
			t.Errorf("%s: type %q, mutability %q, returned %q, uniqueness %q: not all in the vocabulary",
				name, a.AttributeType(), a.Mutability(), a.Returned(), a.Uniqueness())
		}
		if schemas.IsComplex(a) != (a.AttributeType() == "complex") {
			t.Errorf("IsComplex(%s) = %v, for type %q", name, schemas.IsComplex(a), a.AttributeType())
		}
		seen[schemas.TypeOf(a)] = true
		for _, s := range a.SubAttributes() {
			check(name+"."+s.Name(), s)
		}
	}
	for _, rt := range []schemas.ResourceType{schemas.Users(), schemas.Groups()} {
		for _, urn := range append([]string{rt.Schema.ID}, extensionURNs(rt)...) {
			for _, a := range rt.AttributesOf(urn) {
				check(urn+":"+a.Name(), a)
			}
		}
	}
	for _, typ := range []schemas.AttributeType{schemas.TypeString, schemas.TypeBoolean, schemas.TypeDateTime, schemas.TypeReference, schemas.TypeComplex} {
		if !seen[typ] {
			t.Errorf("no attribute of type %s: the vocabulary's spelling differs from elimity's", typ)
		}
	}
	if pw, _ := schemas.Users().Lookup("password"); !schemas.IsSecret(pw.Attr) {
		t.Errorf("IsSecret(password) = false, want true")
	}
	if un, _ := schemas.Users().Lookup("userName"); schemas.IsSecret(un.Attr) || schemas.UniquenessOf(un.Attr) != schemas.UniquenessServer {
		t.Errorf("userName: IsSecret %v, uniqueness %s; want false, server", schemas.IsSecret(un.Attr), schemas.UniquenessOf(un.Attr))
	}
}

func extensionURNs(rt schemas.ResourceType) []string {
	var out []string
	for _, e := range rt.Extensions {
		out = append(out, e.ID)
	}
	return out
}
