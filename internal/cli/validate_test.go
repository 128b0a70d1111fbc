package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	// goodComp defines Good; badComp (Bad) has three mistakes typekro's own
	// checks find: an unknown spec field, a resource without an id, and a
	// resource with no template, factory or externalRef.
	goodComp = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata: {name: good}
spec:
  apiVersion: example.com/v1
  kind: Good
  schema:
    spec:
      replicas: integer | default=1
  resources:
    - id: cm
      ConfigMap: {name: good}
`
	badComp = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata: {name: bad}
spec:
  apiVersion: example.com/v1
  kind: Bad
  colour: blue
  schema:
    spec:
      size: integer
  resources:
    - ConfigMap: {name: a}
    - id: two
`
	goodInstance = "apiVersion: example.com/v1\nkind: Good\nmetadata: {name: g}\nspec:\n  replicas: many\n"
	badInstance  = "apiVersion: example.com/v1\nkind: Bad\nmetadata: {name: b}\nspec:\n  size: 1\n"
)

// TestValidateReportsEveryFile: validate reports every independent error
// of every file at once. A mistake in one file's Composition used to stop
// validation before the other files were looked at, and instances of a
// failed Composition disappeared without a word.
func TestValidateReportsEveryFile(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // each must appear in stderr
		total int      // the "N error(s)" line
	}{
		{
			name:  "one mistake in each of two files",
			files: map[string]string{"a.yaml": badComp, "b.yaml": goodComp + "---\n" + goodInstance},
			want:  []string{"a.yaml:7: Composition/bad: spec.colour", "b.yaml:18: Good/g: spec.replicas"},
			total: 4,
		},
		{
			name:  "three mistakes in one Composition",
			files: map[string]string{"a.yaml": badComp},
			want:  []string{"a.yaml:7: Composition/bad: spec.colour", "spec.resources[0]", "spec.resources[1]"},
			total: 3,
		},
		{
			name:  "instance of a failed Composition",
			files: map[string]string{"a.yaml": badComp, "i.yaml": badInstance},
			want:  []string{"i.yaml:2: Bad/b: kind: not checked: Composition/bad (a.yaml:1), which defines Bad, has errors"},
			total: 4,
		},
		{
			name: "Composition using the kind of a failed one",
			files: map[string]string{"a.yaml": badComp, "c.yaml": strings.ReplaceAll(strings.ReplaceAll(goodComp, "good", "user"), "Good", "User") +
				"    - id: nested\n      template: {apiVersion: example.com/v1, kind: Bad, metadata: {name: n}, spec: {size: 1}}\n"},
			want:  []string{"c.yaml:13: Composition/user: spec.resources[1]: not checked: resource \"nested\" is a Bad, and Composition/bad (a.yaml:1), which defines it, has errors"},
			total: 4,
		},
		{
			name:  "instance whose definition could not be read",
			files: map[string]string{"a.yaml": "apiVersion: typekro.dev/v1alpha1\nkind: Composition\nmetadata: {name: x\n", "i.yaml": badInstance},
			want:  []string{"a.yaml:", "malformed YAML", "i.yaml:2: Bad/b: kind: unknown kind Bad", "it may be defined in a.yaml (document 1), which could not be read"},
			total: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for name, content := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			_, stderr, code := run(t, append([]string{"validate"}, paths...)...)
			stderr = strings.ReplaceAll(stderr, dir+string(filepath.Separator), "")
			if code != ExitFailed {
				t.Errorf("exit code %d, want %d", code, ExitFailed)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if want := fmt.Sprintf("\n%d error(s)\n", tt.total); !strings.HasSuffix(stderr, want) {
				t.Errorf("want%s\n%s", want, stderr)
			}
		})
	}
}
