// Package cluster runs a throw-away Kubernetes control plane on 127.0.0.1 for
// the typekro e2e tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok as a fake kubelet with one fake node, the KRO
// controller and, optionally, Flux's source-controller and
// kustomize-controller (flux.go). All binaries are built from Go modules (see make/e2e.mk); the
// PKI is generated here. Component processes run in their own sessions,
// are recorded with PID and kernel start time in the state directory and
// are stopped by Stop, by Down or by the next Start on the same state dir.
package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Component names, also used for log file names (logs/<name>.log).
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
	KRO               = "kro"
)

const (
	// ServiceCIDR is the service cluster IP range (an allocation range only;
	// no traffic is routed).
	ServiceCIDR = "10.96.0.0/16"
	// PodCIDR is the range kwok assigns fake pod IPs from.
	PodCIDR = "10.244.0.0/16"
	// DefaultNodeName is the name of the fake node managed by kwok.
	DefaultNodeName = "kwok-node-0"
	// FakeNodeAnnotation marks the nodes kwok manages.
	FakeNodeAnnotation = "kwok.x-k8s.io/node"

	stateFile  = "state.json"
	pidsFile   = "pids"
	lockFile   = ".lock"
	kubeconfig = "kubeconfig"
	fieldOwner = "typekro-e2e-harness"
)

// Options configures Start. Binary paths must be absolute or relative to the
// working directory; they are made absolute.
type Options struct {
	// StateDir holds kubeconfig, state.json, pids, pki/ and logs/. Required.
	StateDir string
	// KubeBinDir contains kube-apiserver, kube-controller-manager and
	// kube-scheduler. Required.
	KubeBinDir string
	// Etcd is the etcd binary. Required.
	Etcd string
	// Kwok is the kwok binary; KwokStagesDir holds its *.yaml stage configs.
	// Both required.
	Kwok          string
	KwokStagesDir string
	// KwokManifestsDir optionally holds *.yaml objects applied once the
	// apiserver is up (e.g. the kwok-volume StorageClass).
	KwokManifestsDir string
	// KRO is the KRO controller binary and KROCRDsDir its CRDs. When KRO is
	// empty the cluster runs without KRO.
	KRO        string
	KROCRDsDir string
	// FluxBinDir holds Flux's source-controller and kustomize-controller,
	// FluxCRDsDir their CRDs. When FluxBinDir is empty the cluster runs
	// without Flux.
	FluxBinDir  string
	FluxCRDsDir string
	// DataDir is where etcd keeps its data (in DataDir/etcd). Default: a
	// directory under /dev/shm derived from StateDir, or StateDir/data when
	// /dev/shm is unusable.
	DataDir string
	// NodeName of the fake node. Default DefaultNodeName.
	NodeName string
	// Timeout bounds the whole start-up. Default 3 minutes.
	Timeout time.Duration
	// Logf receives progress messages. Default: discard.
	Logf func(format string, args ...any)
}

// Ports are the 127.0.0.1 ports of one cluster, chosen free at start.
type Ports struct {
	Etcd              int `json:"etcd"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
	KROMetrics        int `json:"kroMetrics"`
	KROHealth         int `json:"kroHealth"`
	// Flux's, zero without Flux.
	FluxStorage          int `json:"fluxStorage,omitempty"`
	FluxSourceMetrics    int `json:"fluxSourceMetrics,omitempty"`
	FluxSourceHealth     int `json:"fluxSourceHealth,omitempty"`
	FluxKustomizeMetrics int `json:"fluxKustomizeMetrics,omitempty"`
	FluxKustomizeHealth  int `json:"fluxKustomizeHealth,omitempty"`
}

// State is what state.json records about a cluster.
type State struct {
	StateDir   string     `json:"stateDir"`
	DataDir    string     `json:"dataDir"`
	Kubeconfig string     `json:"kubeconfig"`
	Server     string     `json:"server"`
	NodeName   string     `json:"nodeName"`
	Ports      Ports      `json:"ports"`
	Processes  []*Process `json:"processes"`
	StartedAt  time.Time  `json:"startedAt"`
	ReadyAt    time.Time  `json:"readyAt,omitzero"`
}

// Cluster is a running control plane started by Start.
type Cluster struct {
	opts  Options
	pki   *PKI
	mu    sync.Mutex
	state State
}

// Start stops whatever a previous Start left running in opts.StateDir (its
// recorded processes and etcd data), then starts a fresh cluster and waits
// until the apiserver is ready, the controller-manager and scheduler are
// healthy, the fake node is Ready, the default ServiceAccount exists and KRO
// (and Flux, when configured) is ready. On failure everything started is stopped again and the error
// carries the tail of the failing component's log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	unlock, err := lockStateDir(opts.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if err := down(opts.StateDir, opts.DataDir); err != nil {
		return nil, fmt.Errorf("stop previous cluster: %w", err)
	}
	for _, name := range []string{"pki", "logs", kubeconfig, stateFile, pidsFile} {
		if err := os.RemoveAll(filepath.Join(opts.StateDir, name)); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(opts.StateDir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.DataDir, "etcd"), 0o700); err != nil {
		return nil, err
	}

	c := &Cluster{opts: opts}
	c.state = State{
		StateDir:   opts.StateDir,
		DataDir:    opts.DataDir,
		Kubeconfig: filepath.Join(opts.StateDir, kubeconfig),
		NodeName:   opts.NodeName,
		StartedAt:  time.Now(),
	}
	if err := c.start(ctx); err != nil {
		if stopErr := c.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	return c, nil
}

func (o *Options) complete() error {
	if o.StateDir == "" || o.KubeBinDir == "" || o.Etcd == "" || o.Kwok == "" || o.KwokStagesDir == "" {
		return errors.New("cluster: StateDir, KubeBinDir, Etcd, Kwok and KwokStagesDir are required")
	}
	if o.KRO != "" && o.KROCRDsDir == "" {
		return errors.New("cluster: KROCRDsDir is required with KRO")
	}
	if o.FluxBinDir != "" && o.FluxCRDsDir == "" {
		return errors.New("cluster: FluxCRDsDir is required with FluxBinDir")
	}
	for _, p := range []*string{&o.StateDir, &o.KubeBinDir, &o.Etcd, &o.Kwok, &o.KwokStagesDir, &o.KwokManifestsDir, &o.KRO, &o.KROCRDsDir, &o.FluxBinDir, &o.FluxCRDsDir, &o.DataDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	for _, bin := range []string{
		filepath.Join(o.KubeBinDir, APIServer), filepath.Join(o.KubeBinDir, ControllerManager),
		filepath.Join(o.KubeBinDir, Scheduler), o.Etcd, o.Kwok, o.KRO,
		fluxBin(o.FluxBinDir, "source-controller"), fluxBin(o.FluxBinDir, "kustomize-controller"),
	} {
		if bin == "" {
			continue
		}
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("cluster: missing binary (run `make e2e-tools`): %w", err)
		}
	}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return err
	}
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir(o.StateDir)
	}
	if o.NodeName == "" {
		o.NodeName = DefaultNodeName
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return nil
}

// DefaultDataDir is the etcd data parent directory used for stateDir when
// Options.DataDir is empty: /dev/shm/typekro-e2e-<hash of stateDir>, so
// clusters of different checkouts never share it and a crashed run's data is
// found again, or stateDir/data when /dev/shm is not a writable directory.
func DefaultDataDir(stateDir string) string {
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() && syscall.Access("/dev/shm", 0o2) == nil {
		sum := sha256.Sum256([]byte(stateDir))
		return filepath.Join("/dev/shm", "typekro-e2e-"+hex.EncodeToString(sum[:6]))
	}
	return filepath.Join(stateDir, "data")
}

// Kubeconfig returns the path of the admin kubeconfig (certificates embedded).
func (c *Cluster) Kubeconfig() string { return c.state.Kubeconfig }

// StateDir returns the state directory of the cluster.
func (c *Cluster) StateDir() string { return c.state.StateDir }

// State returns a copy of the recorded state (ports, processes, paths).
func (c *Cluster) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.Processes = append([]*Process(nil), c.state.Processes...)
	return s
}

// RESTConfig returns an admin client configuration for the cluster.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.state.Kubeconfig)
}

// Stop stops all component processes (SIGTERM, SIGKILL after a grace
// period), removes the etcd data and the kubeconfig. Logs stay in the state
// directory.
func (c *Cluster) Stop() error {
	unlock, err := lockStateDir(c.state.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	return c.stop()
}

func (c *Cluster) stop() error {
	c.mu.Lock()
	procs := append([]*Process(nil), c.state.Processes...)
	c.mu.Unlock()
	err := stopInOrder(procs)
	return errors.Join(err, cleanup(c.state.StateDir, c.state.DataDir))
}

// stopInOrder stops the clients of the apiserver first, then the apiserver,
// then etcd, so no component logs a storm of connection errors on the way.
func stopInOrder(procs []*Process) error {
	var groups [3][]*Process
	for _, p := range procs {
		switch p.Name {
		case Etcd:
			groups[2] = append(groups[2], p)
		case APIServer:
			groups[1] = append(groups[1], p)
		default:
			groups[0] = append(groups[0], p)
		}
	}
	var errs []error
	for _, g := range groups {
		if len(g) > 0 {
			errs = append(errs, stopProcesses(g, 15*time.Second))
		}
	}
	return errors.Join(errs...)
}

func cleanup(stateDir, dataDir string) error {
	var errs []error
	if dataDir != "" {
		errs = append(errs, os.RemoveAll(dataDir))
	}
	for _, name := range []string{kubeconfig, stateFile, pidsFile, "pki", "kwok-home", fluxStorage} {
		errs = append(errs, os.RemoveAll(filepath.Join(stateDir, name)))
	}
	return errors.Join(errs...)
}

// Down stops the cluster recorded in stateDir (if any), removes its etcd data
// directory and its kubeconfig, state and PKI. Only processes whose PID and
// kernel start time match the record are signalled. It is safe to call when
// nothing runs.
func Down(stateDir string) error {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		return os.RemoveAll(DefaultDataDir(abs))
	}
	unlock, err := lockStateDir(abs)
	if err != nil {
		return err
	}
	defer unlock()
	return down(abs, "")
}

func down(stateDir, dataDir string) error {
	st, err := ReadState(stateDir)
	var errs []error
	switch {
	case err == nil:
		errs = append(errs, stopInOrder(st.Processes))
		errs = append(errs, os.RemoveAll(st.DataDir))
	case !errors.Is(err, os.ErrNotExist):
		errs = append(errs, err)
	}
	if dataDir == "" {
		dataDir = DefaultDataDir(stateDir)
	}
	errs = append(errs, cleanup(stateDir, dataDir))
	return errors.Join(errs...)
}

// ReadState reads state.json from stateDir.
func ReadState(stateDir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, stateFile))
	if err != nil {
		return nil, err
	}
	st := &State{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, stateFile), err)
	}
	return st, nil
}

// writeState records the state (after every process start, so a crash of
// the harness never leaves unrecorded processes behind) in state.json and
// the human-readable pids file ("name pid" per line).
func (c *Cluster) writeState() error {
	c.mu.Lock()
	b, err := json.MarshalIndent(c.state, "", "  ")
	var pids strings.Builder
	for _, p := range c.state.Processes {
		fmt.Fprintf(&pids, "%s %d\n", p.Name, p.PID)
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.state.StateDir, stateFile), append(b, '\n')); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(c.state.StateDir, pidsFile), []byte(pids.String()))
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lockStateDir takes an exclusive flock on stateDir/.lock so that two
// harness invocations never start or stop the same cluster concurrently.
func lockStateDir(stateDir string) (func(), error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(stateDir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func (c *Cluster) start(ctx context.Context) error {
	o := c.opts
	n := 7
	if o.FluxBinDir != "" {
		n += fluxPorts
	}
	ports, err := freePorts(n)
	if err != nil {
		return err
	}
	c.state.Ports = Ports{
		Etcd: ports[0], EtcdPeer: ports[1], APIServer: ports[2], ControllerManager: ports[3],
		Scheduler: ports[4], KROMetrics: ports[5], KROHealth: ports[6],
	}
	if o.FluxBinDir != "" {
		c.state.Ports.FluxStorage, c.state.Ports.FluxSourceMetrics, c.state.Ports.FluxSourceHealth,
			c.state.Ports.FluxKustomizeMetrics, c.state.Ports.FluxKustomizeHealth = ports[7], ports[8], ports[9], ports[10], ports[11]
	}
	p := c.state.Ports
	c.state.Server = fmt.Sprintf("https://127.0.0.1:%d", p.APIServer)

	_, serviceNet, err := net.ParseCIDR(ServiceCIDR)
	if err != nil {
		return err
	}
	firstServiceIP := append(net.IP(nil), serviceNet.IP.To4()...)
	firstServiceIP[3]++
	c.pki, err = GeneratePKI(filepath.Join(o.StateDir, "pki"), firstServiceIP)
	if err != nil {
		return fmt.Errorf("generate PKI: %w", err)
	}
	pki := c.pki
	cmKubeconfig := filepath.Join(pki.Dir, "controller-manager.kubeconfig")
	schedKubeconfig := filepath.Join(pki.Dir, "scheduler.kubeconfig")
	for _, k := range []struct{ path, user, cert, key string }{
		{c.state.Kubeconfig, "admin", pki.AdminCert, pki.AdminKey},
		{cmKubeconfig, "kube-controller-manager", pki.ControllerManagerCert, pki.ControllerManagerKey},
		{schedKubeconfig, "kube-scheduler", pki.SchedulerCert, pki.SchedulerKey},
	} {
		if err := writeKubeconfig(k.path, c.state.Server, pki.CACert, k.user, k.cert, k.key); err != nil {
			return err
		}
	}
	if err := c.writeState(); err != nil {
		return err
	}

	// etcd
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", p.Etcd)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdPeer)
	o.Logf("starting etcd on %s", etcdURL)
	if err := c.run(Etcd, nil, o.Etcd,
		"--name=typekro-e2e",
		"--data-dir="+filepath.Join(o.DataDir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=typekro-e2e="+peerURL,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync=true",
	); err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: 2 * time.Second}
	if err := c.waitFor(ctx, Etcd, "etcd healthy", func(ctx context.Context) error {
		return httpGetOK(ctx, httpClient, etcdURL+"/health")
	}); err != nil {
		return err
	}

	// kube-apiserver
	o.Logf("starting kube-apiserver on %s", c.state.Server)
	if err := c.run(APIServer, nil, filepath.Join(o.KubeBinDir, APIServer),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(p.APIServer),
		"--cert-dir="+filepath.Join(pki.Dir, "apiserver"),
		"--tls-cert-file="+pki.APIServerCert,
		"--tls-private-key-file="+pki.APIServerKey,
		"--client-ca-file="+pki.CACert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki.ServiceAccountPublicKey,
		"--service-account-signing-key-file="+pki.ServiceAccountKey,
		"--service-cluster-ip-range="+ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--requestheader-client-ca-file="+pki.FrontProxyCACert,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file="+pki.FrontProxyClientCert,
		"--proxy-client-key-file="+pki.FrontProxyClientKey,
		// On SIGTERM, end watches at once (clients see the stream close and
		// re-watch) instead of letting the HTTP server's graceful shutdown
		// wait for them up to --request-timeout (60s): Restart and Down stop
		// the apiserver in about a second instead of SIGKILLing it after 15s.
		"--shutdown-watch-termination-grace-period=5s",
	); err != nil {
		return err
	}
	restConfig, err := c.RESTConfig()
	if err != nil {
		return err
	}
	restConfig.Timeout = 5 * time.Second
	kube, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, APIServer, "kube-apiserver ready", func(ctx context.Context) error {
		_, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}); err != nil {
		return err
	}

	// Controllers and kwok only need the apiserver; start them together.
	o.Logf("starting kube-controller-manager, kube-scheduler, kwok")
	if err := c.run(ControllerManager, nil, filepath.Join(o.KubeBinDir, ControllerManager),
		"--kubeconfig="+cmKubeconfig,
		"--authentication-kubeconfig="+cmKubeconfig,
		"--authorization-kubeconfig="+cmKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(p.ControllerManager),
		"--tls-cert-file="+pki.ControllerManagerServingCert,
		"--tls-private-key-file="+pki.ControllerManagerServingKey,
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+pki.ServiceAccountKey,
		"--root-ca-file="+pki.CACert,
		"--cluster-signing-cert-file="+pki.CACert,
		"--cluster-signing-key-file="+pki.CAKey,
		"--service-cluster-ip-range="+ServiceCIDR,
		"--cluster-name=typekro-e2e",
		"--profiling=false",
		// KEP-5647's read-your-writes check (beta, on by default in 1.36) stalled
		// a ReplicaSet for good once in ~15 runs on this loaded 2-core machine
		// ("read version ... is not as new as written version"); the e2e suite
		// tests typekro and KRO, not that check.
		"--feature-gates=StaleControllerConsistencyReplicaSet=false,StaleControllerConsistencyDaemonSet=false,StaleControllerConsistencyStatefulSet=false,StaleControllerConsistencyJob=false",
	); err != nil {
		return err
	}
	if err := c.run(Scheduler, nil, filepath.Join(o.KubeBinDir, Scheduler),
		"--kubeconfig="+schedKubeconfig,
		"--authentication-kubeconfig="+schedKubeconfig,
		"--authorization-kubeconfig="+schedKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(p.Scheduler),
		"--tls-cert-file="+pki.SchedulerServingCert,
		"--tls-private-key-file="+pki.SchedulerServingKey,
		"--leader-elect=false",
		"--profiling=false",
	); err != nil {
		return err
	}
	stages, err := filepath.Glob(filepath.Join(o.KwokStagesDir, "*.yaml"))
	if err != nil || len(stages) == 0 {
		return fmt.Errorf("no kwok stage configs in %s (run `make e2e-tools`)", o.KwokStagesDir)
	}
	kwokHome := filepath.Join(o.StateDir, "kwok-home")
	if err := os.MkdirAll(kwokHome, 0o755); err != nil {
		return err
	}
	kwokArgs := []string{
		"--kubeconfig=" + c.state.Kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + FakeNodeAnnotation + "=fake",
		"--cidr=" + PodCIDR,
		"--node-ip=127.0.0.1",
		// The node-heartbeat-with-lease stage posts node status only every
		// 10-20 min and leaves liveness to the node Lease, which kwok keeps
		// only when given a duration. Without one there was no Lease: the
		// node lifecycle controller marked the node NotReady 50 s after each
		// status heartbeat, kwok re-initialized it, and every flap marked all
		// pods Ready=False for good (kwok's pod-ready stage does not run
		// again), so a Deployment whose pods were caught by a flap never
		// became available again: the "Deployment-status stall".
		"--node-lease-duration-seconds=40",
	}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "--config="+s)
	}
	// HOME is private so a ~/.kwok/kwok.yaml of the user is not picked up.
	if err := c.run(Kwok, []string{"HOME=" + kwokHome}, o.Kwok, kwokArgs...); err != nil {
		return err
	}

	// Objects: KRO CRDs, extra kwok manifests and the fake node.
	ap, err := newApplier(restConfig)
	if err != nil {
		return err
	}
	var crdNames []string
	if o.KRO != "" {
		names, err := ap.applyDir(ctx, o.KROCRDsDir)
		if err != nil {
			return fmt.Errorf("apply KRO CRDs: %w", err)
		}
		crdNames = names
	}
	if o.KwokManifestsDir != "" {
		if _, err := ap.applyDir(ctx, o.KwokManifestsDir); err != nil {
			return fmt.Errorf("apply kwok manifests: %w", err)
		}
	}
	if err := ap.apply(ctx, fakeNode(o.NodeName)); err != nil {
		return fmt.Errorf("create fake node: %w", err)
	}

	if o.KRO != "" {
		if err := c.waitFor(ctx, APIServer, "KRO CRDs established", func(ctx context.Context) error {
			return ap.crdsEstablished(ctx, crdNames)
		}); err != nil {
			return err
		}
		o.Logf("starting kro controller")
		if err := c.run(KRO, []string{"KUBECONFIG=" + c.state.Kubeconfig}, o.KRO,
			"--metrics-bind-address=127.0.0.1:"+strconv.Itoa(p.KROMetrics),
			"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(p.KROHealth),
			"--leader-elect=false",
		); err != nil {
			return err
		}
	}

	tlsClient, err := caHTTPClient(pki.CACert)
	if err != nil {
		return err
	}
	checks := []readyCheck{
		{ControllerManager, "kube-controller-manager healthy", func(ctx context.Context) error {
			return httpGetOK(ctx, tlsClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", p.ControllerManager))
		}},
		{Scheduler, "kube-scheduler healthy", func(ctx context.Context) error {
			return httpGetOK(ctx, tlsClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", p.Scheduler))
		}},
		{Kwok, "fake node " + o.NodeName + " Ready", func(ctx context.Context) error {
			node, err := kube.CoreV1().Nodes().Get(ctx, o.NodeName, metav1GetOptions)
			if err != nil {
				return err
			}
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return nil
				}
			}
			return errors.New("node not Ready yet")
		}},
		{ControllerManager, "default ServiceAccount created", func(ctx context.Context) error {
			_, err := kube.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1GetOptions)
			return err
		}},
	}
	if o.KRO != "" {
		checks = append(checks, readyCheck{KRO, "kro ready", func(ctx context.Context) error {
			return httpGetOK(ctx, httpClient, fmt.Sprintf("http://127.0.0.1:%d/readyz", p.KROHealth))
		}})
	}
	if o.FluxBinDir != "" {
		fluxChecks, err := c.startFlux(ctx, ap, httpClient)
		if err != nil {
			return err
		}
		checks = append(checks, fluxChecks...)
	}
	for _, ch := range checks {
		if err := c.waitFor(ctx, ch.component, ch.what, ch.check); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.state.ReadyAt = time.Now()
	c.mu.Unlock()
	o.Logf("cluster ready after %s", c.state.ReadyAt.Sub(c.state.StartedAt).Round(10*time.Millisecond))
	return c.writeState()
}

// readyCheck is one condition start waits for; a failure shows the log of
// component.
type readyCheck struct {
	component, what string
	check           func(context.Context) error
}

// run starts one component and records it.
func (c *Cluster) run(name string, env []string, bin string, args ...string) error {
	logPath := filepath.Join(c.opts.StateDir, "logs", name+".log")
	p, cmd, err := startProcess(name, logPath, env, bin, args...)
	if err != nil {
		return err
	}
	// Reap the child when it exits while we are still around; Alive() then
	// reports it gone because the /proc entry disappears.
	go func(cmd *exec.Cmd) { _ = cmd.Wait() }(cmd)
	c.mu.Lock()
	c.state.Processes = append(c.state.Processes, p)
	c.mu.Unlock()
	return c.writeState()
}

// waitFor polls check every 50ms until it returns nil, the context expires
// or a component process exits; the error then names what was awaited and
// carries the log tail of the dead component, or of component.
func (c *Cluster) waitFor(ctx context.Context, component, what string, check func(context.Context) error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		c.mu.Lock()
		procs := append([]*Process(nil), c.state.Processes...)
		c.mu.Unlock()
		for _, p := range procs {
			if !p.Alive() {
				return fmt.Errorf("waiting for %s: %s exited; last lines of %s:\n%s", what, p.Name, p.Log, tailFile(p.Log, 20))
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			c.opts.Logf("%s after %s", what, time.Since(c.state.StartedAt).Round(10*time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			reason := "timed out waiting for"
			if errors.Is(ctx.Err(), context.Canceled) {
				reason = "interrupted while waiting for"
			}
			logPath := filepath.Join(c.opts.StateDir, "logs", component+".log")
			return fmt.Errorf("%s %s (last error: %v); last lines of %s:\n%s", reason, what, last, logPath, tailFile(logPath, 20))
		case <-tick.C:
		}
	}
}
