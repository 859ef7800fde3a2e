package schemas

import "github.com/elimity-com/scim/schema"

// AttributeType is an attribute's data type (RFC 7643 §2.3).
type AttributeType string

// The data types of RFC 7643 §2.3, spelled as elimity's schema package reports them.
const (
	TypeString    AttributeType = "string"
	TypeBoolean   AttributeType = "boolean"
	TypeDecimal   AttributeType = "decimal"
	TypeInteger   AttributeType = "integer"
	TypeDateTime  AttributeType = "dateTime"
	TypeBinary    AttributeType = "binary"
	TypeReference AttributeType = "reference"
	TypeComplex   AttributeType = "complex"
)

// TypeOf returns the data type of a.
func TypeOf(a schema.CoreAttribute) AttributeType { return AttributeType(a.AttributeType()) }

// IsComplex reports whether a is a complex attribute: one with sub-attributes.
func IsComplex(a schema.CoreAttribute) bool { return TypeOf(a) == TypeComplex }

// Mutability is whether and when an attribute may be written (RFC 7643 §7).
type Mutability string

// The mutability values of RFC 7643 §7.
const (
	ReadOnly  Mutability = "readOnly"
	ReadWrite Mutability = "readWrite"
	Immutable Mutability = "immutable"
	WriteOnly Mutability = "writeOnly"
)

// MutabilityOf returns the mutability of a.
func MutabilityOf(a schema.CoreAttribute) Mutability { return Mutability(a.Mutability()) }

// Returned is when an attribute is returned in a response (RFC 7643 §7).
type Returned string

// The returned values of RFC 7643 §7.
const (
	ReturnedAlways  Returned = "always"
	ReturnedNever   Returned = "never"
	ReturnedDefault Returned = "default"
	ReturnedRequest Returned = "request"
)

// ReturnedOf returns when a is returned.
func ReturnedOf(a schema.CoreAttribute) Returned { return Returned(a.Returned()) }

// Uniqueness is the scope in which an attribute's value is unique (RFC 7643 §7).
type Uniqueness string

// The uniqueness values of RFC 7643 §7.
const (
	UniquenessNone   Uniqueness = "none"
	UniquenessServer Uniqueness = "server"
	UniquenessGlobal Uniqueness = "global"
)

// UniquenessOf returns the uniqueness of a.
func UniquenessOf(a schema.CoreAttribute) Uniqueness { return Uniqueness(a.Uniqueness()) }

// IsSecret reports whether a's values are never shown: writeOnly or returned
// never (a password), so that errors and logs leave them out.
func IsSecret(a schema.CoreAttribute) bool {
	return MutabilityOf(a) == WriteOnly || ReturnedOf(a) == ReturnedNever
}
