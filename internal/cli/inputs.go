package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/kubernetes-sigs/kro/pkg/features"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/kustomize"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/schemas"
)

// inputOptions are the flags every command that reads compositions shares.
type inputOptions struct {
	Filenames []string
	// Kustomize is -k: a kustomization directory built in process.
	Kustomize    string
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
	fs.StringVarP(&o.Kustomize, "kustomize", "k", "", "a kustomization directory to build (in process, as kubectl -k; typekro's own KRM function runs without --enable-exec) and read, like the arguments")
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
	if len(out) == 0 && o.Kustomize == "" {
		return nil, Usage(fmt.Errorf("no inputs: give files or directories as arguments, with -f or with -k"))
	}
	return out, nil
}

// Compile loads paths (plus --crds) and checks them.
func (o *inputOptions) Compile(paths []string, namespace string, flags *genericclioptions.ConfigFlags) (*compile.Result, error) {
	compile.Prewarm() // while the inputs are read
	reader := o.reader()
	set, err := reader.Load(paths...)
	// Content errors do not stop here: Compile reports them with its own,
	// so every file's errors come at once.
	loadErrs, err := composition.ContentErrors(err)
	if err != nil {
		return nil, err
	}
	if o.Kustomize != "" {
		built, err := o.kustomize()
		if err != nil {
			return nil, err
		}
		loadErrs = append(loadErrs, built.Add(set)...)
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

// kustomizeBuild is -k's output as one input stream, named after the
// directory so errors point at it.
type kustomizeBuild struct {
	name string
	data []byte
}

// kustomize builds -k with this binary as typekro's KRM function.
func (o *inputOptions) kustomize() (*kustomizeBuild, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("-k: cannot find the kubectl-typekro binary to run as typekro's function: %w", err)
	}
	data, err := kustomize.Build(o.Kustomize, self)
	if err != nil {
		return nil, &composition.IOError{Err: err}
	}
	if limit := o.reader().Limits.MaxBytes; int64(len(data)) > limit {
		return nil, &composition.IOError{Err: fmt.Errorf("kustomize build %s: output larger than %d bytes (--max-input-bytes)", o.Kustomize, limit)}
	}
	return &kustomizeBuild{name: "kustomize build " + o.Kustomize, data: data}, nil
}

// Add parses the built stream into set; its content errors are returned
// with the files' own, so all come at once.
func (b *kustomizeBuild) Add(set *composition.Set) composition.Errors {
	docs, errs := composition.Parse(b.name, b.data)
	for _, d := range docs {
		errs = append(errs, set.Add(d)...)
	}
	return errs
}
