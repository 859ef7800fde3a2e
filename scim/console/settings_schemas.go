package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/web"
)

// Custom attributes (README "Custom attributes"): the organization's
// extension schemas for its customers, owners only, through the same
// Users service as the admin API (/admin/v1/schemas) and `scimd schema`,
// audited with the administrator as actor. A schema is added from its
// pasted JSON (RFC 7643 §7, as /Schemas shows one); an attribute is added
// to a schema with a form; removing either is confirmed by typing its
// name, and purges its stored values.

const tabSchemas = "schemas"

// settingsSchemaRoutes are the Custom attributes tab's pages.
func (h *Handler) settingsSchemaRoutes() {
	owner := func(fn adminHandler) http.HandlerFunc { return h.signedIn(h.ownerOnly(fn)) }
	ownerForm := func(fn adminHandler) http.HandlerFunc { return h.form(h.ownerOnly(fn)) }
	// A schema's URN travels in the query or the form, as a token's name.
	h.mux.HandleFunc("GET "+base+"settings/schemas", owner(h.schemas))
	h.mux.HandleFunc("POST "+base+"settings/schemas", ownerForm(h.addSchema))
	h.mux.HandleFunc("GET "+base+"settings/schemas/attribute", owner(h.attributeForm))
	h.mux.HandleFunc("POST "+base+"settings/schemas/attribute", ownerForm(h.addAttribute))
	h.mux.HandleFunc("GET "+base+"settings/schemas/remove", owner(h.confirmRemoveSchema))
	h.mux.HandleFunc("POST "+base+"settings/schemas/remove", ownerForm(h.removeSchema))
}

// schemasData is the Custom attributes tab's content.
type schemasData struct {
	settingsTab
	Schemas []schemaView
	// Purging are removed schemas and attributes whose values are still
	// being purged: their names cannot be defined again until then.
	Purging []string
	// JSON is the add-a-schema form's text, Error its problem.
	JSON, Error string
}

// schemaView is a custom schema as the tab lists it.
type schemaView struct {
	ID, Name, Description string
	Attributes            []attrView
}

// attrView is an attribute (or a sub-attribute, Sub) as the tab lists it.
type attrView struct {
	// Name is the attribute's name ("address.city" for a sub-attribute).
	Name, Type string
	// Flags are its characteristics that differ from the defaults, in words.
	Flags []string
	Sub   bool
}

func schemaViews(defs []schemas.Definition) []schemaView {
	out := make([]schemaView, len(defs))
	for i, d := range defs {
		v := schemaView{ID: d.ID, Name: d.Name, Description: d.Description}
		for _, a := range d.Attributes {
			v.Attributes = append(v.Attributes, attrView{Name: a.Name, Type: a.Type, Flags: attrFlags(a)})
			for _, s := range a.SubAttributes {
				v.Attributes = append(v.Attributes, attrView{Name: a.Name + "." + s.Name, Type: s.Type, Flags: attrFlags(s), Sub: true})
			}
		}
		out[i] = v
	}
	return out
}

// attrFlags says how a differs from RFC 7643's defaults.
func attrFlags(a schemas.AttributeDef) []string {
	var out []string
	add := func(on bool, s string) {
		if on {
			out = append(out, s)
		}
	}
	add(a.MultiValued, "multi-valued")
	add(a.Required, "required")
	add(a.CaseExact && a.Type != "reference", "case-exact")
	add(a.Mutability != string(schemas.ReadWrite), a.Mutability)
	add(a.Returned != string(schemas.ReturnedDefault), "returned "+a.Returned)
	add(a.Uniqueness == string(schemas.UniquenessServer), "unique")
	add(a.Indexed, "indexed")
	add(len(a.CanonicalValues) > 0, "values: "+strings.Join(a.CanonicalValues, ", "))
	return out
}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, c *call) {
	h.schemasPage(w, r, c, http.StatusOK, "", "")
}

// schemasPage renders the tab with the add-a-schema form holding text and
// its problem.
func (h *Handler) schemasPage(w http.ResponseWriter, r *http.Request, c *call, status int, text, problemText string) {
	defs, purging, err := h.svc.Users.Extensions(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	d := schemasData{settingsTab: settingsTab{tabSchemas}, Schemas: schemaViews(defs), JSON: text, Error: problemText}
	for _, t := range purging {
		d.Purging = append(d.Purging, t.FullName())
	}
	v := view{Title: "Custom attributes", Nav: "settings", Data: d}
	if problemText != "" {
		v.Problems = []problem{{Field: "schema-json", Text: problemText}}
	}
	h.page(w, r, c, status, "settings-schemas", v)
}

// addSchema adds a schema from its pasted JSON.
func (h *Handler) addSchema(w http.ResponseWriter, r *http.Request, c *call) {
	text := r.PostFormValue("definition")
	if strings.TrimSpace(text) == "" {
		h.schemasPage(w, r, c, http.StatusBadRequest, text, "Paste the schema's JSON: an RFC 7643 schema with an id (a URN of your own), a name and attributes.")
		return
	}
	d, err := h.svc.Users.DefineExtension(r.Context(), c.Org, []byte(text), "")
	switch {
	case userError(err):
		status, _ := statusOf(resources.ErrorCode(err))
		h.schemasPage(w, r, c, status, text, sentence(detail(err)))
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, "settings/schemas", "Custom schema "+d.ID+" added: customers may have its attributes from now on.")
}

// attributeData is the add-an-attribute page's content.
type attributeData struct {
	settingsTab
	Schema schemaView
	Name   web.Field
	// Types, Mutability, Returned and Uniqueness are the selects' entries.
	Types, Mutability, Returned, Uniqueness []option
	// Checks are the yes/no characteristics.
	Checks []userMethod
	Values web.Field
	// Error is the page's problem with the attribute as a whole.
	Error string
}

// attrChecks are the attribute form's checkboxes.
var attrChecks = []userMethod{
	{Value: "multiValued", Label: "Multi-valued: a list of values"},
	{Value: "required", Label: "Required: every new or replaced customer must have it"},
	{Value: "caseExact", Label: "Case-exact: “Gold” and “gold” differ (string attributes)"},
	{Value: "indexed", Label: "Indexed: filters on it read an index (string and boolean attributes; each costs every customer write)"},
}

// attributePage renders the add-an-attribute form of schema d, holding
// what the administrator sent (r's form) and its problems.
func (h *Handler) attributePage(w http.ResponseWriter, r *http.Request, c *call, status int, d schemas.Definition, nameErr, errText string) {
	f := r.PostForm
	pick := func(name, def string) string {
		if v := f.Get(name); v != "" {
			return v
		}
		return def
	}
	checks := make([]userMethod, len(attrChecks))
	for i, ch := range attrChecks {
		ch.Checked = f.Get(ch.Value) == "on"
		checks[i] = ch
	}
	data := attributeData{
		settingsTab: settingsTab{tabSchemas},
		Schema:      schemaViews([]schemas.Definition{d})[0],
		Name: web.Field{ID: "attr-name", Name: "name", Type: "text", Label: "Name", Value: f.Get("name"), Error: nameErr, MaxLength: 64,
			Hint:      "A letter, then letters, digits, hyphens or underscores, such as loyaltyTier. Clients name it " + d.ID + ":<name>.",
			Autofocus: nameErr != "" || status == http.StatusOK, Autocomplete: "off"},
		Types: options(pick("type", "string"),
			option{Value: "string", Label: "Text (string)"}, option{Value: "boolean", Label: "Yes/no (boolean)"},
			option{Value: "integer", Label: "Whole number (integer)"}, option{Value: "decimal", Label: "Number (decimal)"},
			option{Value: "dateTime", Label: "Date and time (dateTime)"}, option{Value: "reference", Label: "Link (reference)"}),
		Mutability: options(pick("mutability", string(schemas.ReadWrite)),
			option{Value: "readWrite", Label: "readWrite: clients set and change it"},
			option{Value: "immutable", Label: "immutable: set once, never changed"},
			option{Value: "readOnly", Label: "readOnly: clients cannot set it"},
			option{Value: "writeOnly", Label: "writeOnly: set by clients, never shown"}),
		Returned: options(pick("returned", string(schemas.ReturnedDefault)),
			option{Value: "default", Label: "default: in every response"},
			option{Value: "request", Label: "request: only when a client asks for it"},
			option{Value: "always", Label: "always"},
			option{Value: "never", Label: "never"}),
		Uniqueness: options(pick("uniqueness", string(schemas.UniquenessNone)),
			option{Value: "none", Label: "none: customers may share a value"},
			option{Value: "server", Label: "server: no two customers of the organization share a value"}),
		Checks: checks,
		Values: web.Field{ID: "attr-values", Name: "canonicalValues", Type: "text", Label: "Allowed values", Value: f.Get("canonicalValues"), Optional: true,
			Hint: "Comma-separated, such as gold, silver, bronze: values outside the list are refused (text and link attributes). Leave it empty to allow any."},
		Error: errText,
	}
	v := view{Title: "Add an attribute to " + displaySchema(d), Nav: "settings", Data: data}
	switch {
	case nameErr != "":
		v.Problems = []problem{{Field: "attr-name", Text: nameErr}}
	case errText != "":
		v.Problems = []problem{{Field: "attr-name", Text: errText}}
	}
	h.page(w, r, c, status, "settings-schema-attribute", v)
}

// displaySchema names a schema for a page's title.
func displaySchema(d schemas.Definition) string {
	if d.Name != "" {
		return d.Name
	}
	return d.ID
}

// findSchema returns the organization's schema urn; ok false means it
// answered.
func (h *Handler) findSchema(w http.ResponseWriter, r *http.Request, c *call, urn string) (schemas.Definition, bool) {
	d, err := h.svc.Users.Extension(r.Context(), c.Org, urn)
	if resources.ErrorCode(err) == resources.NotFound {
		h.message(w, r, c, http.StatusNotFound, "Schema not found", []string{"There is no custom schema “" + urn + "”: it may have been removed."},
			&link{Href: c.url("settings/schemas"), Text: "Back to the custom attributes"})
		return schemas.Definition{}, false
	}
	if err != nil {
		h.failed(w, r, c, err)
		return schemas.Definition{}, false
	}
	return d, true
}

func (h *Handler) attributeForm(w http.ResponseWriter, r *http.Request, c *call) {
	d, ok := h.findSchema(w, r, c, r.URL.Query().Get("urn"))
	if !ok {
		return
	}
	h.attributePage(w, r, c, http.StatusOK, d, "", "")
}

// addAttribute adds the form's attribute to a schema.
func (h *Handler) addAttribute(w http.ResponseWriter, r *http.Request, c *call) {
	d, ok := h.findSchema(w, r, c, r.PostFormValue("urn"))
	if !ok {
		return
	}
	f := r.PostForm
	a := schemas.AttributeDef{
		Name: strings.TrimSpace(f.Get("name")), Type: f.Get("type"),
		MultiValued: f.Get("multiValued") == "on", Required: f.Get("required") == "on",
		CaseExact: f.Get("caseExact") == "on", Indexed: f.Get("indexed") == "on",
		Mutability: f.Get("mutability"), Returned: f.Get("returned"), Uniqueness: f.Get("uniqueness"),
	}
	for _, v := range strings.Split(f.Get("canonicalValues"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			a.CanonicalValues = append(a.CanonicalValues, v)
		}
	}
	if a.Name == "" {
		h.attributePage(w, r, c, http.StatusBadRequest, d, "Enter the attribute's name.", "")
		return
	}
	if p := textProblem(a.Name); p != "" {
		h.attributePage(w, r, c, http.StatusBadRequest, d, "The name "+p+".", "")
		return
	}
	_, err := h.svc.Users.AddExtensionAttribute(r.Context(), c.Org, d.ID, a)
	switch {
	case resources.ErrorCode(err) == resources.NotFound:
		h.findSchema(w, r, c, d.ID) // removed meanwhile: answers 404
		return
	case userError(err):
		status, _ := statusOf(resources.ErrorCode(err))
		h.attributePage(w, r, c, status, d, "", sentence(detail(err)))
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, "settings/schemas", "Attribute "+a.Name+" added to "+d.ID+".")
}

// schemaRemoveData is the page that confirms removing a schema or an attribute.
type schemaRemoveData struct {
	settingsTab
	URN, Attr string
	// What names what goes, Typed is the confirmation field.
	What  string
	Typed web.Field
	// Last: the attribute is the schema's last, which goes with it.
	Last bool
}

func removeField(name, value, problemText string) web.Field {
	return web.Field{ID: "confirm", Name: "confirm", Type: "text", Label: "Type " + name + " to confirm",
		Hint: "Exactly as shown, letter case included.", Value: value, Error: problemText, Autocomplete: "off", Autofocus: true}
}

// removeTarget reads what the request removes: the schema urn, or its
// attribute attr, and the name to type; ok false means it answered.
func (h *Handler) removeTarget(w http.ResponseWriter, r *http.Request, c *call, urn, attr string) (schemas.Definition, string, bool) {
	d, ok := h.findSchema(w, r, c, urn)
	if !ok {
		return d, "", false
	}
	if attr == "" {
		return d, d.ID, true
	}
	a, ok := d.Attr(attr)
	if !ok {
		h.message(w, r, c, http.StatusNotFound, "Attribute not found", []string{"Custom schema " + d.ID + " has no attribute “" + attr + "”: it may have been removed."},
			&link{Href: c.url("settings/schemas"), Text: "Back to the custom attributes"})
		return d, "", false
	}
	return d, a.Name, true
}

// removePage renders the confirmation of removing name (an attribute of d,
// or d itself when attr is "").
func (h *Handler) removePage(w http.ResponseWriter, r *http.Request, c *call, status int, d schemas.Definition, attr, name, typed, problemText string) {
	data := schemaRemoveData{settingsTab: settingsTab{tabSchemas}, URN: d.ID, Attr: attr, Typed: removeField(name, typed, problemText)}
	title := "Remove custom schema " + d.ID + "?"
	data.What = "schema " + d.ID + " and all its attributes"
	if attr != "" {
		title = "Remove attribute " + name + "?"
		data.What = "attribute " + name + " of " + d.ID
		data.Last = len(d.Attributes) == 1
	}
	v := view{Title: title, Nav: "settings", Data: data}
	if problemText != "" {
		v.Problems = []problem{{Field: "confirm", Text: problemText}}
	}
	h.page(w, r, c, status, "settings-schema-remove", v)
}

func (h *Handler) confirmRemoveSchema(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	d, name, ok := h.removeTarget(w, r, c, q.Get("urn"), q.Get("attr"))
	if !ok {
		return
	}
	h.removePage(w, r, c, http.StatusOK, d, q.Get("attr"), name, "", "")
}

// removeSchema removes a schema or one of its attributes, once its name is
// typed exactly: customers' values of it vanish at once and are purged.
func (h *Handler) removeSchema(w http.ResponseWriter, r *http.Request, c *call) {
	attr := r.PostFormValue("attr")
	d, name, ok := h.removeTarget(w, r, c, r.PostFormValue("urn"), attr)
	if !ok {
		return
	}
	typed := strings.TrimSpace(r.PostFormValue("confirm"))
	if typed != name {
		msg := "Type " + name + " exactly to remove it."
		if typed != "" {
			msg = "That is not " + name + ". Type it exactly to remove it."
		}
		h.removePage(w, r, c, http.StatusBadRequest, d, attr, name, typed, msg)
		return
	}
	var err error
	if attr == "" {
		err = h.svc.Users.RemoveExtension(r.Context(), c.Org, d.ID)
	} else {
		_, err = h.svc.Users.RemoveExtensionAttribute(r.Context(), c.Org, d.ID, name)
	}
	switch {
	case resources.ErrorCode(err) == resources.NotFound:
		h.message(w, r, c, http.StatusNotFound, "Already removed", []string{"It was removed meanwhile. Nothing else was changed."},
			&link{Href: c.url("settings/schemas"), Text: "Back to the custom attributes"})
		return
	case userError(err):
		h.removePage(w, r, c, http.StatusConflict, d, attr, name, typed, sentence(detail(err)))
		return
	case err != nil:
		h.failed(w, r, c, err)
		return
	}
	what := "Attribute " + name + " removed"
	if attr == "" {
		what = "Custom schema " + d.ID + " removed"
	}
	_, purging, err := h.svc.Users.Extensions(r.Context(), c.Org)
	if err == nil && slices.ContainsFunc(purging, func(t resources.PurgeTarget) bool { return strings.EqualFold(t.URN, d.ID) }) {
		h.redirect(w, r, c, "settings/schemas", what+": customers' values of it are hidden and still being purged; its name can be used again once that is done.")
		return
	}
	h.redirect(w, r, c, "settings/schemas", what+": customers' values of it are purged.")
}
