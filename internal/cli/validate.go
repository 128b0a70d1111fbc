package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/compat"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

type validateOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	Paths   []string
	// Against is a git revision to compare the definitions with; Allow
	// marks their breaking changes allowed; verbose (-v 1) also lists
	// compatible changes.
	Against string
	Allow   bool
	verbose bool
}

func newValidateCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &validateOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check compositions and instances offline, reporting every error at once",
		Long: longDesc(`Validate runs every check render runs — KRO's graph builder on each definition, schema
checks on each instance — and prints nothing but the errors, each as
FILE:LINE: Kind/name: field.path: message.

With --against REV (a git revision, e.g. origin/main) it also compares every definition
with the same files at REV, read through git, using KRO's own comparator on the CRDs
KRO generates: the check KRO runs before it updates a definition's CRD. Each change is
printed on stdout as FILE:LINE: Kind/name: spec.field: BREAKING TYPE (detail), e.g.
BREAKING PROPERTY_REMOVED (was string); a definition new since REV is DEFINITION_ADDED,
one gone is DEFINITION_REMOVED (breaking: its instances lose their API); the kind now
defined by an RGD of another name is OWNER_CHANGED (KRO refuses it). Compatible changes
are listed with -v 1. A breaking change is refused by KRO, and fails validate, unless the
RGD carries kro.run/allow-breaking-changes: "true" (or --allow-breaking-changes is given):
it is then reported as allowed.`) + "\n\n" + exitCodeLong,
		Example: exampleText(`
		# Check every example offline
		kubectl typekro validate examples/

		# Custom kinds used in templates get their schemas from CRD files
		kubectl typekro validate examples/conditional/composition.yaml --crds examples/conditional/servicemonitor-crd.yaml

		# Breaking schema changes against the main branch, compatible ones too
		kubectl typekro validate examples/ --against origin/main -v 1`),
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
	o.inputOptions.AddFlags(cmd.Flags(), streams.In)
	cmd.Flags().StringVar(&o.Against, "against", "", "git revision (e.g. origin/main) to compare every definition with, using KRO's breaking-change check")
	cmd.Flags().BoolVar(&o.Allow, "allow-breaking-changes", false, "with --against: report breaking changes as allowed, not as failures (as the RGD annotation "+compat.AllowAnnotation+" does)")
	return cmd
}

// Complete takes the inputs and -v (compatible changes too).
func (o *validateOptions) Complete(cmd *cobra.Command, args []string) (err error) {
	if o.Paths, err = o.paths(args); err != nil {
		return err
	}
	if v, err := cmd.Flags().GetInt("v"); err == nil {
		o.verbose = v > 0
	}
	return nil
}

func (o *validateOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if o.Allow && o.Against == "" {
		return Usage(fmt.Errorf("--allow-breaking-changes needs --against"))
	}
	return nil
}

func (o *validateOptions) Run() error {
	res, err := o.Compile(o.Paths, namespaceFlag(o.flags), o.flags)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.streams.ErrOut, "valid: %d definition(s), %d instance(s), %d other manifest(s)\n", len(res.Definitions), len(res.Instances), len(res.Manifests))
	if o.Against == "" {
		return nil
	}
	return o.runAgainst(res)
}

// runAgainst compiles the inputs as they are at --against and compares
// the definitions.
func (o *validateOptions) runAgainst(res *compile.Result) error {
	for _, p := range append(append([]string{}, o.Paths...), o.CRDDirs...) {
		if p == "-" {
			return Usage(fmt.Errorf("--against reads the inputs at a git revision: stdin cannot be one"))
		}
	}
	all := append(append([]string{}, o.Paths...), o.CRDDirs...)
	if o.Kustomize != "" {
		all = append([]string{o.Kustomize}, all...)
	}
	tree, err := compat.Checkout(context.Background(), o.Against, all, o.Kustomize != "")
	if err != nil {
		return Usage(err)
	}
	defer tree.Close()
	old := o.inputOptions
	old.CRDDirs = nil
	if o.Kustomize != "" {
		if old.Kustomize, err = tree.Path(o.Kustomize); err != nil {
			return Usage(err)
		}
	}
	// A path that did not exist at the revision holds nothing there: all
	// its definitions are new.
	existing := func(paths []string) ([]string, error) {
		var out []string
		for _, p := range paths {
			tp, err := tree.Path(p)
			if err != nil {
				return nil, err
			}
			if _, err := os.Stat(tp); err == nil {
				out = append(out, tp)
			}
		}
		return out, nil
	}
	oldPaths, err := existing(o.Paths)
	if err != nil {
		return Usage(err)
	}
	if old.CRDDirs, err = existing(o.CRDDirs); err != nil {
		return Usage(err)
	}
	var prev []*compile.Definition
	if _, err := os.Stat(old.Kustomize); old.Kustomize != "" && err != nil {
		old.Kustomize = "" // no kustomization at the revision
	}
	if len(oldPaths) > 0 || old.Kustomize != "" {
		oldRes, err := old.Compile(oldPaths, namespaceFlag(o.flags), o.flags)
		if err != nil {
			return Usage(fmt.Errorf("the inputs at %s do not compile, so they cannot be compared:\n%s", o.Against, displayErrors(tree, err)))
		}
		prev = oldRes.Definitions
	}
	report, err := compat.Against(res.Definitions, prev, tree, o.Allow)
	if err != nil {
		return Usage(err)
	}
	report.Write(o.streams.Out, o.verbose)
	fmt.Fprintf(o.streams.ErrOut, "against %s: %s\n", o.Against, report.Summary())
	if n := len(report.Refused()); n > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d breaking change(s) against %s; if they are intended, annotate the RGD %s: \"true\" (KRO then applies them) or pass --allow-breaking-changes", n, o.Against, compat.AllowAnnotation)}
	}
	return nil
}

// displayErrors names the files of errors found in a git tree copy as the
// user names them.
func displayErrors(tree *compat.Tree, err error) string {
	cerrs, ok := err.(composition.Errors)
	if !ok {
		return strings.ReplaceAll(err.Error(), tree.Dir+"/", "")
	}
	lines := make([]string, len(cerrs))
	for i, e := range cerrs {
		c := *e
		c.File = tree.Display(c.File)
		lines[i] = c.Error()
	}
	return strings.Join(lines, "\n")
}
