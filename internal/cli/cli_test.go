package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// run executes the command line in-process and returns what a user sees.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := NewRootCommand(streams)
	root.SetArgs(args)
	code = ExitOK
	if err := root.Execute(); err != nil {
		code = reportError(streams, err)
	}
	return out.String(), errOut.String(), code
}

const examples = "../../examples/"

func TestRenderAndValidateExitCodes(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "i.yaml"), []byte("apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata:\n  name: x\nspec:\n  image: nginx\n  environment: qa\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring; "" means stdout must be empty
		stderr     string
		emptyStdio bool
	}{
		{"render", []string{"render", examples + "webapp"}, 0, "kind: ResourceGraphDefinition", "", false},
		{"render -n sets missing namespaces only", []string{"render", examples + "webapp", "-n", "qa", "-o", "name"}, 0, "krowebapp.example.com/webapp", "", false},
		{"validate", []string{"validate", examples + "webapp", examples + "database-stack"}, 0, "", "valid: 2 definition(s)", true},
		{"invalid instance: all errors, file and line", []string{"validate", examples + "webapp/composition.yaml", bad}, 1, "", "i.yaml:5: KroWebApp/x: spec.name: Required value", true},
		{"invalid render prints nothing on stdout", []string{"render", examples + "webapp/composition.yaml", bad}, 1, "", "spec.environment: Unsupported value", true},
		{"missing path is an IO error", []string{"render", filepath.Join(bad, "nope")}, 2, "", "no such file", true},
		{"unknown flag", []string{"render", "--nope", examples + "webapp"}, 2, "", "unknown flag", true},
		{"bad output format", []string{"render", "-o", "xml", examples + "webapp"}, 2, "", "--output", true},
		{"check without output dir", []string{"render", "--check", examples + "webapp"}, 2, "", "--check needs --output-dir", true},
		{"diff: bad mode", []string{"diff", "--mode", "nope", examples + "webapp"}, 2, "", "--mode must be kro or direct", true},
		{"delete: bad mode", []string{"delete", "--mode", "drect", examples + "webapp"}, 2, "", "--mode must be kro or direct", true},
		{"status: bad mode", []string{"status", "--mode", "nope", "-f", examples + "webapp"}, 2, "", "--mode must be kro or direct", true},
		{"inputs with -f, like kubectl", []string{"validate", "-f", examples + "webapp", "-f", examples + "database-stack"}, 0, "", "valid: 2 definition(s)", true},
		{"no inputs", []string{"apply"}, 2, "", "no inputs: give files or directories as arguments, with -f or with -k", true},
		{"direct render defaults the namespace", []string{"render", "--mode", "direct", "testdata/no-namespace"}, 0, "  namespace: default\n", "", false},
		{"direct render: -n wins", []string{"render", "--mode", "direct", "-n", "qa", "testdata/no-namespace"}, 0, "  namespace: qa\n", "", false},
		{"version", []string{"version"}, 0, "typekro dev (kro ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if tt.emptyStdio && stdout != "" {
				t.Errorf("stdout must be empty, got %q", stdout)
			}
			if tt.stdout != "" && !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tt.stdout)
			}
			if tt.stderr != "" && !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
		})
	}
}

func TestRenderJSONIsAList(t *testing.T) {
	stdout, stderr, code := run(t, "render", "-o", "json", examples+"webapp")
	if code != 0 {
		t.Fatal(stderr)
	}
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "List" || len(list.Items) != 3 {
		t.Fatalf("kind %q with %d items, want a List of 1 RGD + 2 instances", list.Kind, len(list.Items))
	}
}

func TestRenderOutputDirCheck(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := run(t, "render", examples+"webapp", "--output-dir", dir); code != 0 {
		t.Fatal(stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "rgds", "kro-webapp.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, "render", examples+"webapp", "--output-dir", dir, "--check"); code != 0 {
		t.Fatalf("fresh tree: exit %d: %s", code, stderr)
	}
	f := filepath.Join(dir, "instances", "production", "krowebapp-webapp.yaml")
	if err := os.WriteFile(f, []byte("edited: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "render", examples+"webapp", "--output-dir", dir, "--check")
	if code != 1 || !strings.Contains(stderr, "instances/production/krowebapp-webapp.yaml") {
		t.Fatalf("stale tree: exit %d, stderr %q", code, stderr)
	}
}
