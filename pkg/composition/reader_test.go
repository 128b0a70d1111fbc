package composition

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestInside(t *testing.T) {
	root, err := Root(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{".", "a", "a/b", "a/../a/b", "./a/"} {
		if _, err := Inside(root, ok); err != nil {
			t.Errorf("Inside(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "..", "../x", "a/../../x", "/etc", "/"} {
		if _, err := Inside(root, bad); err == nil {
			t.Errorf("Inside(%q): want an error", bad)
		}
	}
}

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"

// chdir runs the test from dir (a rooted reader reads relative to it).
func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Regression (issue 9.2): symlinks out of the root were read and printed
// into the output; a link to /dev/zero read until memory ran out; a FIFO
// hung the run. Each is refused, naming the file, and the rest is still
// reported (all errors at once).
func TestReaderRefuses(t *testing.T) {
	base := t.TempDir()
	app := filepath.Join(base, "app")
	write(t, filepath.Join(base, "outside", "secret.yaml"), fmt.Sprintf(cm, "secret"))
	write(t, filepath.Join(app, "ok.yaml"), fmt.Sprintf(cm, "ok"))
	write(t, filepath.Join(app, "sub", "inner.yaml"), fmt.Sprintf(cm, "inner"))
	mustLink(t, "../outside/secret.yaml", filepath.Join(app, "evil.yaml"))
	mustLink(t, "sub/inner.yaml", filepath.Join(app, "inside-link.yaml"))
	mustLink(t, "/dev/zero", filepath.Join(app, "zero.yaml"))
	mustLink(t, "loop.yaml", filepath.Join(app, "loop.yaml"))
	if err := syscall.Mkfifo(filepath.Join(app, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	chdir(t, app)

	t.Run("rooted", func(t *testing.T) {
		r := NewReader(".", nil)
		_, err := r.Load(".")
		msg := errText(t, err)
		for _, want := range []string{
			"evil.yaml: outside the base directory",
			"zero.yaml: outside the base directory",
			"fifo.yaml: not a regular file (a named pipe)",
			"loop.yaml: symbolic link loop",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("missing %q in:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "inside-link") || strings.Contains(msg, base) {
			t.Errorf("a link inside the root is fine, and no absolute path may leak:\n%s", msg)
		}
	})
	t.Run("trusted", func(t *testing.T) {
		// The plain CLI follows links (the user's own files) but still
		// reads only regular files.
		r := NewReader("", nil)
		_, err := r.Load(".")
		msg := errText(t, err)
		for _, want := range []string{"zero.yaml: not a regular file (a character device)", "fifo.yaml: not a regular file (a named pipe)"} {
			if !strings.Contains(msg, want) {
				t.Errorf("missing %q in:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "evil.yaml") {
			t.Errorf("trusted input may link anywhere:\n%s", msg)
		}
	})
	t.Run("param path outside", func(t *testing.T) {
		r := NewReader(".", nil)
		_, err := r.Load("../outside")
		if msg := errText(t, err); !strings.Contains(msg, "../outside: outside the base directory") {
			t.Errorf("got %s", msg)
		}
	})
}

func mustLink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func errText(t *testing.T, err error) string {
	t.Helper()
	var io *IOError
	if !errors.As(err, &io) {
		t.Fatalf("want an *IOError, got %T %v", err, err)
	}
	return err.Error()
}

// Regression (issue 9.6): stdin was cut at 64 MiB without a word, and
// there was no limit on files or sizes.
func TestReaderLimits(t *testing.T) {
	t.Run("stdin over the limit is refused, not cut", func(t *testing.T) {
		r := NewReader("", bytes.NewReader(bytes.Repeat([]byte("# x\n"), 1000)))
		r.Limits.MaxBytes = 1000
		_, err := r.Load("-")
		if msg := errText(t, err); !strings.Contains(msg, "stdin: the inputs are larger than 1000 bytes (--max-input-bytes)") {
			t.Errorf("got %s", msg)
		}
	})
	t.Run("stdin read whole", func(t *testing.T) {
		var in bytes.Buffer
		for i := range 3000 {
			fmt.Fprintf(&in, "---\n"+cm, fmt.Sprintf("c%d", i))
		}
		set, err := NewReader("", &in).Load("-")
		if err != nil || len(set.Others) != 3000 {
			t.Fatalf("got %v docs, err %v", len(set.Others), err)
		}
	})
	t.Run("files", func(t *testing.T) {
		dir := t.TempDir()
		for i := range 5 {
			write(t, filepath.Join(dir, fmt.Sprintf("%d.yaml", i)), fmt.Sprintf(cm, fmt.Sprint(i)))
		}
		r := NewReader("", nil)
		r.Limits.MaxFiles = 4
		_, err := r.Load(dir)
		if msg := errText(t, err); !strings.Contains(msg, "more than 4 input files (--max-input-files)") {
			t.Errorf("got %s", msg)
		}
	})
	t.Run("total bytes across files", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "a.yaml"), fmt.Sprintf(cm, "a"))
		write(t, filepath.Join(dir, "b.yaml"), fmt.Sprintf(cm, "b"))
		r := NewReader("", nil)
		r.Limits.MaxBytes = int64(len(fmt.Sprintf(cm, "a"))) + 5
		_, err := r.Load(dir)
		if msg := errText(t, err); !strings.Contains(msg, "b.yaml:") || !strings.Contains(msg, "--max-input-bytes") {
			t.Errorf("got %s", msg)
		}
	})
	t.Run("document size", func(t *testing.T) {
		dir := t.TempDir()
		big := "---\n" + fmt.Sprintf(cm, "small") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  x: " + strings.Repeat("y", MaxDocumentBytes) + "\n"
		write(t, filepath.Join(dir, "big.yaml"), big)
		_, err := NewReader("", nil).Load(dir)
		if msg := errText(t, err); !strings.Contains(msg, "big.yaml:5: document 2 is larger than") {
			t.Errorf("got %s", msg)
		}
	})
}
