package resources

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

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

// CheckPasswordPolicy reports, without ever quoting the password, why it is not
// acceptable for the account userName (see [PasswordProblem]).
func CheckPasswordPolicy(password Secret, userName string) error {
	if problem := PasswordProblem(password, userName); problem != "" {
		return Errorf(InvalidValue, "attribute \"password\": %s", problem)
	}
	return nil
}

// PasswordProblem returns why password is not acceptable for the account
// userName, as the rest of a sentence about it ("must be at least 8
// characters long"), or "" when it is: between [MinPasswordLength] and
// [MaxPasswordLength] characters, not the email address or its local part,
// and not one of the most common passwords (ignoring case). It never quotes
// the password.
func PasswordProblem(password Secret, userName string) string {
	pw := password.Reveal()
	n := utf8.RuneCountInString(pw)
	local, _, _ := strings.Cut(userName, "@")
	switch {
	case n < MinPasswordLength:
		return fmt.Sprintf("must be at least %d characters long", MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Sprintf("must be at most %d characters long", MaxPasswordLength)
	case strings.EqualFold(pw, userName) || strings.EqualFold(pw, local):
		return "must not be the account's email address or its name part"
	case commonPasswords[strings.ToLower(pw)]:
		return "is too common: it is on the lists of passwords attackers try first"
	}
	return ""
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
