package resources

import (
	"strings"
	"testing"
)

func TestPasswordProblem(t *testing.T) {
	const email = "jane.doe@example.com"
	cases := []struct {
		password string
		names    []string
		want     string // part of the problem; "" for an acceptable password
	}{
		// Length, white space, the account's own address.
		{"Ab1-xyz", nil, "at least 8 characters"},
		{strings.Repeat("Ab1-", 65), nil, "at most 256 characters"},
		{"        ", nil, "only spaces"},
		{"\t\t\t\t \t\t\t\t", nil, "only spaces"},
		{"Jane.Doe@Example.com", nil, "email address"},
		{"JANE.DOE", nil, "email address"},
		{"jane.doe\xff\xfe\xfd", nil, "valid UTF-8"},
		// Common passwords and patterns (a security review found these accepted).
		{"aaaaaaaa", nil, "too easy to guess"},
		{"password2", nil, "too easy to guess"},
		{"qwerty123456", nil, "too easy to guess"},
		{"Qwerty123!", nil, "too easy to guess"},
		{"Welcome2026", nil, "too easy to guess"},
		{"Summer2026", nil, "too easy to guess"},
		{"Summer2026!", nil, "too easy to guess"},
		{"iloveyou123", nil, "too easy to guess"},
		{"123456789a", nil, "too easy to guess"},
		{"Password01", nil, "too easy to guess"},
		{"P@ssw0rd2024", nil, "too easy to guess"},
		{"monkey12", nil, "too easy to guess"},
		{"00000001", nil, "too easy to guess"},
		{"password123", nil, "too easy to guess"},
		{"1q2w3e4r5t", nil, "too easy to guess"},
		{"jane.doe2024!", nil, "too easy to guess"},
		// Built from the customer's own names: guessable for this account.
		{"NewmanNora!", []string{"Nora", "Newman"}, "too easy to guess"},
		{"NewmanNora!", nil, ""}, // the same password for someone else
		// Past the 64 characters rated, nothing rescues a guessable start.
		{strings.Repeat("a", 64) + "x7#kQ9mPz!", nil, "too easy to guess"},
		// Acceptable: passphrases, and random strings of 9 characters or more.
		{"correct horse battery staple", nil, ""},
		{"blue-kettle-river", nil, ""},
		{"Chosen-Pass-2024!", nil, ""},
		{"a-temporary-Passw0rd", nil, ""},
		{"Tigers!Roar42", nil, ""},
		{"x7#kQ9mPz", nil, ""},
		{"Grüße-aus-Köln-7", nil, ""},
		{strings.Repeat("correct horse battery staple ", 9)[:256], nil, ""},
	}
	for _, c := range cases {
		t.Run(c.password, func(t *testing.T) {
			got := PasswordProblem(Secret(c.password), email, c.names...)
			switch {
			case c.want == "" && got != "":
				t.Errorf("PasswordProblem(%q) = %q, want acceptable", c.password, got)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Errorf("PasswordProblem(%q) = %q, want a problem mentioning %q", c.password, got, c.want)
			}
			if strings.TrimSpace(c.password) != "" && strings.Contains(got, c.password) {
				t.Errorf("PasswordProblem(%q) = %q: it quotes the password", c.password, got)
			}
		})
	}
}

func TestCheckPasswordPolicyError(t *testing.T) {
	err := CheckPasswordPolicy("Welcome2026", "jane@example.com")
	if ErrorCode(err) != InvalidValue || !strings.Contains(err.Error(), `"password"`) ||
		!strings.Contains(err.Error(), "unrelated words") || strings.Contains(err.Error(), "Welcome2026") {
		t.Errorf("CheckPasswordPolicy(Welcome2026) = %v, want InvalidValue naming the attribute and what to do, not the password", err)
	}
	if err := CheckPasswordPolicy("correct horse battery staple", "jane@example.com"); err != nil {
		t.Errorf("CheckPasswordPolicy(passphrase) = %v, want nil", err)
	}
}

func TestPasswordProblems(t *testing.T) {
	const email = "jane.doe@example.com"
	cases := []struct {
		password string
		want     []string // parts of each problem, in order
	}{
		{"abc", []string{"at least 8 characters", "too easy to guess"}},
		{"x7#kQ9m", []string{"at least 8 characters", "too easy to guess"}},
		{"    ", []string{"at least 8 characters", "only spaces"}},
		{"jane", []string{"at least 8 characters", "too easy to guess"}},
		{"jane.doe", []string{"email address"}},
		{"Summer2026", []string{"too easy to guess"}},
		{"correct horse battery staple", nil},
	}
	for _, c := range cases {
		t.Run(c.password, func(t *testing.T) {
			got := PasswordProblems(Secret(c.password), email)
			if len(got) != len(c.want) {
				t.Fatalf("PasswordProblems(%q) = %q, want %d problems mentioning %q", c.password, got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("PasswordProblems(%q)[%d] = %q, want it to mention %q", c.password, i, got[i], w)
				}
			}
			if first := PasswordProblem(Secret(c.password), email); len(got) > 0 && first != got[0] {
				t.Errorf("PasswordProblem(%q) = %q, want the first of PasswordProblems, %q", c.password, first, got[0])
			}
		})
	}
}

// TestAccountPasswordProblemsEmails: where the userName is not the email
// address (userNameFormat any), a password built from the account's email
// address is refused as one built from its name is.
func TestAccountPasswordProblemsEmails(t *testing.T) {
	const email = "sam.jones.works@example.org"
	u := Resource{Attributes: map[string]any{
		"userName": "emp-20417",
		"emails":   []any{map[string]any{"value": email, "type": "work"}},
	}}
	if p := AccountPasswordProblems(Secret(email), u); len(p) == 0 {
		t.Errorf("the account's email address as its password: no problem, want it refused")
	}
	if p := AccountPasswordProblems(Secret(email), Resource{Attributes: map[string]any{"userName": "emp-20417"}}); len(p) != 0 {
		t.Errorf("the same password on an account without that address: %v, want none (the test's password must be strong on its own)", p)
	}
}
