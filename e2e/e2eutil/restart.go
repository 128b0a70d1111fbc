package e2eutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const missingClusterCLI = "E2E_CLUSTER and E2E_STATE are not both set: this test restarts the kube-apiserver " +
	"with the cluster CLI. Run it with `make e2e`, which exports them, or by hand with " +
	"E2E_CLUSTER=<repo>/.cache/e2e/bin/cluster E2E_STATE=<state dir of `make cluster-up`>"

// ClusterCLI returns $E2E_CLUSTER and $E2E_STATE, failing the test when
// either is missing or when $E2E_STATE is not the cluster of $KUBECONFIG
// (so a test never restarts somebody else's cluster). Tests that restart
// components call it first, before they set anything up.
func ClusterCLI(t testing.TB) (bin, stateDir string) {
	t.Helper()
	bin, stateDir = os.Getenv("E2E_CLUSTER"), os.Getenv("E2E_STATE")
	if bin == "" || stateDir == "" {
		t.Fatal(missingClusterCLI)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("E2E_CLUSTER: %v (run `make e2e-cluster-bin`)", err)
	}
	kc, err := filepath.Abs(Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs(filepath.Join(stateDir, "kubeconfig")); kc != want {
		t.Fatalf("E2E_STATE=%s is not the cluster of KUBECONFIG=%s (want KUBECONFIG=%s)", stateDir, kc, want)
	}
	return bin, stateDir
}

// RestartAPIServer restarts the kube-apiserver of the cluster under test
// ($E2E_CLUSTER restart --state-dir=$E2E_STATE --component=kube-apiserver:
// SIGTERM, start with the same arguments, wait for /readyz) and returns
// how long that took. It fails the test when ClusterCLI does or when the
// restart fails.
func RestartAPIServer(t testing.TB) time.Duration {
	t.Helper()
	bin, state := ClusterCLI(t)
	r := Run(t, Cmd{Bin: bin, Args: []string{"restart", "--state-dir=" + state, "--component=kube-apiserver"}, Timeout: 2 * time.Minute})
	if r.ExitCode != 0 {
		t.Fatalf("restart kube-apiserver: exit %d\nstdout:\n%s\nstderr:\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	t.Logf("%s", strings.TrimSpace(r.Stdout))
	return r.Duration
}

// Background is a command started by Start that runs while the test goes
// on; its output can be read while it runs.
type Background struct {
	Started        time.Time // when the command was started
	c              Cmd
	cmd            *exec.Cmd
	cancel         context.CancelFunc
	stdout, stderr lockedBuffer
	done           chan struct{}
	res            Result
	timedOut       bool
}

// Start starts a command in the background, like Run (test environment,
// Timeout kills it, default 2 minutes). It is killed when the test ends if
// it is still running.
func Start(t testing.TB, c Cmd) *Background {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	b := &Background{c: c, cancel: cancel, done: make(chan struct{})}
	b.cmd = exec.CommandContext(ctx, c.Bin, c.Args...)
	b.cmd.Dir = c.Dir
	b.cmd.Stdin = c.Stdin
	b.cmd.Env = append(os.Environ(), c.Env...)
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	b.Started = time.Now()
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", c.Bin, err)
	}
	go func() {
		defer close(b.done)
		err := b.cmd.Wait()
		b.res = Result{Stdout: b.stdout.String(), Stderr: b.stderr.String(), Duration: time.Since(b.Started)}
		b.timedOut = ctx.Err() != nil
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			b.res.ExitCode = exitErr.ExitCode()
		} else if err != nil {
			b.res.ExitCode = -1
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	t.Logf("$ %s %s & (started in the background)", c.Bin, strings.Join(c.Args, " "))
	return b
}

// StartTypekro starts the typekro binary under test in the background.
func StartTypekro(t testing.TB, timeout time.Duration, args ...string) *Background {
	t.Helper()
	return Start(t, Cmd{Bin: TypekroBin(t), Args: args, Timeout: timeout})
}

// Stdout and Stderr return the output so far.
func (b *Background) Stdout() string { return b.stdout.String() }
func (b *Background) Stderr() string { return b.stderr.String() }

// Exited reports whether the command has exited.
func (b *Background) Exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Wait waits for the command to exit and returns its result. A command
// killed by its Timeout fails the test.
func (b *Background) Wait(t testing.TB) Result {
	t.Helper()
	<-b.done
	if b.timedOut {
		t.Fatalf("%s %s: killed after %s\nstdout:\n%s\nstderr:\n%s", b.c.Bin, strings.Join(b.c.Args, " "), b.c.Timeout, b.res.Stdout, b.res.Stderr)
	}
	t.Logf("$ %s %s (exit %d, %s)", b.c.Bin, strings.Join(b.c.Args, " "), b.res.ExitCode, b.res.Duration.Round(time.Millisecond))
	return b.res
}

// WaitOutput waits until the command's stdout or stderr contains every
// want, failing the test on timeout or when the command exits first.
func (b *Background) WaitOutput(t testing.TB, timeout time.Duration, wants ...string) {
	t.Helper()
	WaitFor(t, timeout, func(context.Context) (bool, error) {
		out := b.Stdout() + b.Stderr()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return true, nil
		}
		if b.Exited() {
			r := b.Wait(t)
			t.Fatalf("%s exited (code %d) before printing %q\nstdout:\n%s\nstderr:\n%s", b.c.Bin, r.ExitCode, missing, r.Stdout, r.Stderr)
		}
		return false, fmt.Errorf("no %q in the output yet", missing)
	})
}

// lockedBuffer is a bytes.Buffer written by the command and read by the
// test concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
