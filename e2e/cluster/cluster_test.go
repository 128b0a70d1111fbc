package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGeneratePKI(t *testing.T) {
	p, err := GeneratePKI(t.TempDir(), net.IPv4(10, 96, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, p.CACert))
	fpRoots := x509.NewCertPool()
	fpRoots.AddCert(readCert(t, p.FrontProxyCACert))

	api := readCert(t, p.APIServerCert)
	for _, host := range []string{"127.0.0.1", "localhost", "10.96.0.1", "kubernetes.default.svc"} {
		if _, err := api.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("apiserver certificate for %s: %v", host, err)
		}
	}
	admin := readCert(t, p.AdminCert)
	if len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin organization = %v, want system:masters", admin.Subject.Organization)
	}
	for path, r := range map[string]*x509.CertPool{
		p.AdminCert: roots, p.ControllerManagerCert: roots, p.SchedulerCert: roots, p.FrontProxyClientCert: fpRoots,
	} {
		if _, err := readCert(t, path).Verify(x509.VerifyOptions{Roots: r, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
	}
	for _, f := range []string{p.CAKey, p.APIServerKey, p.ServiceAccountKey, p.ServiceAccountPublicKey} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

func TestFreePortsDistinctAndBelowEphemeralRange(t *testing.T) {
	ports, err := freePorts(7)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d returned twice: %v", p, ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		l.Close()
	}
}

// TestProcessIdentity checks that a process is recognised by PID and start
// time, that a recorded process with a different start time (a recycled
// PID) is never treated as ours, and that stopProcesses terminates a
// process group.
func TestProcessIdentity(t *testing.T) {
	dir := t.TempDir()
	p, cmd, err := startProcess("sleeper", filepath.Join(dir, "sleeper.log"), nil, "/bin/sh", "-c", "sleep 60 & wait")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	if !p.Alive() {
		t.Fatal("started process not alive")
	}
	impostor := *p
	impostor.StartTime++
	if impostor.Alive() {
		t.Fatal("process with another start time counted as alive")
	}
	impostor.signal(syscall.SIGKILL) // must be a no-op
	if !p.Alive() {
		t.Fatal("signal to impostor reached the real process")
	}
	start := time.Now()
	if err := stopProcesses([]*Process{p}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Fatal("process alive after stopProcesses")
	}
	// The child sleep was in the same process group, so it got the signal
	// too; it may linger as a zombie until its new parent reaps it.
	out, _ := exec.Command("pgrep", "-g", strconv.Itoa(p.PID)).Output()
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		if !waitGone([]*Process{{Name: "child", PID: pid, StartTime: startTimeOrZero(pid)}}, 5*time.Second) {
			t.Errorf("process %d of group %d still running", pid, p.PID)
		}
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
}

func startTimeOrZero(pid int) uint64 {
	st, _ := procStartTime(pid)
	return st
}
