package testenv

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// LoopbackClient returns an HTTP client whose connections leave from the
// loopback address 127.0.0.<2+i%250>, so that a test can send a burst from
// many source addresses, as an attacker spreading requests over many
// clients would, without leaving the machine (all of 127.0.0.0/8 is
// loopback on Linux).
func LoopbackClient(i int) *http.Client {
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%250))} // #nosec G115 -- 2+i%250 is within 2..251
	d := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConnsPerHost: 1, DisableKeepAlives: true,
	}}
}

// LoopbackAddr is the source address LoopbackClient(i) sends from.
func LoopbackAddr(i int) string { return fmt.Sprintf("127.0.0.%d", 2+i%250) }
