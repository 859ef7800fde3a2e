package resources

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// The userName of an account is its email address, and people tell accounts
// apart by reading it: two accounts whose names look alike must not both
// exist. The rule lives here, in one place, for the SCIM API, the console,
// self-registration and administrators' emails alike (checkEmail). It applies
// to names given from now on; stored ones are left as they are.
//
//   - Length as SMTP can carry it (RFC 5321 §4.5.3.1): at most 64 octets
//     before the @, 255 after, 254 in all (a path is at most 256 octets with
//     its angle brackets). It is checked before anything else looks at the
//     name, so that a long one costs nothing.
//   - No invisible characters and no text-direction controls (Unicode
//     default-ignorable code points, format characters, bidi controls,
//     join controls, variation selectors; controls): a name with U+200D or
//     U+202E shows as another name.
//   - The part before the @ is a PRECIS username (RFC 8265 §3.3,
//     UsernameCasePreserved, from golang.org/x/text): letters, digits and
//     ASCII punctuation, no spaces or symbols, the Bidi Rule, and it must be
//     given in the form PRECIS maps it to (NFC, no full-width letters), so
//     that one name has one spelling: "jöne" typed as o + U+0308 is refused
//     with the form to send instead, rather than becoming a second account.
//   - Its letters are of one script, or of Latin with Han, Hiragana,
//     Katakana, Bopomofo or Hangul as Chinese, Japanese and Korean names mix
//     them (UTS #39 §5.2 "Highly Restrictive"): "jаne" with a Cyrillic а is
//     refused. A name all in Cyrillic or Greek letters that each look like a
//     Latin one ("јаnе") is refused too (a whole-script look-alike, UTS #39
//     §4). Non-Latin names stay possible: refusing every non-ASCII letter
//     would lock out the customers whose addresses are in their own script
//     (RFC 6531 mail), which providers do issue.
//   - The domain is ASCII: letters, digits and hyphens in dot-separated
//     labels of at most 63 (RFC 1035 §2.3.1), at least two labels; an
//     internationalized domain is given in its xn-- form (RFC 5890). Domain
//     look-alikes are then impossible, and no IDNA library is needed; the
//     cost is that a customer of an internationalized domain types its
//     xn-- form, which few mail systems make them do anyway.

// Lengths of RFC 5321 §4.5.3.1.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxAddress   = 254
)

// checkEmail requires name to be an email address an account may be called
// by (see above).
func checkEmail(name string) error {
	if name == "" {
		return Errorf(InvalidValue, "attribute \"userName\" is required: the customer's email address")
	}
	if p := emailProblem(name); p != "" {
		return Errorf(InvalidValue, "attribute \"userName\" must be an email address such as jane@example.com; %q %s", shorten(name), p)
	}
	return nil
}

// emailProblem says what is wrong with name as an account's email address,
// as a phrase that follows the address ("is longer than ..."), or "".
func emailProblem(name string) string {
	if len(name) > maxAddress {
		return fmt.Sprintf("is longer than %d bytes", maxAddress)
	}
	if strings.ContainsFunc(name, invisible) {
		return "holds an invisible or text-direction character"
	}
	at := strings.LastIndexByte(name, '@')
	if at < 0 {
		return "has no @"
	}
	local, domain := name[:at], name[at+1:]
	switch {
	case len(local) > maxLocalPart:
		return fmt.Sprintf("has more than %d bytes before the @", maxLocalPart)
	case len(domain) > maxDomain:
		return fmt.Sprintf("has more than %d bytes after the @", maxDomain)
	}
	if !dotAtom(local) || !dotAtom(domain) {
		if addr, err := mail.ParseAddress(name); err != nil || addr.Address != name {
			return "is not a plain address (no display name, angle brackets or quotes)"
		}
	}
	if p := domainProblem(domain); p != "" {
		return p
	}
	enforced, err := precisUsername(local)
	switch {
	case err != nil:
		return "has a character before the @ that an address may not have (a space, a symbol or an emoji, or a mix of left-to-right and right-to-left letters)"
	case enforced != local:
		return fmt.Sprintf("is not in its usual Unicode form (NFC, no full-width letters): send it as %q", enforced+"@"+domain)
	}
	return scriptProblem(local)
}

// dotAtom reports whether s is an RFC 5322 dot-atom of ASCII (§3.2.3):
// atext in runs separated by single dots. mail.ParseAddress takes
// local@domain whole, as its Address, when both are: checking that here
// first spares its allocations on nearly every address, and leaves it
// the rest (quotes, comments, display names, non-ASCII).
// TestDotAtomAddress checks it against ParseAddress.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// precisProblem checks a whole login against the PRECIS username rules
// (RFC 8265 §3.3), as emailProblem checks the part before the @.
func precisProblem(name string) string {
	enforced, err := precisUsername(name)
	switch {
	case err != nil:
		return "has a character a login may not have (a space, a symbol or an emoji, or a mix of left-to-right and right-to-left letters)"
	case enforced != name:
		return fmt.Sprintf("is not in its usual Unicode form (NFC, no full-width letters): send it as %q", enforced)
	}
	return ""
}

// precisUsername enforces the PRECIS UsernameCasePreserved profile (RFC
// 8265 §3.3) on s. Printable ASCII, nearly every address, is left as it is
// by the profile (IdentifierClass allows it, width mapping and NFC do not
// change it, and the Bidi Rule concerns right-to-left text only), so it is
// returned at once: the profile copies the name into new buffers, two
// allocations on every creation (TestPrecisUsernameASCII compares both).
func precisUsername(s string) (string, error) {
	if s != "" && printableASCII(s) {
		return s, nil
	}
	return precis.UsernameCasePreserved.String(s)
}

// printableASCII reports whether s holds only ASCII from '!' to '~'.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// invisible reports a character that does not show, or that changes how the
// characters around it show: controls, format characters (U+200D, U+202E,
// U+FEFF ...), default-ignorable code points and variation selectors.
func invisible(r rune) bool {
	if r < utf8.RuneSelf {
		// ASCII, nearly every address: of invisibleClasses it holds only
		// the controls. Looking each character up in six tables was half
		// of emailProblem's time (1.8 against 0.9 µs an address).
		return r < 0x20 || r == 0x7f
	}
	return invisibleClasses(r)
}

// invisibleClasses is invisible's rule: the Unicode classes of characters
// that do not show.
func invisibleClasses(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Bidi_Control, unicode.Join_Control,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point, unicode.Noncharacter_Code_Point) ||
		r == utf8.RuneError
}

// domainProblem checks a domain: ASCII labels of letters, digits and inner
// hyphens, 1 to 63 characters each, two at least.
func domainProblem(domain string) string {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "has no dot in its domain"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "has a domain that is not a host name (labels of 1 to 63 letters, digits and inner hyphens)"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if c >= utf8.RuneSelf {
				return "has a domain that is not ASCII: give an internationalized domain in its xn-- form"
			}
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "has a domain that is not a host name (labels of 1 to 63 letters, digits and inner hyphens)"
			}
		}
	}
	return ""
}

// scriptSets are the sets of scripts a name may mix (UTS #39 §5.2 "Highly
// Restrictive"); a name of one script is always fine.
var scriptSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// scriptProblem refuses a part before the @ that mixes scripts, or that is
// all in Cyrillic or Greek letters that look Latin.
func scriptProblem(local string) string {
	var scripts []string
	for _, r := range local {
		if s := scriptOf(r); s != "" && !slices.Contains(scripts, s) {
			scripts = append(scripts, s)
		}
	}
	if len(scripts) > 1 && !allowedMix(scripts) {
		return fmt.Sprintf("mixes letters of the %s scripts before the @, as look-alike addresses do", strings.Join(scripts, " and "))
	}
	if len(scripts) == 1 && (scripts[0] == "Cyrillic" || scripts[0] == "Greek") &&
		!strings.ContainsFunc(local, func(r rune) bool { return unicode.IsLetter(r) && !strings.ContainsRune(latinLookAlikes, r) }) {
		return fmt.Sprintf("is written in %s letters that all look like Latin ones, as look-alike addresses are", scripts[0])
	}
	return ""
}

// scriptOf returns the Unicode script of a letter or digit, or "" for a
// character every script shares (ASCII digits and punctuation, combining
// marks).
func scriptOf(r rune) string {
	switch {
	case r < utf8.RuneSelf && unicode.IsLetter(r):
		return "Latin"
	case r < utf8.RuneSelf || unicode.In(r, unicode.Common, unicode.Inherited):
		return ""
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// allowedMix reports whether scripts are all of one of scriptSets.
func allowedMix(scripts []string) bool {
	for _, set := range scriptSets {
		if !slices.ContainsFunc(scripts, func(s string) bool { return !slices.Contains(set, s) }) {
			return true
		}
	}
	return false
}

// latinLookAlikes are the Cyrillic and Greek letters that look like Latin
// letters in common fonts (from Unicode's confusables.txt, lower and upper
// case).
const latinLookAlikes = "аеорсухіјѕԁһԛԝүӏАВЕКМНОРСТХІЈЅԌҮ" + // Cyrillic
	"αοριυνκτχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ" // Greek

// shorten cuts a long value for an error detail.
func shorten(s string) string {
	if len(s) <= 80 {
		return s
	}
	cut := 77
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
