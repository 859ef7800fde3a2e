package resources

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Password policy limits. The maximum bounds the work a request can cause.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// MinPasswordScore is the least zxcvbn score (0 to 4) a password must reach:
// 3 means its guess estimate is at least 10^8 (zxcvbn: "safely unguessable:
// moderate protection from an offline slow-hash scenario"). Score 2 would
// accept a word and a year ("Summer2026", "Welcome2026"), the passwords that
// password spraying tries first; at 3 a random string needs 9 characters
// instead of 8, a small price.
const MinPasswordScore = 3

// strengthRunes bounds how much of a password zxcvbn rates: its cost grows
// faster than the length (a quarter of a second for 256 characters, about
// 10 ms for 64). A password whose first 64 characters are guessable is
// refused; one whose first 64 are not is strong whatever follows.
const strengthRunes = 64

// CheckPasswordPolicy reports, without ever quoting the password, why it is not
// acceptable for the account userName, also known by names (see
// [PasswordProblem]).
func CheckPasswordPolicy(password Secret, userName string, names ...string) error {
	if problem := PasswordProblem(password, userName, names...); problem != "" {
		return Errorf(InvalidValue, "attribute \"password\": %s", problem)
	}
	return nil
}

// PasswordProblem returns why password is not acceptable for the account
// userName, as the rest of a sentence about it ("must be at least 8
// characters long"), or "" when it is: the first of [PasswordProblems].
func PasswordProblem(password Secret, userName string, names ...string) string {
	if problems := PasswordProblems(password, userName, names...); len(problems) > 0 {
		return problems[0]
	}
	return ""
}

// PasswordProblems returns every reason password is not acceptable for the
// account userName, each the rest of a sentence about it ("must be at least
// 8 characters long"), or none when it is: between [MinPasswordLength] and
// [MaxPasswordLength] characters, valid UTF-8, not only white space, not the
// email address or its local part, and hard to guess: a zxcvbn score of at
// least [MinPasswordScore] (github.com/trustelem/zxcvbn, which knows the
// most common passwords, words, names, keyboard patterns, dates and
// repetitions; NIST SP 800-63B §5.1.1.2 asks that such passwords be
// refused). names are more of what the account is known by (first and last
// name): zxcvbn counts them as guessable too. A form shows them all at once,
// so that a customer does not fix one only to meet the next. "Too easy to
// guess" is left out when the password is only spaces or the address: that
// says why already. It never quotes the password.
func PasswordProblems(password Secret, userName string, names ...string) []string {
	pw := password.Reveal()
	n := utf8.RuneCountInString(pw)
	local, _, _ := strings.Cut(userName, "@")
	var problems []string
	switch {
	case n < MinPasswordLength:
		problems = append(problems, fmt.Sprintf("must be at least %d characters long", MinPasswordLength))
	case n > MaxPasswordLength:
		problems = append(problems, fmt.Sprintf("must be at most %d characters long", MaxPasswordLength))
	}
	valid := utf8.ValidString(pw)
	if !valid {
		problems = append(problems, "must be text (valid UTF-8)")
	}
	switch {
	case strings.TrimSpace(pw) == "":
		problems = append(problems, "must not be only spaces")
	case strings.EqualFold(pw, userName) || strings.EqualFold(pw, local):
		problems = append(problems, "must not be the account's email address or its name part")
	case valid && !strongEnough(pw, append([]string{userName, local}, names...)):
		problems = append(problems, "is too easy to guess: it is a common password, or a common pattern such as a word with a number or a year, "+
			"a keyboard row or a repetition. Choose a longer one, for example three or four unrelated words")
	}
	return problems
}

// strongEnough reports whether zxcvbn rates pw at least [MinPasswordScore],
// counting userInputs (the account's email, names) as guessable.
func strongEnough(pw string, userInputs []string) bool {
	if runes := []rune(pw); len(runes) > strengthRunes {
		pw = string(runes[:strengthRunes])
	}
	var inputs []string
	for _, in := range userInputs {
		if in = strings.TrimSpace(in); in != "" {
			inputs = append(inputs, strings.ToLower(in))
		}
	}
	return zxcvbn.PasswordStrength(pw, inputs).Score >= MinPasswordScore
}

// argonSlots bounds the argon2id runs under way in the process to one per
// CPU. Each holds argonMemoryKiB for tens of milliseconds and is CPU-bound,
// so more at once would not finish sooner: they would only add memory, and a
// flood of sign-ins from many addresses could exhaust it. It is a process
// resource, so the bound is one for the process, whatever calls hash.
var argonSlots = make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))

// argon2id runs argon2.IDKey in one of argonSlots, waiting for one if need be.
func argon2id(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	return argon2.IDKey(password, salt, time, memory, threads, keyLen)
}

// HashPassword returns the argon2id hash of password in PHC string format.
func HashPassword(password Secret) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+).
	key := argon2id([]byte(password.Reveal()), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// VerifyPassword reports whether password matches a hash made by HashPassword.
func VerifyPassword(hash string, password Secret) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false
	}
	if memory > argonMemoryKiB || time > 4*argonTime || threads > 4 {
		return false // not a hash this server made: refuse the work it asks for
	}
	got := argon2id([]byte(password.Reveal()), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// AccountPasswordProblems is [PasswordProblems] for the account u: its
// userName and the names it is known by, as setting its password checks
// them.
func AccountPasswordProblems(password Secret, u Resource) []string {
	return PasswordProblems(password, stringAttr(u.Attributes, "userName"), accountNames(u)...)
}
