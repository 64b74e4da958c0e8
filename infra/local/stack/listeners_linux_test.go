package stack_test

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// listener is one listening TCP socket, as /proc/net/tcp{,6} lists it.
type listener struct {
	ip    net.IP
	port  int
	inode string
}

func (l listener) String() string { return net.JoinHostPort(l.ip.String(), strconv.Itoa(l.port)) }

// listeners returns every listening TCP socket of the network namespace.
func listeners(t *testing.T) []listener {
	t.Helper()
	var out []listener
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatalf("list listening sockets: %v", err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			l, err := parseListener(fields[1], fields[9])
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out = append(out, l)
		}
		_ = f.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
	}
	if len(out) == 0 {
		t.Fatal("no listening socket found at all: the listing proves nothing")
	}
	return out
}

// parseListener reads "0100007F:1F90": the address in 32-bit words of the
// host's byte order (little-endian on every machine this runs on), the port in hex.
func parseListener(local, inode string) (listener, error) {
	addr, port, ok := strings.Cut(local, ":")
	raw, err := hex.DecodeString(addr)
	if !ok || err != nil || (len(raw) != 4 && len(raw) != 16) {
		return listener{}, fmt.Errorf("unreadable local address %q", local)
	}
	for w := 0; w < len(raw); w += 4 {
		raw[w], raw[w+1], raw[w+2], raw[w+3] = raw[w+3], raw[w+2], raw[w+1], raw[w]
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return listener{}, fmt.Errorf("unreadable port in %q", local)
	}
	return listener{ip: net.IP(raw), port: int(p), inode: inode}, nil
}

// socketInodes returns the inodes of the sockets the process holds open.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list the open files of child %d: %v", pid, err)
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return inodes
}

// checkLoopbackOnly requires every reported port to be listened on, and
// every listener on those ports and every listener any child server holds
// to be bound to a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.1) —
// never 0.0.0.0, :: or an interface's address.
func checkLoopbackOnly(t *testing.T, ports map[string]int, pids []int) {
	t.Helper()
	all := listeners(t)
	for name, port := range ports {
		found := false
		for _, l := range all {
			if l.port != port {
				continue
			}
			found = true
			if !l.ip.IsLoopback() {
				t.Errorf("%s listens on %s, not on loopback only", name, l)
			}
		}
		if !found {
			t.Errorf("%s: nothing listens on its port %d", name, port)
		}
	}
	if len(pids) == 0 {
		t.Fatal("no child process to check")
	}
	for _, pid := range pids {
		inodes := socketInodes(t, pid)
		for _, l := range all {
			if inodes[l.inode] && !l.ip.IsLoopback() {
				exe, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
				t.Errorf("child %d (%s) listens on %s, not on loopback only", pid, filepath.Base(exe), l)
			}
		}
	}
}

// TestEveryServiceListensOnLoopbackOnly starts the services and proves that
// DynamoDB Local, Mailpit (web and SMTP), stripe-mock (HTTP and HTTPS) and the
// Secrets Manager endpoint listen on loopback only, and that no child server
// listens anywhere else either. DynamoDB Local has no option for its
// address; without the launcher it listens on every interface.
func TestEveryServiceListensOnLoopbackOnly(t *testing.T) {
	svc, o := startServices(t, "")
	checkLoopbackOnly(t, map[string]int{
		"DynamoDB Local":          o.DynamoDBPort,
		"Mailpit":                 o.MailpitPort,
		"Mailpit SMTP":            o.SMTPPort,
		"stripe-mock HTTP":        o.StripePort,
		"stripe-mock HTTPS":       o.StripeHTTPSPort,
		"Secrets Manager":         o.SecretsManagerPort,
		"DynamoDB Local endpoint": portOf(t, svc.DynamoDBEndpoint),
		"Mailpit URL":             portOf(t, svc.MailpitURL),
		"Secrets Manager URL":     portOf(t, svc.SecretsManagerEndpoint),
		"stripe-mock URL":         portOf(t, svc.StripeAPIURL),
	}, svc.PIDs())
}
