package direct_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

// FuzzDirectRender renders arbitrary instances of arbitrary compositions
// with KRO's runtime: render must return objects or an error, never panic
// or hang. Seeds pair each example composition with each of its instances.
func FuzzDirectRender(f *testing.F) {
	dirs, err := filepath.Glob("../../examples/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, dir := range dirs {
		defs, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		instances, _ := filepath.Glob(filepath.Join(dir, "instances", "*.yaml"))
		var def []byte
		for _, d := range defs {
			data, err := os.ReadFile(d)
			if err != nil {
				f.Fatal(err)
			}
			def = append(append(def, "\n---\n"...), data...)
		}
		for _, in := range instances {
			data, err := os.ReadFile(in)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(def, data)
		}
	}
	f.Fuzz(func(t *testing.T, definition, instance []byte) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{"definition.yaml": definition, "instance.yaml": instance} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		set, err := composition.Load(dir)
		if err != nil {
			return
		}
		res, err := compile.Compile(set, compile.Options{Namespace: "default"})
		if err != nil {
			return
		}
		_, _ = direct.Render(res, direct.Options{AllowPending: true})
	})
}
