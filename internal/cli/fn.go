package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/kustomize"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// fnRenderers are the modes the KRM function supports: kro, and direct
// (concrete resources from KRO's runtime; a resource that needs live
// cluster state is an error, as a function cannot wait for the cluster).
func fnRenderers() map[string]kustomize.Renderer {
	m := kustomize.DefaultRenderers()
	m[render.ModeDirect] = func(res *compile.Result) ([]render.Object, error) {
		r, err := direct.Render(res, direct.Options{})
		if err != nil {
			return nil, err
		}
		return direct.Objects(res, r), nil
	}
	return m
}

const fnHint = `kubectl-typekro fn is a KRM function: it reads a ResourceList on stdin and writes one
on stdout. It is meant to be run by kustomize:

  kustomize build --enable-alpha-plugins --enable-exec DIR

where DIR/kustomization.yaml lists a TypeKro functionConfig under generators: or
transformers: (see examples/kustomize). kubectl kustomize cannot run it: it has no
--enable-exec flag, so with --enable-alpha-plugins it silently skips the function (the
generator renders nothing, Compositions pass through unrendered) and without it fails
with "external plugins disabled"; kubectl apply -k fails the same way. Use the
standalone kustomize binary and pipe to kubectl apply.

To try it by hand: kubectl-typekro fn CONFIG.yaml [RESOURCES.yaml... | -]`

func newFnCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &fnOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "fn [CONFIG [RESOURCES...]]",
		Short: "Run as a KRM function (kustomize generator/transformer): ResourceList on stdin, rendered on stdout",
		Long: longDesc(`fn is typekro as a KRM function for kustomize and other function runners.

With no arguments it reads a ResourceList from stdin and writes one to stdout. Its
functionConfig (apiVersion: typekro.dev/v1alpha1, kind: TypeKro) names what to render:

    spec.paths: [compositions/, instances/]   relative to the kustomization directory
    spec.crds: [crds/]                        schemas of custom kinds, not emitted
    spec.mode: kro                            kro: RGDs + instances; direct: concrete resources
    spec.namespace: staging                   for instances without one
    spec.instances: [{apiVersion: ..., kind: ..., metadata: {...}, spec: {...}}]

As a generator it emits what spec.paths and spec.instances render to; as a transformer
it also replaces the Compositions, ResourceGraphDefinitions, CRDs and instances found
among its input resources with the rendered objects, and passes everything else through.
Files must stay inside the kustomization directory: absolute paths, ".." and symlinks
leading out are rejected.

On error the input is written back unchanged with results of severity error (file,
field, message), the errors are printed to stderr, and the exit code is 1.

kustomize runs exec functions only with --enable-alpha-plugins --enable-exec. kubectl
kustomize has no --enable-exec: it silently skips the function (or fails with "external
plugins disabled"), and so does kubectl apply -k. Use the standalone kustomize binary.

With arguments (standalone): CONFIG is the functionConfig file, RESOURCES are YAML files
("-" for stdin), and the output is a plain YAML stream (nothing on error).`) + "\n\n" + exitCodeLong,
		Example: exampleText(`
		# As a kustomize generator/transformer (exec KRM function)
		kustomize build --enable-alpha-plugins --enable-exec examples/kustomize

		# Standalone: the functionConfig file (paths relative to its directory)
		cd examples/kustomize && kubectl typekro fn typekro.yaml`),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(args)
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	return cmd
}

// fnOptions: with no arguments a ResourceList on stdin (a function
// runner); with arguments the functionConfig file and resource files.
type fnOptions struct {
	streams   genericiooptions.IOStreams
	Config    string
	Resources []string
}

func (o *fnOptions) Complete(args []string) {
	if len(args) > 0 {
		o.Config, o.Resources = args[0], args[1:]
	}
}

// Validate refuses an interactive stdin as a function runner's input.
func (o *fnOptions) Validate() error {
	if f, ok := o.streams.In.(*os.File); ok && o.Config == "" && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(o.streams.ErrOut, fnHint)
		return &ExitError{Code: ExitUsage}
	}
	return nil
}

func (o *fnOptions) Run() error {
	compile.Prewarm() // while the input is read
	streams := o.streams
	var out bytes.Buffer
	rw := &kio.ByteReadWriter{Writer: &out, KeepReaderAnnotations: true}
	standalone := o.Config != ""
	if standalone {
		rw.KeepReaderAnnotations = false
		rw.NoWrap = true
		reader := composition.NewReader("", streams.In)
		fc, err := readFunctionConfig(reader, o.Config)
		if err != nil {
			return Usage(err)
		}
		rw.FunctionConfig = fc
		var readers []io.Reader
		for _, a := range o.Resources {
			data, err := reader.ReadFile(a)
			if err != nil {
				return Usage(err)
			}
			readers = append(readers, bytes.NewReader(append(data, '\n')), bytes.NewReader([]byte("---\n")))
		}
		rw.Reader = io.MultiReader(readers...)
	} else {
		// A ResourceList is read whole or refused, never cut short.
		data, err := composition.NewReader("", streams.In).ReadFile("-")
		if err != nil {
			return Usage(err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			fmt.Fprintln(streams.ErrOut, "error: no ResourceList on stdin")
			fmt.Fprintln(streams.ErrOut, fnHint)
			return &ExitError{Code: ExitUsage}
		}
		rw.Reader = bytes.NewReader(data)
	}

	err := framework.Execute(&kustomize.Processor{Renderers: fnRenderers()}, rw)
	var results framework.Results
	if errors.As(err, &results) {
		if !standalone {
			// A ResourceList runner reads the results (and gets the input back).
			if _, werr := streams.Out.Write(out.Bytes()); werr != nil {
				return werr
			}
		}
		n := 0
		for _, r := range results {
			if r.Severity == framework.Error {
				fmt.Fprintln(streams.ErrOut, "error:", kustomize.Describe(r))
				n++
			}
		}
		fmt.Fprintf(streams.ErrOut, "%d error(s)\n", n)
		return &ExitError{Code: ExitFailed}
	}
	if err != nil {
		return Usage(fmt.Errorf("fn: %w", err))
	}
	_, err = streams.Out.Write(out.Bytes())
	return err
}

func readFunctionConfig(reader *composition.Reader, file string) (*yaml.RNode, error) {
	data, err := reader.ReadFile(file)
	if err != nil {
		return nil, err
	}
	fc, err := yaml.Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return fc, nil
}
