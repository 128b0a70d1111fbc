package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

// TestEmbeddedMatchesHelmTemplate renders KRO's chart again with Helm's own
// packages and compares it byte for byte with the file the product embeds:
// what bootstrap applies is exactly what `helm template` renders.
func TestEmbeddedMatchesHelmTemplate(t *testing.T) {
	dir, version, err := kroChart("../../..")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Render(dir, version)
	if err != nil {
		t.Fatal(err)
	}
	path := "../kro-" + version + ".yaml"
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run make generate)", err)
	}
	if !bytes.Equal(got, want) {
		d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)), FromFile: "helm template", ToFile: path, Context: 2})
		t.Fatalf("%s differs from the chart's rendering (run make generate):\n%s", path, d)
	}
}
