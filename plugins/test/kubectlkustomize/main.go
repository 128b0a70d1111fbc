// Command kubectlkustomize is `kubectl kustomize`, built from kubectl's own
// command (k8s.io/kubectl/pkg/cmd/kustomize), so the tests can show what
// kubectl does with an exec KRM function without building all of kubectl.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/cmd/kustomize"
)

func main() {
	cmd := kustomize.NewCmdKustomize(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	cmd.SetArgs(os.Args[1:])
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}
