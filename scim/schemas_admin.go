package scim

import (
	"net/http"
	"net/url"
)

// SchemasPath is where owners define their organization's custom
// attributes: extension schemas for its Users (README "Custom attributes").
const SchemasPath = "/admin/v1/schemas"

// The custom schema API, for owner tokens only:
//
//   - GET lists the organization's definitions, and the removed schemas and
//     attributes whose values are still being purged;
//   - POST {definition} adds one (201; 409 when its URN exists);
//   - GET .../{urn} shows one, as /Schemas/{urn} does (with "indexed");
//   - PUT .../{urn} {definition} replaces one, under the change rules;
//   - DELETE .../{urn} removes one: its attributes vanish at once, their
//     values are purged.
//
// A definition is RFC 7643 §7's schema representation; see
// [schemas.ParseDefinition]. Every change is in the change log (type
// Schema, id the URN).
func (h *Handler) routeSchemas() {
	owners := func(next http.Handler) http.Handler { return h.requireAuth(h.requireSchemaOwner(next)) }
	h.route(owners, route{path: SchemasPath, get: h.listSchemas, post: h.createSchema})
	h.route(owners, route{path: SchemasPath + "/{urn}", get: h.getSchema, put: h.replaceSchema, delete: h.deleteSchema})
}

// requireSchemaOwner refuses every principal but an owner.
func (h *Handler) requireSchemaOwner(next http.Handler) http.Handler {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		if err := ownerOnly(principal(r.Context()), "manage custom schemas"); err != nil {
			return err
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

func (h *Handler) listSchemas(w http.ResponseWriter, r *http.Request) error {
	defs, purging, err := h.users.Extensions(r.Context(), principal(r.Context()).Org)
	if err != nil {
		return err
	}
	docs := make([]map[string]any, len(defs))
	for i, d := range defs {
		docs[i] = d.Document(true)
	}
	names := make([]string, len(purging))
	for i, t := range purging {
		names[i] = t.FullName()
	}
	writeJSON(w, http.StatusOK, map[string]any{"definitions": docs, "purging": names})
	return nil
}

func (h *Handler) getSchema(w http.ResponseWriter, r *http.Request) error {
	d, err := h.users.Extension(r.Context(), principal(r.Context()).Org, r.PathValue("urn"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d.Document(true))
	return nil
}

func (h *Handler) createSchema(w http.ResponseWriter, r *http.Request) error {
	return h.defineSchema(w, r, "")
}

func (h *Handler) replaceSchema(w http.ResponseWriter, r *http.Request) error {
	return h.defineSchema(w, r, r.PathValue("urn"))
}

// defineSchema serves POST (replace "") and PUT.
func (h *Handler) defineSchema(w http.ResponseWriter, r *http.Request, replace string) error {
	data, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	d, err := h.users.DefineExtension(r.Context(), principal(r.Context()).Org, data, replace)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if replace == "" {
		status = http.StatusCreated
		w.Header().Set("Location", SchemasPath+"/"+url.PathEscape(d.ID))
	}
	writeJSON(w, status, d.Document(true))
	return nil
}

func (h *Handler) deleteSchema(w http.ResponseWriter, r *http.Request) error {
	if err := h.users.RemoveExtension(r.Context(), principal(r.Context()).Org, r.PathValue("urn")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
