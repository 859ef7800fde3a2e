package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/web"
)

// The audit trail: the organization's change log, newest first, paged
// backwards by entry (?before=<Seq>) and filtered by actor (?who=) and
// resource (?type=, ?id=). The log holds ids, never emails or names; the
// page puts the administrators' emails back, as it reads them once.

// auditPageSize is how many entries a page of the audit trail shows.
const auditPageSize = 50

// auditRow is an entry of the audit trail as the page shows it.
type auditRow struct {
	Time     time.Time
	Who      link // Href "" when there is no page to link to
	What     string
	Resource link
}

// When is the entry's time to the second: the trail tells apart changes
// made within a minute.
func (r auditRow) When() string { return r.Time.UTC().Format("2 Jan 2006 15:04:05 UTC") }

// ISO is the entry's time for machines (the time element's datetime).
func (r auditRow) ISO() string { return r.Time.UTC().Format(time.RFC3339) }

// auditData is the Audit trail tab's content.
type auditData struct {
	settingsTab
	Rows []auditRow
	// Who, Type and ID are the filter's fields.
	Who, Types []option
	ID         web.Field
	// Filtered is whether a filter is set; Older and Newest are the
	// addresses of the next page and of the first one ("" for none).
	Filtered      bool
	Older, Newest string
}

// auditTypes are the resource types the filter offers.
var auditTypes = []option{
	{Value: "", Label: "Any resource"},
	{Value: "User", Label: "Customers"},
	{Value: "Group", Label: "Groups"},
	{Value: resources.TypeAdmin, Label: "Administrators"},
	{Value: resources.TypeToken, Label: "API tokens"},
	{Value: "Settings", Label: "Settings"},
	{Value: resources.TypeSchema, Label: "Custom schemas"},
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	f := resources.AuditFilter{Who: q.Get("who"), Type: q.Get("type"), ResourceID: strings.TrimSpace(q.Get("id"))}
	before := q.Get("before")
	ctx := r.Context()
	changes, next, err := h.svc.Orgs.Audit(ctx, c.Org, c.Admin, f, before, auditPageSize)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	admins, err := h.svc.Admins.List(ctx, c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	tokens, err := h.svc.Orgs.Tokens(ctx, c.Org, c.Admin)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	emails := make(map[string]string, len(admins))
	for _, a := range admins {
		emails[a.ID] = a.Email
	}
	d := auditData{settingsTab: settingsTab{tabAudit}, Filtered: f != resources.AuditFilter{},
		Types: options(f.Type, auditTypes...),
		ID: web.Field{ID: "audit-id", Name: "id", Type: "text", Label: "Resource id", Value: f.ResourceID, Optional: true,
			Hint: "A customer's or group's id, an administrator's id or a token's name.", Autocomplete: "off"},
	}

	// The actors to filter by: anyone, each administrator, each token, and
	// the one asked for when it is none of those (a customer, a revoked
	// token, a removed administrator).
	who := []option{{Value: "", Label: "Anyone"}}
	for _, a := range admins {
		who = append(who, option{Value: resources.AdminActor(a.ID), Label: a.Email})
	}
	for _, t := range tokens {
		who = append(who, option{Value: resources.TokenActor(t.Name), Label: "API token " + t.Name})
	}
	known := false
	for _, o := range who {
		known = known || o.Value == f.Who
	}
	if !known {
		who = append(who, option{Value: f.Who, Label: actorLink(c, emails, f.Who).Text})
	}
	d.Who = options(f.Who, who...)

	for _, ch := range changes {
		d.Rows = append(d.Rows, auditRow{Time: ch.Time, Who: actorLink(c, emails, ch.Who), What: actionWords(ch.Action),
			Resource: resourceLink(c, emails, ch.Type, ch.ResourceID)})
	}
	keep := url.Values{}
	for k, v := range map[string]string{"who": f.Who, "type": f.Type, "id": f.ResourceID} {
		if v != "" {
			keep.Set(k, v)
		}
	}
	if next != "" {
		older := url.Values{"before": {next}}
		for k, v := range keep {
			older[k] = v
		}
		d.Older = "?" + older.Encode()
	}
	if before != "" {
		d.Newest = "?" + keep.Encode()
	}
	h.page(w, r, c, http.StatusOK, "settings-audit", view{Title: "Audit trail", Nav: "settings", Data: d})
}

// actorLink puts an audit actor in words: an administrator's email, a
// customer (linking to their page), an API token's name. An actor with no
// prefix that is no built-in one is a token's name from before token actors
// had their prefix.
func actorLink(c *call, emails map[string]string, who string) link {
	switch {
	case strings.HasPrefix(who, "token:"):
		return link{Text: "API token " + strings.TrimPrefix(who, "token:")}
	case strings.HasPrefix(who, "admin:"):
		id := strings.TrimPrefix(who, "admin:")
		if e, ok := emails[id]; ok {
			return link{Text: e}
		}
		return link{Text: "removed administrator " + id}
	case strings.HasPrefix(who, "customer:"):
		id := strings.TrimPrefix(who, "customer:")
		return link{Text: "customer " + id, Href: c.url("users/" + url.PathEscape(id))}
	case who == resources.SystemActor:
		return link{Text: "scimd itself"}
	case who == "cli":
		return link{Text: "the scimd command"}
	case who == resources.RegistrationActor:
		return link{Text: "self-registration"}
	default:
		return link{Text: "API token " + who}
	}
}

// resourceLink names the resource of an audit entry, linking to its page
// when it has one.
func resourceLink(c *call, emails map[string]string, typ, id string) link {
	switch typ {
	case "User":
		return link{Text: "customer " + id, Href: c.url("users/" + url.PathEscape(id))}
	case "Group":
		return link{Text: "group " + id, Href: c.url("groups/" + url.PathEscape(id))}
	case resources.TypeAdmin:
		if e, ok := emails[id]; ok {
			return link{Text: "administrator " + e}
		}
		return link{Text: "removed administrator " + id}
	case resources.TypeToken:
		return link{Text: "API token " + id}
	case resources.TypeSchema:
		return link{Text: "custom schema " + id, Href: c.url("settings/schemas")}
	case "Settings":
		switch id {
		case "selfRegistration":
			return link{Text: "setting: self-registration"}
		case "displayName":
			return link{Text: "setting: organization name"}
		case "substringSearch":
			return link{Text: "setting: substring search", Href: c.url("settings#substring-heading")}
		}
		return link{Text: "setting: " + id}
	}
	return link{Text: typ + " " + id}
}

// actionWords says what an audit entry's action did.
func actionWords(a resources.Action) string {
	switch a {
	case resources.ActionCreate:
		return "created"
	case resources.ActionReplace:
		return "changed"
	case resources.ActionPatch:
		return "changed (patch)"
	case resources.ActionDelete:
		return "deleted"
	case resources.ActionMembers:
		return "changed the members of"
	case resources.ActionInvite:
		return "invited"
	case resources.ActionSetPassword:
		return "set the password of"
	case resources.ActionRegister:
		return "registered"
	case resources.ActionConfirm:
		return "confirmed"
	}
	return string(a)
}
