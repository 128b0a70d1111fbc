package compile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// FuzzCompile feeds arbitrary YAML through the loader and KRO's graph
// builder: every input must end in a result or errors, never a panic or a
// hang. Seeds are the examples (compositions with their instances).
func FuzzCompile(f *testing.F) {
	files, err := filepath.Glob("../../examples/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		instances, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "instances", "*.yaml"))
		for _, inst := range instances {
			if extra, err := os.ReadFile(inst); err == nil {
				data = append(append(data, "\n---\n"...), extra...)
			}
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := loadBytes(t, data)
		if err != nil {
			return
		}
		_, _ = compile.Compile(set, compile.Options{Namespace: "default"})
	})
}

// loadBytes loads data the way the CLI loads a file.
func loadBytes(t *testing.T, data []byte) (*composition.Set, error) {
	path := filepath.Join(t.TempDir(), "input.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return composition.Load(path)
}
