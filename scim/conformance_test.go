package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim"
)

// exchange is one HTTP exchange of the conformance suite. Paths and bodies
// may name the fixture with ${user}, ${user2}, ${group} and ${etag} (the
// user's current ETag).
type exchange struct {
	section  string // RFC section the rule comes from
	name     string
	method   string
	path     string
	token    string // default: the owner token
	body     string
	headers  []string
	status   int
	scimType string
	// contains are substrings the raw response body must hold; absent are
	// substrings it must not.
	contains, absent []string
}

// conformance is the RFC 7643/7644 conformance suite, organised by section.
// It runs in order on one organization holding the fixture.
var conformance = []exchange{
	// RFC 7644 §3.1: media types.
	{section: "7644 §3.1", name: "scim+json accepted", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"media1@example.com"}`, status: 201},
	{section: "7644 §3.1", name: "json accepted", method: "POST", path: "/Users", headers: []string{"Content-Type", "application/json; charset=utf-8"}, body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"media2@example.com"}`, status: 201},
	{section: "7644 §3.1", name: "other media type 415", method: "POST", path: "/Users", headers: []string{"Content-Type", "application/xml"}, body: `<user/>`, status: 415},
	{section: "7644 §3.1", name: "responses are scim+json", method: "GET", path: "/Users/${user}", status: 200, contains: []string{`"userName":"fixture@example.com"`}},

	// RFC 7644 §3.3: creating resources.
	{section: "7644 §3.3", name: "201 with id, Location and meta", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"create@example.com","id":"client-id","meta":{"created":"1999-01-01T00:00:00Z"}}`, status: 201, absent: []string{"client-id", "1999-01-01"}},
	{section: "7644 §3.3", name: "duplicate 409 uniqueness", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"FIXTURE@example.com"}`, status: 409, scimType: "uniqueness"},
	{section: "7644 §3.3", name: "missing required attribute", method: "POST", path: "/Groups", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`, status: 400, scimType: "invalidValue", contains: []string{"displayName"}},
	{section: "7644 §3.3", name: "unknown schema URN in body ignored", method: "POST", path: "/Groups", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","urn:example:unknown"],"displayName":"Extra","urn:example:unknown":{"x":1}}`, status: 201},
	{section: "7643 §2.1", name: "attribute names ignore case", method: "POST", path: "/Users", body: `{"Schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"USERNAME":"case@example.com","Name":{"GivenName":"Case"}}`, status: 201, contains: []string{`"givenName":"Case"`, `"userName":"case@example.com"`}},
	{section: "7643 §2.4", name: "two primary values refused", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"prim@example.com","emails":[{"value":"a@x.io","primary":true},{"value":"b@x.io","primary":true}]}`, status: 400, scimType: "invalidValue"},
	{section: "7644 §3.3", name: "too many values", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"many@example.com","phoneNumbers":[` + strings.Repeat(`{"value":"+1 555 0100"},`, 100) + `{"value":"+1 555 0101"}]}`, status: 400, scimType: "invalidValue", contains: []string{`\"phoneNumbers\" has 101 values, more than the 100`}},
	{section: "7644 §3.3", name: "malformed JSON", method: "POST", path: "/Users", body: `{"schemas":`, status: 400, scimType: "invalidSyntax"},
	{section: "7644 §3.3", name: "data after the object", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"trail@example.com"}}`, status: 400, scimType: "invalidSyntax", contains: []string{"more after it"}},
	{section: "7644 §3.3", name: "not an object", method: "POST", path: "/Users", body: `[]`, status: 400, scimType: "invalidSyntax", contains: []string{"it is an array"}, absent: []string{"Go ", "interface"}},
	{section: "7644 §3.3", name: "number out of range", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"big@example.com","title":1e400}`, status: 400, scimType: "invalidSyntax", contains: []string{"out of range"}, absent: []string{"Go ", "float64"}},
	{section: "7644 §3.3", name: "trailing data created nothing", method: "GET", path: "/Users?filter=" + urlQuery(`userName eq "trail@example.com"`), status: 200, contains: []string{`"totalResults":0`}},

	// RFC 7644 §3.4.1: retrieving a resource.
	{section: "7644 §3.4.1", name: "unknown id 404", method: "GET", path: "/Users/nope", status: 404},
	{section: "7643 §3", name: "schemas lists the extensions in use", method: "GET", path: "/Users/${user}", status: 200, contains: []string{`"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:scim:schemas:extension:customer:2.0:User"]`}},
	{section: "7643 §3", name: "schemas lists the extensions in lists", method: "GET", path: "/Users?filter=" + urlQuery(`userName eq "fixture@example.com"`), status: 200, contains: []string{`"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:scim:schemas:extension:customer:2.0:User"]`}},
	{section: "7643 §3", name: "schemas without an extension", method: "GET", path: "/Groups/${group}", status: 200, contains: []string{`"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]`}},
	{section: "7644 §3.4.1", name: "password never returned", method: "GET", path: "/Users/${user}?attributes=password", status: 200, absent: []string{"password", "Fixture-pass-1"}},

	// RFC 7644 §3.4.2.2: filtering.
	{section: "7644 §3.4.2.2", name: "eq ignores case of userName", method: "GET", path: "/Users?filter=userName+eq+%22FIXTURE%40example.com%22", status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.2.2", name: "escaped quotes and unicode in strings", method: "GET", path: "/Users?filter=" + urlQuery(`name.familyName eq "O\"Brien-\u00e9"`), status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.2.2", name: "value path with sub-attribute comparison", method: "GET", path: "/Users?filter=" + urlQuery(`emails[type eq "work"].value eq "fixture@example.com"`), status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.2.2", name: "extension attribute by URN", method: "GET", path: "/Users?filter=" + urlQuery(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"`), status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.2.2", name: "customer extension attribute", method: "GET", path: "/Users?filter=" + urlQuery(`urn:scim:schemas:extension:customer:2.0:User:accountState eq "passwordChangeRequired"`), status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.2.2", name: "operators are case-insensitive", method: "GET", path: "/Users?filter=" + urlQuery(`userName SW "fixture" AND active EQ true`), status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.2.2", name: "not and grouping", method: "GET", path: "/Users?filter=" + urlQuery(`not (userName sw "media") and (userName ew "example.com")`), status: 200, contains: []string{`"userName":"fixture@example.com"`}, absent: []string{"media1@"}},
	{section: "7644 §3.4.2.2", name: "unknown attribute invalidFilter", method: "GET", path: "/Users?filter=" + urlQuery(`favouriteColour eq "blue"`), status: 400, scimType: "invalidFilter", contains: []string{"favouriteColour"}},
	{section: "7644 §3.4.2.2", name: "gt on a boolean invalidFilter", method: "GET", path: "/Users?filter=" + urlQuery(`active gt true`), status: 400, scimType: "invalidFilter"},
	{section: "7644 §3.4.2.2", name: "syntax error invalidFilter", method: "GET", path: "/Users?filter=" + urlQuery(`userName eq "x" and`), status: 400, scimType: "invalidFilter"},
	{section: "7644 §3.4.2.2", name: "no match is 200 with zero", method: "GET", path: "/Users?filter=" + urlQuery(`userName eq "nobody@example.com"`), status: 200, contains: []string{`"totalResults":0`, `"Resources":[]`}},

	// RFC 7644 §3.4.2.3: sorting.
	{section: "7644 §3.4.2.3", name: "sortBy unknown attribute", method: "GET", path: "/Users?sortBy=favouriteColour", status: 400, scimType: "invalidValue"},
	{section: "7644 §3.4.2.3", name: "no value sorts last ascending", method: "GET", path: "/Users?sortBy=name.givenName&count=1", status: 200, contains: []string{`"userName":"case@example.com"`}},
	{section: "7644 §3.4.2.3", name: "no value sorts first descending", method: "GET", path: "/Users?sortBy=name.givenName&sortOrder=descending&count=1&attributes=name", status: 200, absent: []string{"givenName"}},

	// RFC 7644 §3.4.2.1: queries across resource types, where an attribute
	// one type lacks has no value for its resources.
	{section: "7644 §3.4.2.1", name: "root filter on an attribute only groups have", method: "GET", path: "/?filter=" + urlQuery(`not (userName pr)`), status: 200, contains: []string{`"displayName":"Fixtures"`}, absent: []string{`"userName"`}},
	{section: "7644 §3.4.2.1", name: "root filter or across types", method: "GET", path: "/?filter=" + urlQuery(`userName eq "fixture@example.com" or displayName eq "fixtures"`), status: 200, contains: []string{`"totalResults":2`, `"displayName":"Fixtures"`, `"userName":"fixture@example.com"`}},
	{section: "7644 §3.4.2.1", name: "root filter on members", method: "POST", path: "/.search", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"fixture@example.com\" or members.value pr"}`, status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.2.1", name: "root sortBy keeps every type", method: "GET", path: "/?sortBy=userName&sortOrder=descending&count=1", status: 200, contains: []string{`"displayName":"Fixtures"`}},
	{section: "7644 §3.4.2.1", name: "root sortBy that only the filtered-out type has", method: "GET", path: "/?sortBy=userName&filter=" + urlQuery(`members pr`), status: 200, contains: []string{`"totalResults":0`}},
	{section: "7644 §3.4.2.1", name: "root sortOrder checked whatever the types", method: "GET", path: "/?sortBy=userName&sortOrder=sideways&filter=" + urlQuery(`members pr`), status: 400, scimType: "invalidValue", contains: []string{"sortOrder"}},
	{section: "7644 §3.4.2.1", name: "root filter on an attribute no type has", method: "GET", path: "/?filter=" + urlQuery(`favouriteColour eq "blue" or userName pr`), status: 400, scimType: "invalidFilter", contains: []string{"favouriteColour"}},

	// RFC 7644 §3.4.2.4: pagination.
	{section: "7644 §3.4.2.4", name: "count=0 gives totals only", method: "GET", path: "/Users?count=0", status: 200, contains: []string{`"itemsPerPage":0`, `"Resources":[]`}},
	{section: "7644 §3.4.2.4", name: "startIndex below 1 is 1", method: "GET", path: "/Users?startIndex=-5&count=1", status: 200, contains: []string{`"startIndex":1`, `"itemsPerPage":1`}},
	{section: "7644 §3.4.2.4", name: "non-integer count", method: "GET", path: "/Users?count=ten", status: 400, scimType: "invalidValue"},

	// RFC 7644 §3.4.2.5: projection.
	{section: "7644 §3.4.2.5", name: "attributes keeps id and schemas", method: "GET", path: "/Users/${user}?attributes=name.givenName", status: 200, contains: []string{`"id":"${user}"`, `"schemas"`, `"givenName":"Fix"`}, absent: []string{"familyName", "userName", "meta"}},
	{section: "7644 §3.4.2.5", name: "excludedAttributes", method: "GET", path: "/Users/${user}?excludedAttributes=emails,meta", status: 200, contains: []string{`"userName"`}, absent: []string{`"emails"`, `"meta"`}},
	{section: "7644 §3.4.2.5", name: "extension URN as attribute", method: "GET", path: "/Users/${user}?attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", status: 200, contains: []string{`"department":"Sales"`}, absent: []string{"userName"}},
	{section: "7644 §3.4.2.5", name: "no empty containers", method: "GET", path: "/Users/${user2}?attributes=name.middleName,emails.display,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", status: 200, absent: []string{`"name"`, `"emails"`, "enterprise:2.0:User\":"}},
	{section: "7644 §3.4.2.5", name: "no empty containers when excluding", method: "GET", path: "/Users/${user}?excludedAttributes=name.givenName,name.familyName", status: 200, contains: []string{`"userName"`}, absent: []string{`"name"`}},
	{section: "7644 §3.4.2.5", name: "id cannot be excluded", method: "GET", path: "/Users/${user}?excludedAttributes=id", status: 200, contains: []string{`"id":"${user}"`}},
	{section: "7644 §3.9", name: "projection on write responses", method: "PATCH", path: "/Users/${user}?attributes=title", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"Dr"}]}`, status: 200, contains: []string{`"title":"Dr"`}, absent: []string{"userName"}},

	// RFC 7644 §3.4.3: search.
	{section: "7644 §3.4.3", name: "POST .search", method: "POST", path: "/Users/.search", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"fixture@example.com\"","attributes":["userName"]}`, status: 200, contains: []string{`"totalResults":1`}},
	{section: "7644 §3.4.3", name: "search with a wrong type", method: "POST", path: "/Users/.search", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":"ten"}`, status: 400, scimType: "invalidSyntax", contains: []string{`\"count\" must be an integer, not a string`}, absent: []string{"Go ", "searchRequest"}},
	{section: "7644 §3.4.3", name: "search attributes as one string", method: "POST", path: "/Users/.search", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"fixture@example.com\"","attributes":"userName"}`, status: 200, contains: []string{`"userName":"fixture@example.com"`}, absent: []string{"givenName"}},
	{section: "7644 §3.4.3", name: "search by a reader", method: "POST", path: "/.search", token: readerToken, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":0}`, status: 200},

	// RFC 7644 §3.5.1: replacing with PUT.
	{section: "7644 §3.5.1", name: "readOnly attributes in PUT ignored", method: "PUT", path: "/Groups/${group}", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Fixtures","id":"other","meta":{"version":"W/\"99\""},"members":[{"value":"${user}"}]}`, status: 200, contains: []string{`"id":"${group}"`, `"value":"${user}"`}},
	{section: "7644 §3.4.2.2", name: "filter on meta.location as returned", method: "GET", path: "/Users?filter=" + urlQuery(`meta.location eq "${base}/Users/${user}"`), status: 200, contains: []string{`"totalResults":1`, `"id":"${user}"`}},
	{section: "7644 §3.4.2.2", name: "filter on members.$ref as returned", method: "GET", path: "/Groups?filter=" + urlQuery(`members[$ref eq "${base}/Users/${user}"] or members.$ref eq "${base}/Users/nobody"`), status: 200, contains: []string{`"totalResults":1`, `"id":"${group}"`}},
	{section: "7644 §3.5.1", name: "immutable userName changed", method: "PUT", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"changed@example.com"}`, status: 400, scimType: "mutability", contains: []string{"immutable"}},
	{section: "7644 §3.5.1", name: "PUT to unknown id", method: "PUT", path: "/Users/nope", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x@example.com"}`, status: 404},

	// RFC 7644 §3.5.2: PATCH.
	{section: "7644 §3.5.2", name: "PatchOp schema required", method: "PATCH", path: "/Users/${user2}", body: `{"Operations":[{"op":"add","path":"title","value":"x"}]}`, status: 400, scimType: "invalidSyntax"},
	{section: "7644 §3.5.2", name: "unknown op", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"title"}]}`, status: 400, scimType: "invalidSyntax"},
	{section: "7644 §3.5.2", name: "invalid path", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq","value":"x"}]}`, status: 400, scimType: "invalidPath"},
	{section: "7644 §3.5.2.2", name: "remove without path noTarget", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`, status: 400, scimType: "noTarget"},
	{section: "7644 §3.5.2.3", name: "replace with unmatched filter noTarget", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"addresses[type eq \"home\"]","value":{"locality":"Ghent"}}]}`, status: 400, scimType: "noTarget"},
	{section: "7644 §3.5.2", name: "readOnly attribute refused", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"meta.created","value":"2000-01-01T00:00:00Z"}]}`, status: 400, scimType: "mutability"},
	{section: "7644 §3.5.2", name: "all or nothing", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"Should not stick"},{"op":"replace","path":"userName","value":"y@example.com"}]}`, status: 400, scimType: "mutability"},
	{section: "7644 §3.5.2", name: "nothing stuck", method: "GET", path: "/Users/${user2}", status: 200, absent: []string{"Should not stick"}},
	{section: "7644 §3.5.2.1", name: "add to multi-valued appends", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails","value":[{"value":"second@example.com","type":"home"}]}]}`, status: 200, contains: []string{"second@example.com", "user2@example.com"}},
	{section: "7644 §3.5.2.2", name: "remove by value filter", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[value eq \"second@example.com\"]"}]}`, status: 200, absent: []string{"second@example.com"}},
	{section: "7644 §3.5.2", name: "string booleans from Entra", method: "PATCH", path: "/Users/${user2}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, status: 200, contains: []string{`"active":false`}},

	// RFC 7644 §3.14: versioning.
	{section: "7644 §3.14", name: "If-None-Match current 304", method: "GET", path: "/Users/${user}", headers: []string{"If-None-Match", "${etag}"}, status: 304},
	{section: "7644 §3.14", name: "If-Match stale 412", method: "PATCH", path: "/Users/${user}", headers: []string{"If-Match", `W/"1"`}, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"nickName","value":"stale"}]}`, status: 412},
	{section: "7644 §3.14", name: "stale write did not happen", method: "GET", path: "/Users/${user}", status: 200, absent: []string{"stale"}},
	{section: "7644 §3.14", name: "If-Match current succeeds", method: "PATCH", path: "/Users/${user}", headers: []string{"If-Match", "${etag}"}, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"nickName","value":"fresh"}]}`, status: 200, contains: []string{"fresh"}},

	// RFC 7644 §3.12: errors and authorization.
	{section: "7644 §3.12", name: "missing token 401", method: "GET", path: "/Users", token: "-", status: 401},
	{section: "7644 §3.12", name: "reader cannot write 403", method: "DELETE", path: "/Users/${user2}", token: readerToken, status: 403},
	{section: "7644 §3.12", name: "unknown endpoint 404", method: "GET", path: "/Widgets", status: 404},
	{section: "7644 §3.12", name: "method not allowed", method: "DELETE", path: "/Users", status: 405},

	// RFC 7644 §4 and RFC 7643 §5-7: discovery.
	{section: "7644 §4", name: "ServiceProviderConfig", method: "GET", path: "/ServiceProviderConfig", status: 200, contains: []string{`"patch":{"maxOperations":1000,"supported":true}`, `"etag":{"supported":true}`, `"sort":{"supported":true}`}},
	{section: "7644 §4", name: "ResourceTypes", method: "GET", path: "/ResourceTypes", status: 200, contains: []string{`"endpoint":"/Users"`, `"endpoint":"/Groups"`, "urn:scim:schemas:extension:customer:2.0:User"}},
	{section: "7644 §4", name: "Schemas by id", method: "GET", path: "/Schemas/urn:scim:schemas:extension:customer:2.0:User", status: 200, contains: []string{`"name":"passwordSetup"`, `"name":"accountState"`}},
	{section: "7644 §4", name: "unknown schema 404", method: "GET", path: "/Schemas/urn:nope", status: 404},
	{section: "7644 §4", name: "discovery is read-only", method: "POST", path: "/ResourceTypes", body: `{}`, status: 405},
	{section: "7644 §4", name: "discovery does not filter", method: "GET", path: "/ResourceTypes?filter=" + urlQuery(`id eq "User"`), status: 403, contains: []string{"filter"}},
	{section: "7643 §5", name: "HTTP Basic advertised for /Me", method: "GET", path: "/ServiceProviderConfig", status: 200, contains: []string{`"type":"httpbasic"`}},
	{section: "7643 §7", name: "members are users only", method: "GET", path: "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", status: 200, contains: []string{`"referenceTypes":["User"]`, `"canonicalValues":["User"]`}, absent: []string{`"Group"]`}},
	{section: "7643 §7", name: "groups are direct only", method: "GET", path: "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", status: 200, contains: []string{`"canonicalValues":["direct"]`}, absent: []string{"indirect"}},
	{section: "7644 §3.4.2.1", name: "service root without its slash", method: "GET", path: "?count=0", status: 200, contains: []string{`"totalResults":`}},

	// RFC 7644 §3.6: deleting.
	{section: "7644 §3.6", name: "delete 204", method: "DELETE", path: "/Users/${user2}", status: 204},
	{section: "7644 §3.6", name: "deleted is 404", method: "GET", path: "/Users/${user2}", status: 404},
	{section: "7644 §3.6", name: "deleted is gone from lists", method: "GET", path: "/Users?filter=" + urlQuery(`userName eq "user2@example.com"`), status: 200, contains: []string{`"totalResults":0`}},
}

func TestConformance(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		u := a.do("POST", "/Users", ownerToken, map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "fixture@example.com",
			"name":     map[string]any{"givenName": "Fix", "familyName": "O\"Brien-é"},
			"password": "Fixture-pass-1",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Sales"},
		}).must(t, 201)
		vars := map[string]string{"user": str(u.body, "id"), "base": a.srv.URL + scim.BasePath}
		vars["user2"] = str(a.do("POST", "/Users", ownerToken, user("user2@example.com", nil)).must(t, 201).body, "id")
		vars["group"] = str(a.do("POST", "/Groups", ownerToken, group("Fixtures")).must(t, 201).body, "id")
		expand := func(s string) string {
			for k, v := range vars {
				s = strings.ReplaceAll(s, "${"+k+"}", v)
			}
			return s
		}
		for _, x := range conformance {
			t.Run(x.section+" "+x.name, func(t *testing.T) {
				vars["etag"] = a.do("GET", "/Users/"+vars["user"], ownerToken, nil).header.Get("ETag")
				token := x.token
				switch token {
				case "":
					token = ownerToken
				case "-":
					token = ""
				}
				var body any
				if x.body != "" {
					body = expand(x.body)
				}
				headers := make([]string, len(x.headers))
				for i, h := range x.headers {
					headers[i] = expand(h)
				}
				r := a.do(x.method, expand(x.path), token, body, headers...)
				if x.scimType != "" || r.status >= 400 && r.status != http.StatusUnsupportedMediaType && r.status != http.StatusMethodNotAllowed {
					r.scimError(t, x.status, x.scimType, "")
				} else {
					r.must(t, x.status)
				}
				if ct := r.header.Get("Content-Type"); r.raw != "" && !strings.HasPrefix(ct, "application/scim+json") {
					t.Errorf("%s %s: Content-Type %q, want application/scim+json (RFC 7644 §3.1)", x.method, x.path, ct)
				}
				for _, c := range x.contains {
					if !strings.Contains(r.raw, expand(c)) {
						t.Errorf("%s %s: body lacks %s\n%s", x.method, x.path, expand(c), r.raw)
					}
				}
				for _, c := range x.absent {
					if strings.Contains(r.raw, expand(c)) {
						t.Errorf("%s %s: body holds %s\n%s", x.method, x.path, expand(c), r.raw)
					}
				}
			})
		}
	})
}

func TestURNQualifiedNamesInBodies(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		r := a.do("POST", "/Users", ownerToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"urn:ietf:params:scim:schemas:core:2.0:User:userName":                   "qualified@example.com",
			"urn:ietf:params:scim:schemas:core:2.0:User:password":                   "Qualified-pass-1",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
		}).must(t, http.StatusCreated)
		if str(r.body, "userName") != "qualified@example.com" || str(r.body, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department") != "Ops" {
			t.Errorf("URN-qualified names were not applied: %s", r.raw)
		}
		if got := str(r.body, "urn:scim:schemas:extension:customer:2.0:User", "accountState"); got != "passwordChangeRequired" {
			t.Errorf("a URN-qualified password was dropped: accountState %q", got)
		}
		a.do("POST", "/Users", ownerToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "q2@example.com",
			"urn:ietf:params:scim:schemas:core:2.0:User:shoeSize": 9,
		}).scimError(t, 400, "invalidValue", "shoeSize")
	})
}
