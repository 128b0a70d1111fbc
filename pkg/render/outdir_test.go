package render

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&os.ModeSymlink != 0 {
			got[filepath.ToSlash(rel)] = "symlink"
			return nil
		}
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Regression (issue 9.1): render --output-dir deleted every YAML file under
// the directory that it had not just written: the inputs, CI workflows,
// values files. It now owns only what its index lists.
func TestOutputDirOwnsOnlyWhatItWrote(t *testing.T) {
	dir := t.TempDir()
	user := map[string]string{
		"composition.yaml":            "apiVersion: typekro.dev/v1alpha1\nkind: Composition\n",
		".github/workflows/ci.yml":    "on: push\n",
		"values/prod.yaml":            "replicas: 3\n",
		"instances/notes.yaml":        "mine: true\n",
		"definitions/handwritten.yml": "x: 1\n",
	}
	writeFiles(t, dir, user)

	v1 := Tree{"definitions/rgd-a.yaml": []byte("a: 1\n"), "instances/default/web.yaml": []byte("w: 1\n")}
	if err := v1.Write(dir); err != nil {
		t.Fatal(err)
	}
	v2 := Tree{"definitions/rgd-a.yaml": []byte("a: 2\n")}
	if err := v2.Write(dir); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dir)
	for p, c := range user {
		if got[p] != c {
			t.Errorf("%s: user file changed or lost (got %q)", p, got[p])
		}
	}
	if got["definitions/rgd-a.yaml"] != "a: 2\n" {
		t.Errorf("owned file not updated: %q", got["definitions/rgd-a.yaml"])
	}
	if _, ok := got["instances/default/web.yaml"]; ok {
		t.Errorf("a file typekro wrote and no longer renders was not pruned")
	}
	if _, err := os.Stat(filepath.Join(dir, "instances", "default")); !os.IsNotExist(err) {
		t.Errorf("the directory the prune emptied stays: %v", err)
	}
	if want := v2.index(nil); got[OwnedFile] != string(want) {
		t.Errorf("index %q, want %q", got[OwnedFile], want)
	}
}

func TestOutputDirRefusesForeignFiles(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, dir string)
		reason string
	}{
		{"a foreign file where the tree writes", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"definitions/rgd-a.yaml": "mine\n"})
		}, "definitions/rgd-a.yaml: exists and was not written by typekro"},
		{"an owned file edited since", func(t *testing.T, dir string) {
			if err := (Tree{"definitions/rgd-a.yaml": []byte("a: 0\n")}).Write(dir); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{"definitions/rgd-a.yaml": "edited\n"})
		}, "definitions/rgd-a.yaml: was changed since typekro wrote it"},
		{"an owned, stale file edited since", func(t *testing.T, dir string) {
			if err := (Tree{"old.yaml": []byte("o\n"), "definitions/rgd-a.yaml": []byte("a: 1\n")}).Write(dir); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{"old.yaml": "edited\n"})
		}, "old.yaml: no longer rendered, but changed since typekro wrote it"},
		{"a symlink planted in the output", func(t *testing.T, dir string) {
			outside := t.TempDir()
			if err := os.Symlink(outside, filepath.Join(dir, "definitions")); err != nil {
				t.Fatal(err)
			}
		}, "definitions/rgd-a.yaml: is, or lies under, a symbolic link"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.setup(t, dir)
			before := readTree(t, dir)
			tree := Tree{"definitions/rgd-a.yaml": []byte("a: 1\n"), "instances/web.yaml": []byte("w\n")}
			for _, op := range []string{"write", "diff"} {
				var err error
				if op == "write" {
					err = tree.Write(dir)
				} else {
					_, err = tree.Diff(dir)
				}
				var ce *ConflictError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.reason) {
					t.Fatalf("%s: want a conflict naming %q, got %v", op, c.reason, err)
				}
			}
			if after := readTree(t, dir); !mapsEqual(before, after) {
				t.Errorf("something was written despite the conflict:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestOutputDirIdenticalForeignFileStaysForeign(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yaml": "same\n"})
	if err := (Tree{"a.yaml": []byte("same\n"), "b.yaml": []byte("b\n")}).Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := (Tree{"b.yaml": []byte("b\n")}).Write(dir); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dir); got["a.yaml"] != "same\n" {
		t.Errorf("a file typekro never wrote was pruned")
	}
	diff, err := (Tree{"b.yaml": []byte("b2\n")}).Diff(dir)
	if err != nil || !slices.Equal(diff, []string{OwnedFile, "b.yaml"}) {
		t.Errorf("diff %v %v", diff, err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
