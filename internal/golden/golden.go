// Package golden compares test output with files under testdata, the one
// way every package's golden tests do it: a mismatch prints a unified diff,
// and `go test ./pkg/x -update` rewrites the files (review the git diff).
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite golden files with what the tests produce")

// Update reports whether -update was given, for golden checkers that are not
// this package's (kyaml's ProcessorResultsChecker).
func Update() bool { return *update }

// maxDiffLines bounds what a failure prints; a whole rewritten file is
// better read with git diff after -update.
const maxDiffLines = 200

// Assert compares got with the file at path, or writes it with -update.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it; review the git diff):\n%s", path, Diff(path, want, got))
	}
}

// Diff is a unified diff of want and got, cut after maxDiffLines lines.
func Diff(name string, want, got []byte) string {
	s, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)),
		FromFile: name + " (want)", ToFile: "got", Context: 3,
	})
	if err != nil {
		return err.Error()
	}
	if s == "" { // cannot happen for different bytes; never print an empty reason
		return "contents differ"
	}
	lines := difflib.SplitLines(s)
	if len(lines) > maxDiffLines {
		s = string(bytes.Join(toBytes(lines[:maxDiffLines]), nil)) + "... (diff cut)\n"
	}
	return s
}

func toBytes(lines []string) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}
