package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// freePorts returns n distinct ports that are free on 127.0.0.1. Ports are
// taken at random below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range), so that outgoing connections made
// between choosing a port and the component binding it cannot take it, and
// two clusters (e.g. of different checkouts) practically never pick the same
// ones. Each candidate is verified by binding it; all listeners are held
// until every port is chosen.
func freePorts(n int) ([]int, error) {
	const lowest = 20000
	highest := ephemeralLow() - 1
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n && attempts < 1000; attempts++ {
		addr := "127.0.0.1:0"
		if highest-lowest > 1000 {
			addr = "127.0.0.1:" + strconv.Itoa(lowest+rand.IntN(highest-lowest+1))
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("could not find %d free ports on 127.0.0.1", n)
	}
	return ports, nil
}

// ephemeralLow returns the first port of the ephemeral port range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil {
				return low
			}
		}
	}
	return 32768
}
