package backend

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The function library: on a Redis that has functions (7.0 and later), the
// store's scripts run as the functions of one library (FUNCTION LOAD, then
// FCALL) instead of as scripts (EVALSHA).
//
// Why: a script sent with EVALSHA runs its whole text at every call, and most
// of the store's scripts begin with luaCommon, whose top level defines some
// thirty functions before the script's own lines run (about 9 µs of Redis
// time a call on 7.0). A library runs those top-level lines once, when it is
// loaded, and each call runs only the function's body.
//
// The library holds each script as a function whose body is the script's own
// lines, after the pieces it begins with (luaCommon, luaAdmin, ...): those run
// once, at the library's top level, in a do-block per combination of pieces,
// so each function sees exactly the locals its script saw. Two rules follow,
// stated at luaCommon's top:
//
//   - Redis runs a library's top level in an environment with no globals
//     (not even string, ipairs or tostring): the pieces' top-level statements
//     use literals and plain Lua only; function bodies may use any global.
//   - The pieces' top-level locals are shared by every call of every
//     function: a function reads them and never changes them (a table filled
//     at load, such as ENTRY_CODE, is a constant).
//
// The library's name and its functions' names carry a hash of its text
// (scimd_<12 hex>, write_user_<12 hex>): two versions of scimd sharing a
// Redis, during a rolling upgrade, each load and call their own library, and
// never replace the other's.
//
// The library is loaded when the store opens, on every primary (a single
// server, Sentinel's master, every primary of a Cluster); "already exists" is
// success. A primary may lack it later (restarted without persistence,
// FUNCTION FLUSH, a new Cluster node, a replica promoted that never had it):
// an FCALL answered "Function not found" ran nothing, so [script.Run] loads
// the library on that node and sends the FCALL once more, and if that fails
// too (or FCALL itself is refused: a node of an older Redis, an ACL), runs
// the script with EVALSHA. A write whose answer was lost is still never
// resent ([errOutcomeUnknown]).
//
// Where Redis has no functions (the embedded store, miniredis; Redis before
// 7; a user not allowed FUNCTION; any error answer to FUNCTION LOAD), the
// store runs every script with EVALSHA, as [Store.useFunctions] decides
// once, when it opens. The check scripts
// (check_scripts.go), run only by scimd check, stay scripts.

// libraryScript is a script of the library.
type libraryScript struct {
	// name is the function's name, before the library's hash.
	name string
	src  string
	// readOnly: the script calls no command that writes, and is registered
	// with the no-writes flag. A function without it is refused when Redis
	// has reached maxmemory (-OOM), or cannot write; a read must still
	// answer then, as a read script sent with EVALSHA does.
	readOnly bool
}

// libraryScripts are the scripts of the library: every script the store
// runs (a test checks that none is missing).
var libraryScripts = []libraryScript{
	{"write_user", writeUserSrc, false},
	{"delete_user", deleteUserSrc, false},
	{"write_group", writeGroupSrc, false},
	{"delete_group", deleteGroupSrc, false},
	{"sweep_group", sweepGroupSrc, false},
	{"sweep_replaced", sweepReplacedSrc, false},
	{"member_page", memberPageSrc, true},
	{"order_members", orderMembersSrc, false},
	{"search_walk", searchWalkSrc, true},
	{"search_range", searchRangeSrc, true},
	{"find_user_name", findUserNameSrc, true},
	{"read_user", readUserSrc, true},
	{"active_rank", activeRankSrc, true},
	{"active_read", activeReadSrc, true},
	{"upgrade_sparse", upgradeSparseSrc, false},
	{"upgrade_created", upgradeCreatedSrc, false},
	{"fill_user_names", fillUserNamesSrc, false},
	{"put_token", putTokenSrc, false},
	{"revoke_token", revokeTokenSrc, false},
	{"touch_token", touchTokenSrc, false},
	{"rotate_token", rotateTokenSrc, false},
	{"revoke_previous", revokePreviousSrc, false},
	{"mark_replaced", markReplacedSrc, false},
	{"issue_invite", issueInviteSrc, false},
	{"redeem", redeemSrc, false},
	{"set_setting", setSettingSrc, false},
	{"change_extension", changeExtensionSrc, false},
	{"purge_batch", purgeBatchSrc, false},
	{"set_settings", setSettingsSrc, false},
	{"substring_batch", substringBatchSrc, false},
	{"gcra", gcraSrc, false},
	{"lease", leaseSrc, false},
	{"reserve_failure", reserveFailureSrc, false},
	{"settle_failure", settleFailureSrc, false},
	{"read_admins", readAdminsSrc, true},
	{"create_admin", createAdminSrc, false},
	{"set_admin_role", setAdminRoleSrc, false},
	{"delete_admin", deleteAdminSrc, false},
	{"set_admin_password", setAdminPasswordSrc, false},
	{"put_admin_link", putAdminLinkSrc, false},
	{"admin_link", adminLinkSrc, true},
	{"redeem_admin_link", redeemAdminLinkSrc, false},
	{"create_session", createSessionSrc, false},
	{"session", sessionSrc, false},
	{"delete_session", deleteSessionSrc, false},
}

// libraryPieces are the texts scripts begin with, which the library runs
// once, at its top level. A piece that begins with another comes first
// (luaCommon begins with luaUserGroups, which begins with luaStoredHash).
var libraryPieces = []string{luaCommon, luaSearch, luaUserGroups, luaStoredHash, luaOrderKey, luaAdmin, luaUserNames}

// library is the function library of this version of scimd.
type library struct {
	// name is scimd_<hash>; text is what FUNCTION LOAD is sent.
	name, text string
	// functions maps a script's source to its function's name.
	functions map[string]string
}

// storeLibrary is the library of the store's scripts, built once: a
// constant, as the scripts are.
var storeLibrary = newLibrary(libraryScripts)

// newLibrary builds the library of scripts.
func newLibrary(scripts []libraryScript) *library {
	hash := sha1.Sum([]byte(libraryText(scripts, "")))
	suffix := "_" + hex.EncodeToString(hash[:])[:12]
	l := &library{name: "scimd" + suffix, text: libraryText(scripts, suffix), functions: map[string]string{}}
	for _, sc := range scripts {
		l.functions[sc.src] = sc.name + suffix
	}
	return l
}

// libraryText is the text of the library of scripts whose names end with
// suffix: one do-block per combination of pieces the scripts begin with,
// the pieces at its top, then the scripts' functions.
func libraryText(scripts []libraryScript, suffix string) string {
	type group struct {
		pieces []string
		fns    []string
	}
	var groups []*group
	byPieces := map[string]*group{}
	for _, sc := range scripts {
		pieces, body := splitPieces(sc.src)
		key := strings.Join(pieces, "\x00")
		g := byPieces[key]
		if g == nil {
			g = &group{pieces: pieces}
			byPieces[key] = g
			groups = append(groups, g)
		}
		flags := ""
		if sc.readOnly {
			flags = ", flags={'no-writes'}"
		}
		// The body's last line may be a comment: end goes on a line of its own.
		g.fns = append(g.fns, "redis.register_function{function_name='"+sc.name+suffix+
			"', callback=function(KEYS, ARGV)\n"+body+"\nend"+flags+"}\n")
	}
	var b strings.Builder
	b.WriteString("#!lua name=scimd" + suffix + "\n")
	for _, g := range groups {
		b.WriteString("do\n")
		for _, p := range g.pieces {
			b.WriteString(p)
		}
		b.WriteString("\n")
		for _, fn := range g.fns {
			b.WriteString(fn)
		}
		b.WriteString("end\n")
	}
	return b.String()
}

// splitPieces returns the pieces src begins with, in order, and the rest:
// the script's own lines.
func splitPieces(src string) (pieces []string, body string) {
	body = src
	for {
		found := false
		for _, p := range libraryPieces {
			if strings.HasPrefix(body, p) {
				pieces, body, found = append(pieces, p), body[len(p):], true
				break
			}
		}
		if !found {
			return pieces, body
		}
	}
}

// useFunctions loads the library on every primary and reports whether the
// store's scripts are to run as its functions: yes when a primary loaded it
// and none answered with an error (an unknown command: Redis before 7, as a
// node of a Cluster being upgraded may be; NOPERM: scimd's user may not load
// functions; a library Redis will not load, OOM): the scripts then run with
// EVALSHA, as before functions. A primary that could not be reached gets
// the library at its first call ([script.Run]); when none could, it is an
// error, as Ping's.
func (s *Store) useFunctions(ctx context.Context) (bool, error) {
	var mu sync.Mutex
	has, without := 0, 0
	var failed error
	load := func(ctx context.Context, c redis.Cmdable) error {
		err := loadLibraryOn(ctx, c)
		var reply redis.Error
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			has++
		case errors.As(err, &reply):
			without++
		default:
			failed = err
		}
		return nil
	}
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return load(ctx, c) }); err != nil {
			failed = err
		}
	} else {
		_ = load(ctx, s.client)
	}
	switch {
	case without > 0:
		return false, nil
	case has > 0:
		return true, nil
	}
	return false, fmt.Errorf("load the script library: %w", failed)
}

// noFunctions reports whether err is the answer of a Redis that has no
// functions for scimd: an unknown command (FUNCTION, FCALL: Redis before 7)
// or NOPERM.
func noFunctions(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	msg := strings.ToLower(reply.Error())
	return strings.Contains(msg, "unknown command") || strings.Contains(msg, "unknown subcommand") || strings.HasPrefix(msg, "noperm")
}

// loadLibrary loads the library on every primary.
func (s *Store) loadLibrary(ctx context.Context) error {
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return loadLibraryOn(ctx, c) })
	}
	return loadLibraryOn(ctx, s.client)
}

// loadLibraryFor loads the library on the primary of keys[0]'s slot, where
// a function was not found (on every primary when there are no keys).
func (s *Store) loadLibraryFor(ctx context.Context, keys []string) error {
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok || len(keys) == 0 {
		return s.loadLibrary(ctx)
	}
	node, err := cc.MasterForKey(ctx, keys[0])
	if err != nil {
		return err
	}
	return loadLibraryOn(ctx, node)
}

// loadLibraryOn loads the library on one server; already loaded is success.
func loadLibraryOn(ctx context.Context, c redis.Cmdable) error {
	err := c.FunctionLoad(ctx, storeLibrary.text).Err()
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}

// functionMissing reports whether err is Redis's answer to an FCALL of a
// function it does not have ("Function not found"), or to an FCALL it does
// not know or allow ([noFunctions]): the function did not run.
func functionMissing(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply) && strings.Contains(reply.Error(), "Function not found") || noFunctions(err)
}
