package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkPathsScript sends GETs of the paths in the file $SCIMBENCH_PATHS, one a
// line, each thread from its own offset, with the bearer token
// $SCIMBENCH_TOKEN (none when empty: the ceiling ignores it).
const wrkPathsScript = `
local paths = {}
for line in io.lines(os.getenv("SCIMBENCH_PATHS")) do paths[#paths + 1] = line end
local token = os.getenv("SCIMBENCH_TOKEN")
if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
wrk.headers["Accept"] = "application/scim+json"
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local i = 0
function init(args)
  i = (id * 7919) % #paths
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
`

// wrkCreateScript POSTs users with userNames no other run uses: the run's
// $SCIMBENCH_NONCE, the thread and a counter. They start with "p", so that
// they never match the seeded users' "userName sw" filter.
const wrkCreateScript = `
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SCIMBENCH_TOKEN")
wrk.headers["Accept"] = "application/scim+json"
wrk.headers["Content-Type"] = "application/scim+json"
local path = os.getenv("SCIMBENCH_PATH")
local nonce = os.getenv("SCIMBENCH_NONCE")
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local n = 0
function request()
  n = n + 1
  local name = "p" .. nonce .. "-" .. id .. "-" .. n .. "@example.com"
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","externalId":"' .. name .. '","name":{"givenName":"Load","familyName":"Post' .. n .. '"}}'
  return wrk.format("POST", path, nil, body)
end
`

// wrkResult is what scimload reads from wrk's report.
type wrkResult struct {
	reqPerSec float64
	p50, p99  time.Duration
	requests  int
	// failed counts answers other than 2xx and 3xx, and socket errors.
	failed int
}

// wrkRun is one wrk invocation.
type wrkRun struct {
	bin            string
	threads, conns int
	duration       time.Duration
	script         string // the Lua file
	url            string // scheme, host and first path
	env            []string
	name           string        // for messages
	timeout        time.Duration // wrk --timeout: longer answers count as errors
}

// run runs wrk and reads its report.
func (w wrkRun) run(ctx context.Context) (wrkResult, error) {
	args := []string{"-t" + strconv.Itoa(w.threads), "-c" + strconv.Itoa(w.conns),
		"-d" + strconv.Itoa(int(w.duration.Seconds())) + "s", "--latency", "-s", w.script}
	if w.timeout > 0 {
		args = append(args, "--timeout", strconv.Itoa(int(w.timeout.Seconds()))+"s")
	}
	cmd := exec.CommandContext(ctx, w.bin, append(args, w.url)...)
	cmd.Env = append(os.Environ(), w.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", w.name, err, bytes.TrimSpace(out.Bytes()))
	}
	r, err := parseWrk(out.String())
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w:\n%s", w.name, err, out.String())
	}
	return r, nil
}

var (
	wrkReqPerSec = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkRequests  = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkPercent   = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkNon2xx    = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocket    = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's report (with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkReqPerSec.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in the report")
	}
	r.reqPerSec, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	for _, m := range wrkPercent.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p99 == 0 {
		return r, fmt.Errorf("no 99%% latency in the report (run with --latency)")
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.failed += n
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.failed += n
		}
	}
	return r, nil
}

// writeWrkFiles writes the Lua scripts and a paths file into dir.
func writeWrkFiles(dir string) (pathsScript, createScript string, err error) {
	pathsScript = filepath.Join(dir, "paths.lua")
	createScript = filepath.Join(dir, "create.lua")
	if err := os.WriteFile(pathsScript, []byte(wrkPathsScript), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(createScript, []byte(wrkCreateScript), 0o600); err != nil {
		return "", "", err
	}
	return pathsScript, createScript, nil
}

// writePaths writes request paths, one a line, for wrkPathsScript.
func writePaths(file string, paths []string) error {
	return os.WriteFile(file, []byte(strings.Join(paths, "\n")+"\n"), 0o600)
}
