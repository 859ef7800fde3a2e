// Package scim is scimd's HTTP protocol layer (RFC 7644): routing of /Users and
// /Groups, bearer-token authentication and roles, request decoding and body
// limits, ETag preconditions, list paging and filtering, attribute projection,
// the discovery endpoints, and the one table that maps domain errors to SCIM
// error responses.
//
// Routing uses the standard library's ServeMux. github.com/elimity-com/scim's
// schema package supplies the schema definitions (via package schemas) that the
// discovery endpoints serve.
package scim
