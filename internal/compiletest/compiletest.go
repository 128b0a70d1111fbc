// Package compiletest loads and compiles test inputs, the one way the
// engine and renderer tests do it.
package compiletest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// Dir loads and compiles dir with instances defaulting to namespace
// default; opts may change the rest (e.g. the CEL cost limit).
func Dir(t testing.TB, dir string, opts ...func(*compile.Options)) *compile.Result {
	t.Helper()
	set, err := composition.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := compile.Options{Namespace: "default"}
	for _, f := range opts {
		f(&o)
	}
	res, err := compile.Compile(set, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// YAML writes the documents to one file of a temporary directory and
// compiles it.
func YAML(t testing.TB, docs ...string) *compile.Result {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input.yaml"), []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return Dir(t, dir)
}
