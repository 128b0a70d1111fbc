package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/typekro/kubectl-typekro/pkg/bootstrap"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v0.1.0".
var Version = "dev"

func newVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the typekro version and the KRO version it validates against",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			goVersion := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
			}
			kro := bootstrap.LinkedVersion()
			if kro == "" {
				kro = "unknown"
			}
			fmt.Fprintf(streams.Out, "typekro %s (kro %s, %s)\n", Version, kro, goVersion)
		},
	}
}
