package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mail"
)

// Config is scimd's configuration, read once by run from flags and the
// environment. Each field is one row of [settings], which says where it is
// read from, its default, what a valid value is and how it is described.
type Config struct {
	Addr             string
	RedisURL         RedisURL
	BaseURL          string
	BootstrapToken   resources.Secret
	SelfRegistration string
	OwnerEmail       string
	LogLevel         string
	MaxBodyBytes     int64
	ShutdownTimeout  time.Duration
	DebugAddr        string

	SMTPHost     string
	SMTPPort     int
	SMTPTLS      string
	SMTPStartTLS string
	SMTPUsername string
	SMTPPassword resources.Secret
	MailFrom     string
	MailOutbox   string
	InviteTTL    time.Duration

	AuthFailureLimit  int
	TokenRate         float64
	TokenBurst        int
	PublicRate        float64
	TrustForwardedFor bool

	RedisWaitReplica time.Duration
}

// defaultOwnerEmail is the default organization's first console owner when
// SCIM_OWNER_EMAIL is unset: a placeholder address for a first try, whose
// owner invites the real administrators.
const defaultOwnerEmail = "owner@example.com"

// The values of SCIM_SMTP_TLS.
const (
	smtpTLSStartTLS = "starttls" // plain connection, upgraded as SCIM_SMTP_STARTTLS says (RFC 3207)
	smtpTLSImplicit = "implicit" // TLS from the first byte (RFC 8314 §3.3)
)

// mailWarnings are the mail settings' problems that do not stop scimd but
// will bite: said at start.
func (c Config) mailWarnings() []string {
	if c.SMTPHost == "" {
		return nil
	}
	var w []string
	if c.BaseURL == "" {
		w = append(w, fmt.Sprintf("%s is set but %s is not: the links in mail point at this server's listen address (localhost), which recipients cannot open; set %s to the public URL",
			nameOf(&c, &c.SMTPHost), nameOf(&c, &c.BaseURL), nameOf(&c, &c.BaseURL)))
	}
	if c.SMTPPort == 465 && c.SMTPTLS != smtpTLSImplicit {
		w = append(w, fmt.Sprintf("%s is 465, where servers expect TLS from the first byte: set %s to implicit",
			nameOf(&c, &c.SMTPPort), nameOf(&c, &c.SMTPTLS)))
	}
	return w
}

// defaultOutbox is the outbox directory when SCIM_MAIL_OUTBOX is unset:
// scimd-outbox in $TMPDIR (else the system's temporary directory).
func defaultOutbox(getenv func(string) string) string {
	tmp := getenv("TMPDIR")
	if tmp == "" {
		tmp = os.TempDir()
	}
	return filepath.Join(tmp, "scimd-outbox")
}

// defaultMailFrom is the sender of outbox mail when SCIM_MAIL_FROM is unset.
const defaultMailFrom = "scimd <no-reply@localhost>"

// settingGroup says which command declares a setting and which README table
// documents it.
type settingGroup int

const (
	serverSetting settingGroup = iota // scimd serve; README, Configuration
	mailSetting                       // scimd serve and org create; README, Configuration
	limitSetting                      // scimd serve; README, abuse limits
)

// setting is one configuration setting: a row of [settings].
type setting struct {
	// field is the Config field the setting fills.
	field func(*Config) any
	// env is the environment variable; flag the flag of scimd serve, or ""
	// for none (secrets: a flag shows in ps).
	env, flag string
	// def is the default, a package's own constant where it has one;
	// defaultFrom, when set, computes it from the environment instead.
	def         any
	defaultFrom func(getenv func(string) string) string
	// shown is the default as README and -h state it, when the value alone
	// does not say it all ("(empty: embedded)"); markdown.
	shown string
	// check is a validator tag for the value (see newValidator for ours),
	// want what a valid value looks like, for messages.
	check, want string
	// verify, when set, checks what a tag cannot and writes its own message,
	// naming the setting by name.
	verify func(name string, c Config) error
	// fold makes the value case-insensitive; secret keeps it out of every
	// message, -h and log; redact shows it as a URL without its password.
	fold, secret, redact bool
	group                settingGroup
	// help is the meaning, for -h and README (markdown).
	help string
}

// settings are scimd serve's settings, each written once: parsing, -h, the
// error messages and README's configuration tables (TestREADMEConfiguration,
// go test ./cmd/scimd -update rewrites them) are derived from these rows.
//
// To add a setting: add its Config field and its row here, give it a bad
// value in config_test.go's badSettings, and run the -update above.
var settings = []setting{
	{field: func(c *Config) any { return &c.Addr }, env: "SCIM_ADDR", flag: "addr", def: ":8080",
		check: "required,listenaddr", want: "host:port or :port", help: "listen address"},
	{field: func(c *Config) any { return &c.RedisURL }, env: "SCIM_REDIS_URL", flag: "redis-url", shown: "(empty: embedded)",
		verify: func(name string, c Config) error { return validateRedisURL(name, c.RedisURL.Reveal()) },
		help:   "`redis://[user:pass@]host:port/db`, `rediss://…` (TLS), `unix:///path/to/redis.sock`, `redis+sentinel://…`, `redis+cluster://…` (details under Running against real Redis)"},
	{field: func(c *Config) any { return &c.BaseURL }, env: "SCIM_BASE_URL", flag: "base-url", shown: "`http://localhost:<port>`",
		check: "omitempty,url,startswith=http", want: "a URL such as https://scim.example.com", redact: true, verify: checkBaseURLUser,
		help: "public URL, used in `meta.location` and `Location`"},
	{field: func(c *Config) any { return &c.BootstrapToken }, env: "SCIM_BOOTSTRAP_TOKEN", secret: true,
		check: "omitempty,min=16", want: "at least 16 characters",
		help: "when set, this exact token is the `default` organization's owner token"},
	{field: func(c *Config) any { return &c.OwnerEmail }, env: "SCIM_OWNER_EMAIL", flag: "owner-email", def: defaultOwnerEmail,
		check: "required,email", want: "an email address such as owner@example.com",
		help: "the `default` organization's first console owner, made at its first start and given a one-time sign-in link (printed)"},
	{field: func(c *Config) any { return &c.SelfRegistration }, env: "SCIM_SELF_REGISTRATION", flag: "self-registration", shown: "(empty: as stored)",
		check: "omitempty,oneof=on off", want: "on or off", fold: true,
		help: "`on` or `off`: whether customers of the `default` organization may register themselves (`/t/default/accounts/register`), set at every start"},
	{field: func(c *Config) any { return &c.LogLevel }, env: "SCIM_LOG_LEVEL", flag: "log-level", def: "info",
		check: "oneof=debug info warn error", want: "debug, info, warn or error", fold: true,
		help: "`debug`, `info`, `warn`, `error` (JSON logs on stderr)"},
	{field: func(c *Config) any { return &c.MaxBodyBytes }, env: "SCIM_MAX_BODY_BYTES", flag: "max-body-bytes", def: scim.DefaultMaxBodyBytes,
		check: "min=1024", want: "a whole number of bytes, at least 1024", help: "largest request body (at least 1024)"},
	{field: func(c *Config) any { return &c.ShutdownTimeout }, env: "SCIM_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", def: 15 * time.Second,
		check: "min=0", want: "a duration of zero or more, such as 15s", help: "how long SIGTERM waits for requests in flight before exit"},
	{field: func(c *Config) any { return &c.RedisWaitReplica }, env: "SCIM_REDIS_WAIT_REPLICA", flag: "redis-wait-replica", def: time.Duration(0), shown: "`0` (off)",
		check: "min=0,max=10s", want: "a duration from 0 (off) to 10s, such as 500ms",
		help: "durability: each write waits up to this long (at most `10s`, and less than the URL's `read_timeout`, `5s` by default) for a Redis replica to acknowledge it (`WAIT 1`) before scimd answers; " +
			"a write no replica acknowledged in time answers `503` \"outcome unknown\" (see [Deployment](#deployment-several-replicas-cluster-sentinel))"},
	{field: func(c *Config) any { return &c.DebugAddr }, env: "SCIM_DEBUG_ADDR", flag: "debug-addr", shown: "(empty: off)",
		check: "omitempty,listenaddr", want: "host:port or :port",
		help: "operations listener: pprof and `/metrics`, e.g. `127.0.0.1:6060`; keep it on loopback or a private network"},

	{field: func(c *Config) any { return &c.SMTPHost }, env: "SCIM_SMTP_HOST", flag: "smtp-host", shown: "(empty: outbox)", group: mailSetting,
		check: "omitempty,hostname_rfc1123|ip", want: "a host name or IP address", help: "SMTP server for invitation mail"},
	{field: func(c *Config) any { return &c.SMTPPort }, env: "SCIM_SMTP_PORT", flag: "smtp-port", def: 587, group: mailSetting,
		check: "min=1,max=65535", want: "a port from 1 to 65535", help: "SMTP port"},
	{field: func(c *Config) any { return &c.SMTPTLS }, env: "SCIM_SMTP_TLS", flag: "smtp-tls", def: smtpTLSStartTLS, group: mailSetting,
		check: "oneof=starttls implicit", want: "starttls or implicit", fold: true,
		help: "`starttls` (upgrade as `SCIM_SMTP_STARTTLS` says; port 587) or `implicit` (TLS from the first byte; port 465)"},
	{field: func(c *Config) any { return &c.SMTPStartTLS }, env: "SCIM_SMTP_STARTTLS", flag: "smtp-starttls", def: mail.StartTLSRequired, group: mailSetting,
		check: "oneof=required optional off", want: "required, optional or off", fold: true,
		help: "with `SCIM_SMTP_TLS` `starttls`: `required`, `optional` (clear text when the server offers no STARTTLS) or `off`"},
	{field: func(c *Config) any { return &c.SMTPUsername }, env: "SCIM_SMTP_USERNAME", group: mailSetting,
		help: "AUTH PLAIN user name (credentials are sent only over TLS or to localhost)"},
	{field: func(c *Config) any { return &c.SMTPPassword }, env: "SCIM_SMTP_PASSWORD", secret: true, group: mailSetting,
		help: "AUTH PLAIN password; required with `SCIM_SMTP_USERNAME`"},
	{field: func(c *Config) any { return &c.MailFrom }, env: "SCIM_MAIL_FROM", flag: "mail-from", shown: "`" + defaultMailFrom + "`", group: mailSetting,
		check: "omitempty,mailaddress", want: `an address such as no-reply@acme.com or "Acme <no-reply@acme.com>"`,
		help: "sender, e.g. `Acme <no-reply@acme.com>`; required with `SCIM_SMTP_HOST`"},
	{field: func(c *Config) any { return &c.MailOutbox }, env: "SCIM_MAIL_OUTBOX", flag: "mail-outbox", shown: "`$TMPDIR/scimd-outbox`", group: mailSetting,
		defaultFrom: defaultOutbox, help: "without `SCIM_SMTP_HOST`, each message is written here as an `.eml` file (printed at start; made and checked writable at start)"},
	{field: func(c *Config) any { return &c.InviteTTL }, env: "SCIM_INVITE_TTL", flag: "invite-ttl", def: resources.DefaultInviteTTL, group: mailSetting,
		check: "min=1m,max=720h", want: "a duration from 1m to 720h (30 days)", help: "how long an invitation link works (1m to 720h)"},

	{field: func(c *Config) any { return &c.AuthFailureLimit }, env: "SCIM_AUTH_FAILURE_LIMIT", flag: "auth-failure-limit", def: scim.DefaultAuthFailureLimit,
		group: limitSetting, want: "a whole number (negative: no limit)",
		help: "failed authentications (bad bearer token, failed `/Me` sign-in, failed sign-in or wrong password on the customer pages, " +
			"failed console sign-in or wrong current password of an administrator; " +
			"concurrent attempts reserve theirs before any password is hashed) per minute from one address before that address gets `429` " +
			"with `Retry-After` for every request until the minute ends; negative: off"},
	{field: func(c *Config) any { return &c.TokenRate }, env: "SCIM_TOKEN_RATE", flag: "token-rate", def: scim.DefaultTokenRate, group: limitSetting,
		check: "finite", want: "a number per second such as 50 (negative: no limit)",
		help: "requests per second per API token (a `/Bulk` request counts once); negative: off"},
	{field: func(c *Config) any { return &c.TokenBurst }, env: "SCIM_TOKEN_BURST", flag: "token-burst", def: scim.DefaultTokenBurst, group: limitSetting,
		check: "min=0", want: "a whole number such as 200, 0 or more (0: the default)", help: "burst of requests per API token"},
	{field: func(c *Config) any { return &c.PublicRate }, env: "SCIM_PUBLIC_RATE", flag: "public-rate", def: scim.DefaultPublicRate, group: limitSetting,
		check: "finite", want: "a number per second such as 0.2 (negative: no limit)",
		help: "form submissions and openings of emailed links (`?token=`) per second per address on the customer pages, bursts of 10; negative: off"},
	{field: func(c *Config) any { return &c.TrustForwardedFor }, env: "SCIM_TRUST_FORWARDED_FOR", flag: "trust-forwarded-for", def: false, group: limitSetting,
		want: "true or false", help: "count clients by the last `X-Forwarded-For` address; set only behind a proxy that appends it"},
}

// name is how messages name the setting: "SCIM_ADDR (-addr)".
func (s setting) name() string {
	if s.flag == "" {
		return s.env
	}
	return s.env + " (-" + s.flag + ")"
}

// settingOf returns the row that fills field of c.
func settingOf(c *Config, field any) setting {
	for _, s := range settings {
		if s.field(c) == field {
			return s
		}
	}
	panic("config: no setting fills this field") // a programming error, caught by any test
}

// nameOf is the name of the setting that fills field of c, for messages.
func nameOf(c *Config, field any) string { return settingOf(c, field).name() }

// set parses text into the setting's field of c.
func (s setting) set(c *Config, text string) error {
	var err error
	switch p := s.field(c).(type) {
	case *string:
		if s.fold {
			text = strings.ToLower(text)
		}
		*p = text
	case *resources.Secret:
		*p = resources.Secret(text)
	case *RedisURL:
		*p = RedisURL(text)
	case *int:
		*p, err = strconv.Atoi(text)
	case *int64:
		*p, err = strconv.ParseInt(text, 10, 64)
	case *float64:
		*p, err = strconv.ParseFloat(text, 64)
	case *bool:
		*p, err = strconv.ParseBool(text)
	case *time.Duration:
		*p, err = time.ParseDuration(text)
	default:
		panic(fmt.Sprintf("config: %s has a field of type %T, which set does not parse", s.env, p))
	}
	if err != nil {
		return fmt.Errorf("want %s", s.want)
	}
	return nil
}

// defaultText is the setting's default as set parses it.
func (s setting) defaultText(getenv func(string) string) string {
	switch {
	case s.defaultFrom != nil:
		return s.defaultFrom(getenv)
	case s.def == nil:
		return ""
	}
	if d, ok := s.def.(time.Duration); ok {
		return shortDuration(d)
	}
	return fmt.Sprint(s.def)
}

// value is the setting's value in c as messages and -h show it: quoted if
// text, without a URL's password, never a secret's.
func (s setting) value(c *Config) string {
	switch p := s.field(c).(type) {
	case *resources.Secret:
		return ""
	case *RedisURL:
		return strconv.Quote(p.String())
	case *string:
		if s.redact {
			return redactedURL(*p)
		}
		return strconv.Quote(*p)
	case *time.Duration:
		return shortDuration(*p)
	default:
		return fmt.Sprint(reflect.ValueOf(p).Elem().Interface())
	}
}

// shortDuration writes 72h, not 72h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// flagValue is a setting of one Config as a flag.Value.
type flagValue struct {
	s   setting
	cfg *Config
}

func (v flagValue) String() string {
	if v.cfg == nil {
		return ""
	}
	return v.s.value(v.cfg)
}

func (v flagValue) Set(text string) error { return v.s.set(v.cfg, text) }

// IsBoolFlag lets a bool setting's flag stand alone (-trust-forwarded-for).
func (v flagValue) IsBoolFlag() bool {
	_, ok := v.s.field(&Config{}).(*bool)
	return ok
}

// settingsIn returns the rows of the given groups, in the table's order.
func settingsIn(groups ...settingGroup) []setting {
	var rows []setting
	for _, s := range settings {
		if slices.Contains(groups, s.group) {
			rows = append(rows, s)
		}
	}
	return rows
}

// settingsOf returns the rows that fill the given fields of c, in the
// table's order: the settings a command other than serve takes (scimd org
// create's -base-url, every admin command's -redis-url), so that it reads
// them from the same environment variables, with the same defaults, checks
// and messages as scimd serve.
func settingsOf(c *Config, fields ...any) []setting {
	var rows []setting
	for _, s := range settings {
		if slices.Contains(fields, s.field(c)) {
			rows = append(rows, s)
		}
	}
	if len(rows) != len(fields) {
		panic("config: a field is filled by no setting") // a programming error, caught by any test
	}
	return rows
}

// declare fills cfg's settings of the given rows from their defaults and
// the environment, and declares their flags on fs (fs nil: none); a
// malformed environment value is an error naming it.
func declare(fs *flag.FlagSet, cfg *Config, getenv func(string) string, rows []setting) error {
	for _, s := range rows {
		if def := s.defaultText(getenv); def != "" {
			if err := s.set(cfg, def); err != nil {
				panic(fmt.Sprintf("config: the default of %s does not parse: %v", s.env, err)) // caught by any test
			}
		}
		if text := getenv(s.env); text != "" {
			if err := s.set(cfg, text); err != nil {
				if s.secret {
					return fmt.Errorf("invalid %s: %w", s.name(), err)
				}
				return fmt.Errorf("invalid %s %q: %w", s.name(), text, err)
			}
		}
		if s.flag != "" && fs != nil {
			fs.Var(flagValue{s, cfg}, s.flag, s.help)
		}
	}
	return nil
}

// adminFlags declares, on the flag set of a command other than serve, its
// -redis-url and the settings of more, filled into cfg as rows of the
// settings table: the same environment variables, defaults, parsing and
// redaction as scimd serve's. check, called after fs.Parse, validates them
// with serve's checks and messages.
func adminFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string, more ...setting) (check func() error, err error) {
	rows := append(settingsOf(cfg, &cfg.RedisURL), more...)
	if err := declare(fs, cfg, getenv, rows); err != nil {
		return nil, err
	}
	return func() error { return cfg.validate(rows) }, nil
}

// parseConfig reads flags over environment over defaults and validates.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(output, "%s\nsettings of scimd serve: flag, environment variable (flags win), current value:\n", usage)
		printSettings(output, &cfg)
	}
	if err := declare(fs, &cfg, getenv, settings); err != nil {
		return Config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (settings are flags such as -log-level debug, or environment variables)", fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// printSettings writes -h's list of settings, with cfg's values: a default
// in README's words where README words it ("0 (off)", not "(0s)"), the help
// as plain text.
func printSettings(w io.Writer, cfg *Config) {
	for _, s := range settings {
		line := "  " + s.env
		if s.flag != "" {
			line = "  -" + s.flag + ", " + s.env
		}
		if v := s.value(cfg); s.shown != "" && (v == "" || v == `""` || s.isDefault(cfg)) {
			line += " " + plainText(s.shown)
		} else if v != "" && v != `""` {
			line += " (" + v + ")"
		}
		if s.secret {
			line += " (secret; environment only)"
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, plainText(s.help))
	}
}

// isDefault reports whether cfg holds the setting's default. A default
// computed from the environment (defaultFrom) never counts: its value says
// more than README's words for it ("/tmp/scimd-outbox", not
// "$TMPDIR/scimd-outbox").
func (s setting) isDefault(cfg *Config) bool {
	if s.defaultFrom != nil || s.secret {
		return false
	}
	var d Config
	if def := s.defaultText(nil); def != "" {
		if err := s.set(&d, def); err != nil {
			return false
		}
	}
	return s.value(&d) == s.value(cfg)
}

// markdownLink is a link of README's help texts: [text](target).
var markdownLink = regexp.MustCompile(`\[([^\]]+)\]\(([^)]+)\)`)

// plainText renders a setting's markdown (help, shown) for a terminal: code
// without its backticks, a link to a README section as "text in README.md",
// another link as "text (address)".
func plainText(md string) string {
	md = markdownLink.ReplaceAllStringFunc(md, func(link string) string {
		m := markdownLink.FindStringSubmatch(link)
		if strings.HasPrefix(m[2], "#") {
			return m[1] + " in README.md"
		}
		return m[1] + " (" + m[2] + ")"
	})
	return strings.ReplaceAll(md, "`", "")
}

// newValidator is validator/v10 with scimd's own tags: listenaddr (host:port
// or :port), finite (a float that is no NaN or infinity) and mailaddress
// (RFC 5322, "Name <address>" too).
func newValidator() *validator.Validate {
	v := validator.New()
	for tag, ok := range map[string]func(fl validator.FieldLevel) bool{
		"listenaddr": func(fl validator.FieldLevel) bool {
			_, port, err := net.SplitHostPort(fl.Field().String())
			n, perr := strconv.Atoi(port)
			return err == nil && perr == nil && n >= 0 && n <= 65535
		},
		"finite": func(fl validator.FieldLevel) bool {
			f := fl.Field().Float()
			return !math.IsNaN(f) && !math.IsInf(f, 0)
		},
		"mailaddress": func(fl validator.FieldLevel) bool {
			_, err := netmail.ParseAddress(fl.Field().String())
			return err == nil
		},
	} {
		if err := v.RegisterValidation(tag, ok); err != nil {
			panic(err) // only for a malformed tag name
		}
	}
	return v
}

// Validate checks the configuration and names the setting at fault: each
// setting's own check, then what involves several (validateMail).
func (c Config) Validate() error {
	if err := c.validate(settings); err != nil {
		return err
	}
	return c.validateMail()
}

// validate runs the given rows' own checks on c: check, then verify.
func (c Config) validate(rows []setting) error {
	v := newValidator()
	for _, s := range rows {
		if s.check != "" {
			err := v.Var(reflect.ValueOf(s.field(&c)).Elem().Interface(), s.check)
			var verrs validator.ValidationErrors
			if errors.As(err, &verrs) && len(verrs) > 0 {
				if verrs[0].Tag() == "required" {
					return fmt.Errorf("%s is required: want %s", s.name(), s.want)
				}
				if shown := s.value(&c); shown != "" {
					return fmt.Errorf("invalid %s %s: want %s", s.name(), shown, s.want)
				}
				return fmt.Errorf("invalid %s: want %s", s.name(), s.want)
			} else if err != nil {
				return fmt.Errorf("check %s: %w", s.name(), err)
			}
		}
		if s.verify != nil {
			if err := s.verify(s.name(), c); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBaseURLUser refuses a base URL with user information.
func checkBaseURLUser(name string, c Config) error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || c.BaseURL == "" {
		return nil // the setting's check tells
	}
	switch {
	case u.User != nil:
		return fmt.Errorf("invalid %s %s: it holds a user name or password, which every Location header and emailed link would show",
			name, redactedURL(c.BaseURL))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("invalid %s %s: want an http:// or https:// URL", name, redactedURL(c.BaseURL))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(c.BaseURL, "#"):
		return fmt.Errorf("invalid %s %s: a base URL has no query (?) or fragment (#): paths are put after it", name, redactedURL(c.BaseURL))
	}
	return nil
}

// redisSchemes are the URL schemes of SCIM_REDIS_URL (see backend.Open).
var redisSchemes = []string{"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}

// schemeRE is what a URL scheme looks like (RFC 3986 §3.1): only such a
// prefix of a bad SCIM_REDIS_URL is quoted, never what may be a password.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// validateRedisURL checks the form of SCIM_REDIS_URL: one of redisSchemes,
// a URL, with a host (or, for unix://, a socket path). backend.Open checks
// the rest (the options) when it dials. The URL may hold a password: it is
// shown redacted, or not at all.
func validateRedisURL(name, s string) error {
	if s == "" {
		return nil
	}
	want := "redis://, rediss:// (TLS), unix://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster://"
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		return fmt.Errorf("invalid %s: no scheme; want %s", name, want)
	}
	if !slices.Contains(redisSchemes, scheme) {
		shown := "(not shown)"
		if schemeRE.MatchString(scheme) {
			shown = strconv.Quote(scheme)
		}
		return fmt.Errorf("invalid %s: scheme %s is none of %s", name, shown, want)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("invalid %s %s: want a URL such as redis://:password@host:6379/0", name, redactedURL(s))
	case scheme == "unix" && u.Path == "":
		return fmt.Errorf("invalid %s %s: want the socket's path, such as unix:///run/redis/redis.sock", name, redactedURL(s))
	case scheme != "unix" && u.Host == "":
		return fmt.Errorf("invalid %s %s: want a host, such as redis://:password@host:6379/0", name, redactedURL(s))
	}
	return nil
}

// LogValue implements slog.LogValuer: every setting, each secret redacted by
// its type's own LogValue, so that a Config logged whole shows none.
func (c Config) LogValue() slog.Value {
	v := reflect.ValueOf(c)
	attrs := make([]slog.Attr, 0, v.NumField())
	for i := range v.NumField() {
		attrs = append(attrs, slog.Any(v.Type().Field(i).Name, v.Field(i).Interface()))
	}
	return slog.GroupValue(attrs...)
}

// redactedURL shows a URL from the configuration, quoted, without its
// password, or not at all when that cannot be sure.
func redactedURL(s string) string {
	if r, ok := redactURL(s); ok {
		return strconv.Quote(r)
	}
	return notShown
}

// notShown stands for a URL that may hold a password and cannot be redacted.
const notShown = "(not shown: it does not parse, and may hold a password)"

// redactURL returns s without its passwords, or false when s does not
// parse, or has an "@" that net/url did not read as the end of the user
// information ("redis://u:12/pw@host" parses as host u, port 12, path
// "/pw@host"). Passwords are the user information's and the query's
// (redis+sentinel:// gives the server's password as ?password=, the
// sentinels' in the user information).
func redactURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.User == nil && strings.Contains(s, "@") {
		return "", false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", false
	}
	hidden := false
	for k := range q {
		if lk := strings.ToLower(k); strings.Contains(lk, "password") || strings.Contains(lk, "username") {
			q[k], hidden = []string{"xxxxx"}, true
		}
	}
	if hidden {
		u.RawQuery = q.Encode()
	}
	return u.Redacted(), true
}

// RedisURL is a Redis URL from the configuration. It may hold a password, so
// it prints (String, GoString, and so flag defaults in -h) and logs
// (LogValue) without it; Reveal is the URL itself, to dial.
type RedisURL string

// String is the URL without its password.
func (u RedisURL) String() string {
	if u == "" {
		return ""
	}
	if r, ok := redactURL(string(u)); ok {
		return r
	}
	return notShown
}

// GoString is String, quoted, so that %#v does not show the password either.
func (u RedisURL) GoString() string { return strconv.Quote(u.String()) }

// LogValue implements slog.LogValuer: the URL without its password.
func (u RedisURL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// Reveal returns the URL, password included.
func (u RedisURL) Reveal() string { return string(u) }

// validateMail checks what involves several mail settings.
func (c Config) validateMail() error {
	name := func(field any) string { return nameOf(&c, field) }
	switch {
	case c.SMTPUsername != "" && c.SMTPPassword == "":
		return fmt.Errorf("%s is required with %s", name(&c.SMTPPassword), name(&c.SMTPUsername))
	case c.SMTPHost != "" && c.MailFrom == "":
		return fmt.Errorf("%s is required with %s: the sender of invitation mail, e.g. \"Acme <no-reply@acme.com>\"", name(&c.MailFrom), name(&c.SMTPHost))
	case c.SMTPHost != "" && c.SMTPUsername != "" && c.SMTPStartTLS == string(mail.StartTLSOff) && !isLoopback(c.SMTPHost):
		return fmt.Errorf("%s off with %s would send the SMTP password in clear text: use required or optional, or a relay on localhost",
			name(&c.SMTPStartTLS), name(&c.SMTPUsername))
	case c.SMTPTLS == smtpTLSImplicit && c.SMTPStartTLS != string(mail.StartTLSRequired):
		return fmt.Errorf("%s %s does not apply with %s implicit, which speaks TLS from the first byte: leave %s unset",
			name(&c.SMTPStartTLS), c.SMTPStartTLS, name(&c.SMTPTLS), name(&c.SMTPStartTLS))
	case c.SMTPHost == "" && c.MailOutbox == "":
		return fmt.Errorf("%s is empty and no %s is set: mail has nowhere to go", name(&c.MailOutbox), name(&c.SMTPHost))
	}
	return nil
}

// isLoopback reports whether host is this machine, where mail to a relay
// does not cross a network.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mailer returns where scimd's mail goes and a description for the start-up
// message: the SMTP server when one is set, else the outbox directory.
func (c Config) mailer() (notify.Mailer, string) {
	if c.SMTPHost != "" {
		m := &mail.SMTP{Host: c.SMTPHost, Port: c.SMTPPort, ImplicitTLS: c.SMTPTLS == smtpTLSImplicit, StartTLS: mail.StartTLS(c.SMTPStartTLS),
			StartTLSSetting: nameOf(&c, &c.SMTPStartTLS), TLSSetting: nameOf(&c, &c.SMTPTLS),
			Username: c.SMTPUsername, Password: c.SMTPPassword, From: c.MailFrom}
		tlsMode := "STARTTLS " + c.SMTPStartTLS
		if m.ImplicitTLS {
			tlsMode = "implicit TLS"
		}
		return m, fmt.Sprintf("sending mail through SMTP %s (%s)", net.JoinHostPort(c.SMTPHost, strconv.Itoa(c.SMTPPort)), tlsMode)
	}
	from := c.MailFrom
	if from == "" {
		from = defaultMailFrom
	}
	return &mail.Outbox{Dir: c.MailOutbox, From: from},
		fmt.Sprintf("writing mail to the outbox %s, not sending it (set SCIM_SMTP_HOST to send); scimd outbox prints its messages' links", c.MailOutbox)
}

// checkOutbox makes the mail outbox's directory, when mail goes there (no
// SCIM_SMTP_HOST), and checks that a message can be written in it: else
// every invitation would fail, one by one, long after the start.
func (c Config) checkOutbox() error {
	if c.SMTPHost != "" {
		return nil
	}
	name := nameOf(&c, &c.MailOutbox)
	if err := os.MkdirAll(c.MailOutbox, 0o700); err != nil {
		return fmt.Errorf("invalid %s %q: %w", name, c.MailOutbox, err)
	}
	f, err := os.CreateTemp(c.MailOutbox, ".scimd-probe-*")
	if err != nil {
		return fmt.Errorf("invalid %s %q: mail cannot be written there: %w", name, c.MailOutbox, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// logLevel maps the configured level name.
func (c Config) logLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}
