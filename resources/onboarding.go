package resources

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// Identity providers (Entra ID, Okta) and HR systems create customers
// without passwordSetup. What happens to them is the organization's
// onboarding policy (a setting; an API token may override it, because one
// organization may connect an identity provider whose customers should be
// invited and an HR system whose customers sign in elsewhere):
//
//   - "invite": the customer is invited as if passwordSetup were "invite",
//     when they have an address to mail; without one they are noPassword;
//   - "none" (the default): the customer gets no mail and reads
//     accountState "noPassword", which is the truth; setting passwordSetup
//     later (PATCH, PUT) onboards them.
//
// The default is "none" because an organization that connects its identity
// provider must not find that its customers were mailed without its say.
//
// The organization's userNameFormat is the rule of its userNames: "email"
// (the default: the userName is the address mail goes to) or "any" (any
// PRECIS username: an Okta login, an employee number), where mail goes to
// the customer's emails.

// Values of the onboarding policy.
const (
	OnboardingInvite = "invite"
	OnboardingNone   = "none"
)

// DefaultOnboarding is an organization's onboarding policy until an owner
// sets one.
const DefaultOnboarding = OnboardingNone

// ParseOnboarding checks an onboarding policy given by a person or a client.
func ParseOnboarding(v string) (string, error) {
	switch v {
	case OnboardingInvite, OnboardingNone:
		return v, nil
	}
	return "", Errorf(InvalidValue, "onboarding %q: want %q (email an invitation to customers created without passwordSetup) or %q (no mail; accountState %q)",
		v, OnboardingInvite, OnboardingNone, schemas.AccountStateNoPassword)
}

// SubstringAttributes are the User attributes an organization may opt in
// to substring search (its substringSearch setting): co and ew filters on
// them are then answered from trigram indexes, which cost memory per
// customer (README "Substring search").
var SubstringAttributes = []string{"userName", "emails.value", "name.givenName", "name.familyName", "displayName", "externalId"}

// ParseSubstringSearch checks a substringSearch setting given by a person
// or a client, and returns its attributes in canonical spelling and in
// the order of [SubstringAttributes].
func ParseSubstringSearch(names []string) ([]string, error) {
	seen := map[string]bool{}
	for _, n := range names {
		i := slices.IndexFunc(SubstringAttributes, func(a string) bool { return strings.EqualFold(a, strings.TrimSpace(n)) })
		if i < 0 {
			return nil, Errorf(InvalidValue, "substringSearch: %q cannot be searched by substring; the attributes that can are %s",
				n, strings.Join(SubstringAttributes, ", "))
		}
		seen[SubstringAttributes[i]] = true
	}
	out := []string{}
	for _, a := range SubstringAttributes {
		if seen[a] {
			out = append(out, a)
		}
	}
	return out, nil
}

// ParseUserNameFormat checks a userNameFormat given by a person or a client.
func ParseUserNameFormat(v string) (string, error) {
	switch v {
	case schemas.UserNameFormatEmail, schemas.UserNameFormatAny:
		return v, nil
	}
	return "", Errorf(InvalidValue, "userNameFormat %q: want %q (the userName is the customer's email address) or %q (any login; mail goes to the customer's emails)",
		v, schemas.UserNameFormatEmail, schemas.UserNameFormatAny)
}

// OnboardingPolicy is the organization's policy for customers created
// without passwordSetup, the default when it set none.
func (s OrgSettings) OnboardingPolicy() string {
	if s.Onboarding == "" {
		return DefaultOnboarding
	}
	return s.Onboarding
}

// UserNameRule is the organization's userNameFormat, the default when it
// set none.
func (s OrgSettings) UserNameRule() string {
	if s.UserNameFormat == "" {
		return schemas.UserNameFormatEmail
	}
	return s.UserNameFormat
}

type onboardingKey struct{}

// WithOnboarding returns ctx carrying the onboarding policy of the API
// token a request came with ("" leaves the organization's).
func WithOnboarding(ctx context.Context, policy string) context.Context {
	if policy == "" {
		return ctx
	}
	return context.WithValue(ctx, onboardingKey{}, policy)
}

// onboardingOverride is the policy [WithOnboarding] put in ctx, or "".
func onboardingOverride(ctx context.Context) string {
	s, _ := ctx.Value(onboardingKey{}).(string)
	return s
}

// orgSettings returns the organization's settings; without onboarding
// configured (some tests), the defaults.
func (u *Users) orgSettings(ctx context.Context, org string) (OrgSettings, error) {
	if u.onboarding == nil {
		return OrgSettings{}, nil
	}
	return u.onboarding.Store.OrgSettings(ctx, org)
}

// recentOrgSettings is orgSettings as read at most a few seconds ago (see
// [OnboardingStore]), for creations.
func (u *Users) recentOrgSettings(ctx context.Context, org string) (OrgSettings, error) {
	if u.onboarding == nil {
		return OrgSettings{}, nil
	}
	return u.onboarding.Store.RecentOrgSettings(ctx, org)
}

// checkUserName requires name to follow the organization's rule (format).
func checkUserName(name, format string) error {
	if format != schemas.UserNameFormatAny {
		return checkEmail(name)
	}
	if name == "" {
		return Errorf(InvalidValue, "attribute \"userName\" is required: the customer's login")
	}
	if p := anyUserNameProblem(name); p != "" {
		return Errorf(InvalidValue, "attribute \"userName\" %q %s", shorten(name), p)
	}
	return nil
}

// anyUserNameProblem says what is wrong with name, not empty, as a userName
// of an organization whose userNameFormat is "any", as a phrase, or "": an
// email address is fine, else loginProblem's rules apply.
func anyUserNameProblem(name string) string {
	if emailProblem(name) == "" {
		return ""
	}
	return loginProblem(name)
}

// loginProblem says what is wrong with name as a login of an organization
// whose userNameFormat is "any", as a phrase, or "": the rules of
// emailProblem's part before the @, applied to the whole name.
func loginProblem(name string) string {
	if len(name) > maxAddress {
		return fmt.Sprintf("is longer than %d bytes", maxAddress)
	}
	if strings.ContainsFunc(name, invisible) {
		return "holds an invisible or text-direction character"
	}
	if p := precisProblem(name); p != "" {
		return p
	}
	return scriptProblem(name)
}

// mailAddress is where mail to customer r goes: its userName when the
// organization's userNames are email addresses, else its emails (the
// primary one, else the work one, else the first); "" when it has none.
// loginUnlessAddress is r's userName when mail for r goes to another
// address, to (userNameFormat any): what its notices tell the customer they
// sign in with. "" when the userName is the address.
func loginUnlessAddress(r Resource, to string) string {
	if name := stringAttr(r.Attributes, "userName"); !strings.EqualFold(name, to) {
		return name
	}
	return ""
}

func mailAddress(r Resource, format string) string {
	if format != schemas.UserNameFormatAny {
		return stringAttr(r.Attributes, "userName")
	}
	list, _ := r.Attributes["emails"].([]any)
	var work, first string
	for _, v := range list {
		m, _ := v.(map[string]any)
		addr, _ := m["value"].(string)
		if addr == "" {
			continue
		}
		if m["primary"] == true {
			return addr
		}
		if t, _ := m["type"].(string); work == "" && strings.EqualFold(t, "work") {
			work = addr
		}
		if first == "" {
			first = addr
		}
	}
	if work != "" {
		return work
	}
	return first
}

// MailAddress is where mail to customer r of an organization whose
// userNameFormat is format goes, for the pages that show it: its userName
// under "email", else its primary email, else its work one, else its first;
// "" when it has none.
func MailAddress(r Resource, format string) string { return mailAddress(r, format) }

// errNoAddress is the answer to an invitation of a customer without an
// address to mail.
func errNoAddress(id string) error {
	who := "the customer"
	if id != "" {
		who = fmt.Sprintf("user %q", id)
	}
	return Errorf(InvalidValue, "%s has no email address to send an invitation to: add one to \"emails\" (the primary one is used, else the work one, else the first)", who)
}

// AccountState returns the onboarding state of an account: its accountState,
// or, while it is disabled, the state it has again once enabled
// (stateWhenEnabled). Whether it is disabled is "active" ([enabled]).
func AccountState(r Resource) string { return accountState(r) }

// stampAccountState writes state into attrs as the truth has it: accountState
// "disabled" (and state kept as stateWhenEnabled) while "active" is not
// true, else state itself.
func stampAccountState(attrs map[string]any, state string) {
	ext := subAttrs(attrs, schemas.CustomerUserURN, true)
	if active, _ := attrs["active"].(bool); !active {
		ext["accountState"] = schemas.AccountStateDisabled
		ext["stateWhenEnabled"] = state
		return
	}
	ext["accountState"] = state
	delete(ext, "stateWhenEnabled")
}

// UserNameFormat returns the organization's userNameFormat, for the
// documents that describe its rule (discovery, the console's form).
func (u *Users) UserNameFormat(ctx context.Context, org string) (string, error) {
	s, err := u.orgSettings(ctx, org)
	return s.UserNameRule(), err
}
