package stack

// PIDs are the process ids of the running child servers, for the tests.
func (s *Services) PIDs() []int {
	var pids []int
	for _, c := range s.children {
		pids = append(pids, c.cmd.Process.Pid)
	}
	return pids
}
