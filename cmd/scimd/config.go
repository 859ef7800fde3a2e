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
	"github.com/scimd/scimd/resources/mail"
	"github.com/scimd/scimd/scim"
)

// Config is scimd's configuration, read once by run from flags and the
// environment.
type Config struct {
	// Addr is the listen address (SCIM_ADDR).
	Addr string `validate:"required"`
	// RedisURL selects the store (SCIM_REDIS_URL); empty runs the embedded
	// one. Checked by validateRedisURL: the validator's url tag refuses
	// unix:///path URLs.
	RedisURL RedisURL
	// BaseURL is the public URL of the server (SCIM_BASE_URL), used in
	// meta.location and Location. Empty derives it from Addr.
	BaseURL string `validate:"omitempty,url,startswith=http"`
	// BootstrapToken, when set, is the default organization's owner token
	// (SCIM_BOOTSTRAP_TOKEN).
	BootstrapToken resources.Secret `validate:"omitempty,min=16"`
	// SelfRegistration, "on" or "off", sets whether customers of the default
	// organization may register themselves, at every start
	// (SCIM_SELF_REGISTRATION); empty leaves the stored setting (scimd org
	// set) as it is.
	SelfRegistration string `validate:"omitempty,oneof=on off"`
	// OwnerEmail is the email of the default organization's first console
	// owner (SCIM_OWNER_EMAIL), made at its first start and given a
	// one-time sign-in link.
	OwnerEmail string `validate:"required,email"`
	// LogLevel is debug, info, warn or error (SCIM_LOG_LEVEL).
	LogLevel string `validate:"oneof=debug info warn error"`
	// MaxBodyBytes limits request bodies (SCIM_MAX_BODY_BYTES).
	MaxBodyBytes int64 `validate:"min=1024"`
	// DebugAddr, when set, is the operations listener (SCIM_DEBUG_ADDR):
	// net/http/pprof and /metrics, unauthenticated, so on loopback or a
	// private network.
	DebugAddr string
	// ShutdownTimeout bounds the graceful drain on SIGTERM
	// (SCIM_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration `validate:"min=0"`

	// SMTPHost, when set, sends mail (invitations) through this SMTP server
	// (SCIM_SMTP_HOST); otherwise mail goes to the outbox directory.
	SMTPHost string `validate:"omitempty,hostname_rfc1123|ip"`
	// SMTPPort is the SMTP server's port (SCIM_SMTP_PORT), 587 by default.
	SMTPPort int `validate:"min=1,max=65535"`
	// SMTPUsername and SMTPPassword, when set, authenticate with AUTH PLAIN
	// (SCIM_SMTP_USERNAME, SCIM_SMTP_PASSWORD).
	SMTPUsername string
	SMTPPassword resources.Secret `validate:"required_with=SMTPUsername"`
	// SMTPStartTLS is required, optional or off (SCIM_SMTP_STARTTLS).
	SMTPStartTLS string `validate:"oneof=required optional off"`
	// MailFrom is the sender of scimd's mail (SCIM_MAIL_FROM): an address or
	// "Name <address>". Required with SMTPHost.
	MailFrom string
	// MailOutbox is the directory where mail goes when SMTPHost is empty
	// (SCIM_MAIL_OUTBOX): one .eml file per message.
	MailOutbox string
	// InviteTTL is how long an invitation link works (SCIM_INVITE_TTL).
	InviteTTL time.Duration `validate:"min=1m,max=720h"`

	// TokenRate and TokenBurst bound each API token's requests per second
	// (SCIM_TOKEN_RATE, SCIM_TOKEN_BURST); a negative rate turns the limit off.
	TokenRate  float64
	TokenBurst int `validate:"min=0"`
	// AuthFailureLimit failed sign-ins per minute from one address block it
	// (SCIM_AUTH_FAILURE_LIMIT); negative turns the limit off.
	AuthFailureLimit int
	// PublicRate bounds form submissions to the public customer pages per
	// client address and second (SCIM_PUBLIC_RATE); negative turns it off.
	PublicRate float64
	// TrustForwardedFor counts clients by the last X-Forwarded-For address
	// (SCIM_TRUST_FORWARDED_FOR): set it only behind a proxy that appends it.
	TrustForwardedFor bool

	// RedisWaitReplica, when positive, makes every write wait up to this
	// long for a replica to acknowledge it before scimd answers
	// (SCIM_REDIS_WAIT_REPLICA; see backend.Store.WaitForReplica).
	RedisWaitReplica time.Duration `validate:"min=0,max=10s"`
}

// defaultOwnerEmail is the default organization's first console owner when
// SCIM_OWNER_EMAIL is unset: a placeholder address for a first try, whose
// owner invites the real administrators.
const defaultOwnerEmail = "owner@example.com"

// defaultMailFrom is the sender of outbox mail when SCIM_MAIL_FROM is unset.
const defaultMailFrom = "scimd <no-reply@localhost>"

// settingNames maps Config fields to the setting a user wrote, for messages.
var settingNames = map[string]string{
	"Addr": "SCIM_ADDR (-addr)", "RedisURL": "SCIM_REDIS_URL (-redis-url)", "BaseURL": "SCIM_BASE_URL (-base-url)",
	"BootstrapToken": "SCIM_BOOTSTRAP_TOKEN", "SelfRegistration": "SCIM_SELF_REGISTRATION (-self-registration)", "OwnerEmail": "SCIM_OWNER_EMAIL (-owner-email)", "LogLevel": "SCIM_LOG_LEVEL (-log-level)",
	"MaxBodyBytes": "SCIM_MAX_BODY_BYTES (-max-body-bytes)", "DebugAddr": "SCIM_DEBUG_ADDR (-debug-addr)", "ShutdownTimeout": "SCIM_SHUTDOWN_TIMEOUT (-shutdown-timeout)",
	"SMTPHost": "SCIM_SMTP_HOST (-smtp-host)", "SMTPPort": "SCIM_SMTP_PORT (-smtp-port)", "SMTPUsername": "SCIM_SMTP_USERNAME",
	"SMTPPassword": "SCIM_SMTP_PASSWORD", "SMTPStartTLS": "SCIM_SMTP_STARTTLS (-smtp-starttls)", "MailFrom": "SCIM_MAIL_FROM (-mail-from)",
	"MailOutbox": "SCIM_MAIL_OUTBOX (-mail-outbox)", "InviteTTL": "SCIM_INVITE_TTL (-invite-ttl)",
	"TokenBurst":       "SCIM_TOKEN_BURST (-token-burst)",
	"RedisWaitReplica": "SCIM_REDIS_WAIT_REPLICA (-redis-wait-replica)",
}

// redisSchemes are the URL schemes of SCIM_REDIS_URL (see backend.Open).
var redisSchemes = []string{"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}

// schemeRE is what a URL scheme looks like (RFC 3986 §3.1): only such a
// prefix of a bad SCIM_REDIS_URL is quoted, never what may be a password.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// parseConfig reads flags over environment over defaults and validates.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var cfg Config
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(output, "%s\nflags of scimd serve (each also read from its SCIM_ environment variable; flags win):\n", usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Addr, "addr", env("SCIM_ADDR", ":8080"), "listen address")
	cfg.RedisURL = RedisURL(env("SCIM_REDIS_URL", ""))
	fs.Var(&cfg.RedisURL, "redis-url", "Redis URL: redis://, rediss://, unix://, redis+sentinel://, redis+cluster:// (TLS: rediss+…); empty runs the embedded store")
	fs.StringVar(&cfg.BaseURL, "base-url", env("SCIM_BASE_URL", ""), "public base URL, e.g. https://scim.example.com")
	fs.StringVar(&cfg.SelfRegistration, "self-registration", strings.ToLower(env("SCIM_SELF_REGISTRATION", "")),
		"on or off: whether customers of the default organization may register themselves (empty: as stored)")
	fs.StringVar(&cfg.OwnerEmail, "owner-email", env("SCIM_OWNER_EMAIL", defaultOwnerEmail),
		"email of the default organization's first console owner, who gets a one-time sign-in link at its first start")
	fs.StringVar(&cfg.LogLevel, "log-level", strings.ToLower(env("SCIM_LOG_LEVEL", "info")), "log level: debug, info, warn, error")
	fs.StringVar(&cfg.DebugAddr, "debug-addr", env("SCIM_DEBUG_ADDR", ""), "operations listener: pprof and /metrics, e.g. 127.0.0.1:6060 (keep it on loopback or a private network)")
	maxBody, shutdown := int64(1<<20), 15*time.Second
	if v := getenv("SCIM_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Config{}, fmt.Errorf("invalid SCIM_MAX_BODY_BYTES %q: want a whole number of bytes such as 1048576", v)
		}
		maxBody = n
	}
	if v := getenv("SCIM_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return Config{}, fmt.Errorf("invalid SCIM_SHUTDOWN_TIMEOUT %q: want a duration such as 15s", v)
		}
		shutdown = d
	}
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", maxBody, "largest request body accepted")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", shutdown, "how long SIGTERM waits for requests to finish")
	cfg.BootstrapToken = resources.Secret(getenv("SCIM_BOOTSTRAP_TOKEN"))
	if err := limitFlags(fs, &cfg, getenv); err != nil {
		return Config{}, err
	}
	if err := mailFlags(fs, &cfg, env); err != nil {
		return Config{}, err
	}
	if err := redisWaitFlag(fs, &cfg, getenv); err != nil {
		return Config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the configuration and names the setting at fault.
func (c Config) Validate() error {
	var verrs validator.ValidationErrors
	if err := validator.New().Struct(c); errors.As(err, &verrs) && len(verrs) > 0 {
		return c.fieldError(verrs[0])
	} else if err != nil {
		return err
	}
	if u, err := url.Parse(c.BaseURL); err == nil && u.User != nil {
		return fmt.Errorf("invalid SCIM_BASE_URL (-base-url) %s: it holds a user name or password, which every Location header would show", redactedURL(c.BaseURL))
	}
	if err := checkAddr("SCIM_ADDR (-addr)", c.Addr); err != nil {
		return err
	}
	if c.DebugAddr != "" {
		if err := checkAddr("SCIM_DEBUG_ADDR (-debug-addr)", c.DebugAddr); err != nil {
			return err
		}
	}
	if err := validateRedisURL(c.RedisURL.Reveal()); err != nil {
		return err
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"SCIM_TOKEN_RATE (-token-rate)", c.TokenRate}, {"SCIM_PUBLIC_RATE (-public-rate)", c.PublicRate}} {
		if math.IsNaN(r.v) || math.IsInf(r.v, 0) {
			return fmt.Errorf("invalid %s %v: want a number per second (negative: no limit)", r.name, r.v)
		}
	}
	return c.validateMail()
}

// checkAddr checks a listen address.
func checkAddr(name, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("invalid %s %q: want host:port or :port", name, addr)
	}
	return nil
}

// fieldError is the message of a field the validator refused: it names the
// setting and what it wants, and never quotes a secret.
func (c Config) fieldError(fe validator.FieldError) error {
	name := settingNames[fe.Field()]
	switch fe.Field() {
	case "Addr":
		return fmt.Errorf("%s is required: host:port or :port", name)
	case "BootstrapToken":
		return fmt.Errorf("invalid %s: must be at least 16 characters", name)
	case "SelfRegistration":
		return fmt.Errorf("invalid %s %q: want on or off", name, c.SelfRegistration)
	case "OwnerEmail":
		return fmt.Errorf("invalid %s %q: want an email address such as owner@example.com", name, c.OwnerEmail)
	case "LogLevel":
		return fmt.Errorf("invalid %s %q: want debug, info, warn or error", name, c.LogLevel)
	case "MaxBodyBytes":
		return fmt.Errorf("invalid %s %d: want at least 1024 bytes", name, c.MaxBodyBytes)
	case "ShutdownTimeout":
		return fmt.Errorf("invalid %s %s: want zero or more, such as 15s", name, c.ShutdownTimeout)
	case "SMTPHost":
		return fmt.Errorf("invalid %s %q: want a host name or IP address", name, c.SMTPHost)
	case "SMTPPassword": // never quote a secret
		return fmt.Errorf("%s is required with SCIM_SMTP_USERNAME", name)
	case "SMTPStartTLS":
		return fmt.Errorf("invalid %s %q: want required, optional or off", name, c.SMTPStartTLS)
	case "SMTPPort":
		return fmt.Errorf("invalid %s %d: want a port from 1 to 65535", name, c.SMTPPort)
	case "BaseURL":
		return fmt.Errorf("invalid %s %s: want a URL such as https://scim.example.com", name, redactedURL(c.BaseURL))
	case "InviteTTL":
		return fmt.Errorf("invalid %s %s: want from 1m to 720h (30 days)", name, c.InviteTTL)
	case "TokenBurst":
		return fmt.Errorf("invalid %s %d: want zero (the default) or more", name, c.TokenBurst)
	}
	return fmt.Errorf("invalid %s: fails %q", name, fe.Tag()) // a tag without a message above: add one
}

// validateRedisURL checks the form of SCIM_REDIS_URL: one of redisSchemes,
// a URL, with a host (or, for unix://, a socket path). backend.Open checks
// the rest (the options) when it dials. The URL may hold a password: it is
// shown redacted, or not at all.
func validateRedisURL(s string) error {
	const name = "SCIM_REDIS_URL (-redis-url)"
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

// redactURL returns s without its password, or false when s does not parse,
// or has an "@" that net/url did not read as the end of the user
// information ("redis://u:12/pw@host" parses as host u, port 12, path
// "/pw@host").
func redactURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.User == nil && strings.Contains(s, "@") {
		return "", false
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

// Set implements flag.Value.
func (u *RedisURL) Set(s string) error {
	*u = RedisURL(s)
	return nil
}

// mailFlags declares the mail settings: flags over environment over defaults.
func mailFlags(fs *flag.FlagSet, cfg *Config, env func(k, def string) string) error {
	tmp := env("TMPDIR", os.TempDir())
	fs.StringVar(&cfg.SMTPHost, "smtp-host", env("SCIM_SMTP_HOST", ""), "SMTP server for invitation mail; empty writes mail to the outbox")
	fs.StringVar(&cfg.SMTPStartTLS, "smtp-starttls", strings.ToLower(env("SCIM_SMTP_STARTTLS", string(mail.StartTLSRequired))), "STARTTLS: required, optional or off")
	fs.StringVar(&cfg.MailFrom, "mail-from", env("SCIM_MAIL_FROM", ""), "sender of scimd's mail, e.g. \"Acme <no-reply@acme.com>\"")
	fs.StringVar(&cfg.MailOutbox, "mail-outbox", env("SCIM_MAIL_OUTBOX", filepath.Join(tmp, "scimd-outbox")), "directory for mail when no SMTP server is set")
	cfg.SMTPUsername = env("SCIM_SMTP_USERNAME", "")
	cfg.SMTPPassword = resources.Secret(env("SCIM_SMTP_PASSWORD", ""))
	port := 587
	if v := env("SCIM_SMTP_PORT", ""); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("invalid SCIM_SMTP_PORT %q: not a number", v)
		}
		port = p
	}
	fs.IntVar(&cfg.SMTPPort, "smtp-port", port, "SMTP server port")
	ttl := 72 * time.Hour
	if v := env("SCIM_INVITE_TTL", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid SCIM_INVITE_TTL %q: want a duration such as 72h or 30m", v)
		}
		ttl = d
	}
	fs.DurationVar(&cfg.InviteTTL, "invite-ttl", ttl, "how long an invitation link works")
	return nil
}

// validateMail checks what the validator tags cannot say.
func (c Config) validateMail() error {
	if c.SMTPHost != "" && c.MailFrom == "" {
		return errors.New("SCIM_MAIL_FROM (-mail-from) is required with SCIM_SMTP_HOST: the sender of invitation mail, e.g. \"Acme <no-reply@acme.com>\"")
	}
	if c.MailFrom != "" {
		if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
			return fmt.Errorf("invalid SCIM_MAIL_FROM (-mail-from) %q: want an address such as no-reply@acme.com or \"Acme <no-reply@acme.com>\"", c.MailFrom)
		}
	}
	if c.SMTPHost != "" && c.SMTPUsername != "" && c.SMTPStartTLS == string(mail.StartTLSOff) && !isLoopback(c.SMTPHost) {
		return errors.New("SCIM_SMTP_STARTTLS (-smtp-starttls) off with SCIM_SMTP_USERNAME would send the SMTP password in clear text: use required or optional, or a relay on localhost")
	}
	if c.SMTPHost == "" && c.MailOutbox == "" {
		return errors.New("SCIM_MAIL_OUTBOX (-mail-outbox) is empty and no SCIM_SMTP_HOST is set: mail has nowhere to go")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mailer returns where scimd's mail goes and a description for the start-up
// message: the SMTP server when one is set, else the outbox directory.
func (c Config) mailer() (resources.Mailer, string) {
	if c.SMTPHost != "" {
		m := &mail.SMTP{Host: c.SMTPHost, Port: c.SMTPPort, StartTLS: mail.StartTLS(c.SMTPStartTLS),
			Username: c.SMTPUsername, Password: c.SMTPPassword, From: c.MailFrom}
		return m, fmt.Sprintf("sending mail through SMTP %s (STARTTLS %s)", net.JoinHostPort(c.SMTPHost, strconv.Itoa(c.SMTPPort)), c.SMTPStartTLS)
	}
	from := c.MailFrom
	if from == "" {
		from = defaultMailFrom
	}
	return &mail.Outbox{Dir: c.MailOutbox, From: from},
		fmt.Sprintf("writing mail to the outbox %s, not sending it (set SCIM_SMTP_HOST to send)", c.MailOutbox)
}

// logLevel maps the configured level name.
func (c Config) logLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

// limitFlags declares the abuse-limit settings, defaulting from the
// environment; a malformed environment value is an error naming it.
func limitFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) error {
	rate, burst, failures, public := float64(scim.DefaultTokenRate), scim.DefaultTokenBurst, scim.DefaultAuthFailureLimit, scim.DefaultPublicRate
	trust := false
	for _, v := range []struct {
		name, want string
		dst        any
	}{
		{"SCIM_TOKEN_RATE", "a number such as 50", &rate}, {"SCIM_TOKEN_BURST", "a whole number", &burst},
		{"SCIM_AUTH_FAILURE_LIMIT", "a whole number", &failures}, {"SCIM_PUBLIC_RATE", "a number such as 0.2", &public},
		{"SCIM_TRUST_FORWARDED_FOR", "true or false", &trust},
	} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		var err error
		switch d := v.dst.(type) {
		case *float64:
			*d, err = strconv.ParseFloat(s, 64)
		case *int:
			*d, err = strconv.Atoi(s)
		case *bool:
			*d, err = strconv.ParseBool(s)
		}
		if err != nil {
			return fmt.Errorf("invalid %s %q: want %s", v.name, s, v.want)
		}
	}
	fs.Float64Var(&cfg.TokenRate, "token-rate", rate, "requests per second per API token (negative: no limit)")
	fs.IntVar(&cfg.TokenBurst, "token-burst", burst, "burst of requests per API token")
	fs.IntVar(&cfg.AuthFailureLimit, "auth-failure-limit", failures, "failed sign-ins per minute that block an address (negative: no limit)")
	fs.Float64Var(&cfg.PublicRate, "public-rate", public, "form submissions per second per address on the customer pages (negative: no limit)")
	fs.BoolVar(&cfg.TrustForwardedFor, "trust-forwarded-for", trust, "count clients by X-Forwarded-For (only behind a proxy that appends it)")
	return nil
}

// redisWaitFlag reads SCIM_REDIS_WAIT_REPLICA (-redis-wait-replica), the
// durability setting (issue 14): off (0) unless set.
func redisWaitFlag(fs *flag.FlagSet, cfg *Config, getenv func(string) string) error {
	var wait time.Duration
	if v := getenv("SCIM_REDIS_WAIT_REPLICA"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid SCIM_REDIS_WAIT_REPLICA %q: want a duration such as 500ms, or 0 for off", v)
		}
		wait = d
	}
	fs.DurationVar(&cfg.RedisWaitReplica, "redis-wait-replica", wait,
		"wait up to this long for a Redis replica to acknowledge each write before answering (0: off); a write no replica acknowledged answers 503")
	return nil
}
