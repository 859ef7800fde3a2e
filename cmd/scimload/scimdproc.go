package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// scimdProcess is a scimd that scimload started.
type scimdProcess struct {
	// url is its scheme and host ("http://127.0.0.1:port").
	url string
	// pid is its process id, for its CPU time (procCPU).
	pid  int
	stop func()
}

// startScimd starts the scimd binary bin on addr ("" for a free loopback
// port) and redisURL with its abuse limits off, logging errors only to a
// file in dir, and returns once it answers; env adds settings. token is a
// bearer token it accepts, for the check that it answers.
func startScimd(ctx context.Context, bin, addr, redisURL, dir, token string, env ...string) (*scimdProcess, error) {
	if addr == "" {
		port, err := freeTCPPort()
		if err != nil {
			return nil, err
		}
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	logFile, err := os.Create(filepath.Join(dir, "scimd.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(),
		"SCIM_ADDR="+addr, "SCIM_REDIS_URL="+redisURL,
		"SCIM_TOKEN_RATE=-1", "SCIM_PUBLIC_RATE=-1", "SCIM_AUTH_FAILURE_LIMIT=-1", "SCIM_LOG_LEVEL=error",
		"SCIM_MAIL_OUTBOX="+filepath.Join(dir, "outbox")), env...)
	// scimd's standard output may hold a console sign-in link: not shown.
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start scimd: %w", err)
	}
	p := &scimdProcess{url: "http://" + addr, pid: cmd.Process.Pid, stop: func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		_ = logFile.Close()
	}}
	c := scimClient{http: newHTTPClient(1), base: p.url + "/scim/v2", token: token}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.do(ctx, http.MethodGet, "/ServiceProviderConfig", nil)
		if err == nil && resp.status == http.StatusOK {
			return p, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("scimd did not answer within 30 s (%v, status %d); its log:\n%s", err, resp.status, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux that scimd targets).
const clockTicks = 100

// procCPU is the CPU time (user and system) that process pid ("self" for
// scimload) has used, from /proc/<pid>/stat (Linux only).
func procCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %s: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: the fields that
	// follow it are counted from its closing parenthesis. utime and stime
	// are the 14th and 15th fields, the 12th and 13th after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("CPU time of process %s: %d fields in /proc/%s/stat", pid, len(f), pid)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("CPU time of process %s: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
