package cli

import (
	"fmt"
	"io"

	"github.com/kubernetes-sigs/kro/pkg/features"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/schemas"
)

// inputOptions are the flags every command that reads compositions shares.
type inputOptions struct {
	Filenames    []string
	CRDDirs      []string
	Schemas      string
	FeatureGates string
	// CELCostLimit is --cel-cost-limit (0: unlimited).
	CELCostLimit uint64
	// Input limits (see composition.Limits); MaxInputBytes is a quantity.
	MaxInputFiles int
	MaxInputBytes string
	maxInputBytes int64
	// root, when set (--target argocd), confines every input to that
	// directory: the repository is not trusted.
	root  string
	stdin io.Reader
	// skip: files a directory walk passes over (render's own output).
	skip map[string]bool
}

func (o *inputOptions) AddFlags(fs *pflag.FlagSet, stdin io.Reader) {
	o.stdin = stdin
	fs.StringSliceVarP(&o.Filenames, "filename", "f", nil, "files or directories to read, like the arguments (kubectl style; - is stdin)")
	fs.StringSliceVar(&o.CRDDirs, "crds", nil, "files or directories with CRDs of custom kinds used in templates (not rendered)")
	fs.StringVar(&o.Schemas, "schemas", "builtin", "where resource schemas come from: builtin (embedded Kubernetes v1.36 OpenAPI v3, offline) or cluster (live discovery)")
	fs.StringVar(&o.FeatureGates, "kro-feature-gates", "", "KRO feature gates your controller runs with, e.g. CELOmitFunction=true")
	addCELCostLimitFlag(fs, &o.CELCostLimit)
	fs.IntVar(&o.MaxInputFiles, "max-input-files", composition.DefaultLimits.MaxFiles, "refuse to read more than this many input files")
	fs.StringVar(&o.MaxInputBytes, "max-input-bytes", resource.NewQuantity(composition.DefaultLimits.MaxBytes, resource.BinarySI).String(), "refuse inputs (all files and stdin together) larger than this, e.g. 256Mi")
}

func (o *inputOptions) Validate() error {
	q, err := resource.ParseQuantity(o.MaxInputBytes)
	if err != nil || q.Sign() <= 0 {
		return Usage(fmt.Errorf("--max-input-bytes must be a positive size such as 256Mi, not %q", o.MaxInputBytes))
	}
	o.maxInputBytes = q.Value()
	if o.MaxInputFiles <= 0 {
		return Usage(fmt.Errorf("--max-input-files must be positive, not %d", o.MaxInputFiles))
	}
	if o.Schemas != "builtin" && o.Schemas != "cluster" {
		return Usage(fmt.Errorf("--schemas must be builtin or cluster, not %q", o.Schemas))
	}
	if o.FeatureGates != "" {
		if err := features.FeatureGate.Set(o.FeatureGates); err != nil {
			return Usage(fmt.Errorf("--kro-feature-gates: %w", err))
		}
	}
	return nil
}

// checkMode rejects a --mode other than kro and direct.
func checkMode(mode string) error {
	if mode != render.ModeKro && mode != render.ModeDirect {
		return Usage(fmt.Errorf("--mode must be kro or direct, not %q", mode))
	}
	return nil
}

// paths are the inputs: the arguments, then -f.
func (o *inputOptions) paths(args []string) ([]string, error) {
	out := append(append([]string{}, args...), o.Filenames...)
	if len(out) == 0 {
		return nil, Usage(fmt.Errorf("no inputs: give files or directories as arguments or with -f"))
	}
	return out, nil
}

// Compile loads paths (plus --crds) and checks them.
func (o *inputOptions) Compile(paths []string, namespace string, flags *genericclioptions.ConfigFlags) (*compile.Result, error) {
	reader := o.reader()
	set, err := reader.Load(paths...)
	// Content errors do not stop here: Compile reports them with its own,
	// so every file's errors come at once.
	loadErrs, err := composition.ContentErrors(err)
	if err != nil {
		return nil, err
	}
	if len(o.CRDDirs) > 0 {
		crds, err := reader.Load(o.CRDDirs...)
		crdErrs, err := composition.ContentErrors(err)
		if err != nil {
			return nil, err
		}
		loadErrs = append(loadErrs, crdErrs...)
		set.CRDs = append(set.CRDs, crds.CRDs...)
	}
	opts := compile.Options{Namespace: namespace, LoadErrors: loadErrs}
	opts.CELCostLimit = o.celCostLimit()
	if o.Schemas == "cluster" {
		cfg, err := flags.ToRESTConfig()
		if err != nil {
			return nil, Usage(err)
		}
		opts.Resolver, opts.RESTMapper, err = schemas.ClusterResolver(cfg)
		if err != nil {
			return nil, Usage(err)
		}
	}
	return compile.Compile(set, opts)
}

// reader is the one file reader of a command: limits from the flags,
// confined to the root when the input is untrusted.
func (o *inputOptions) reader() *composition.Reader {
	r := composition.NewReader(o.root, o.stdin)
	r.Skip = o.skip
	if o.MaxInputFiles > 0 {
		r.Limits.MaxFiles = o.MaxInputFiles
	}
	if o.maxInputBytes > 0 {
		r.Limits.MaxBytes = o.maxInputBytes
	}
	return r
}

// namespaceFlag returns -n only when the user gave it explicitly, so
// rendering offline never silently injects the kubeconfig's namespace.
func namespaceFlag(flags *genericclioptions.ConfigFlags) string {
	if flags.Namespace != nil {
		return *flags.Namespace
	}
	return ""
}
