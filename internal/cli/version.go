package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/bootstrap"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v0.1.0".
var Version = "dev"

type versionOptions struct {
	streams genericiooptions.IOStreams
	// goVersion and kro come from the build info.
	goVersion, kro string
}

func newVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &versionOptions{streams: streams}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the typekro version and the KRO version it validates against",
		Long: longDesc(`
			Version prints typekro's version, the version of KRO linked into it (read from the
			build info: the KRO packages typekro validates and renders with) and the Go version.`),
		Example: exampleText(`
			kubectl typekro version`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete()
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
}

func (o *versionOptions) Complete() {
	o.goVersion, o.kro = "unknown", bootstrap.LinkedVersion()
	if bi, ok := debug.ReadBuildInfo(); ok {
		o.goVersion = bi.GoVersion
	}
	if o.kro == "" {
		o.kro = "unknown"
	}
}

// Validate: version takes no flags of its own.
func (o *versionOptions) Validate() error { return nil }

func (o *versionOptions) Run() error {
	_, err := fmt.Fprintf(o.streams.Out, "typekro %s (kro %s, %s)\n", Version, o.kro, o.goVersion)
	return err
}
