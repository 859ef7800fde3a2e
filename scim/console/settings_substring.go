package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/resources"
)

// Substring search (README "Substring search"), a section of the General
// tab: which customer attributes the organization's co and ew filters
// answer from trigram indexes. Owners only, through Orgs.SetSubstringSearch,
// which makes the store call the settings API (/admin/v1/settings) and
// `scimd org set --substring-search` make: one write, one audit entry
// (type Settings, id substringSearch) with the administrator as actor.

// substringChoice is what the page says of an attribute that may be
// searched by substring.
type substringChoice struct {
	// Label names the attribute in words.
	Label string
	// Bytes is what its trigram index costs a customer: Redis used_memory
	// growth, measured at 100,000 customers. README's "Substring search"
	// table shows these figures, rewritten from here
	// (TestSubstringMemoryInREADME).
	Bytes int
}

// substringChoices has an entry for each of resources.SubstringAttributes
// (TestSubstringChoices).
var substringChoices = map[string]substringChoice{
	"userName":        {Label: "Username", Bytes: 3017},
	"emails.value":    {Label: "Email addresses", Bytes: 3013},
	"name.givenName":  {Label: "First name", Bytes: 352},
	"name.familyName": {Label: "Last name", Bytes: 1538},
	"displayName":     {Label: "Display name", Bytes: 2352},
	"externalId":      {Label: "External ID (your identity provider's)", Bytes: 1327},
}

// substringBox is a checkbox of the Substring search section.
type substringBox struct {
	// Attr is the attribute's name, ID the checkbox's id.
	Attr, ID, Label string
	// Cost is its memory cost in words: per customer, and for the
	// organization's customers when it has some.
	Cost    string
	Checked bool
	// State is the index's state in words: "" when the attribute is not
	// searched by substring and nothing is pending.
	State string
}

// substringBoxes are the section's checkboxes for the settings s of an
// organization of customers customers.
func substringBoxes(s resources.OrgSettings, customers int) []substringBox {
	on, pending := resources.SplitAttributes(s.SubstringSearch), resources.SplitAttributes(s.SubstringPending)
	out := make([]substringBox, len(resources.SubstringAttributes))
	for i, a := range resources.SubstringAttributes {
		c := substringChoices[a]
		b := substringBox{Attr: a, ID: "substring-" + strings.ReplaceAll(a, ".", "-"), Label: c.Label,
			Cost: "about " + byteSize(int64(c.Bytes)) + " a customer", Checked: slices.Contains(on, a)}
		if customers > 0 {
			b.Cost += ": " + byteSize(int64(c.Bytes)*int64(customers)) + " for your " + plural(customers, "customer")
		}
		switch {
		case b.Checked && slices.Contains(pending, a):
			b.State = "Index being built: until it is, the bounded scan answers."
		case b.Checked:
			b.State = "Index built."
		case slices.Contains(pending, a):
			b.State = "Index being removed."
		}
		out[i] = b
	}
	return out
}

// byteSize says n bytes in B, KB, MB or GB (powers of 1,000), to two
// significant figures past the bytes.
func byteSize(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n)/1000, "KB"
	for _, u := range []string{"MB", "GB"} {
		if f < 1000 {
			break
		}
		f, unit = f/1000, u
	}
	prec := 1
	if f >= 10 {
		prec = 0
	}
	return strconv.FormatFloat(f, 'f', prec, 64) + " " + unit
}

// plural says n things.
func plural(n int, thing string) string {
	if n != 1 {
		thing += "s"
	}
	return thousands(n) + " " + thing
}

// thousands writes n (at least 0) with its thousands separated by commas.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// setSubstringSearch sets the attributes searched by substring: those
// checked, none when none is. It answers once the existing customers'
// entries are written or removed, or after the store's bound (10 s),
// the rest continuing in the background.
func (h *Handler) setSubstringSearch(w http.ResponseWriter, r *http.Request, c *call) {
	attrs := r.PostForm["substringSearch"]
	err := h.svc.Orgs.SetSubstringSearch(r.Context(), c.Org, c.Admin, attrs)
	if resources.ErrorCode(err) == resources.InvalidValue {
		// Only a forged or outdated form names another attribute: the
		// domain's detail names it, as the API's answer does.
		h.message(w, r, c, http.StatusBadRequest, "Form not accepted",
			[]string{"Choose among the attributes the settings list. Nothing was changed.", detail(err) + "."},
			&link{Href: c.url("settings"), Text: "Back to the settings"})
		return
	}
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	s, err := h.svc.Orgs.Settings(r.Context(), c.Org)
	if err != nil {
		h.failed(w, r, c, err)
		return
	}
	h.redirect(w, r, c, "settings", substringOutcome(s))
}

// substringOutcome says what the setting s now is, and what is still
// being built or removed.
func substringOutcome(s resources.OrgSettings) string {
	text := "Substring search is off: contains and ends-with filters use the bounded scan."
	if on := resources.SplitAttributes(s.SubstringSearch); len(on) > 0 {
		text = "Substring search now covers " + strings.Join(on, ", ") + "."
	}
	if s.SubstringPending != "" {
		text += " Still being built or removed in the background: " + strings.Join(resources.SplitAttributes(s.SubstringPending), ", ") +
			"; until that is done, the bounded scan answers."
	}
	return text
}
