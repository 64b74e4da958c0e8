package lambdatest

import "syscall"

// procAttrs puts the emulator in a process group of its own (so Stop can
// signal all of it) and has the kernel stop it if the test process dies.
func procAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
