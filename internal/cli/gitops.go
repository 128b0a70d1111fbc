package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// gitops holds render's --target flags: what a GitOps engine needs on top
// of the plain stream (README "GitOps", plugins/).
type gitops struct {
	Target     string
	FluxSource string
	FluxPath   string
	// CreateNamespaces: with --target flux, write a Namespace for every
	// namespace the instance layer uses that the inputs do not declare.
	CreateNamespaces bool
	stderr           io.Writer
	flags            *pflag.FlagSet // to tell a flag given from its default
	argo             render.ArgoCDSettings
}

func (g *gitops) AddFlags(fs *pflag.FlagSet) {
	g.flags = fs
	fs.StringVar(&g.Target, "target", render.TargetPlain, `plain; argocd (for an Argo CD Config Management Plugin: sync waves, SkipDryRunOnMissingResource on
instances, settings from ARGOCD_APP_NAMESPACE, ARGOCD_ENV_TYPEKRO_* and PARAM_*); or flux (with --output-dir: an RGD layer
and an instance layer plus the Flux Kustomizations that apply them in order)`)
	fs.StringVar(&g.FluxSource, "flux-source", render.FluxDefaultSource, "with --target flux: the GitRepository (in flux-system) the Kustomizations read")
	// A positive boolean turned off with =false, as kubectl's own
	// (--validate=false, --show-managed-fields); the name is Helm's
	// --create-namespace and Argo CD's CreateNamespace=true, which users know.
	fs.BoolVar(&g.CreateNamespaces, "create-namespaces", true, "with --target flux: write a Namespace (never pruned by Flux) for each namespace the instances and manifests use that the inputs do not declare; --create-namespaces=false when the namespaces are managed elsewhere")
	fs.StringVar(&g.FluxPath, "flux-path", "", "with --target flux: the output directory as Flux sees it, relative to the repository root (default: found from the enclosing Git repository)")
}

// Complete applies the Argo CD environment for --target argocd. Explicit
// flags win over PARAM_*, which win over ARGOCD_ENV_TYPEKRO_*; instances
// default to the app's destination namespace.
func (g *gitops) Complete(cmd *cobra.Command, paths *[]string, mode, namespace *string) error {
	g.stderr = cmd.ErrOrStderr()
	if g.Target != render.TargetArgoCD {
		return nil
	}
	g.argo = render.ArgoCDFromEnv(os.Environ())
	if g.argo.Mode != "" && !cmd.Flags().Changed("mode") {
		*mode = g.argo.Mode
	}
	if *namespace == "" {
		*namespace = g.argo.Namespace
	}
	if len(g.argo.Paths) > 0 {
		// Parameters come from the Application, not the repo: keep them inside the app directory.
		root, err := composition.Root(".")
		if err != nil {
			return Usage(err)
		}
		for _, p := range g.argo.Paths {
			if _, err := composition.Inside(root, p); err != nil {
				return Usage(fmt.Errorf("parameter paths: %w", err))
			}
		}
		*paths = g.argo.Paths
	}
	return nil
}

func (g *gitops) Validate(outputDir, output string) error {
	switch g.Target {
	case render.TargetPlain, render.TargetArgoCD:
	case render.TargetFlux:
		if outputDir == "" {
			return Usage(fmt.Errorf("--target flux writes a directory tree: give --output-dir"))
		}
	default:
		return Usage(fmt.Errorf("--target must be one of %s, not %q", strings.Join(render.Targets, ", "), g.Target))
	}
	if g.Target != render.TargetFlux {
		for _, f := range []string{"flux-path", "create-namespaces"} {
			if g.flags.Changed(f) {
				return Usage(fmt.Errorf("--%s needs --target flux", f))
			}
		}
	}
	return nil
}

// Objects adds the target's annotations.
func (g *gitops) Objects(objs []render.Object) ([]render.Object, error) {
	if g.Target != render.TargetArgoCD {
		return objs, nil
	}
	app := g.argo.AppName
	if app == "" {
		app = "(ARGOCD_APP_NAME not set)"
	}
	if len(objs) == 0 {
		// Argo CD would prune every resource of the app on an empty stream.
		return nil, Fail(fmt.Errorf("argocd app %s: nothing to render (no Composition, RGD or instance found); refusing to print an empty stream", app))
	}
	fmt.Fprintf(g.stderr, "argocd app %s: rendered %d objects\n", app, len(objs))
	return render.ArgoCD(objs), nil
}

// Tree lays objects out for --output-dir.
func (g *gitops) Tree(objs []render.Object, dir string) (render.Tree, error) {
	if g.Target != render.TargetFlux {
		return render.TreeOf(objs)
	}
	p := g.FluxPath
	if p == "" {
		rel, err := render.RepoRelative(dir)
		if err != nil {
			return nil, Usage(err)
		}
		p = rel
	}
	p = strings.TrimPrefix(strings.TrimSuffix(p, "/"), "./")
	if p == "" {
		p = "."
	}
	name := render.FluxName(p)
	if p == "." {
		name = render.FluxName(dir)
	}
	return render.FluxTree(objs, render.FluxOptions{Name: name, Path: p, Source: g.FluxSource, CreateNamespaces: g.CreateNamespaces})
}
