package compile_test

import (
	"os"
	"testing"
)

// A comprehension over an externalRef collection compiles under the CEL
// cost limit: the re-planned programs declare resource ids dyn (KRO's
// WithResourceIDs declares google.protobuf.Any, which no comprehension
// accepts as its range). Found by e2e's TestDirectExternalCollection.
func TestCostLimitedCollectionComprehension(t *testing.T) {
	dir := t.TempDir()
	rgd, err := os.ReadFile("testdata/roster-collection.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "rgd.yaml", string(rgd))
	if errs := compileDir(t, dir); len(errs) > 0 {
		t.Fatalf("want no error, got:\n%v", errs)
	}
}
