package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/backend"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/render"
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
	Mode            string
	ApplySet        string
	verbose         bool // -v 1: compatible schema changes too
}

var (
	diffLong = longDesc(`
		Diff dry-runs a server-side apply of every object and prints a unified diff of the
		live object against the result, with managed fields, server-set metadata and status left
		out and Secret data/stringData masked (each value shown as three asterisks, followed by
		"(before)" or "(after)" when it changes). Objects whose kind or namespace does not exist yet are shown as new.

		With --mode direct it diffs what apply --mode direct would write: each instance's resources,
		computed with KRO's runtime from the live objects they reference. A resource that needs an
		object or field that does not exist yet is shown as "pending (needs <reference>)"; members
		of the instance's ApplySet that are no longer rendered are shown as deleted
		("+++ /dev/null": what apply --prune would delete).

		In kro mode it first compares every RGD's generated CRD with the CRD the cluster serves,
		with KRO's own breaking-change check (as validate --against does with a git revision):
		each breaking change is printed as FILE:LINE: Kind/name: spec.field: BREAKING TYPE (detail),
		compatible ones with -v 1.

		In kro mode with --applyset NAME, the members of that apply set the inputs no longer contain
		are shown as deleted too (what apply --prune --applyset NAME would delete).

		Exit codes (like kubectl diff and flux diff):

		    0  no differences
		    1  differences found
		    2  error: invalid input, unreadable input, server rejected an object, cluster unreachable`)

	diffExample = exampleText(`
		# What apply would change, object by object
		kubectl typekro diff examples/webapp

		# The same instances in another namespace
		kubectl typekro diff examples/webapp -n staging

		# Also the members of an apply set that apply --prune --applyset would delete
		kubectl typekro diff examples/webapp -n platform --applyset=webapp

		# What apply --mode direct (and --prune) would change
		kubectl typekro diff --mode direct examples/database-stack`)
)

func newDiffCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &diffOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:     "diff PATH...",
		Short:   "Show what apply would change: server-side dry run of every object vs the live object",
		Long:    diffLong,
		Example: diffExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	o.inputOptions.AddFlags(fs, streams.In)
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "give up after this long")
	fs.StringVar(&o.FieldManager, "field-manager", deploy.DefaultFieldManager, "field manager the dry run applies as (use apply's)")
	fs.BoolVar(&o.ForceConflicts, "force-conflicts", false, "dry-run as apply --force-conflicts would; without it a conflict is an error")
	fs.BoolVar(&o.CreateNamespace, "create-namespace", false, "also show the namespaces apply --create-namespace would create")
	fs.StringVar(&o.Mode, "mode", render.ModeKro, "kro: RGDs and instances; direct: the instances' resources apply --mode direct would write, and the ApplySet members apply --prune would delete")
	fs.StringVar(&o.ApplySet, "applyset", "", "kro mode: also show the members of this apply set (NAME, secret/NAME or configmap/NAME) that apply --prune --applyset would delete")
	return cmd
}

// Complete takes the inputs and -v (compatible schema changes too).
func (o *diffOptions) Complete(cmd *cobra.Command, args []string) (err error) {
	if o.Paths, err = o.paths(args); err != nil {
		return err
	}
	if v, err := cmd.Flags().GetInt("v"); err == nil {
		o.verbose = v > 0
	}
	return nil
}

func (o *diffOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if o.FieldManager == "" {
		return Usage(fmt.Errorf("--field-manager must not be empty"))
	}
	if o.Timeout < 0 {
		return Usage(fmt.Errorf("--timeout must not be negative"))
	}
	if err := checkMode(o.Mode); err != nil {
		return err
	}
	return checkApplySet(o.ApplySet, o.Mode)
}

// asError maps an error to diff's exit codes: diff reserves 1 for
// "differences", so every error is 2.
func (o *diffOptions) asError(err error) error {
	var cerrs composition.Errors
	if errors.As(err, &cerrs) {
		fmt.Fprintln(o.streams.ErrOut, err.Error())
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d error(s)", len(cerrs))}
	}
	return Usage(err)
}

func (o *diffOptions) Run() error {
	ns, res, err := o.load(o.Paths, o.flags)
	if err != nil {
		return o.asError(err)
	}
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	e.FieldManager = o.FieldManager
	b, set, err := modeBackend(o.Mode, e, o.ApplySet)
	if err != nil {
		return err
	}
	r, err := b.Diff(ctx, res, backend.DiffOptions{Force: o.ForceConflicts, CreateNamespaces: o.CreateNamespace, ApplySet: set})
	if err != nil {
		return o.asError(err)
	}
	r.Schema.Write(o.streams.Out, o.verbose)
	if len(r.Schema.Breaking()) > 0 {
		fmt.Fprintln(o.streams.ErrOut, "schema changes:", r.Schema.Summary())
	}
	return o.print(r.Objects, len(r.Schema.Refused()))
}

// print writes the changed objects' diffs to stdout and a count to
// stderr; changes, and schema changes KRO would refuse, exit 1.
func (o *diffOptions) print(diffs []deploy.ObjectDiff, refused int) error {
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
	if changed > 0 || refused > 0 {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}
