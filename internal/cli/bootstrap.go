package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/bootstrap"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

type bootstrapOptions struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Set            []string
	DryRun         string
	Render         bool
	OutputDir      string
	Target         string
	FluxPath       string
	FluxSource     string
	Uninstall      bool
	Force          bool
	KeepCRDs       bool
	ForceConflicts bool
	Timeout        time.Duration

	values bootstrap.Values
}

func newBootstrapCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &bootstrapOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Install KRO " + bootstrap.Version + " into the cluster (its Helm chart, rendered in, no Helm needed)",
		Long: longDesc(`Bootstrap installs the KRO release typekro validates against (`+bootstrap.Version+`): the manifests of
KRO's Helm chart, rendered with its default values when typekro was built (what KRO's own static
install manifests use: release "kro", namespace `+bootstrap.DefaultNamespace+`), plus the Namespace.

It server-side applies the CRDs and the Namespace first, waits for the CRDs to be Established,
then applies the RBAC objects and the controller Deployment and waits for it to be Available.
Objects that already match are left alone, so running it again changes nothing.

--set changes the values users usually change: `+strings.Join(bootstrap.SetKeys, ", ")+`.
--render prints the manifests; --output-dir DIR --target flux writes a tree for Flux (a
Kustomization with health checks that installs KRO from Git).
--uninstall deletes what bootstrap installs; it refuses while ResourceGraphDefinitions exist
(deleting KRO's CRDs deletes them), unless --force or --keep-crds.`) + "\n\n" + exitCodeLong,
		Example: exampleText(`
		# Install KRO and wait until it is Available
		kubectl typekro bootstrap

		# Change chart values; ask the server first
		kubectl typekro bootstrap --set namespace=kro --set replicas=2 --dry-run=server

		# Print the manifests, or write a Flux tree that installs KRO from Git
		kubectl typekro bootstrap --render --set image=registry.example.com/kro/kro:0.9.4
		kubectl typekro bootstrap --output-dir clusters/prod/kro --target flux

		# Remove KRO, keeping its CRDs (and so every RGD)
		kubectl typekro bootstrap --uninstall --keep-crds`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.Set, "set", nil, "KEY=VALUE to change a chart value ("+strings.Join(bootstrap.SetKeys, ", ")+"); repeatable")
	fs.StringVar(&o.DryRun, "dry-run", "none", `"server": the API server validates every object and reports what would change; nothing is stored`)
	fs.BoolVar(&o.Render, "render", false, "print the manifests instead of applying them")
	fs.StringVar(&o.OutputDir, "output-dir", "", "write the manifests into this directory (with --target flux: a Flux tree) instead of applying them")
	fs.StringVar(&o.Target, "target", render.TargetPlain, "with --output-dir: plain (one file) or flux")
	fs.StringVar(&o.FluxPath, "flux-path", "", "with --target flux: the output directory as Flux sees it, relative to the repository root (default: found from the enclosing Git repository)")
	fs.StringVar(&o.FluxSource, "flux-source", render.FluxDefaultSource, "with --target flux: the GitRepository (in flux-system) the Kustomization reads")
	fs.BoolVar(&o.Uninstall, "uninstall", false, "delete what bootstrap installs")
	fs.BoolVar(&o.Force, "force", false, "with --uninstall: delete KRO's CRDs even while ResourceGraphDefinitions exist (deletes them all)")
	fs.BoolVar(&o.KeepCRDs, "keep-crds", false, "with --uninstall: keep KRO's CRDs (and with them every RGD and instance)")
	fs.BoolVar(&o.ForceConflicts, "force-conflicts", false, "take over fields another field manager owns")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up waiting after this long; 0 waits forever")
	return cmd
}

func (o *bootstrapOptions) Complete(cmd *cobra.Command) error {
	v, err := bootstrap.ParseSet(o.Set)
	if err != nil {
		return Usage(err)
	}
	o.values = v
	return nil
}

func (o *bootstrapOptions) Validate() error {
	if o.DryRun != "none" && o.DryRun != "server" {
		return Usage(fmt.Errorf(`--dry-run must be "server" or "none", not %q`, o.DryRun))
	}
	offline := o.Render || o.OutputDir != ""
	switch {
	case o.Render && o.OutputDir != "":
		return Usage(fmt.Errorf("give --render or --output-dir, not both"))
	case offline && (o.Uninstall || o.DryRun == "server"):
		return Usage(fmt.Errorf("--render and --output-dir write files: they do not go with --uninstall or --dry-run"))
	case o.Target != render.TargetPlain && o.Target != render.TargetFlux:
		return Usage(fmt.Errorf("--target must be plain or flux, not %q", o.Target))
	case o.Target == render.TargetFlux && o.OutputDir == "":
		return Usage(fmt.Errorf("--target flux writes a directory tree: give --output-dir"))
	case (o.Force || o.KeepCRDs) && !o.Uninstall:
		return Usage(fmt.Errorf("--force and --keep-crds go with --uninstall"))
	case o.Uninstall && len(o.Set) > 0 && o.values.Namespace == "":
		return Usage(fmt.Errorf("--uninstall uses only --set namespace=..."))
	}
	return nil
}

func (o *bootstrapOptions) Run() error {
	objs, err := bootstrap.Manifests(o.values)
	if err != nil {
		return Fail(err)
	}
	switch {
	case o.Render:
		b, err := render.YAML(objs)
		if err != nil {
			return Fail(err)
		}
		_, err = o.streams.Out.Write(b)
		return err
	case o.OutputDir != "":
		return o.write(objs)
	}
	ctx, cancel, e, err := connect(o.flags, bootstrap.DefaultNamespace, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	in := &bootstrap.Installer{Client: e.Client, Out: o.streams.Out, Progress: o.streams.ErrOut}
	if o.Uninstall {
		_, err = in.Uninstall(ctx, objs, bootstrap.UninstallOptions{Force: o.Force, KeepCRDs: o.KeepCRDs})
		return deployError(timeoutError(ctx, err, o.Timeout))
	}
	dry := o.DryRun == "server"
	if _, err := in.Install(ctx, objs, bootstrap.Options{DryRun: dry, Force: o.ForceConflicts}); err != nil {
		return deployError(timeoutError(ctx, err, o.Timeout))
	}
	if dry {
		return nil
	}
	inst, err := bootstrap.Installed(ctx, e.Dynamic)
	if err != nil {
		return deployError(err)
	}
	fmt.Fprintln(o.streams.Out, kroLine(inst))
	return nil
}

func (o *bootstrapOptions) write(objs []*unstructured.Unstructured) error {
	var t render.Tree
	if o.Target == render.TargetFlux {
		p := o.FluxPath
		if p == "" {
			rel, err := render.RepoRelative(o.OutputDir)
			if err != nil {
				return Usage(err)
			}
			p = rel
		}
		var err error
		if t, err = bootstrap.FluxTree(objs, bootstrap.FluxOptions{Path: p, Source: o.FluxSource}); err != nil {
			return Usage(err)
		}
	} else {
		b, err := render.YAML(objs)
		if err != nil {
			return Fail(err)
		}
		t = render.Tree{"kro-" + bootstrap.Version + ".yaml": b}
	}
	if err := t.Write(o.OutputDir); err != nil {
		return Fail(err)
	}
	fmt.Fprintf(o.streams.ErrOut, "wrote KRO %s manifests to %s\n", bootstrap.Version, o.OutputDir)
	return nil
}

// kroLine is the one-line summary of a KRO installation, for bootstrap
// and status.
func kroLine(inst bootstrap.Installation) string {
	if !inst.Found {
		return "KRO: no controller Deployment found (labels app.kubernetes.io/name=kro, component=controller); install it with kubectl typekro bootstrap"
	}
	s := fmt.Sprintf("KRO: %s installed as deployment.apps/%s -n %s", orUnknown(inst.Version), inst.Name, inst.Namespace)
	if inst.Available {
		s += ", Available"
	} else {
		s += ", not Available: " + inst.Message
	}
	if inst.Supported {
		s += "; matches the version typekro validates against (" + bootstrap.Version + ")"
	} else {
		s += "; typekro validates against " + bootstrap.Version + " (run kubectl typekro bootstrap to install it)"
	}
	return s
}

func orUnknown(v string) string {
	if v == "" {
		return "(unknown version)"
	}
	return v
}
