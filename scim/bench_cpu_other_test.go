//go:build !unix

package scim_test

import "time"

// processCPU is 0 where the process's CPU time is not read: the benchmarks'
// cpu-µs/op is then 0.
func processCPU() time.Duration { return 0 }
