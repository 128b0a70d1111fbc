package golden

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name, want, got string
		has             []string
	}{
		{"changed line", "a\nb\nc\n", "a\nB\nc\n", []string{"--- f (want)", "+++ got", "-b", "+B"}},
		{"final newline", "a\n", "a", []string{"@@ -1,2 +1 @@"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff("f", []byte(tc.want), []byte(tc.got))
			for _, s := range tc.has {
				if !strings.Contains(d, s) {
					t.Errorf("diff lacks %q:\n%s", s, d)
				}
			}
		})
	}
	long := strings.Repeat("x\n", 1000)
	if d := Diff("f", []byte(long), []byte(strings.ReplaceAll(long, "x", "y"))); !strings.HasSuffix(d, "(diff cut)\n") || strings.Count(d, "\n") > maxDiffLines+1 {
		t.Errorf("long diff not cut: %d lines", strings.Count(d, "\n"))
	}
}

// TestAssertEqual: an equal file passes; with -update a missing one is written.
func TestAssert(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "g.yaml")
	*update = true
	Assert(t, path, []byte("k: v\n"))
	*update = false
	Assert(t, path, []byte("k: v\n"))
}
