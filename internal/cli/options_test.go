package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unreachableKubeconfig is a kubeconfig whose server refuses connections:
// a command line that passes Complete and Validate fails on connecting
// (exit 2, "unreachable"), one that does not fails with its usage message.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompleteValidate(t *testing.T) {
	kc := unreachableKubeconfig(t)
	const passes = "" // Complete and Validate pass: the cluster is tried
	tests := []struct {
		name string
		args []string
		want string // usage message (exit 2), or passes
	}{
		{"apply: bad dry-run", []string{"apply", examples + "webapp", "--dry-run", "client"}, "--dry-run must be none or server"},
		{"apply: bad -o", []string{"apply", examples + "webapp", "-o", "xml"}, "--output: unable to match a printer suitable for the output format \"xml\""},
		{"apply: jsonpath without template", []string{"apply", examples + "webapp", "-o", "jsonpath"}, "--output: template format specified but no template given"},
		{"apply: empty field manager", []string{"apply", examples + "webapp", "--field-manager", ""}, "--field-manager must not be empty"},
		{"apply: prune in kro mode without an apply set", []string{"apply", examples + "webapp", "--prune"}, "--prune in kro mode needs --applyset NAME"},
		{"apply: applyset without prune", []string{"apply", examples + "webapp", "--applyset", "apps"}, "--applyset needs --prune (as in kubectl)"},
		{"apply: applyset in direct mode", []string{"apply", "--mode", "direct", examples + "database-stack", "--prune", "--applyset", "apps"}, "--applyset needs --mode kro"},
		{"apply: applyset parent of another kind", []string{"apply", examples + "webapp", "--prune", "--applyset", "deployment/apps"}, "the parent must be a secret or a configmap"},
		{"apply: prune with an apply set", []string{"apply", examples + "webapp", "--prune", "--applyset", "configmap/apps"}, passes},
		{"diff: applyset in direct mode", []string{"diff", "--mode", "direct", examples + "database-stack", "--applyset", "apps"}, "--applyset needs --mode kro"},
		{"diff: applyset with a slash in the name", []string{"diff", examples + "webapp", "--applyset", "secret/a/b"}, "want NAME, secret/NAME or configmap/NAME"},
		{"delete: applyset in direct mode", []string{"delete", "--mode", "direct", examples + "database-stack", "--applyset", "apps"}, "--applyset needs --mode kro"},
		{"delete: with an apply set", []string{"delete", examples + "webapp", "--applyset", "apps"}, passes},
		{"apply: allow-breaking in direct mode", []string{"apply", "--mode", "direct", examples + "webapp", "--allow-breaking-changes"}, "--allow-breaking-changes needs --mode kro"},
		{"apply: negative timeout", []string{"apply", examples + "webapp", "--timeout", "-1s"}, "--timeout must not be negative"},
		{"apply: bad mode", []string{"apply", "--mode", "helm", examples + "webapp"}, "--mode must be kro or direct"},
		{"apply: no inputs", []string{"apply", "-o", "name"}, "no inputs"},
		{"apply: -o name", []string{"apply", examples + "webapp", "-o", "name"}, passes},
		{"apply: -o jsonpath", []string{"apply", examples + "webapp", "-o", "jsonpath={.items[*].metadata.name}"}, passes},
		{"apply: -o wide, direct, prune", []string{"apply", "--mode", "direct", "--prune", examples + "database-stack", "-o", "wide"}, passes},
		{"status: -f and arguments", []string{"status", "-f", examples + "webapp", "krowebapp/webapp"}, "give either -f PATH or TYPE/NAME arguments, not both"},
		{"status: direct without -f", []string{"status", "--mode", "direct", "krowebapp/webapp"}, "--mode direct needs -f PATH"},
		{"status: direct --watch", []string{"status", "--mode", "direct", "-f", examples + "database-stack", "--watch"}, "--watch needs --mode kro"},
		{"status: -A without TYPE", []string{"status", "-A"}, "-A (--all-namespaces) needs a TYPE argument"},
		{"status: bad -o", []string{"status", "krowebapp", "-o", "table"}, "--output: unable to match a printer"},
		{"status: bad go-template", []string{"status", "krowebapp", "-o", "go-template={{.nope"}, "--output: error parsing template"},
		{"status: negative timeout", []string{"status", "krowebapp", "--timeout", "-1s"}, "--timeout must not be negative"},
		{"status: -o jsonpath", []string{"status", "krowebapp/webapp", "-o", "jsonpath={.items[0].status.state}"}, passes},
		{"status: -o wide -A", []string{"status", "krowebapp", "-A", "-o", "wide"}, passes},
		{"status: -o name", []string{"status", "-o", "name"}, passes},
		{"diff: bad mode", []string{"diff", "--mode", "nope", examples + "webapp"}, "--mode must be kro or direct"},
		{"diff: empty field manager", []string{"diff", examples + "webapp", "--field-manager="}, "--field-manager must not be empty"},
		{"diff: no inputs", []string{"diff"}, "no inputs"},
		{"diff", []string{"diff", examples + "webapp"}, passes},
		{"delete: bad mode", []string{"delete", "--mode", "drect", examples + "webapp"}, "--mode must be kro or direct"},
		{"delete: negative timeout", []string{"delete", examples + "webapp", "--timeout", "-1m"}, "--timeout must not be negative"},
		{"delete", []string{"delete", "--mode", "direct", examples + "database-stack"}, passes},
		{"validate: allow-breaking without against", []string{"validate", examples + "webapp", "--allow-breaking-changes"}, "--allow-breaking-changes needs --against"},
		{"validate: bad max-input-bytes", []string{"validate", examples + "webapp", "--max-input-bytes", "lots"}, "--max-input-bytes must be a positive size"},
		{"render: bad -o", []string{"render", examples + "webapp", "-o", "wide"}, "--output must be yaml, json or name"},
		{"render: allow-pending in kro mode", []string{"render", examples + "webapp", "--allow-pending"}, "--allow-pending needs --mode direct"},
		{"test: bad -o", []string{"test", examples + "webapp", "-o", "yaml"}, "--output must be text or json"},
		{"test: bad --run", []string{"test", examples + "webapp", "--run", "("}, "--run: error parsing regexp"},
		{"version: arguments", []string{"version", "now"}, "unknown command \"now\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, append([]string{"--kubeconfig", kc}, tc.args...)...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, ExitUsage, stdout, stderr)
			}
			if tc.want == passes {
				if !strings.Contains(stderr, "127.0.0.1:1") {
					t.Errorf("want the cluster to be tried (Complete and Validate passed), got:\n%s", stderr)
				}
				return
			}
			if !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "127.0.0.1:1") {
				t.Errorf("stderr %q: want %q before any cluster access", stderr, tc.want)
			}
		})
	}
}
