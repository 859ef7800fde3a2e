package resources

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The organization's own administration, as owners do it in the console:
// its settings, its API tokens and its audit trail. The console calls these,
// never the store.

// MaxOrgDisplayNameLength bounds an organization's display name.
const MaxOrgDisplayNameLength = 100

// MaxAuditPage is the most audit trail entries one call returns.
const MaxAuditPage = 200

// auditScanLimit bounds how many entries one filtered audit call reads
// before it returns what it found, so that a filter matching nothing costs
// a bounded amount of work.
const auditScanLimit = 5000

// ValidateOrgName is the one rule of an organization's name: 1 to 64
// letters, digits, '.', '_' or '-', not only dots. It appears in URL paths
// (/t/{org}/...), where "." and ".." would be cleaned away, and in Redis
// keys, where braces would break the hash tag. The store refuses any other
// name, and the HTTP layer answers a path naming one as it answers an
// unknown organization.
func ValidateOrgName(name string) error {
	if !plainName(name) || strings.Trim(name, ".") == "" {
		return Errorf(InvalidValue, "invalid organization name %q: use 1 to %d letters, digits, '.', '_' or '-', not only dots", name, maxNameLen)
	}
	return nil
}

// OrgStore is what [Orgs] needs from the store.
type OrgStore interface {
	// OrgExists reports whether the organization was created.
	OrgExists(ctx context.Context, org string) (bool, error)
	// OrgSettings returns the organization's settings.
	OrgSettings(ctx context.Context, org string) (OrgSettings, error)
	// SetSelfRegistration turns self-registration on or off; it reports
	// whether the setting changed (audited only then).
	SetSelfRegistration(ctx context.Context, org string, on bool) (bool, error)
	// SetOrgDisplayName sets the organization's display name ("" clears
	// it), audited.
	SetOrgDisplayName(ctx context.Context, org, name string) error
	// SetOnboarding sets the onboarding policy ([ParseOnboarding]); it
	// reports whether the setting changed (audited only then).
	SetOnboarding(ctx context.Context, org, policy string) (bool, error)
	// SetUserNameFormat sets the userNameFormat ([ParseUserNameFormat]); it
	// reports whether the setting changed (audited only then).
	SetUserNameFormat(ctx context.Context, org, format string) (bool, error)
	// SetSubstringSearch sets the attributes searched by substring from
	// trigram indexes ([ParseSubstringSearch]; none turns it off) and
	// writes or removes the existing customers' entries for a bounded time,
	// the rest staying pending ([OrgSettings].SubstringPending); it reports
	// whether the setting changed (audited only then).
	SetSubstringSearch(ctx context.Context, org string, attrs []string) (bool, error)
	// CreateToken stores a new token; [Uniqueness] if its name is taken.
	CreateToken(ctx context.Context, t Token) error
	// ListTokens returns the organization's tokens, by name.
	ListTokens(ctx context.Context, org string) ([]Token, error)
	// RevokeToken deletes a token by name; [NotFound] if there is none.
	RevokeToken(ctx context.Context, org, name string) error
	// ChangesBefore returns up to count change log entries older than the
	// entry before (Seq; "" for the newest), newest first.
	ChangesBefore(ctx context.Context, org, before string, count int64) ([]Change, error)
}

// Orgs is the domain service of an organization's settings, tokens and
// audit trail. Every method takes the acting administrator and refuses
// anyone but an owner.
type Orgs struct {
	store OrgStore
}

// NewOrgs returns the organizations' service.
func NewOrgs(store OrgStore) *Orgs { return &Orgs{store: store} }

// Exists reports whether org is an organization (was created).
func (o *Orgs) Exists(ctx context.Context, org string) (bool, error) {
	return o.store.OrgExists(ctx, org)
}

// Settings returns the organization's settings; any administrator may read
// them (the console shows the organization's name to all).
func (o *Orgs) Settings(ctx context.Context, org string) (OrgSettings, error) {
	return o.store.OrgSettings(ctx, org)
}

// SetSelfRegistration turns self-registration on or off.
func (o *Orgs) SetSelfRegistration(ctx context.Context, org string, actor Admin, on bool) error {
	if err := requireOwner(actor, "change the organization's settings"); err != nil {
		return err
	}
	_, err := o.store.SetSelfRegistration(ctx, org, on)
	return err
}

// SetOnboarding sets the organization's onboarding policy for customers
// created without passwordSetup ([OnboardingInvite], [OnboardingNone]).
func (o *Orgs) SetOnboarding(ctx context.Context, org string, actor Admin, policy string) error {
	if err := requireOwner(actor, "change the organization's settings"); err != nil {
		return err
	}
	if _, err := ParseOnboarding(policy); err != nil {
		return err
	}
	_, err := o.store.SetOnboarding(ctx, org, policy)
	return err
}

// SetUserNameFormat sets the rule of the organization's userNames
// (schemas.UserNameFormatEmail or schemas.UserNameFormatAny); stored
// userNames stay as they are.
func (o *Orgs) SetUserNameFormat(ctx context.Context, org string, actor Admin, format string) error {
	if err := requireOwner(actor, "change the organization's settings"); err != nil {
		return err
	}
	if _, err := ParseUserNameFormat(format); err != nil {
		return err
	}
	_, err := o.store.SetUserNameFormat(ctx, org, format)
	return err
}

// SetSubstringSearch sets the User attributes whose co and ew filters the
// organization answers from trigram indexes ([SubstringAttributes]; none
// turns it off), as the settings API and `scimd org set` do. It returns once
// the existing customers' entries are written or removed, or after a
// bounded time with the rest pending: read [OrgSettings].SubstringPending.
func (o *Orgs) SetSubstringSearch(ctx context.Context, org string, actor Admin, attrs []string) error {
	if err := requireOwner(actor, "change the organization's settings"); err != nil {
		return err
	}
	if _, err := ParseSubstringSearch(attrs); err != nil {
		return err
	}
	_, err := o.store.SetSubstringSearch(ctx, org, attrs)
	return err
}

// SettingsChange is a change of several of an organization's settings in
// one write: the settings given (non-nil; substringSearch when
// HasSubstring) change together, or none does.
type SettingsChange struct {
	Onboarding, UserNameFormat *string
	SubstringSearch            []string
	HasSubstring               bool
}

// SetDisplayName sets the name the console and the customer pages show for
// the organization.
func (o *Orgs) SetDisplayName(ctx context.Context, org string, actor Admin, name string) error {
	if err := requireOwner(actor, "change the organization's settings"); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if err := CheckOrgDisplayName(name); err != nil {
		return err
	}
	return o.store.SetOrgDisplayName(ctx, org, name)
}

// CheckOrgDisplayName checks the name an organization is shown by (spaces
// around it trimmed): at most [MaxOrgDisplayNameLength] characters of
// text, no control characters.
func CheckOrgDisplayName(name string) error {
	if utf8.RuneCountInString(name) > MaxOrgDisplayNameLength {
		return Errorf(InvalidValue, "the organization's name is at most %d characters", MaxOrgDisplayNameLength)
	}
	if !utf8.ValidString(name) {
		return Errorf(InvalidValue, "the organization's name is not valid text (UTF-8)")
	}
	// Bidirectional overrides too: the name is shown in pages and mail,
	// where one could make it read as another.
	if strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) {
		return Errorf(InvalidValue, "the organization's name cannot contain control characters (line breaks, direction overrides)")
	}
	return nil
}

// CreateToken creates an API token with role and returns its secret, which
// is shown this once. onboarding, when not "", overrides the organization's
// onboarding policy for the customers the token creates.
func (o *Orgs) CreateToken(ctx context.Context, org string, actor Admin, name string, role Role, onboarding string) (Secret, error) {
	if err := requireOwner(actor, "manage API tokens"); err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if err := ValidateTokenName(name); err != nil {
		return "", err
	}
	if !role.Valid() {
		return "", Errorf(InvalidValue, "role %q: want owner, collaborator or reader", role)
	}
	if onboarding != "" {
		if _, err := ParseOnboarding(onboarding); err != nil {
			return "", err
		}
	}
	secret := NewTokenSecret(org)
	t := NewToken(org, name, role, secret, time.Now().UTC())
	t.Onboarding = onboarding
	if err := o.store.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}

// Tokens returns the organization's API tokens (their hashes cleared).
func (o *Orgs) Tokens(ctx context.Context, org string, actor Admin) ([]Token, error) {
	if err := requireOwner(actor, "manage API tokens"); err != nil {
		return nil, err
	}
	ts, err := o.store.ListTokens(ctx, org)
	for i := range ts {
		ts[i].Hash = ""
		if p := ts[i].Previous; p != nil {
			p.Hash = ""
		}
	}
	return ts, err
}

// RevokeToken revokes an API token by name.
func (o *Orgs) RevokeToken(ctx context.Context, org string, actor Admin, name string) error {
	if err := requireOwner(actor, "manage API tokens"); err != nil {
		return err
	}
	return o.store.RevokeToken(ctx, org, name)
}

// AuditFilter narrows the audit trail: entries whose actor is Who and whose
// resource type is Type (and id ResourceID), each "" for any.
type AuditFilter struct {
	Who, Type, ResourceID string
}

func (f AuditFilter) match(c Change) bool {
	return (f.Who == "" || c.Who == f.Who) && (f.Type == "" || c.Type == f.Type) &&
		(f.ResourceID == "" || c.ResourceID == f.ResourceID)
}

// Audit returns up to count entries of the audit trail older than before
// ("" for the newest) that match f, newest first, and the Seq to pass as
// before for the next page ("" when the trail has no more). A filtered call
// reads at most a few thousand entries: it may return fewer than count with
// a next Seq to continue from.
func (o *Orgs) Audit(ctx context.Context, org string, actor Admin, f AuditFilter, before string, count int) ([]Change, string, error) {
	if err := requireOwner(actor, "read the audit trail"); err != nil {
		return nil, "", err
	}
	count = min(max(count, 1), MaxAuditPage)
	var out []Change
	read := 0
	for read < auditScanLimit {
		batch, err := o.store.ChangesBefore(ctx, org, before, int64(count))
		if err != nil {
			return nil, "", err
		}
		for i, c := range batch {
			if f.match(c) {
				out = append(out, c)
				if len(out) == count {
					next := c.Seq
					if i == len(batch)-1 && len(batch) < count {
						next = ""
					}
					return out, next, nil
				}
			}
		}
		read += len(batch)
		if len(batch) < count {
			return out, "", nil
		}
		before = batch[len(batch)-1].Seq
	}
	return out, before, nil
}
