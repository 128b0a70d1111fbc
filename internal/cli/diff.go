package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
)

type diffOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Paths           []string
	Timeout         time.Duration
	FieldManager    string
	ForceConflicts  bool
	CreateNamespace bool
}

func newDiffCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &diffOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "diff PATH...",
		Short: "Show what apply would change: server-side dry run of every object vs the live object",
		Long: `Diff dry-runs a server-side apply of every object and prints a unified diff of the
live object against the result, with managed fields, server-set metadata and status left
out and Secret data/stringData masked ("***", or "*** (before)"/"*** (after)" for values
that change). Objects whose kind or namespace does not exist yet are shown as new.

Exit codes (like kubectl diff and flux diff):
  0  no differences
  1  differences found
  2  error: invalid input, unreadable input, server rejected an object, cluster unreachable`,
		Example: `  kubectl typekro diff examples/webapp
  kubectl typekro diff apps/ -n staging`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Paths = args
			if err := o.inputOptions.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	o.inputOptions.AddFlags(fs)
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "give up after this long")
	fs.StringVar(&o.FieldManager, "field-manager", deploy.DefaultFieldManager, "field manager the dry run applies as (use apply's)")
	fs.BoolVar(&o.ForceConflicts, "force-conflicts", false, "dry-run as apply --force-conflicts would; without it a conflict is an error")
	fs.BoolVar(&o.CreateNamespace, "create-namespace", false, "also show the namespaces apply --create-namespace would create")
	return cmd
}

func (o *diffOptions) Run() error {
	// diff reserves 1 for "differences": every error is 2.
	asError := func(err error) error {
		var cerrs composition.Errors
		if errors.As(err, &cerrs) {
			fmt.Fprintln(o.streams.ErrOut, err.Error())
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d error(s)", len(cerrs))}
		}
		return Usage(err)
	}
	ns, err := clusterNamespace(o.flags)
	if err != nil {
		return err
	}
	set, _, err := o.compileSet(o.Paths, ns, o.flags)
	if err != nil {
		return asError(err)
	}
	ctx, cancel := commandContext(o.Timeout)
	defer cancel()
	e, err := newEngine(ctx, o.flags, ns)
	if err != nil {
		return err
	}
	e.FieldManager = o.FieldManager
	diffs, err := e.Diff(ctx, set, deploy.DiffOptions{Force: o.ForceConflicts, CreateNamespaces: o.CreateNamespace})
	if err != nil {
		return asError(err)
	}
	changed := 0
	for _, d := range diffs {
		if !d.Changed() {
			continue
		}
		changed++
		if d.Note != "" {
			fmt.Fprintf(o.streams.Out, "# %s %s (%s)\n", d.Subject, d.Action, d.Note)
		}
		fmt.Fprint(o.streams.Out, d.Unified)
	}
	fmt.Fprintf(o.streams.ErrOut, "%d of %d object(s) would change\n", changed, len(diffs))
	if changed > 0 {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}
