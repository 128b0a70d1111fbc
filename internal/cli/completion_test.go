package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// complete runs cobra's hidden __complete command as a shell would.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %v: %v\n%s", args, err, errOut.String())
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

var printFormats = []string{"json", "yaml", "kyaml", "name", "go-template", "go-template-file", "template", "templatefile", "jsonpath", "jsonpath-as-json", "jsonpath-file", "wide", ":4"}

func TestCompletion(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	// Servers that do not answer: completion must not hang on them.
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c1, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u1, user: {}}]
contexts: [{name: prod, context: {cluster: c1, user: u1}}, {name: dev, context: {cluster: c1, user: u1}}]
current-context: dev
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string // candidates, then cobra's directive line
	}{
		{[]string{"render", "--mode", ""}, []string{"kro", "direct", ":4"}},
		{[]string{"apply", "--mode", "d"}, []string{"kro", "direct", ":4"}},
		{[]string{"render", "--target", ""}, []string{"plain", "flux", "argocd", ":4"}},
		{[]string{"render", "-o", ""}, []string{"yaml", "json", "name", ":4"}},
		// status and apply print through cli-runtime's PrintFlags, plus wide.
		{[]string{"status", "-o", ""}, printFormats},
		{[]string{"apply", "--output", ""}, printFormats},
		{[]string{"test", "-o", ""}, []string{"text", "json", ":4"}},
		{[]string{"--kubeconfig", kubeconfig, "status", "--context", ""}, []string{"dev", "prod", ":4"}},
		{[]string{"--kubeconfig", kubeconfig, "apply", "--cluster", ""}, []string{"c1", ":4"}},
		{[]string{"--kubeconfig", kubeconfig, "status", "-n", ""}, []string{":4"}},
		{[]string{"--kubeconfig", kubeconfig, "status", ""}, []string{":4"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if got := complete(t, tc.args...); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
