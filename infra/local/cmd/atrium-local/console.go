package main

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// console is run's view of the functions' output (one JSON line per event). Unless verbose, it
// leaves out what a person at the console does not need: Embedded Metric Format lines (for
// CloudWatch; locally nobody reads them) and housekeeping pass lines that report nothing done
// (the every-minute sweep of an empty stack). Warnings, errors, request lines, anything that is
// not JSON and any pass that did something or failed are always shown.
type console struct {
	mu      sync.Mutex
	w       io.Writer
	verbose bool
	buf     []byte
}

func newConsole(w io.Writer, verbose bool) *console { return &console{w: w, verbose: verbose} }

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			break
		}
		line := c.buf[:i+1]
		if c.verbose || shown(line) {
			if _, err := c.w.Write(line); err != nil {
				c.buf = c.buf[i+1:]
				return len(p), err
			}
		}
		c.buf = c.buf[i+1:]
	}
	return len(p), nil
}

// shown decides for one line.
func shown(line []byte) bool {
	var ev map[string]any
	if json.Unmarshal(line, &ev) != nil {
		return true
	}
	if _, ok := ev["_aws"]; ok {
		return false // an Embedded Metric Format line
	}
	if ev["level"] != "INFO" || ev["msg"] != "housekeeping" {
		return true
	}
	if ev["ok"] != true {
		return true
	}
	for k, v := range ev {
		if n, ok := v.(float64); ok && n != 0 && k != "oldest_overdue_age_s" {
			return true // a pass that did something
		}
	}
	return false
}
