package resources

// commonPasswords are frequent passwords of at least [MinPasswordLength]
// characters, in lower case, from published lists of leaked passwords
// (shorter ones fail the length rule anyway). Attackers try them first;
// NIST SP 800-63B §5.1.1.2 asks that such passwords be refused.
var commonPasswords = setOf(
	"password", "password1", "password12", "password123", "password1234", "password!", "password1!",
	"passw0rd", "p@ssw0rd", "p@ssword", "p@55w0rd", "pa$$word", "mypassword", "newpassword",
	"12345678", "123456789", "1234567890", "12345678910", "0123456789", "123123123", "123321123",
	"11111111", "00000000", "88888888", "55555555", "66666666", "77777777", "99999999", "1111111111",
	"87654321", "987654321", "9876543210", "0987654321", "11223344", "12341234", "12344321",
	"1234512345", "10203040", "147258369", "123654789", "159753456", "741852963", "147852369",
	"1q2w3e4r", "1q2w3e4r5t", "1q2w3e4r5t6y", "1qaz2wsx", "1qaz2wsx3edc", "q1w2e3r4", "q1w2e3r4t5",
	"zaq12wsx", "zaq1zaq1", "qazwsxedc", "qweasdzxc", "1234qwer", "qwer1234", "a1b2c3d4",
	"qwertyui", "qwertyuiop", "qwerty123", "qwerty12", "qwerty1234", "qwertyui1", "asdfghjk",
	"asdfghjkl", "asdf1234", "asdasdasd", "zxcvbnm1", "zxcvbnm123", "abcd1234", "abc12345",
	"abcdefgh", "abc123456", "aa123456", "123456aa", "iloveyou", "iloveyou1", "iloveyou2",
	"sunshine", "sunshine1", "princess", "princess1", "football", "football1", "baseball",
	"baseball1", "basketball", "superman", "starwars", "starwars1", "trustno1", "welcome1",
	"welcome123", "letmein1", "letmein123", "whatever", "computer", "internet", "michael1",
	"jennifer", "jordan23", "liverpool", "chelsea1", "arsenal1", "charlie1", "freedom1",
	"shadow12", "monkey123", "dragon123", "mustang1", "passport", "changeme", "changeme123",
	"default1", "administrator", "admin123", "admin1234", "adminadmin", "rootroot", "test1234",
	"testtest", "guest123", "hello123", "helloworld", "secret123", "summer2024", "summer2025",
	"winter2024", "winter2025", "spring2025", "autumn2024",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
