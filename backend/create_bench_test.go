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
	stats := func(b *testing.B) map[string][2]float64 {
		b.Helper()
		text, err := s.client.Info(ctx, "commandstats").Result()
		if err != nil {
			b.Fatal(err)
		}
		out := map[string][2]float64{}
		for _, line := range strings.Split(text, "\n") {
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok || !strings.HasPrefix(name, "cmdstat_") {
				continue
			}
			var calls, usec float64
			for _, f := range strings.Split(rest, ",") {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "calls":
					calls, _ = strconv.ParseFloat(v, 64)
				case "usec":
					usec, _ = strconv.ParseFloat(v, 64)
				}
			}
			out[strings.TrimPrefix(name, "cmdstat_")] = [2]float64{calls, usec}
		}
		return out
	}
	cpu := func(b *testing.B) float64 {
		b.Helper()
		text, err := s.client.Info(ctx, "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		var total float64
		for _, line := range strings.Split(text, "\n") {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			if k == "used_cpu_user_main_thread" || k == "used_cpu_sys_main_thread" {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
		return total * 1e6
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
	st := stats(b)
	script := st[call]
	b.ReportMetric(script[1]/script[0], "redis-µs/script")
	var names []string
	inner := 0.0
	for name, v := range st {
		if name == call || name == "info" || name == "config|resetstat" || v[0] < script[0] {
			continue
		}
		names = append(names, name)
		inner += v[0]
	}
	b.ReportMetric(inner/script[0], "redis-calls/script")
	sort.Strings(names)
	for _, name := range names {
		v := st[name]
		b.Logf("%-16s %5.2f calls/script %6.2f µs/call", name, v[0]/script[0], v[1]/v[0])
	}
}
