// Package cli holds the cobra commands of kubectl-typekro. Each command is an
// options struct with Complete, Validate and Run; the work itself lives in pkg/.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// Exit codes, shared by every command.
const (
	ExitOK      = 0
	ExitFailed  = 1 // invalid input, differences found, not ready in time
	ExitUsage   = 2 // bad flags or arguments, unreadable files, cluster unreachable
	exitCodeDoc = `
		Exit codes:

		    0  success (valid, applied and ready, no differences)
		    1  invalid input, differences found (diff, render --check), or not ready in time
		    2  usage error, unreadable input, or the cluster could not be reached`
)

// exitCodeLong is exitCodeDoc as templates.LongDesc renders help text.
var exitCodeLong = longDesc(exitCodeDoc)

// ExitError carries an exit code; its message (if any) is printed to stderr.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// Fail wraps err with code 1; Usage with code 2.
func Fail(err error) error  { return &ExitError{Code: ExitFailed, Err: err} }
func Usage(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// NewRootCommand builds `kubectl typekro`.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:   "kubectl-typekro",
		Short: "Typed compositions for KRO: validate, render and deploy ResourceGraphDefinitions and instances",
		Long: longDesc(`
			typekro turns Compositions (typekro.dev/v1alpha1) and ResourceGraphDefinitions into
			KRO ResourceGraphDefinitions plus instance manifests (kro mode), or into the concrete resources
			KRO would create, computed with KRO's own runtime (direct mode, for clusters without KRO).
			Everything is checked offline with KRO's own graph builder first; apply is server-side apply in
			dependency order and waits until things are really ready. Progress goes to stderr, data to stdout.`) +
			"\n\n" + exitCodeLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl typekro"},
	}
	flags.AddFlags(root.PersistentFlags())
	var verbosity int
	root.PersistentFlags().IntVarP(&verbosity, "v", "v", 0, "client-go log level (klog), as in kubectl; at 0 client-go's own messages (e.g. watch reconnects) stay off stderr")
	root.PersistentPreRun = func(*cobra.Command, []string) { configureKlog(verbosity) }
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.AddCommand(
		newRenderCommand(flags, streams),
		newValidateCommand(flags, streams),
		newTestCommand(streams),
		newVersionCommand(streams),
	)
	// kro-mode deploy: apply, status, diff, delete (see cluster.go).
	root.AddCommand(
		newApplyCommand(flags, streams),
		newStatusCommand(flags, streams),
		newDiffCommand(flags, streams),
		newDeleteCommand(flags, streams),
		newBootstrapCommand(flags, streams),
	)
	// GitOps: the KRM function for kustomize.
	root.AddCommand(newFnCommand(streams))
	registerCompletions(root, flags)
	return root
}

// configureKlog silences client-go's klog lines (a dropped watch during an
// API server restart is retried, not news) unless -v asks for them.
func configureKlog(v int) {
	if v <= 0 {
		klog.SetLogger(logr.Discard())
		return
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(v))
}

// Execute runs the root command and returns the process exit code.
func Execute(args []string) (code int) {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	defer func() {
		// A crash on some input must read as an error about that input,
		// not a Go stack trace; -v 9 keeps the trace for a bug report.
		if p := recover(); p != nil {
			fmt.Fprintf(streams.ErrOut, "error: internal error while processing %s: %v\nplease report this with the input that caused it (run with -v=9 for details)\n", strings.Join(args, " "), p)
			if klog.V(9).Enabled() {
				fmt.Fprintf(streams.ErrOut, "%s\n", debug.Stack())
			}
			code = ExitUsage
		}
	}()
	root := NewRootCommand(streams)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	return reportError(streams, err)
}

func reportError(streams genericiooptions.IOStreams, err error) int {
	code := ExitUsage // cobra's own errors are flag/argument problems
	var ee *ExitError
	var cerrs composition.Errors
	var ioerr *composition.IOError
	var cerr *composition.Error
	switch {
	case errors.As(err, &ee):
		code = ee.Code
	case errors.As(err, &ioerr):
		code = ExitUsage
	case errors.As(err, &cerrs), errors.As(err, &cerr):
		code = ExitFailed // invalid input, located in a file
	}
	if msg := err.Error(); msg != "" && !(ee != nil && ee.Err == nil) {
		if errors.As(err, &cerrs) {
			fmt.Fprintln(streams.ErrOut, msg)
			fmt.Fprintf(streams.ErrOut, "%d error(s)\n", cerrs.Total())
		} else {
			fmt.Fprintln(streams.ErrOut, "error:", msg)
		}
	}
	return code
}
