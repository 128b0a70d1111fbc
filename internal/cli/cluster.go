package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/typekro/kubectl-typekro/pkg/backend"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// clusterNamespace is -n, else the kubeconfig context's namespace, else
// "default": what kubectl uses for objects that name no namespace.
func clusterNamespace(flags *genericclioptions.ConfigFlags) (string, error) {
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", Usage(err)
	}
	if ns == "" {
		ns = "default"
	}
	return ns, nil
}

// newEngine connects to the cluster; failing to is a usage-class error
// (exit 2), like an unreadable file.
func newEngine(ctx context.Context, flags *genericclioptions.ConfigFlags, ns string) (*deploy.Engine, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, Usage(fmt.Errorf("kubeconfig: %w", err))
	}
	e, err := deploy.New(ctx, cfg)
	if err != nil {
		return nil, Usage(err)
	}
	e.DefaultNamespace = ns
	return e, nil
}

// commandContext ends on Ctrl-C/SIGTERM or after timeout (0: never).
func commandContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if timeout <= 0 {
		return ctx, stop
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	return tctx, func() { cancel(); stop() }
}

// timeoutError names the --timeout that ended a wait (a readiness wait
// that timed out, or any step cut off by the command's deadline).
func timeoutError(ctx context.Context, err error, timeout time.Duration) error {
	if err == nil || timeout <= 0 {
		return err
	}
	var nre *readiness.NotReadyError
	if (errors.As(err, &nre) && nre.TimedOut) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("--timeout %s reached: %w", timeout, err)
	}
	return err
}

// deployError gives an engine error its exit code: cluster unreachable is
// 2, anything the cluster or KRO refused or did not finish in time is 1.
func deployError(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	if errors.Is(err, deploy.ErrUnreachable) || backend.IsArgument(err) {
		return Usage(err)
	}
	if errors.Is(err, context.Canceled) {
		return Fail(fmt.Errorf("interrupted: %w", err))
	}
	return Fail(err)
}

// checkApplySet validates --applyset (kubectl's form: NAME, secret/NAME or
// configmap/NAME) before anything is read.
func checkApplySet(s, mode string) error {
	if s == "" {
		return nil
	}
	if mode != render.ModeKro {
		return Usage(fmt.Errorf("--applyset needs --mode kro: direct mode keeps an ApplySet per instance"))
	}
	if _, err := deploy.ParseApplySet(s, ""); err != nil {
		return Usage(err)
	}
	return nil
}

// modeBackend is the backend of mode on e, and --applyset (s) in e's
// namespace (nil without it): what apply, diff and delete start with.
func modeBackend(mode string, e *deploy.Engine, s string) (backend.Backend, *deploy.ApplySetRef, error) {
	b, err := backend.New(mode, e)
	if err != nil || s == "" {
		return b, nil, usageOrNil(err)
	}
	ref, err := deploy.ParseApplySet(s, e.DefaultNamespace)
	if err != nil {
		return nil, nil, Usage(err)
	}
	return b, &ref, nil
}

func usageOrNil(err error) error {
	if err == nil {
		return nil
	}
	return Usage(err)
}

// load is how every cluster command reads its inputs: the namespace objects
// without one go to (-n, else the context's, else "default"), then the
// offline check, so invalid files fail before the cluster is contacted.
func (o *inputOptions) load(paths []string, flags *genericclioptions.ConfigFlags) (string, *compile.Result, error) {
	ns, err := clusterNamespace(flags)
	if err != nil {
		return "", nil, err
	}
	res, err := o.Compile(paths, ns, flags)
	if err != nil {
		return "", nil, err
	}
	return ns, res, nil
}

// connect gives a cluster command its context (ended by Ctrl-C, SIGTERM or
// timeout) and an engine bound to it. The caller defers cancel.
func connect(flags *genericclioptions.ConfigFlags, ns string, timeout time.Duration) (context.Context, context.CancelFunc, *deploy.Engine, error) {
	ctx, cancel := commandContext(timeout)
	e, err := newEngine(ctx, flags, ns)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, cancel, e, nil
}
