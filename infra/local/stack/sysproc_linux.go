package stack

import "syscall"

// childAttrs puts each child server in its own process group (so Close can
// signal all of it) and has the kernel stop it if the launcher dies.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
