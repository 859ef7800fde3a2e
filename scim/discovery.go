package scim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

const (
	serviceProviderConfigURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	resourceTypeURN          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaURN                = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// serviceProviderConfig advertises what scimd supports, truthfully (RFC 7643 §5).
// "patch" also holds "maxOperations", scimd's own extension (RFC 7643 §5
// has no field for it): the operations one PATCH may carry, named and
// meant as bulk's, so that a client can split its changes before it is
// refused (413).
func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{serviceProviderConfigURN},
		"documentationUri": "https://github.com/scimd/scimd#readme",
		"patch":            map[string]any{"supported": true, "maxOperations": resources.MaxPatchOperations},
		"bulk":             map[string]any{"supported": true, "maxOperations": h.cfg.MaxBulkOperations, "maxPayloadSize": h.cfg.MaxBulkPayload},
		"filter":           map[string]any{"supported": true, "maxResults": h.cfg.MaxCount},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		// RFC 9865 §4. Index paging stays the default, so that clients
		// written against RFC 7644 see no change (§2.4).
		"pagination": map[string]any{
			"cursor": true, "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": h.cfg.DefaultCount, "maxPageSize": h.cfg.MaxCount,
			"cursorTimeout": int(h.cfg.CursorTimeout / time.Second),
		},
		"authenticationSchemes": []any{map[string]any{
			"type":        "oauthbearertoken",
			"name":        "Bearer token",
			"description": "Authentication with a scimd API token in the Authorization header.",
			"primary":     true,
		}, map[string]any{
			"type":        "httpbasic",
			"name":        "HTTP Basic",
			"description": "A customer's own email and password, for /Me only (at /t/{organization}" + BasePath + "/Me).",
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     h.cfg.BaseURL + "/ServiceProviderConfig",
		},
	})
	return nil
}

// resourceTypeDocs are the resource types as the organization of the
// request has them: its Users with its custom schemas.
func (h *Handler) resourceTypeDocs(r *http.Request) ([]map[string]any, error) {
	users, err := h.users.TypeFor(r.Context(), requestOrg(r))
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, rt := range []schemas.ResourceType{users, schemas.Groups()} {
		exts := []map[string]any{}
		for _, e := range rt.Extensions {
			// RFC 7643 §6: required true when a resource MUST include the
			// extension, as it must a custom one with a required attribute
			// (POST and PUT enforce it).
			exts = append(exts, map[string]any{"schema": e.ID, "required": rt.ExtensionRequired(e.ID)})
		}
		out = append(out, map[string]any{
			"schemas":          []string{resourceTypeURN},
			"id":               rt.Name,
			"name":             rt.Name,
			"endpoint":         rt.Endpoint,
			"description":      rt.Schema.Description.Value(),
			"schema":           rt.Schema.ID,
			"schemaExtensions": exts,
			"meta": map[string]any{
				"resourceType": "ResourceType",
				"location":     h.cfg.BaseURL + "/ResourceTypes/" + rt.Name,
			},
		})
	}
	return out, nil
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request) error {
	docs, err := h.resourceTypeDocs(r)
	if err != nil {
		return err
	}
	writeDocList(w, docs)
	return nil
}

func (h *Handler) resourceType(w http.ResponseWriter, r *http.Request) error {
	docs, err := h.resourceTypeDocs(r)
	if err != nil {
		return err
	}
	return writeDocByID(w, docs, r.PathValue("name"), "resource type")
}

// writeDocList answers a discovery list: every document on one page.
func writeDocList(w http.ResponseWriter, docs []map[string]any) {
	writeJSON(w, http.StatusOK, listResponse{
		Schemas: []string{schemas.ListResponseURN}, TotalResults: len(docs), ItemsPerPage: len(docs), StartIndex: 1, Resources: docs,
	})
}

// writeDocByID answers the discovery document with the given id, ignoring
// case; when there is none, NotFound names what was asked for.
func writeDocByID(w http.ResponseWriter, docs []map[string]any, id, what string) error {
	for _, d := range docs {
		if strings.EqualFold(d["id"].(string), id) {
			writeJSON(w, http.StatusOK, d)
			return nil
		}
	}
	return resources.Errorf(resources.NotFound, "no %s %s", what, id)
}

// schemaDocs are the schemas as the organization of the request has them:
// userName's description states its userNameFormat, and its custom schemas
// follow the built-in ones.
func (h *Handler) schemaDocs(r *http.Request) ([]map[string]any, error) {
	format, err := h.users.UserNameFormat(r.Context(), principal(r.Context()).Org)
	if err != nil {
		return nil, err
	}
	custom, err := h.users.TypeFor(r.Context(), principal(r.Context()).Org)
	if err != nil {
		return nil, err
	}
	var all []schema.Schema
	users := schemas.Users()
	users.Schema.Attributes = slices.Clone(users.Schema.Attributes)
	for i, a := range users.Schema.Attributes {
		if a.Name() == "userName" {
			users.Schema.Attributes[i] = schemas.UserNameAttribute(format)
		}
	}
	all = append(all, users.Schema)
	all = append(all, users.Extensions...)
	all = append(all, schemas.Groups().Schema)
	out := make([]map[string]any, 0, len(all))
	for _, s := range all {
		raw, err := json.Marshal(s)
		if err != nil {
			continue
		}
		var doc map[string]any
		if json.Unmarshal(raw, &doc) != nil {
			continue
		}
		doc["schemas"] = []string{schemaURN}
		doc["meta"] = map[string]any{"resourceType": "Schema", "location": h.cfg.BaseURL + "/Schemas/" + s.ID}
		out = append(out, doc)
	}
	for _, doc := range customDocs(custom) {
		doc["schemas"] = []string{schemaURN}
		doc["meta"] = map[string]any{"resourceType": "Schema", "location": h.cfg.BaseURL + "/Schemas/" + doc["id"].(string)}
		out = append(out, doc)
	}
	return out, nil
}

func (h *Handler) schemaList(w http.ResponseWriter, r *http.Request) error {
	docs, err := h.schemaDocs(r)
	if err != nil {
		return err
	}
	writeDocList(w, docs)
	return nil
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request) error {
	docs, err := h.schemaDocs(r)
	if err != nil {
		return err
	}
	return writeDocByID(w, docs, r.PathValue("id"), "schema")
}
