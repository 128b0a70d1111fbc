package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shopComp is a Composition of kind Shop with the given metadata lines
// and spec schema lines.
func shopComp(meta string, fields ...string) string {
	return "apiVersion: typekro.dev/v1alpha1\nkind: Composition\nmetadata:\n  name: shop\n" + meta +
		"spec:\n  apiVersion: example.com/v1\n  kind: Shop\n  schema:\n    spec:\n      " + strings.Join(fields, "\n      ") +
		"\n  resources:\n    - id: cm\n      ConfigMap: {name: shop}\n"
}

// TestValidateAgainst: validate --against REV compares with the committed
// files through git; exit 1 only on a breaking change KRO would refuse.
func TestValidateAgainst(t *testing.T) {
	const allow = "  annotations:\n    kro.run/allow-breaking-changes: \"true\"\n"
	tests := []struct {
		name   string
		now    string // the composition in the work tree (committed: a, b strings)
		args   []string
		code   int
		stdout []string // lines, dir prefix removed; nil: empty
		stderr string
	}{
		{"unchanged", shopComp("", "a: string", "b: string"), nil, 0, nil, "0 breaking change(s) KRO would refuse, 0 allowed by kro.run/allow-breaking-changes, 0 compatible"},
		{"field removed", shopComp("", "a: string"), nil, 1,
			[]string{"shop.yaml:9: Composition/shop: spec.b: BREAKING PROPERTY_REMOVED (was string)"}, "--allow-breaking-changes"},
		{"compatible only with -v", shopComp("", "a: string", "b: string", "c: string"), nil, 0, nil, "1 compatible"},
		{"-v lists compatible changes", shopComp("", "a: string", "b: string", "c: string"), []string{"-v=1"}, 0,
			[]string{"shop.yaml:12: Composition/shop: spec.c: compatible PROPERTY_ADDED"}, ""},
		{"allowed by KRO's annotation", shopComp(allow, "a: string"), nil, 0,
			[]string{"shop.yaml:11: Composition/shop: spec.b: BREAKING (allowed) PROPERTY_REMOVED (was string)"}, "1 allowed"},
		{"allowed by the flag", shopComp("", "a: integer", "b: string"), []string{"--allow-breaking-changes"}, 0,
			[]string{"shop.yaml:10: Composition/shop: spec.a: BREAKING (allowed) TYPE_CHANGED (was string, now integer)"}, ""},
		{"a file new since the revision", shopComp("", "a: string", "b: string"), []string{"-v=1", "--against", "HEAD", "new.yaml"}, 0,
			[]string{"new.yaml:7: Composition/other: compatible DEFINITION_ADDED (new kind Other)"}, ""},
		{"no such revision", shopComp("", "a: string", "b: string"), []string{"--against", "nope"}, 2, nil, "--against nope: no such commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			git := func(args ...string) {
				t.Helper()
				out, err := exec.Command("git", append([]string{"-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			file := filepath.Join(repo, "shop.yaml")
			git("init", "-q")
			if err := os.WriteFile(file, []byte(shopComp("", "a: string", "b: string")), 0o644); err != nil {
				t.Fatal(err)
			}
			git("add", "-A")
			git("commit", "-q", "-m", "old")
			if err := os.WriteFile(file, []byte(tt.now), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(repo, "new.yaml"), []byte(strings.NewReplacer("shop", "other", "Shop", "Other").Replace(tt.now)), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"validate", file}, tt.args...)
			if strings.HasSuffix(strings.Join(tt.args, " "), "new.yaml") {
				args = append([]string{"validate"}, tt.args[:len(tt.args)-1]...)
				args = append(args, filepath.Join(repo, "new.yaml"))
			}
			if !strings.Contains(strings.Join(tt.args, " "), "--against") {
				args = append(args, "--against", "HEAD")
			}
			stdout, stderr, code := run(t, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			real, _ := filepath.EvalSymlinks(repo)
			stdout = strings.ReplaceAll(strings.ReplaceAll(stdout, repo+"/", ""), real+"/", "")
			if want := strings.Join(tt.stdout, "\n"); strings.TrimSpace(stdout) != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
		})
	}
}

func TestCompatFlagUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--allow-breaking-changes needs --against", []string{"validate", examples + "webapp", "--allow-breaking-changes"}, "needs --against"},
		{"--against cannot read stdin", []string{"validate", "-", "--against", "HEAD"}, "stdin"},
		{"apply --allow-breaking-changes is kro mode", []string{"apply", examples + "webapp", "--mode", "direct", "--allow-breaking-changes"}, "needs --mode kro"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, ExitUsage, tt.want, stderr)
			}
		})
	}
}

// TestValidateAgainstKustomize: with -k the kustomization is built at the
// revision too (from a copy of the whole repository), so the old side is
// the old build, not the current one.
func TestValidateAgainstKustomize(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("base/shop.yaml", shopComp("", "a: string", "b: string"))
	write("base/kustomization.yaml", "resources:\n- shop.yaml\n")
	write("overlay/kustomization.yaml", "resources:\n- ../base\n")
	git("add", "-A")
	git("commit", "-q", "-m", "old")
	write("base/shop.yaml", shopComp("", "a: string"))
	stdout, stderr, code := run(t, "validate", "-k", filepath.Join(repo, "overlay"), "--against", "HEAD")
	if code != ExitFailed || !strings.Contains(stdout, "Composition/shop: spec.b: BREAKING PROPERTY_REMOVED (was string)") {
		t.Errorf("exit %d, want %d with the removed field\nstdout:\n%s\nstderr:\n%s", code, ExitFailed, stdout, stderr)
	}
}
