package backend

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/resources"
)

// BenchmarkCreateScript measures what Redis spends per user creation on a
// redis-server holding benchUsers users: redis-µs/script is INFO
// commandstats' µs per call of the write script (FCALL, or EVALSHA where
// functions are off), redis-cpu-µs/op the CPU time of Redis's main thread
// per creation (its other commands and network I/O included), and
// redis-calls/script the commands the script ran. With -v it logs each
// command's share.
func BenchmarkCreateScript(b *testing.B) {
	s, _ := seeded(b)
	ctx := context.Background()
	cpu := func(b *testing.B) float64 {
		b.Helper()
		info := redisInfo(b, s.client, "cpu")
		user, _ := strconv.ParseFloat(info["used_cpu_user_main_thread"], 64)
		sys, _ := strconv.ParseFloat(info["used_cpu_sys_main_thread"], 64)
		return (user + sys) * 1e6
	}
	call := "evalsha"
	if s.functions {
		call = "fcall"
	}
	next := benchUsers
	if err := s.client.ConfigResetStat(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpu(b)
	for b.Loop() {
		// Typed, as a request's write is (resources checks the document
		// against the organization's User type and says so).
		if _, err := s.CreateUser(ctx, org, benchUser(next), resources.UserWrite{PasswordHash: "hash", Typed: true}); err != nil {
			b.Fatal(err)
		}
		next++
	}
	b.ReportMetric((cpu(b)-cpu0)/float64(b.N), "redis-cpu-µs/op")
	st := redisInfo(b, s.client, "commandstats")
	calls := func(name string) float64 { return commandStat(st, name, "calls") }
	script := calls(call)
	b.ReportMetric(commandStat(st, call, "usec")/script, "redis-µs/script")
	var names []string
	inner := 0.0
	for field := range st {
		name, ok := strings.CutPrefix(field, "cmdstat_")
		if !ok || name == call || name == "info" || name == "config|resetstat" || calls(name) < script {
			continue
		}
		names = append(names, name)
		inner += calls(name)
	}
	b.ReportMetric(inner/script, "redis-calls/script")
	sort.Strings(names)
	for _, name := range names {
		b.Logf("%-16s %5.2f calls/script %6.2f µs/call", name, calls(name)/script, commandStat(st, name, "usec")/calls(name))
	}
}
