package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/backend"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/direct/live"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

type renderOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Paths     []string
	Output    string
	OutputDir string
	Check     bool
	Mode      string
	Namespace string
	gitops    gitops
	// AllowPending (direct mode) leaves out resources that need live state.
	AllowPending bool
	// Observed (direct mode): files/directories of live objects that
	// references, readyWhen, status and externalRefs resolve from.
	Observed []string
	// Status (direct mode) adds each instance with the status KRO would write.
	Status bool
}

func newRenderCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &renderOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "render PATH...",
		Short: "Render compositions into ResourceGraphDefinitions and instances",
		Long: longDesc(`Render reads Compositions, ResourceGraphDefinitions, CRDs and instances from files and
directories (recursively, multi-document YAML; "-" reads stdin), checks them like KRO would,
and prints a deterministic YAML stream: CRDs, RGDs, plain manifests, then instances.

With --output-dir the objects are written one file per object; --check compares instead of
writing and exits 1 naming the files that differ.

--target argocd (for an Argo CD Config Management Plugin) adds sync waves and
SkipDryRunOnMissingResource to instances and reads ARGOCD_APP_NAMESPACE, the ARGOCD_ENV_TYPEKRO_NAME variables
and the PARAM_NAME ones; --target flux --output-dir DIR writes DIR/definitions (CRDs, RGDs), DIR/instances
and DIR/flux (the Flux Kustomizations that apply them in order). See plugins/.`) + "\n\n" + exitCodeLong,
		Example: exampleText(`
		# The RGDs and instances of an example, as one YAML stream
		kubectl typekro render examples/webapp

		# Instances without a namespace go to staging; JSON
		kubectl typekro render examples/webapp -n staging -o json

		# The resources KRO would create, computed offline with KRO's runtime
		kubectl typekro render --mode direct examples/database-stack --allow-pending

		# One file per object, and a CI check that the directory is up to date
		kubectl typekro render examples/ --output-dir deploy/
		kubectl typekro render examples/ --output-dir deploy/ --check

		# A Flux tree (definitions, instances, Kustomizations in order)
		kubectl typekro render --target flux --output-dir clusters/prod/apps examples/webapp

		# As an Argo CD Config Management Plugin, in the app's directory
		kubectl typekro render --target argocd .`),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.gitops.Complete(cmd, &o.Paths, &o.Mode, &o.Namespace); err != nil {
				return err
			}
			if o.gitops.Target == render.TargetArgoCD {
				// An Argo CD app's repository is not trusted: read nothing
				// outside the app directory.
				o.root = "."
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	o.inputOptions.AddFlags(fs, streams.In)
	fs.StringVarP(&o.Output, "output", "o", "yaml", "output format: yaml, json or name")
	fs.StringVar(&o.OutputDir, "output-dir", "", "write one file per object under this directory instead of stdout")
	fs.BoolVar(&o.Check, "check", false, "with --output-dir: write nothing, exit 1 if the directory differs from what render would write")
	fs.StringVar(&o.Mode, "mode", render.ModeKro, "kro: ResourceGraphDefinitions + instances; direct: the concrete resources KRO would create for each instance (computed with KRO's runtime)")
	fs.BoolVar(&o.AllowPending, "allow-pending", false, "with --mode direct: leave out resources with fields that need live cluster state (listed on stderr) instead of failing")
	fs.StringSliceVar(&o.Observed, "observed", nil, "with --mode direct: files or directories of live objects (status included, e.g. kubectl get -o yaml) to resolve references, externalRefs and readiness from, offline")
	fs.BoolVar(&o.Status, "status", false, "with --mode direct: also output each instance with the status KRO would write (status fields, state ACTIVE or IN_PROGRESS) given the observed objects")
	o.gitops.AddFlags(fs)
	return cmd
}

func (o *renderOptions) Complete(args []string) (err error) {
	if o.Paths, err = o.paths(args); err != nil {
		return err
	}
	o.Namespace = namespaceFlag(o.flags)
	return nil
}

func (o *renderOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	switch o.Output {
	case "yaml", "json", "name":
	default:
		return Usage(fmt.Errorf("--output must be yaml, json or name, not %q", o.Output))
	}
	if o.Check && o.OutputDir == "" {
		return Usage(fmt.Errorf("--check needs --output-dir"))
	}
	if err := o.gitops.Validate(o.OutputDir, o.Output); err != nil {
		return err
	}
	if err := checkMode(o.Mode); err != nil {
		return err
	}
	if o.AllowPending && o.Mode != render.ModeDirect {
		return Usage(fmt.Errorf("--allow-pending needs --mode direct"))
	}
	if (len(o.Observed) > 0 || o.Status) && o.Mode != render.ModeDirect {
		return Usage(fmt.Errorf("--observed and --status need --mode direct"))
	}
	return nil
}

func (o *renderOptions) Run() error {
	ns := o.Namespace
	if ns == "" && o.Mode == render.ModeDirect {
		// KRO puts a namespaced instance's resources in its namespace, so
		// direct mode needs one; render stays offline and does not read
		// the kubeconfig's, it takes kubectl's fallback.
		ns = "default"
	}
	if o.OutputDir != "" {
		// What render wrote there earlier is output, not input: with
		// --output-dir inside the inputs it would be read back.
		owned, err := render.Owned(o.OutputDir)
		if err != nil {
			return Usage(err)
		}
		o.skip = map[string]bool{}
		for _, f := range owned {
			o.skip[f] = true
		}
	}
	res, err := o.Compile(o.Paths, ns, o.flags)
	if err != nil {
		return err
	}
	b, err := backend.New(o.Mode, nil)
	if err != nil {
		return Usage(err)
	}
	ropts := backend.RenderOptions{AllowPending: o.AllowPending}
	// The common case streams (each object encoded as it is rendered);
	// observed state and --status need the objects themselves.
	if o.Mode == render.ModeDirect && o.OutputDir == "" && o.Output == "yaml" && o.gitops.Target != render.TargetArgoCD && len(o.Observed) == 0 && !o.Status {
		pending, err := backend.StreamYAML(res, ropts, o.streams.Out)
		if err := directError(err); err != nil {
			return err
		}
		printPending(o.streams.ErrOut, pending)
		return nil
	}
	if o.Mode == render.ModeDirect && (len(o.Observed) > 0 || o.Status) {
		if ropts.Observed, err = o.offline(res, ns); err != nil {
			return err
		}
		ropts.Status = o.Status
	}
	rendered, err := b.Render(res, ropts)
	if err := directError(err); err != nil {
		return err
	}
	printPending(o.streams.ErrOut, rendered.Pending)
	objs, err := o.gitops.Objects(rendered.Objects)
	if err != nil {
		return err
	}
	if o.OutputDir == "" {
		// Render fully before writing: an error must never leave a partial stream.
		var buf bytes.Buffer
		if err := render.WriteTo(&buf, o.Output, render.Unstructured(objs)); err != nil {
			return err
		}
		_, err := o.streams.Out.Write(buf.Bytes())
		return err
	}
	tree, err := o.gitops.Tree(objs, o.OutputDir)
	if err != nil {
		return err
	}
	if o.Check {
		diff, err := tree.Diff(o.OutputDir)
		var conflict *render.ConflictError
		if errors.As(err, &conflict) {
			return Fail(err) // render --output-dir would refuse: not up to date
		}
		if err != nil {
			return Usage(err)
		}
		if len(diff) > 0 {
			return Fail(fmt.Errorf("%s is out of date; run render --output-dir %s to update:\n  %s", o.OutputDir, o.OutputDir, strings.Join(diff, "\n  ")))
		}
		fmt.Fprintf(o.streams.ErrOut, "%s is up to date (%d files)\n", o.OutputDir, len(tree))
		return nil
	}
	if err := tree.Write(o.OutputDir); err != nil {
		return Usage(err)
	}
	fmt.Fprintf(o.streams.ErrOut, "wrote %d files to %s\n", len(tree), o.OutputDir)
	return nil
}

// offline reads --observed into an in-memory cluster.
func (o *renderOptions) offline(res *compile.Result, ns string) (*live.Offline, error) {
	var objs []*unstructured.Unstructured
	if len(o.Observed) > 0 {
		var err error
		if objs, err = live.ReadObjects(o.reader(), o.Observed...); err != nil {
			return nil, err
		}
	}
	off, err := live.NewOffline(objs, res, ns)
	if err != nil {
		return nil, Usage(fmt.Errorf("--observed: %w", err))
	}
	return off, nil
}

// directError: a resource left pending and a render limit are failures
// of the input (exit 1).
func directError(err error) error {
	var pe *direct.PendingError
	if errors.As(err, &pe) || direct.IsLimit(err) {
		return Fail(err)
	}
	return err
}

func printPending(stderr io.Writer, pending []direct.Pending) {
	for _, p := range pending {
		fmt.Fprintln(stderr, "pending (left out):", p.String())
	}
}
