//go:build !linux

package lambdatest

import "syscall"

// procAttrs puts the emulator in a process group of its own, so Stop can
// signal all of it.
func procAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
