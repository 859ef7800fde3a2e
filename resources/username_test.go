package resources

import (
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"

	"github.com/scimd/scimd/schemas"
)

// TestEmailProblem: the rule for the email address an account is called by.
func TestEmailProblem(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, c := range []struct {
		name, email, problem string // problem "" when accepted
	}{
		{"plain", "jane@example.com", ""},
		{"tag and punctuation", "jane.doe+news!#$%&'*/=?^_`{|}~-@example.com", ""},
		{"letter case kept", "Jane.Doe@Example.COM", ""},
		{"Latin with diacritics", "jöne@example.com", ""},
		{"Cyrillic", "иван@example.ru", ""},
		{"Greek", "γιάννης@example.gr", ""},
		{"Japanese", "山田たろう@example.jp", ""},
		{"Latin and Han", "yamada山田@example.jp", ""},
		{"punycode domain", "jane@xn--bcher-kva.de", ""},
		{"64 bytes before the @", long(64) + "@example.com", ""},
		{"254 bytes", long(64) + "@" + long(63) + "." + long(63) + "." + long(58) + ".de", ""},

		{"zero width joiner", "ja\u200dne@example.com", "invisible"},
		{"right-to-left override", "jane\u202e@example.com", "invisible"},
		{"zero width space", "ja\u200bne@example.com", "invisible"},
		{"byte order mark", "\ufeffjane@example.com", "invisible"},
		{"soft hyphen", "ja\u00adne@example.com", "invisible"},
		{"variation selector", "jane\ufe0f@example.com", "invisible"},
		{"control", "ja\x01ne@example.com", "invisible"},
		{"not UTF-8", "ja\xffne@example.com", "invisible"},
		{"one Cyrillic a", "j\u0430ne@example.com", "mixes letters of the Latin and Cyrillic scripts"},
		{"one Greek o", "j\u03bfhn@example.com", "mixes letters of the Latin and Greek scripts"},
		{"Cyrillic look-alike of Latin", "\u0458\u0430\u0455\u043e\u0440@example.com", "Cyrillic letters that all look like Latin"},
		{"decomposed", "jo\u0308ne@example.com", `send it as "jöne@example.com"`},
		{"full-width", "ｊane@example.com", `send it as "jane@example.com"`},
		{"emoji", "jane😀@example.com", "a space, a symbol or an emoji"},
		{"quoted space", `"jane doe"@example.com`, "not a plain address"},
		{"65 bytes before the @", long(65) + "@example.com", "more than 64 bytes before the @"},
		{"255 bytes", long(64) + "@" + long(63) + "." + long(63) + "." + long(59) + ".de", "longer than 254 bytes"},
		{"60,000 characters", long(60000) + "@example.com", "longer than 254 bytes"},
		{"Unicode domain", "jane@bücher.de", "xn-- form"},
		{"Cyrillic in the domain", "jane@ex\u0430mple.com", "xn-- form"},
		{"no dot in the domain", "jane@localhost", "no dot"},
		{"hyphen at a label's end", "jane@example-.com", "not a host name"},
		{"underscore in the domain", "jane@ex_ample.com", "not a host name"},
		{"display name", "Jane <jane@example.com>", "not a plain address"},
		{"no @", "jane.example.com", "no @"},
		{"two @", "jane@doe@example.com", "not a plain address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := emailProblem(c.email)
			if c.problem == "" && got != "" || !strings.Contains(got, c.problem) {
				t.Errorf("emailProblem(%q) = %q, want %q", shorten(c.email), got, c.problem)
			}
			if c.problem != "" && got == "" {
				t.Errorf("emailProblem(%q) accepts it, want %q", shorten(c.email), c.problem)
			}
		})
	}
}

// TestRegistrationEmailRule: self-registration says what is wrong with the
// address, by the same rule.
func TestRegistrationEmailRule(t *testing.T) {
	p := CheckRegistration(Registration{Email: "j\u0430ne@example.com", GivenName: "Jane", FamilyName: "Doe", Password: "blue-kettle-river-42"}, schemas.UserNameFormatEmail)
	if got := p["email"]; !strings.Contains(got, "Latin and Cyrillic") {
		t.Errorf("CheckRegistration email problem = %q, want it to name the mixed scripts", got)
	}
}

// TestRegistrationUserNameRule: where userNames are logins (userNameFormat
// "any"), the registration form's username follows the API's rule and the
// email is still required; under "email" the username is not asked for.
func TestRegistrationUserNameRule(t *testing.T) {
	const pw = "blue-kettle-river-42"
	for _, c := range []struct {
		name, format, userName, email string
		want                          map[string]string // field: a phrase its problem holds
	}{
		{"login", schemas.UserNameFormatAny, "EMP-001", "jane@example.com", nil},
		{"address as login", schemas.UserNameFormatAny, "jane@example.com", "jane@example.com", nil},
		{"no username", schemas.UserNameFormatAny, " ", "jane@example.com", map[string]string{"userName": "Choose a username"}},
		{"space", schemas.UserNameFormatAny, "EMP 002", "jane@example.com", map[string]string{"userName": "a space"}},
		{"mixed scripts", schemas.UserNameFormatAny, "j\u0430ne", "jane@example.com", map[string]string{"userName": "mixes letters"}},
		{"no email", schemas.UserNameFormatAny, "EMP-001", "", map[string]string{"email": "Enter your email address"}},
		{"bad email", schemas.UserNameFormatAny, "EMP-001", "jane", map[string]string{"email": "has no @"}},
		{"password is the username", schemas.UserNameFormatAny, "blue-kettle-river-42", "jane@example.com", map[string]string{"password": "must not be"}},
		{"email ignores the username", schemas.UserNameFormatEmail, "EMP 002", "jane@example.com", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := CheckRegistration(Registration{UserName: c.userName, Email: c.email, GivenName: "Jane", FamilyName: "Doe", Password: pw}, c.format)
			if len(got) != len(c.want) {
				t.Fatalf("CheckRegistration(%q, %q) = %v, want problems of %v", c.userName, c.email, got, c.want)
			}
			for field, phrase := range c.want {
				if !strings.Contains(got[field], phrase) {
					t.Errorf("CheckRegistration(%q, %q)[%s] = %q, want it to hold %q", c.userName, c.email, field, got[field], phrase)
				}
			}
		})
	}
}

// TestInvisibleASCII checks invisible's ASCII shortcut against the classes
// it stands for.
func TestInvisibleASCII(t *testing.T) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		if got, want := invisible(r), invisibleClasses(r); got != want {
			t.Errorf("invisible(%U) = %v, invisibleClasses = %v", r, got, want)
		}
	}
}

// TestPrecisUsernameASCII: precisUsername's shortcut for printable ASCII
// answers as the PRECIS profile does, for every string of one and two ASCII
// characters and for longer ones that start or end with each.
func TestPrecisUsernameASCII(t *testing.T) {
	var inputs []string
	for a := range 0x80 {
		inputs = append(inputs, string(rune(a)), string(rune(a))+"jane", "jane"+string(rune(a)), "1"+string(rune(a))+"-")
		for b := range 0x80 {
			inputs = append(inputs, string([]byte{byte(a), byte(b)}))
		}
	}
	inputs = append(inputs, "", "Ada.Lovelace", "jane.doe+news!#$%&'*/=?^_`{|}~-", "0123", "-.-")
	for _, s := range inputs {
		got, gotErr := precisUsername(s)
		want, wantErr := precis.UsernameCasePreserved.String(s)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("precisUsername(%q) = %q, %v; the profile gives %q, %v", s, got, gotErr, want, wantErr)
		}
	}
}

// TestDotAtomAddress: what dotAtom lets emailProblem take as a plain
// address without mail.ParseAddress, ParseAddress takes whole too, for
// every string of up to five characters of an alphabet of the characters
// that matter (atext, dots, @, quotes, spaces, parentheses, angle
// brackets, non-ASCII) and for each ASCII character in an address.
func TestDotAtomAddress(t *testing.T) {
	check := func(name string) {
		at := strings.LastIndexByte(name, '@')
		if at < 0 || !dotAtom(name[:at]) || !dotAtom(name[at+1:]) {
			return
		}
		if addr, err := mail.ParseAddress(name); err != nil || addr.Address != name {
			t.Errorf("dotAtom takes %q as a plain address; mail.ParseAddress: %v, %v", name, addr, err)
		}
	}
	alphabet := []string{"a", "Z", "0", ".", "@", "!", "~", "-", `"`, " ", "(", ")", "<", ">", ",", "é", `\`}
	var walk func(prefix string, n int)
	walk = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			walk(prefix+c, n-1)
		}
	}
	walk("", 5)
	for c := range 0x80 {
		for _, f := range []string{"%sjane@example.com", "ja%sne@example.com", "jane%s@example.com", "jane@ex%sample.com", "jane@example.com%s"} {
			check(fmt.Sprintf(f, string(rune(c))))
		}
	}
}
