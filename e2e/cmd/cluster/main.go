// Command cluster starts, stops and inspects the local e2e control plane.
//
//	cluster up     [--state-dir DIR] --kube-bin-dir DIR --etcd BIN --kwok BIN --kwok-stages DIR [--kwok-manifests DIR] [--kro BIN --kro-crds DIR] [--flux-bin-dir DIR --flux-crds DIR] [-v]
//	cluster down   [--state-dir DIR]
//	cluster status [--state-dir DIR]
//	cluster logs   [--state-dir DIR] [--tail N]
//	cluster restart [--state-dir DIR] [--component kube-apiserver] [--timeout D]
//
// The state dir defaults to .cache/cluster under the repository root (found
// by walking up to the directory holding e2e/go.mod). `up` restarts: it stops
// whatever a previous `up` in the same state dir left running first. The
// started components keep running after `up` returns; `down` stops them.
// `restart` stops one component of a running cluster and starts it again
// with the same arguments (same port, PKI and data), waits until it is ready
// and records the new PID (only the kube-apiserver, for the e2e test of
// waits that survive an API server restart).
// make/e2e.mk passes all paths; use `make cluster-up` / `make cluster-down`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/cluster"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "up":
		err = up(args)
	case "down":
		err = down(args)
	case "status":
		err = status(args)
	case "logs":
		err = logs(args)
	case "restart":
		err = restart(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cluster up|down|status|logs|restart [flags] (see -h of each subcommand)")
	os.Exit(2)
}

func defaultStateDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join(".cache", "cluster")
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "e2e", "go.mod")); err == nil {
			return filepath.Join(d, ".cache", "cluster")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, ".cache", "cluster")
		}
	}
}

func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("cluster "+name, flag.ExitOnError)
	stateDir := fs.String("state-dir", defaultStateDir(), "state directory (kubeconfig, state.json, pids, logs/)")
	return fs, stateDir
}

func up(args []string) error {
	fs, stateDir := newFlags("up")
	var o cluster.Options
	fs.StringVar(&o.KubeBinDir, "kube-bin-dir", "", "directory with kube-apiserver, kube-controller-manager, kube-scheduler")
	fs.StringVar(&o.Etcd, "etcd", "", "etcd binary")
	fs.StringVar(&o.Kwok, "kwok", "", "kwok binary")
	fs.StringVar(&o.KwokStagesDir, "kwok-stages", "", "directory with kwok stage configs (*.yaml)")
	fs.StringVar(&o.KwokManifestsDir, "kwok-manifests", "", "optional directory with manifests applied at start (*.yaml)")
	fs.StringVar(&o.KRO, "kro", "", "KRO controller binary (empty: no KRO)")
	fs.StringVar(&o.KROCRDsDir, "kro-crds", "", "directory with the KRO CRDs (*.yaml)")
	fs.StringVar(&o.FluxBinDir, "flux-bin-dir", "", "directory with Flux's source-controller and kustomize-controller (empty: no Flux)")
	fs.StringVar(&o.FluxCRDsDir, "flux-crds", "", "directory with Flux's CRDs (*.yaml)")
	fs.StringVar(&o.DataDir, "data-dir", "", "etcd data parent directory (default: under /dev/shm)")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "start-up timeout")
	verbose := fs.Bool("v", false, "print progress")
	_ = fs.Parse(args)
	o.StateDir = *stateDir
	if *verbose {
		o.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "cluster: "+format+"\n", args...) }
	}

	// Stop what was started if we are interrupted during start-up.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	begin := time.Now()
	c, err := cluster.Start(ctx, o)
	if err != nil {
		return err
	}
	st := c.State()
	fmt.Printf("cluster up in %.1fs: %s, KUBECONFIG=%s\n", time.Since(begin).Seconds(), st.Server, c.Kubeconfig())
	return nil
}

func down(args []string) error {
	fs, stateDir := newFlags("down")
	_ = fs.Parse(args)
	return cluster.Down(*stateDir)
}

func restart(args []string) error {
	fs, stateDir := newFlags("restart")
	component := fs.String("component", cluster.APIServer, "component to restart (only "+cluster.APIServer+")")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the component to be ready again")
	_ = fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	begin := time.Now()
	p, err := cluster.Restart(ctx, *stateDir, *component)
	if err != nil {
		return err
	}
	fmt.Printf("%s restarted in %.1fs (pid %d)\n", p.Name, time.Since(begin).Seconds(), p.PID)
	return nil
}

func status(args []string) error {
	fs, stateDir := newFlags("status")
	_ = fs.Parse(args)
	st, err := cluster.ReadState(*stateDir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Printf("no cluster recorded in %s\n", *stateDir)
		return errors.New("not running")
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "COMPONENT\tPID\tSTATE\tRSS\tLOG\n")
	var total int64
	down := 0
	for _, p := range st.Processes {
		state, rss := "running", int64(0)
		if p.Alive() {
			rss = p.RSS()
		} else {
			state = "gone"
			down++
		}
		total += rss
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d MiB\t%s\n", p.Name, p.PID, state, rss>>20, p.Log)
	}
	fmt.Fprintf(tw, "total\t\t\t%d MiB\t\n", total>>20)
	tw.Flush()
	ready := apiserverReady(st.Kubeconfig)
	fmt.Printf("apiserver %s: %s\nkubeconfig: %s\netcd data: %s\n", st.Server, ready, st.Kubeconfig, st.DataDir)
	if down > 0 || ready != "ready" {
		return errors.New("cluster is not healthy")
	}
	return nil
}

func apiserverReady(kubeconfig string) string {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err.Error()
	}
	cfg.Timeout = 3 * time.Second
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err.Error()
	}
	var code int
	res := kube.Discovery().RESTClient().Get().AbsPath("/readyz").Do(context.Background()).StatusCode(&code)
	if code == http.StatusOK {
		return "ready"
	}
	if err := res.Error(); err != nil {
		return "not ready: " + err.Error()
	}
	return fmt.Sprintf("not ready: HTTP %d", code)
}

func logs(args []string) error {
	fs, stateDir := newFlags("logs")
	tail := fs.Int("tail", 40, "lines per component log")
	_ = fs.Parse(args)
	files, err := filepath.Glob(filepath.Join(*stateDir, "logs", "*.log"))
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > *tail {
			lines = lines[len(lines)-*tail:]
		}
		fmt.Printf("==> %s <==\n%s\n\n", f, strings.Join(lines, "\n"))
	}
	return nil
}
