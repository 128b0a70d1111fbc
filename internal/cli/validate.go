package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

type validateOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	Paths   []string
}

func newValidateCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &validateOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check compositions and instances offline, reporting every error at once",
		Long: `Validate runs every check render runs — KRO's graph builder on each definition, schema
checks on each instance — and prints nothing but the errors, each as
FILE:LINE: Kind/name: field.path: message.

` + exitCodeDoc,
		Example: `  kubectl typekro validate examples/
  kubectl typekro validate apps/ --crds crds/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Paths, err = o.paths(args); err != nil {
				return err
			}
			if err := o.inputOptions.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	o.inputOptions.AddFlags(cmd.Flags(), streams.In)
	return cmd
}

func (o *validateOptions) Run() error {
	res, err := o.Compile(o.Paths, namespaceFlag(o.flags), o.flags)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.streams.ErrOut, "valid: %d definition(s), %d instance(s), %d other manifest(s)\n", len(res.Definitions), len(res.Instances), len(res.Manifests))
	return nil
}
