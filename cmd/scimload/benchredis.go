package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// infoFields reads the "name:value" lines of one INFO section.
func infoFields(ctx context.Context, rdb *redis.Client, section string) (map[string]string, error) {
	text, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("INFO %s: %w", section, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}

// usedMemory is INFO memory's used_memory, in bytes.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	f, err := infoFields(ctx, rdb, "memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(f["used_memory"], 10, 64)
}

// cmdStat is one command's line of INFO commandstats.
type cmdStat struct {
	calls int64
	usec  int64
}

// commandStats reads INFO commandstats: command name -> calls and µs.
// Commands that scripts call count too, as Redis counts them.
func commandStats(ctx context.Context, rdb *redis.Client) (map[string]cmdStat, error) {
	f, err := infoFields(ctx, rdb, "commandstats")
	if err != nil {
		return nil, err
	}
	out := map[string]cmdStat{}
	for k, v := range f {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		var s cmdStat
		for _, kv := range strings.Split(v, ",") {
			key, val, _ := strings.Cut(kv, "=")
			switch key {
			case "calls":
				s.calls, _ = strconv.ParseInt(val, 10, 64)
			case "usec":
				s.usec, _ = strconv.ParseInt(val, 10, 64)
			}
		}
		out[name] = s
	}
	return out, nil
}

// scriptCost is what Redis spent on the write scripts between two
// commandstats readings: µs per script (EVALSHA, or FCALL where scimd runs
// its scripts as a function library) and the commands each made.
type scriptCost struct {
	scripts     int64
	usecPerCall float64
	// perScript is the commands the scripts called, per script, most first.
	perScript []cmdCount
}

type cmdCount struct {
	name string
	n    float64
}

// scriptCommands are the commands that run a script of scimd: EVALSHA, or
// FCALL and FCALL_RO where Redis has functions (EVAL, after a NOSCRIPT,
// is rare and counted with the script's own commands out).
var scriptCommands = []string{"evalsha", "fcall", "fcall_ro"}

// notScripts are the commands, besides scriptCommands, that are not a
// script's: those of the requests themselves and of the bench.
var notScripts = []string{"eval", "info", "ping", "script|load", "function|load"}

// scriptsBetween is the calls and µs of the script commands between two
// commandstats readings.
func scriptsBetween(before, after map[string]cmdStat) cmdStat {
	var ev cmdStat
	for _, name := range scriptCommands {
		ev.calls += after[name].calls - before[name].calls
		ev.usec += after[name].usec - before[name].usec
	}
	return ev
}

// costBetween is the script cost of the commands run between before and
// after, on the assumption that every script in between was a user's
// creation (true while only POST /Users or seeding runs: other scripts of
// those requests, such as recording a token's use, are rare).
func costBetween(before, after map[string]cmdStat) scriptCost {
	ev := scriptsBetween(before, after)
	c := scriptCost{scripts: ev.calls}
	if ev.calls == 0 {
		return c
	}
	c.usecPerCall = float64(ev.usec) / float64(ev.calls)
	for name, s := range after {
		// The commands of the requests themselves (pipelined reads, INFO)
		// are not the script's.
		if slices.Contains(scriptCommands, name) || slices.Contains(notScripts, name) {
			continue
		}
		n := s.calls - before[name].calls
		// Fewer than one in 20 scripts: not the script's (a connection's
		// HELLO, a token's use).
		if n*20 > ev.calls {
			c.perScript = append(c.perScript, cmdCount{name: strings.ToUpper(name), n: float64(n) / float64(ev.calls)})
		}
	}
	slices.SortFunc(c.perScript, func(a, b cmdCount) int {
		if a.n != b.n {
			return int(b.n*1000) - int(a.n*1000)
		}
		return strings.Compare(a.name, b.name)
	})
	return c
}

// String is e.g. "136 µs per create script; per script: 9 ZADD, 3 HSET, ...".
func (c scriptCost) String() string {
	if c.scripts == 0 {
		return "no create scripts ran"
	}
	var calls []string
	var total float64
	for _, cc := range c.perScript {
		total += cc.n
		calls = append(calls, fmt.Sprintf("%s %s", trimFloat(cc.n), cc.name))
	}
	return fmt.Sprintf("%.0f µs per create script (%d scripts); %s Redis calls in each: %s",
		c.usecPerCall, c.scripts, trimFloat(total), strings.Join(calls, ", "))
}

// trimFloat prints n with at most one decimal, none when whole.
func trimFloat(n float64) string {
	return strconv.FormatFloat(float64(int64(n*10+0.5))/10, 'f', -1, 64)
}

// keyCost is the memory of one key, or of one kind of per-user key, per
// customer.
type keyCost struct {
	name        string
	bytes       int64
	perCustomer float64
}

// memorySamples is how many elements MEMORY USAGE samples of a large key,
// and how many users' own keys are measured.
const memorySamples = 1000

// keyCosts measures the organization's keys with MEMORY USAGE: each shared
// key (indexes, ordering set, change log), sampling memorySamples of its
// elements, the userName hashes (unames:<n>) together, and the users' own
// keys from the users sample (their hash, password and groups), scaled to n
// customers.
func keyCosts(ctx context.Context, rdb *redis.Client, p string, sample []string, n int) ([]keyCost, error) {
	var shared, names []string
	iter := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
	perUser := []string{"user:", "pw:", "ugroups:", "members:", "group:", "uinvite:", "invite:"}
	for iter.Next(ctx) {
		k := strings.TrimPrefix(iter.Val(), p)
		switch {
		case slices.ContainsFunc(perUser, func(pre string) bool { return strings.HasPrefix(k, pre) }):
		case strings.HasPrefix(k, "unames:") && k != "unames:ready":
			names = append(names, k)
		default:
			shared = append(shared, k)
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("SCAN: %w", err)
	}
	slices.Sort(shared)
	var out []keyCost
	for _, k := range shared {
		b, err := rdb.MemoryUsage(ctx, p+k, memorySamples).Result()
		if err != nil {
			return nil, fmt.Errorf("MEMORY USAGE %s: %w", k, err)
		}
		out = append(out, keyCost{name: k, bytes: b, perCustomer: float64(b) / float64(n)})
	}
	if len(names) > 0 {
		pipe := rdb.Pipeline()
		cmds := make([]*redis.IntCmd, len(names))
		for i, k := range names {
			cmds[i] = pipe.MemoryUsage(ctx, p+k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("MEMORY USAGE of the userName hashes: %w", err)
		}
		var sum int64
		for _, c := range cmds {
			sum += c.Val()
		}
		out = append(out, keyCost{name: "unames:<n> (the " + strconv.Itoa(len(names)) + " userName hashes)", bytes: sum, perCustomer: float64(sum) / float64(n)})
	}
	for _, pre := range []string{"user:", "pw:", "ugroups:"} {
		var sum, found int64
		for _, id := range sample {
			b, err := rdb.MemoryUsage(ctx, p+pre+id).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("MEMORY USAGE %s%s: %w", pre, id, err)
			}
			sum += b
			found++
		}
		if found == 0 || len(sample) == 0 {
			continue
		}
		per := float64(sum) / float64(len(sample)) // users without the key count as 0
		out = append(out, keyCost{name: pre + "<id> (mean of " + strconv.Itoa(len(sample)) + " users)", bytes: int64(per * float64(n)), perCustomer: per})
	}
	return out, nil
}
