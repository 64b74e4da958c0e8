//go:build !linux

package stack

import "syscall"

// childAttrs puts each child server in its own process group, so Close can
// signal all of it.
func childAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
