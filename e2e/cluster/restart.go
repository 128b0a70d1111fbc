package cluster

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
)

// Restart stops a component of the cluster recorded in stateDir (SIGTERM,
// SIGKILL after a grace period; nothing to do when it already exited) and
// starts it again with the recorded binary and arguments, so it comes back
// on the same port with the same PKI and the same etcd data. It records the
// new process in state.json (status and down then see the new PID) and
// waits until the component is ready again or ctx ends. Only the
// kube-apiserver can be restarted: it is the one the e2e tests take away
// from typekro during a wait, and the only component whose readiness a
// restart needs to check (every other component reconnects to it on its
// own).
func Restart(ctx context.Context, stateDir, component string) (*Process, error) {
	if component != APIServer {
		return nil, fmt.Errorf("restart: only %s can be restarted, not %q", APIServer, component)
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, err
	}
	unlock, err := lockStateDir(abs)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := ReadState(abs)
	if err != nil {
		return nil, fmt.Errorf("no cluster recorded in %s: %w", abs, err)
	}
	i := -1
	for j, p := range st.Processes {
		if p.Name == component {
			i = j
		}
	}
	if i < 0 {
		return nil, fmt.Errorf("no %s recorded in %s", component, filepath.Join(abs, stateFile))
	}
	old := st.Processes[i]
	if len(old.Args) == 0 {
		return nil, fmt.Errorf("%s: no command line recorded", component)
	}

	// The apiserver was started without extra environment (Start passes
	// none); its new output is appended to the same log.
	if err := stopProcesses([]*Process{old}, 15*time.Second); err != nil {
		return nil, err
	}
	p, cmd, err := startProcess(component, old.Log, nil, old.Args[0], old.Args[1:]...)
	if err != nil {
		return nil, err
	}
	go func(cmd *exec.Cmd) { _ = cmd.Wait() }(cmd)

	c := &Cluster{
		opts:  Options{StateDir: abs, Logf: func(string, ...any) {}},
		state: *st,
	}
	c.state.Processes = append([]*Process(nil), st.Processes...)
	c.state.Processes[i] = p
	if err := c.writeState(); err != nil {
		return p, err
	}
	restConfig, err := c.RESTConfig()
	if err != nil {
		return p, err
	}
	restConfig.Timeout = 5 * time.Second
	kube, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return p, err
	}
	// waitFor also fails fast when any component (the new apiserver or a
	// client of it) exits meanwhile.
	return p, c.waitFor(ctx, APIServer, "kube-apiserver ready after restart", func(ctx context.Context) error {
		_, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}
