package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server die with the test binary, so that no
// server outlives it (a shared cluster has no test to stop it).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
