package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// copyDir copies a directory of regular files (an example) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Regression (issue 9.1): `render app --output-dir .` and `--target flux
// --output-dir app app` deleted the inputs, CI workflows and values files.
func TestOutputDirKeepsUsersFiles(t *testing.T) {
	for _, c := range []struct {
		name string
		args func(app string) []string
	}{
		{"plain into the repo root", func(app string) []string { return []string{"render", app, "--output-dir", filepath.Dir(app)} }},
		{"flux into the input dir", func(app string) []string {
			return []string{"render", "--target", "flux", "--flux-path", "app", "--output-dir", app, filepath.Join(app, "composition.yaml"), filepath.Join(app, "instances")}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			app := filepath.Join(repo, "app")
			copyDir(t, examples+"webapp", app)
			for p, content := range map[string]string{
				".github/workflows/ci.yml": "on: push\n",
				"values/prod.yaml":         "replicas: 3\n",
			} {
				full := filepath.Join(repo, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, repo)
			for range 2 { // the second run prunes and rewrites
				if _, stderr, code := run(t, c.args(app)...); code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
			}
			after := snapshot(t, repo)
			for p, content := range before {
				if after[p] != content {
					t.Errorf("%s was changed or deleted", p)
				}
			}
			if _, stderr, code := run(t, append(c.args(app), "--check")...); code != 0 {
				t.Errorf("--check after render: exit %d: %s", code, stderr)
			}
		})
	}
}

func TestOutputDirRefusesToOverwrite(t *testing.T) {
	out := t.TempDir()
	stdout, _, code := run(t, "render", examples+"webapp", "-o", "name")
	if code != 0 {
		t.Fatal(stdout)
	}
	// A hand-written file where render would put the RGD.
	if _, _, code := run(t, "render", examples+"webapp", "--output-dir", out); code != 0 {
		t.Fatal("first render failed")
	}
	var rgd string
	for p := range snapshot(t, out) {
		if strings.HasPrefix(p, "rgds"+string(filepath.Separator)) || strings.Contains(p, "resourcegraphdefinition") {
			rgd = p
		}
	}
	if rgd == "" {
		t.Fatalf("no RGD file in %v", snapshot(t, out))
	}
	if err := os.WriteFile(filepath.Join(out, rgd), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)
	_, stderr, code := run(t, "render", examples+"webapp", "--output-dir", out)
	if code != ExitUsage || !strings.Contains(stderr, "was changed since typekro wrote it") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if after := snapshot(t, out); after[rgd] != "# mine\n" || len(after) != len(before) {
		t.Errorf("render wrote despite refusing")
	}
	if _, stderr, code := run(t, "render", examples+"webapp", "--output-dir", out, "--check"); code != ExitFailed || !strings.Contains(stderr, rgd) {
		t.Errorf("--check: exit %d: %s", code, stderr)
	}
}

// Regression (issue 9.2): `render --target argocd .` printed a file that a
// symlink brought in from outside the app, read /dev/zero until it ran out
// of memory, and hung on a FIFO; a PARAM_PATHS directory did the same.
func TestArgoCDReadsOnlyTheAppDirectory(t *testing.T) {
	base := t.TempDir()
	app := filepath.Join(base, "app")
	copyDir(t, examples+"webapp", app)
	if err := os.MkdirAll(filepath.Join(base, "outside"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen, namespace: default}\nstringData: {token: s3cr3t}\n"
	if err := os.WriteFile(filepath.Join(base, "outside", "secret.yaml"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, params string
		setup        func(t *testing.T)
		want         string
	}{
		{"symlink out", "", func(t *testing.T) {
			mustSymlink(t, "../outside/secret.yaml", filepath.Join(app, "evil.yaml"))
		}, "evil.yaml: outside the base directory"},
		{"symlinked directory out, through PARAM_PATHS", "more", func(t *testing.T) {
			mustSymlink(t, "../outside", filepath.Join(app, "more"))
		}, "more: outside the base directory"},
		{"/dev/zero", "", func(t *testing.T) {
			mustSymlink(t, "/dev/zero", filepath.Join(app, "zero.yaml"))
		}, "zero.yaml: outside the base directory"},
		{"FIFO", "", func(t *testing.T) {
			if err := syscall.Mkfifo(filepath.Join(app, "x.yaml"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "x.yaml: not a regular file (a named pipe)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range []string{"evil.yaml", "more", "zero.yaml", "x.yaml"} {
				os.Remove(filepath.Join(app, f))
			}
			c.setup(t)
			t.Chdir(app)
			t.Setenv("ARGOCD_APP_NAME", "web")
			if c.params != "" {
				t.Setenv("PARAM_PATHS_0", "instances")
				t.Setenv("PARAM_PATHS_1", c.params)
			}
			stdout, stderr, code := run(t, "render", "--target", "argocd", ".")
			if code != ExitUsage || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr, c.want)
			}
			if stdout != "" || strings.Contains(stderr, "s3cr3t") || strings.Contains(stderr, base) {
				t.Errorf("leaked: stdout %q stderr %q", stdout, stderr)
			}
		})
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// Regression (issue 9.2, 9.6): the plain CLI read --crds /dev/zero until
// memory ran out, and cut stdin at 64 MiB without a word.
func TestCLIInputLimits(t *testing.T) {
	t.Run("--crds /dev/zero", func(t *testing.T) {
		_, stderr, code := run(t, "validate", examples+"webapp", "--crds", "/dev/zero")
		if code != ExitUsage || !strings.Contains(stderr, "/dev/zero: not a regular file (a character device)") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("stdin over --max-input-bytes", func(t *testing.T) {
		var out, errOut bytes.Buffer
		in := strings.Repeat("# padding\n", 20000) // 200 kB
		streams := genericiooptions.IOStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut}
		root := NewRootCommand(streams)
		root.SetArgs([]string{"render", "-f", "-", "--max-input-bytes", "100Ki"})
		code := ExitOK
		if err := root.Execute(); err != nil {
			code = reportError(streams, err)
		}
		if code != ExitUsage || !strings.Contains(errOut.String(), "stdin: the inputs are larger than 102400 bytes (--max-input-bytes)") || out.Len() != 0 {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
	})
	t.Run("--max-input-files", func(t *testing.T) {
		_, stderr, code := run(t, "validate", examples, "--max-input-files", "3")
		if code != ExitUsage || !strings.Contains(stderr, "more than 3 input files (--max-input-files)") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}
