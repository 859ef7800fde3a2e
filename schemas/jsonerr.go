package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// JSONProblem says what is wrong with a JSON document in the client's terms:
// encoding/json's messages name Go types ("cannot unmarshal array into Go
// value of type map[string]interface {}"), which mean nothing to a client.
// Other errors (an unknown field, for a decoder that refuses them) are
// given as they are, without the "json: " prefix.
func JSONProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		where := strconv.Quote(typeErr.Field)
		if strings.HasPrefix(typeErr.Value, "number") && typeErr.Type.Kind() == reflect.Float64 {
			return fmt.Sprintf("%s at byte %d is out of range", typeErr.Value, typeErr.Offset)
		}
		if typeErr.Field == "" {
			return "it is " + article(typeErr.Value)
		}
		return fmt.Sprintf("%s must be %s, not %s", where, jsonKind(typeErr.Type), article(typeErr.Value))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends too early"
	}
	// Such as "unknown field \"x\"" (a decoder that disallows them), in
	// the client's terms already.
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	}
	return "another kind of value"
}

// article puts "a" or "an" before a JSON kind from encoding/json ("array",
// "string", "number 1e400").
func article(kind string) string {
	if kind == "" {
		return "that"
	}
	if strings.IndexByte("aeiou", kind[0]) >= 0 {
		return "an " + kind
	}
	return "a " + kind
}
