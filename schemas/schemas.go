// Package schemas holds the SCIM schema definitions scimd serves: the core User and
// Group schemas (RFC 7643 §4), the Enterprise User extension (RFC 7643 §4.3), the
// customer extension that carries onboarding state, and the WSO2 compatibility
// extension. Every fact about an attribute (type, mutability, returned, caseExact,
// uniqueness) lives here once, in github.com/elimity-com/scim/schema values, and
// drives validation, filtering, projection and PATCH alike.
//
// # Attribute names
//
// SCIM attribute names and schema URNs are case-insensitive (RFC 7643 §2.1).
// [ResourceType.Lookup] resolves any spelling of a path ("name.FamilyName",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department") to the
// canonical attribute definition.
//
// # Vocabulary
//
// elimity's schema package reports attribute facts as strings. Code compares
// them through the typed values here ([TypeOf] an attribute is [TypeComplex],
// [MutabilityOf] it is [Immutable], [ReturnedOf], [UniquenessOf]), so a
// misspelt fact does not compile. What a resource type does differently is a
// field of [ResourceType] ([ResourceType.HasMembers]), not a branch on its
// name.
package schemas

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Schema and message URNs (RFC 7643 §3, §8.7; RFC 7644 §3).
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	CustomerUserURN   = "urn:scim:schemas:extension:customer:2.0:User"
	WSO2URN           = "urn:scim:wso2:schema"

	ListResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ErrorURN         = "urn:ietf:params:scim:api:messages:2.0:Error"
	SearchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// Values of the customer extension's passwordSetup attribute.
const (
	PasswordSetupInvite            = "invite"
	PasswordSetupTemporaryPassword = "temporaryPassword"
)

// Values of the customer extension's accountState attribute.
const (
	AccountStatePendingInvitation      = "pendingInvitation"
	AccountStatePasswordChangeRequired = "passwordChangeRequired"
	AccountStateActive                 = "active"
	// AccountStateInvitationNotDelivered is an invited account whose
	// invitation email could not be sent (or not yet: an invited account is
	// stored so until its email is sent): an administrator resends it.
	AccountStateInvitationNotDelivered = "invitationNotDelivered"
	// AccountStatePendingConfirmation is a self-registered account whose
	// customer has not yet confirmed their email address with the emailed
	// link: it cannot sign in.
	AccountStatePendingConfirmation = "pendingConfirmation"
	// AccountStateNoPassword is an account created without a way to get a
	// password (no passwordSetup, as identity providers and HR systems push
	// customers, under the organization's onboarding "none"): its customer
	// signs in elsewhere, or an administrator invites them later.
	AccountStateNoPassword = "noPassword"
	// AccountStateDisabled is an account whose "active" is false, whatever
	// its onboarding state (kept in stateWhenEnabled until it is enabled).
	AccountStateDisabled = "disabled"
)

// AccountStates are the values of accountState, as /Schemas lists them.
var AccountStates = []string{AccountStatePendingInvitation, AccountStateInvitationNotDelivered, AccountStatePasswordChangeRequired,
	AccountStatePendingConfirmation, AccountStateNoPassword, AccountStateActive, AccountStateDisabled}

// Values of an organization's userNameFormat: the rule its userNames follow.
const (
	// UserNameFormatEmail: the userName is the customer's email address
	// (the default).
	UserNameFormatEmail = "email"
	// UserNameFormatAny: any login an identity provider sends (an Okta
	// login, an employee number); mail goes to the customer's emails.
	UserNameFormatAny = "any"
)

// UserNameDescription is the description of userName in /Schemas for an
// organization whose userNameFormat is format: discovery tells each client
// the rule of its own organization.
func UserNameDescription(format string) string {
	if format == UserNameFormatAny {
		return "The customer's login: any non-empty name without spaces, symbols, emoji or invisible characters (a PRECIS username, RFC 8265), in its normalized form (NFC). Mail to the customer goes to their emails (the primary one, else the work one, else the first). Unique within the organization ignoring case, and immutable once the user is created. REQUIRED."
	}
	return "The customer's email address, used to sign in. Unique within the organization ignoring case, and immutable once the user is created. REQUIRED."
}

// UserNameAttribute is the User's userName as an organization whose
// userNameFormat is format has it: its facts are the same for every
// organization, its description states the organization's rule.
func UserNameAttribute(format string) schema.CoreAttribute {
	return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Description: optional.NewString(UserNameDescription(format)),
		Mutability:  schema.AttributeMutabilityImmutable(),
		Name:        "userName",
		Required:    true,
		Uniqueness:  schema.AttributeUniquenessServer(),
	}))
}

// ResourceType describes one SCIM resource type: its endpoint, core schema and
// extensions (RFC 7643 §6).
type ResourceType struct {
	// Name is the resource type name used in meta.resourceType ("User", "Group").
	Name string
	// Endpoint is the path below the base URL ("/Users").
	Endpoint string
	// Schema is the core schema.
	Schema schema.Schema
	// Extensions are the schema extensions, none of them required.
	Extensions []schema.Schema
	// Hidden lists extension URNs that are accepted on input but not written to
	// the "schemas" attribute of responses.
	Hidden []string
	// HasMembers reports that the resources hold a member list (a Group's
	// "members", RFC 7643 §4.2) that may be too large to return whole with
	// every write or list: it is loaded only when a response shows it.
	HasMembers bool
	// Refs is the list of references the server computes and every
	// response shows: a User's "groups" (RFC 7643 §4.1.2), a Group's
	// "members" (§4.2).
	Refs RefList
	// Custom is what an organization's own extension schemas (custom
	// attributes, [ResourceType.WithCustom]) ask of the store and of
	// responses; zero for the built-in types.
	Custom Custom
}

// RefList describes a resource type's reference list: the attribute that
// holds it, the endpoint its values' $ref point into and their "type".
type RefList struct {
	Attr, Endpoint, Type string
}

// Attribute is the resolution of an attribute path against a resource type.
type Attribute struct {
	// URN is the schema the attribute belongs to.
	URN string
	// Core reports whether URN is the resource type's core schema.
	Core bool
	// Attr is the top-level attribute.
	Attr schema.CoreAttribute
	// Sub is the sub-attribute, when the path names one.
	Sub *schema.CoreAttribute
}

// Leaf returns the attribute the path ends at: the sub-attribute if there is one.
func (a Attribute) Leaf() schema.CoreAttribute {
	if a.Sub != nil {
		return *a.Sub
	}
	return a.Attr
}

// Name returns the canonical dotted name without the URN ("name.givenName").
func (a Attribute) Name() string {
	if a.Sub != nil {
		return a.Attr.Name() + "." + a.Sub.Name()
	}
	return a.Attr.Name()
}

// FullName returns the canonical name, prefixed with the URN for extension
// attributes.
func (a Attribute) FullName() string {
	if a.Core {
		return a.Name()
	}
	return a.URN + ":" + a.Name()
}

// Common returns the common attributes of every resource (RFC 7643 §3.1) except
// "schemas". The result is shared: do not modify it.
func Common() []schema.CoreAttribute { return common() }

// SchemasAttribute returns the "schemas" attribute of every resource (RFC
// 7643 §3): the schema URIs a resource uses, caseExact false. [Common]
// leaves it out; a filter may compare it (RFC 7644 §3.4.2.2: schemas eq
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"). The result
// is shared: do not modify it.
func SchemasAttribute() schema.CoreAttribute { return schemasAttr() }

// The definitions are built once: building them validates every attribute name
// with regular expressions, too slow for a request path. They are never
// modified after.
var (
	common      = sync.OnceValue(buildCommon)
	schemasAttr = sync.OnceValue(schema.SchemasAttributes)
	users       = sync.OnceValue(buildUsers)
	groups      = sync.OnceValue(buildGroups)
)

func buildCommon() []schema.CoreAttribute {
	var out []schema.CoreAttribute
	for _, a := range schema.CommonAttributes() {
		if a.Name() != "schemas" {
			out = append(out, a)
		}
	}
	return out
}

// Users returns the User resource type. The result is shared: do not modify it.
func Users() ResourceType { return users() }

func buildUsers() ResourceType {
	return ResourceType{
		Name:       "User",
		Endpoint:   "/Users",
		Schema:     userSchema(),
		Extensions: []schema.Schema{schema.ExtensionEnterpriseUser(), CustomerUser(), WSO2User()},
		Hidden:     []string{WSO2URN},
		Refs:       RefList{Attr: "groups", Endpoint: "/Groups", Type: "direct"},
	}
}

// Groups returns the Group resource type. The result is shared: do not modify it.
func Groups() ResourceType { return groups() }

func buildGroups() ResourceType {
	return ResourceType{Name: "Group", Endpoint: "/Groups", Schema: groupSchema(), HasMembers: true,
		Refs: RefList{Attr: "members", Endpoint: "/Users", Type: "User"}}
}

// Extension returns the extension schema with the given URN, ignoring case.
func (rt ResourceType) Extension(urn string) (schema.Schema, bool) {
	for _, e := range rt.Extensions {
		if strings.EqualFold(e.ID, urn) {
			return e, true
		}
	}
	return schema.Schema{}, false
}

// SplitURN splits a fully qualified attribute path into the extension URN it
// starts with and the rest. It returns ok false when the path starts with no
// extension URN of rt; the core schema URN prefix is stripped and reported as
// the core URN.
func (rt ResourceType) SplitURN(path string) (urn, rest string, ok bool) {
	if rest, ok := cutURN(path, rt.Schema.ID); ok {
		return rt.Schema.ID, rest, true
	}
	for _, e := range rt.Extensions {
		if rest, ok := cutURN(path, e.ID); ok {
			return e.ID, rest, true
		}
	}
	return "", path, false
}

// cutURN returns what follows urn and a colon at the start of path, the URN
// matched ignoring case. It compares in place: lower-casing path and urn
// for each call allocated both (a URN has capitals, "…:User"), on every
// attribute name a request carries.
func cutURN(path, urn string) (rest string, ok bool) {
	if len(path) <= len(urn) || path[len(urn)] != ':' || !strings.EqualFold(path[:len(urn)], urn) {
		return path, false
	}
	return path[len(urn)+1:], true
}

// Lookup resolves an attribute path ("userName", "name.givenName",
// "emails.value", "urn:...:enterprise:2.0:User:manager.value"), ignoring case.
func (rt ResourceType) Lookup(path string) (Attribute, bool) {
	urn, rest, hasURN := rt.SplitURN(path)
	core := true
	var attrs []schema.CoreAttribute
	if hasURN && urn != rt.Schema.ID {
		ext, _ := rt.Extension(urn)
		attrs = ext.Attributes
		core = false
	} else {
		urn = rt.Schema.ID
		attrs = rt.Schema.Attributes
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	attr, ok := find(attrs, name)
	if !ok && core {
		attr, ok = find(common(), name)
	}
	if !ok {
		return Attribute{}, false
	}
	out := Attribute{URN: urn, Core: core, Attr: attr}
	if hasSub {
		s, ok := find(attr.SubAttributes(), sub)
		if !ok {
			return Attribute{}, false
		}
		out.Sub = &s
	}
	return out, true
}

// AttributesOf returns the top-level attributes of the schema with the given
// URN, including the common attributes for the core schema.
func (rt ResourceType) AttributesOf(urn string) []schema.CoreAttribute {
	if strings.EqualFold(urn, rt.Schema.ID) {
		return append(append([]schema.CoreAttribute{}, rt.Schema.Attributes...), Common()...)
	}
	ext, _ := rt.Extension(urn)
	return ext.Attributes
}

// Find returns the attribute of attrs named name, ignoring case.
func Find(attrs []schema.CoreAttribute, name string) (schema.CoreAttribute, bool) {
	return find(attrs, name)
}

func find(attrs []schema.CoreAttribute, name string) (schema.CoreAttribute, bool) {
	// An ASCII name can equal only names of its length ignoring case:
	// comparing lengths first skips most of strings.EqualFold's work. A
	// name with other characters may fold to one of another length ("ſ"
	// is "s" ignoring case), so it is compared to every name.
	ascii := isASCII(name)
	for i := range attrs {
		n := attrs[i].Name()
		if ascii && len(n) != len(name) {
			continue
		}
		if strings.EqualFold(n, name) {
			return attrs[i], true
		}
	}
	return schema.CoreAttribute{}, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// userSchema is RFC 7643's User schema with scimd's rules: userName is the
// customer's email and immutable once created.
func userSchema() schema.Schema {
	s := schema.CoreUserSchema()
	attrs := make([]schema.CoreAttribute, len(s.Attributes))
	for i, a := range s.Attributes {
		if a.Name() == "userName" {
			a = UserNameAttribute(UserNameFormatEmail)
		}
		if a.Name() == "groups" {
			a = groupsAttribute()
		}
		attrs[i] = a
	}
	s.Attributes = attrs
	return s
}

// groupsAttribute is RFC 7643's User "groups" as scimd fills it: groups have
// users as members, not groups, so every membership is direct and every
// reference is to a Group.
func groupsAttribute() schema.CoreAttribute {
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Description: optional.NewString("The groups the customer is a member of, computed from the groups' members. READ-ONLY."),
		MultiValued: true,
		Mutability:  schema.AttributeMutabilityReadOnly(),
		Name:        "groups",
		SubAttributes: []schema.SimpleParams{
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("The identifier of the User's group."),
				Mutability:  schema.AttributeMutabilityReadOnly(),
				Name:        "value",
			}),
			schema.SimpleReferenceParams(schema.ReferenceParams{
				Description:    optional.NewString("The URI of the corresponding 'Group' resource to which the user belongs."),
				Mutability:     schema.AttributeMutabilityReadOnly(),
				Name:           "$ref",
				ReferenceTypes: []schema.AttributeReferenceType{"Group"},
			}),
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("The group's displayName. READ-ONLY."),
				Mutability:  schema.AttributeMutabilityReadOnly(),
				Name:        "display",
			}),
			schema.SimpleStringParams(schema.StringParams{
				CanonicalValues: []string{"direct"},
				Description:     optional.NewString("How the user belongs to the group: always 'direct' (groups do not nest)."),
				Mutability:      schema.AttributeMutabilityReadOnly(),
				Name:            "type",
			}),
		},
	})
}

// membersAttribute is RFC 7643's Group "members" as scimd allows it: the
// members of a group are users (groups do not nest).
func membersAttribute() schema.CoreAttribute {
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Description: optional.NewString("The members of the Group: users, by id."),
		MultiValued: true,
		Name:        "members",
		SubAttributes: []schema.SimpleParams{
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("The id of a User that is a member of this Group."),
				Mutability:  schema.AttributeMutabilityImmutable(),
				Name:        "value",
			}),
			schema.SimpleReferenceParams(schema.ReferenceParams{
				Description:    optional.NewString("The URI of the User that is a member of this Group."),
				Mutability:     schema.AttributeMutabilityImmutable(),
				Name:           "$ref",
				ReferenceTypes: []schema.AttributeReferenceType{"User"},
			}),
			schema.SimpleStringParams(schema.StringParams{
				CanonicalValues: []string{"User"},
				Description:     optional.NewString("The type of the member: always 'User'."),
				Mutability:      schema.AttributeMutabilityImmutable(),
				Name:            "type",
			}),
			// display is the server's, never the client's: computed from the
			// member's user and kept current when the user is renamed. A value
			// a client sends (Okta sends the userName) is accepted and ignored,
			// neither stored nor checked: readOnly (RFC 7643 §2.2, RFC 7644
			// §3.5.1 "any values provided SHALL be ignored").
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("The member's displayName, else its userName: computed by the server from the User and kept current when the User changes. A value sent by a client is ignored (neither stored nor checked)."),
				Mutability:  schema.AttributeMutabilityReadOnly(),
				Name:        "display",
			}),
		},
	})
}

func groupSchema() schema.Schema {
	s := schema.CoreGroupSchema()
	attrs := make([]schema.CoreAttribute, len(s.Attributes))
	for i, a := range s.Attributes {
		if a.Name() == "displayName" {
			a = schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("A human-readable name for the Group, unique within the organization ignoring case. REQUIRED."),
				Name:        "displayName",
				Required:    true,
				Uniqueness:  schema.AttributeUniquenessServer(),
			}))
		}
		if a.Name() == "members" {
			a = membersAttribute()
		}
		attrs[i] = a
	}
	s.Attributes = attrs
	return s
}

// CustomerUser returns scimd's customer extension schema: how the customer is
// onboarded and the state of their account.
func CustomerUser() schema.Schema {
	return schema.Schema{
		ID:          CustomerUserURN,
		Name:        optional.NewString("CustomerUser"),
		Description: optional.NewString("Onboarding and account state of a customer account."),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				CanonicalValues: []string{PasswordSetupInvite, PasswordSetupTemporaryPassword},
				Description:     optional.NewString("How the customer gets a password: 'invite' emails a single-use link to set one; 'temporaryPassword' uses the password given by the admin, which the customer must change at first sign-in."),
				Mutability:      schema.AttributeMutabilityImmutable(),
				Name:            "passwordSetup",
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				CanonicalValues: AccountStates,
				Description: optional.NewString("The state of the account, always the truth: 'disabled' whenever active is false; otherwise 'pendingInvitation' until the customer sets a password from the invitation ('invitationNotDelivered' when its email could not be sent, or while it is being sent: resend it with POST /Users/{id}/resendInvitation), " +
					"'passwordChangeRequired' until a temporary password is changed, 'pendingConfirmation' until a self-registered customer confirms their email address, " +
					"'noPassword' for an account created without passwordSetup that was not invited (it signs in elsewhere; setting passwordSetup later onboards it), then 'active'."),
				Mutability: schema.AttributeMutabilityReadOnly(),
				Name:       "accountState",
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				CanonicalValues: AccountStates[:len(AccountStates)-1],
				Description:     optional.NewString("Only while the account is disabled: the accountState it has again once active is true."),
				Mutability:      schema.AttributeMutabilityReadOnly(),
				Name:            "stateWhenEnabled",
			})),
		},
	}
}

// WSO2User returns the subset of the WSO2/Asgardeo user extension that scimd
// accepts for clients written against Asgardeo: askPassword true means invite.
func WSO2User() schema.Schema {
	return schema.Schema{
		ID:          WSO2URN,
		Name:        optional.NewString("WSO2User"),
		Description: optional.NewString("Asgardeo compatibility: askPassword true is passwordSetup 'invite'."),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{
				Description: optional.NewString("When true, the user is invited to set their own password."),
				Mutability:  schema.AttributeMutabilityWriteOnly(),
				Name:        "askPassword",
				Returned:    schema.AttributeReturnedNever(),
			})),
		},
	}
}

// SecretPath reports whether an attribute path of rt ("password",
// "urn:…:User:secretCode", "badge.pin") names a secret ([IsSecret]: a
// password, a custom writeOnly or returned-never attribute), or a
// sub-attribute of one. A path without a URN that the core schema lacks is
// looked up in the extensions too. A path rt lacks is no secret.
func (rt ResourceType) SecretPath(path string) bool {
	a, ok := rt.Lookup(path)
	if !ok {
		if _, _, hasURN := rt.SplitURN(path); hasURN {
			return false
		}
		for _, e := range rt.Extensions {
			if a, ok = rt.Lookup(e.ID + ":" + path); ok {
				break
			}
		}
	}
	return ok && (IsSecret(a.Attr) || a.Sub != nil && IsSecret(*a.Sub))
}
