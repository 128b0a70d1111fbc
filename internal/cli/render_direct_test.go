package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderDirectStreamErrors: `render --mode direct` to a YAML stream
// takes the streaming path (direct.RenderYAML, instance YAML trees cut down
// after compile); its errors must be those of the other outputs, still at
// the instance document's line, with nothing on stdout.
func TestRenderDirectStreamErrors(t *testing.T) {
	composition, err := os.ReadFile(examples + "webapp/composition.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const inst = "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: %s, namespace: x}\nspec: {name: shared, image: nginx}\n"
	dir := t.TempDir()
	files := map[string]string{
		"composition.yaml": string(composition),
		"inst.yaml":        strings.ReplaceAll(inst, "%s", "a") + "---\n" + strings.ReplaceAll(inst, "%s", "b"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantErr := filepath.Join(dir, "inst.yaml") + `:6: KroWebApp/b: resource "deployment" renders Deployment x/shared`
	var first string
	for _, output := range []string{"yaml", "name", "json"} {
		stdout, stderr, code := run(t, "render", "--mode", "direct", "-o", output, dir)
		if code == 0 || stdout != "" || !strings.Contains(stderr, wantErr) {
			t.Errorf("-o %s: exit %d, stdout %q, stderr:\n%s\nwant a failure, no output and %q", output, code, stdout, stderr, wantErr)
		}
		if first == "" {
			first = stderr
		} else if stderr != first {
			t.Errorf("-o %s: stderr differs from -o yaml's:\n%s\nvs\n%s", output, stderr, first)
		}
	}
}
