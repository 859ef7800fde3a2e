package backend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// DefaultMaxScan is the default of [Store.MaxScan].
const DefaultMaxScan = 100000

// DefaultMaxFilterWork is the default of [Store.MaxFilterWork], the one
// filter work budget of a request, [resources.MaxFilterWork]: about 0.3 s of
// one core (a comparison on a fetched document costs about 0.3 µs, see
// BenchmarkFilterScan), ten comparisons on each of 100,000 users
// (DefaultMaxScan).
const DefaultMaxFilterWork = resources.MaxFilterWork

// DefaultMaxListMembers is the default of [Store.MaxListMembers]: about 2 MB
// of response.
const DefaultMaxListMembers = 10000

// DefaultMaxUserGroups is the default of [Store.MaxUserGroups].
const DefaultMaxUserGroups = 1000

// DefaultMaxChanges is the default of [Store.MaxChanges]: about a hundred
// thousand entries per organization, a few megabytes of Redis memory, keep
// months of an identity provider's changes without growing without bound.
const DefaultMaxChanges = 100000

// tsFormat is how the store writes times: RFC 3339 in UTC with a fixed number
// of fraction digits, so that lexical order is time order in the indexes.
const tsFormat = "2006-01-02T15:04:05.000000000Z"

// scanBatch is how many resources a scan fetches per round trip.
const scanBatch = 500

var (
	_ resources.UserStore  = (*Store)(nil)
	_ resources.GroupStore = (*Store)(nil)
	_ resources.TokenStore = (*Store)(nil)
	_ resources.OrgStore   = (*Store)(nil)
)

// Store keeps users, groups and tokens in Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	mini   *miniredis.Miniredis // nil unless embedded
	// stopClock stops the embedded store's clock (embedded_clock.go).
	stopClock func()
	// functions: Redis has the function library and the scripts run as its
	// functions (library.go). Open decides it; New leaves it false.
	functions bool
	// reads runs the reads of one resource and the read-only scripts (see
	// [script.Run]): client's blocking autopipeliner (go-redis
	// AutoPipeline), which sends the commands that concurrent requests
	// issue at the same moment together, in batches that overlap on a
	// single server or Sentinel, or the client itself if it has none
	// (coalesce.go).
	reads commander
	// writes runs the write scripts: a streaming autopipeliner on a
	// single server or Sentinel, the reads' one on a Cluster, so that
	// concurrent requests' writes share a connection too (each still sent
	// at most once), unless [Store.WaitForReplica] is on: a write's WAIT
	// must follow it on its own connection, so writes then go on the
	// client (coalesce.go).
	writes commander
	// closeWrites closes writes' autopipeliner when the client does not.
	closeWrites func() error

	// MaxScan bounds filters that no index covers: when an organization has
	// more resources of the queried type, such a filter fails with
	// [resources.TooMany] instead of reading them all. Set it before use.
	MaxScan int
	// MaxFilterWork bounds what evaluating a filter on fetched documents may
	// cost one query: the resources to examine times the filter's comparisons
	// ([resources.FilterTerms]). A query that would cost more fails with
	// [resources.TooMany] before it examines any. Set it before use.
	MaxFilterWork int
	// MaxListMembers bounds the members a list returns (the groups of one
	// page, when asked for their members, have at most that many in all):
	// past it the list fails with [resources.TooMany] before it loads them.
	// Set it before use.
	MaxListMembers int
	// MaxUserGroups bounds the groups one user may be in: a user's groups
	// are read with it and written with its every change (its display name
	// in each group's members), so that what a read or write of a user costs
	// is bounded. A member added beyond it is refused; 0 is no bound. Set
	// it before use.
	MaxUserGroups int
	// MaxChanges caps each organization's change log (the audit trail): older
	// entries are trimmed, approximately (XADD MAXLEN ~), as new ones come.
	// Set it before use.
	MaxChanges int64

	users, groups kind

	writeUser, deleteUser, writeGroup, deleteGroup, findUserName *script
	readUser                                                     *script
	sweepGroup, sweepReplaced                                    *script
	memberPage, orderMembers                                     *script
	searchWalkScript, searchRangeScript                          *script
	activeRankScript, activeReadScript, sparseUpgrade            *script
	createdUpgrade, fillUserNames                                *script
	putToken, revokeToken, touchToken                            *script
	rotateToken, revokePrevious, markReplaced                    *script
	issueInvite, redeemScript, setSetting                        *script
	changeExt, purgeScript                                       *script
	substringScript, setSettings                                 *script
	admins                                                       adminScripts

	search searchTuning   // see SearchUsers (user_search.go)
	recent recentSettings // see RecentOrgSettings (orgs.go)
	leases leasePool      // requests this process leased of tokens' buckets (limits.go)
	probes probes         // the readiness probe's own clients (ready.go)
	// onRotationStep, set by tests, is called at the steps of a token
	// rotation (see rotationStep), to stop or race it there.
	onRotationStep func(step string)
	// sparseDone holds the keys of the organizations' upgrades seen
	// finished: legacy indexes seen gone (active.go, created.go) and
	// unames:ready seen there (usernames.go). Not looked for again.
	sparseDone sync.Map
}

// New wraps a go-redis client: a single server, Sentinel (failover) or
// Cluster. Close closes the client. An error of a command that found Redis
// unavailable (unreachable, loading, failing over) is, to errors.As, a
// [resources.Unavailable] error: see [unavailableHook].
func New(client redis.UniversalClient) *Store {
	client.AddHook(unavailableHook{})
	writes, closeWrites := writeSharer(client)
	return &Store{
		client:            client,
		reads:             sharer(client),
		writes:            writes,
		closeWrites:       closeWrites,
		MaxScan:           DefaultMaxScan,
		MaxFilterWork:     DefaultMaxFilterWork,
		MaxListMembers:    DefaultMaxListMembers,
		MaxUserGroups:     DefaultMaxUserGroups,
		MaxChanges:        DefaultMaxChanges,
		users:             userKind(),
		groups:            groupKind(),
		writeUser:         newScript(writeUserSrc),
		deleteUser:        newScript(deleteUserSrc),
		writeGroup:        newScript(writeGroupSrc),
		deleteGroup:       newScript(deleteGroupSrc),
		sweepGroup:        newScript(sweepGroupSrc),
		sweepReplaced:     newScript(sweepReplacedSrc),
		memberPage:        newIdempotentScript(memberPageSrc),
		orderMembers:      newIdempotentScript(orderMembersSrc),
		searchWalkScript:  newIdempotentScript(searchWalkSrc),
		searchRangeScript: newIdempotentScript(searchRangeSrc),
		findUserName:      newIdempotentScript(findUserNameSrc),
		readUser:          newIdempotentScript(readUserSrc),
		activeRankScript:  newIdempotentScript(activeRankSrc),
		activeReadScript:  newIdempotentScript(activeReadSrc),
		createdUpgrade:    newScript(upgradeCreatedSrc),
		fillUserNames:     newScript(fillUserNamesSrc),
		sparseUpgrade:     newScript(upgradeSparseSrc),
		putToken:          newScript(putTokenSrc),
		revokeToken:       newScript(revokeTokenSrc),
		touchToken:        newIdempotentScript(touchTokenSrc),
		rotateToken:       newScript(rotateTokenSrc),
		revokePrevious:    newScript(revokePreviousSrc),
		markReplaced:      newScript(markReplacedSrc),
		issueInvite:       newScript(issueInviteSrc),
		redeemScript:      newScript(redeemSrc),
		setSetting:        newScript(setSettingSrc),
		changeExt:         newScript(changeExtensionSrc),
		purgeScript:       newScript(purgeBatchSrc),
		setSettings:       newScript(setSettingsSrc),
		substringScript:   newScript(substringBatchSrc),
		admins:            newAdminScripts(),
	}
}

// embeddedReadTimeout is the embedded store's read timeout (a real Redis
// gets [defaultReadTimeout]).
const embeddedReadTimeout = 30 * time.Second

// Open connects to the Redis deployment at url, or, when url is "", starts an
// embedded in-process server (miniredis) that lives until [Store.Close]. See
// the package documentation for the URL schemes. Open pings the server and
// loads the store's function library where Redis has functions (library.go).
func Open(ctx context.Context, url string) (*Store, error) {
	if url == "" {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		// Invitations and tickets expire by the wall clock, as in Redis
		// (miniredis otherwise expires keys only when told to): see
		// embedded_clock.go.
		stop, done := make(chan struct{}), make(chan struct{})
		go runClock(m, stop, done)
		// In process, a slow answer is a busy CPU, not a lost server: the
		// read timeout that detects a dead Redis would only turn a slow
		// write's outcome unknown (a 503), so it is long here.
		s := New(redis.NewClient(&redis.Options{Addr: m.Addr(), ReadTimeout: embeddedReadTimeout}))
		s.mini = m
		var once sync.Once
		s.stopClock = func() { once.Do(func() { close(stop); <-done }) }
		return s, nil
	}
	client, err := dial(url)
	if err != nil {
		return nil, err
	}
	s := New(client)
	if err := s.Ping(ctx); err != nil {
		_ = client.Close()
		return nil, err
	}
	if s.functions, err = s.useFunctions(ctx); err != nil {
		_ = client.Close()
		return nil, err
	}
	return s, nil
}

// withoutURL strips the URL that net/url puts into its parse errors: a Redis
// URL may hold a password, and this error is printed.
func withoutURL(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// SetLogger sends go-redis's own log lines (failed dials, pool trouble,
// Sentinel failovers), which it would print as plain text on stderr, to log
// at warn level, with the credentials of any URL in them cut out. go-redis
// has one logger per process (redis.SetLogger): call SetLogger once, from
// main. A line logged for a request (go-redis passes the command's context)
// names it when log's handler reads the request id from the context.
func SetLogger(log *slog.Logger) {
	redis.SetLogger(redisLogger{log})
}

// redisLogger adapts a *slog.Logger to go-redis's logging interface.
type redisLogger struct{ log *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	l.log.WarnContext(ctx, "redis client", "detail", redactURLs(msg))
}

// userinfoRE matches the scheme and user information of a URL in a text,
// up to the last "@" before a space: a password may itself hold "/" or "@".
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)\S*@`)

// redactURLs replaces the user information (user name and password) of the
// URLs in s with REDACTED.
func redactURLs(s string) string {
	return userinfoRE.ReplaceAllString(s, "${1}REDACTED@")
}

// resp2 is the protocol scimd speaks unless the URL asks for another
// (?protocol=3): it uses no RESP3 push messages, and with RESP2 go-redis skips
// checking for them around every command, a measurable cost per request.
const resp2 = 2

func dial(url string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return nil, fmt.Errorf("redis url: missing scheme (want redis://, rediss://, redis+sentinel://, redis+cluster:// or their TLS forms)")
	}
	switch scheme {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", withoutURL(err))
		}
		if o.Protocol == 0 {
			o.Protocol = resp2
		}
		if o.DialTimeout == 0 {
			o.DialTimeout = defaultDialTimeout
		}
		if o.ReadTimeout == 0 {
			o.ReadTimeout = defaultReadTimeout
		}
		return redis.NewClient(o), nil
	case "redis+sentinel", "rediss+sentinel":
		o, err := redis.ParseFailoverURL(strings.TrimSuffix(scheme, "+sentinel") + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url: %w", withoutURL(err))
		}
		if o.MasterName == "" {
			return nil, errors.New("redis sentinel url: master_name is required")
		}
		if o.Protocol == 0 {
			o.Protocol = resp2
		}
		if o.DialTimeout == 0 {
			o.DialTimeout = defaultDialTimeout
		}
		if o.ReadTimeout == 0 {
			o.ReadTimeout = defaultReadTimeout
		}
		// A failover client asks a sentinel for the primary's address at
		// every dial, and on Sentinel's +switch-master message (it
		// subscribes) it closes its connections to the old primary: no
		// reload of its own is needed (see TestSentinelFailover).
		return redis.NewFailoverClient(o), nil
	case "redis+cluster", "rediss+cluster":
		o, err := redis.ParseClusterURL(strings.TrimSuffix(scheme, "+cluster") + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("redis cluster url: %w", withoutURL(err))
		}
		if o.Protocol == 0 {
			o.Protocol = resp2
		}
		if o.DialTimeout == 0 {
			o.DialTimeout = defaultDialTimeout
		}
		if o.ReadTimeout == 0 {
			o.ReadTimeout = defaultReadTimeout
		}
		c := redis.NewClusterClient(o)
		c.AddHook(&clusterReloadHook{client: c})
		return c, nil
	}
	return nil, fmt.Errorf("redis url: unsupported scheme %q", scheme)
}

// defaultReadTimeout is how long a command waits for Redis's answer unless
// the URL sets read_timeout; the write timeout, unless the URL sets
// write_timeout, is the same (go-redis's rule). It is go-redis v9's own
// default, set here so that what scimd promises (README, Reliability) does
// not move with the library. A write that passes it answers 503 "outcome
// unknown" and is never resent ([script]).
const defaultReadTimeout = 5 * time.Second

// defaultDialTimeout bounds a connection attempt unless the URL sets
// dial_timeout (go-redis's default is 5 s): a dead primary whose address
// does not refuse at once (a host gone from the network) delays a failover's
// reconnection, and a Cluster's layout reload, by this much per attempt. A
// TCP handshake takes milliseconds, even between regions.
const defaultDialTimeout = time.Second

// clusterReloadEvery is how often, at most, a Cluster client reloads the
// cluster's layout because commands failed (see [clusterReloadHook]).
const clusterReloadEvery = 100 * time.Millisecond

// clusterReloadHook makes a Cluster client reload the cluster's layout
// (CLUSTER SLOTS, from any node that answers) as soon as a command finds a
// node unreachable, the cluster down, a node read-only or loading, or
// redirects it, at most every [clusterReloadEvery]. go-redis by itself
// reloads it every 60 s and on MOVED: after a primary died, it dialled the
// dead address (refused: no MOVED) until then, so writes to the primary's
// slots failed for up to a minute after Redis had promoted its replica in
// seconds (cmd/scimd's failover tests measure it).
type clusterReloadHook struct {
	client *redis.ClusterClient
	last   atomic.Int64 // when a reload was last asked for, in Unix nanoseconds
}

func (h *clusterReloadHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *clusterReloadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.after(err)
		return err
	}
}

func (h *clusterReloadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.after(err)
		for _, cmd := range cmds {
			h.after(cmd.Err())
		}
		return err
	}
}

// after asks for a reload if err says the layout may have changed.
func (h *clusterReloadHook) after(err error) {
	if err == nil || !layoutMayHaveChanged(err) {
		return
	}
	now := time.Now().UnixNano()
	last := h.last.Load()
	if now-last < int64(clusterReloadEvery) || !h.last.CompareAndSwap(last, now) {
		return
	}
	// In the background; go-redis runs one reload at a time and coalesces
	// the requests that come meanwhile.
	h.client.ReloadState(context.Background())
}

// layoutMayHaveChanged reports whether err, a command's error on a Cluster,
// may come from a change of the cluster's layout: a node that cannot be
// reached or answers CLUSTERDOWN, TRYAGAIN, READONLY, LOADING, MASTERDOWN,
// MOVED or ASK.
func layoutMayHaveChanged(err error) bool {
	if errors.As(err, new(unavailableError)) || unavailable(err) {
		return true
	}
	return redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")
}

// Embedded reports whether the store runs on the in-process server started by
// [Open]: data lives in memory only and is lost on exit.
func (s *Store) Embedded() bool { return s.mini != nil }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Close closes the client and stops the embedded server, if any.
func (s *Store) Close() error {
	s.probes.close()
	_ = s.closeWrites() // it only stops the autopipeliner's goroutines
	err := s.client.Close()
	if s.mini != nil {
		s.stopClock()
		s.mini.Close()
	}
	if err != nil {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}

// prefix returns the key prefix of an organization. The organization is the
// hash tag, so it must be a valid name (no braces, not empty).
func prefix(org string) (string, error) {
	if err := resources.ValidateOrgName(org); err != nil {
		return "", fmt.Errorf("invalid organization %q", org)
	}
	return "scimd:{" + org + "}:", nil
}

// newID returns a random UUID (version 4, RFC 9562).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func now() (time.Time, string) {
	t := time.Now().UTC()
	return t, t.Format(tsFormat)
}

func parseTime(v any) time.Time {
	s, _ := v.(string)
	if t, ok := parseTS(s); ok {
		return t
	}
	t, _ := time.Parse(tsFormat, s)
	return t
}

// parseTS reads a time in tsFormat, as time.Parse does, without its
// general layout machinery: every read of a resource parses two. ok is
// false for anything else (a wrong length, a non-digit, a field out of
// range), which time.Parse then reads or refuses.
func parseTS(s string) (t time.Time, ok bool) {
	if len(s) != len(tsFormat) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[29] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, j int) int {
		n := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, nsec := num(11, 13), num(14, 16), num(17, 19), num(20, 29)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 || nsec < 0 {
		return time.Time{}, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // past the month's last day: time.Parse refuses it
		return time.Time{}, false
	}
	return t, true
}

// errUnavailable is what a client is told when Redis cannot answer now:
// identity providers retry a 503 (RFC 7644 §3.12), and nothing internal is
// said.
var errUnavailable = resources.Errorf(resources.Unavailable, "the store is unavailable; retry later")

// unavailableError is the error of a command that found Redis unavailable.
// It keeps go-redis's error as its cause, for logs, and is [errUnavailable]
// to errors.As, so that every store method's error answers 503 without each
// having to map it.
type unavailableError struct{ cause error }

func (e unavailableError) Error() string { return "redis unavailable: " + e.cause.Error() }
func (e unavailableError) Unwrap() error { return e.cause }

// As makes e a [resources.Error] of code Unavailable.
func (e unavailableError) As(target any) bool {
	if t, ok := target.(*resources.Error); ok {
		*t = errUnavailable
		return true
	}
	return false
}

// unavailable reports whether err, a command's error after go-redis's own
// retries, means that Redis cannot answer now but may soon: it cannot be
// reached (refused, reset, timed out, no free connection), it is loading its
// data, a failover or cluster reconfiguration is under way, it is busy
// running a script past its time limit (BUSY), it is out of memory with no
// eviction (OOM, also when a script's write meets it), or it refuses writes
// for want of replicas or of a working disk (NOREPLICAS, MISCONF), or a
// Cluster's slot moved more often than the client follows (MOVED, ASK: the
// command did not run). Context
// errors are not: the request gave up, not the store.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.As(err, new(unavailableError)) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		var op *net.OpError // a dial that timed out is wrapped in DeadlineExceeded
		return errors.As(err, &op)
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) || errors.Is(err, redis.ErrClosed) ||
		redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.IsOOMError(err) || redis.IsNoReplicasError(err) ||
		redis.HasErrorPrefix(err, "BUSY ") || redis.HasErrorPrefix(err, "MISCONF ") ||
		// Past the client's redirects (the slot moved again, or a write
		// with its WAIT, see durability.go): the command did not run.
		redis.HasErrorPrefix(err, "MOVED ") || redis.HasErrorPrefix(err, "ASK ")
}

// unavailableHook turns the errors of commands that found Redis unavailable
// into [unavailableError]s, in one place, whichever store method ran them.
type unavailableHook struct{}

func (unavailableHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (unavailableHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return markUnavailable(next(ctx, cmd), cmd)
	}
}

func (unavailableHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return markUnavailable(next(ctx, cmds), cmds...)
	}
}

// markUnavailable makes the errors of cmds, and err, that say Redis was
// unavailable [unavailableError]s, and returns err so made.
func markUnavailable(err error, cmds ...redis.Cmder) error {
	for _, cmd := range cmds {
		if e := cmd.Err(); unavailable(e) {
			cmd.SetErr(unavailableError{e})
		}
	}
	if unavailable(err) {
		err = unavailableError{err}
	}
	return err
}

// markerErr is the error of a script result scimd does not know: a bug.
func markerErr(marker string) error {
	return fmt.Errorf("unexpected script result %q", marker)
}
