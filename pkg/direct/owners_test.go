package direct_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/direct"
)

func TestObjectsNeedOneOwner(t *testing.T) {
	composition, err := os.ReadFile("../../examples/webapp/composition.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const a = "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: a, namespace: x}\nspec: {name: %s, image: nginx}\n"
	tests := []struct {
		name      string
		instances string
		want      []string // one error line each, in order
	}{
		{"distinct names", strings.ReplaceAll(a, "%s", "one") + "---\n" + strings.ReplaceAll(strings.Replace(a, "name: a", "name: b", 1), "%s", "two"), nil},
		{"same spec.name in one namespace", strings.ReplaceAll(a, "%s", "shared") + "---\n" + strings.ReplaceAll(strings.Replace(a, "name: a", "name: b", 1), "%s", "shared"), []string{
			`inst.yaml:6: KroWebApp/b: resource "deployment" renders Deployment x/shared, which KroWebApp/a (resource "deployment", `,
			`inst.yaml:6: KroWebApp/b: resource "service" renders Service x/shared-service, which KroWebApp/a (resource "service", `,
		}},
		{"same name, other namespace", strings.ReplaceAll(a, "%s", "shared") + "---\n" + strings.ReplaceAll(strings.Replace(a, "namespace: x", "namespace: y", 1), "%s", "shared"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string]string{"composition.yaml": string(composition), "inst.yaml": tc.instances} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Render, and the streaming render of `render --mode direct`.
			_, rerr := direct.Render(compileDir(t, dir), direct.Options{})
			_, yerr := direct.RenderYAML(compileDir(t, dir), direct.Options{})
			for _, err := range []error{rerr, yerr} {
				if len(tc.want) == 0 {
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					continue
				}
				if err == nil {
					t.Fatal("rendered twice-owned objects without an error")
				}
				lines := strings.Split(err.Error(), "\n")
				if len(lines) != len(tc.want) {
					t.Fatalf("got %d error(s), want %d:\n%v", len(lines), len(tc.want), err)
				}
				for i, w := range tc.want {
					if !strings.Contains(lines[i], w) {
						t.Errorf("error %d:\n got %s\nwant it to contain %s", i, lines[i], w)
					}
				}
			}
		})
	}
}
