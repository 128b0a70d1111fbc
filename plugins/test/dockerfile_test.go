package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No Docker engine runs here, so the Dockerfiles are checked without one:
// their COPY sources exist, the build stage's go build works on exactly the
// files the Dockerfile copies, and the final stage has what its runtime
// needs (Argo CD: uid 999, the cmp-server entrypoint, plugin.yaml in place).

type instruction struct{ op, args string }

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		op, args, _ := strings.Cut(cur, " ")
		out = append(out, instruction{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

func checkDockerfile(t *testing.T, rel string) []instruction {
	t.Helper()
	root := repoRoot(t)
	ins := parseDockerfile(t, filepath.Join(root, rel))
	ctx := t.TempDir() // the files the build stage copies, and nothing else
	var build string
	env := map[string]string{}
	stage := 0
	for _, in := range ins {
		switch in.op {
		case "FROM":
			stage++
		case "ENV":
			if stage == 1 {
				for _, kv := range strings.Fields(in.args) {
					k, v, _ := strings.Cut(kv, "=")
					env[k] = v
				}
			}
		case "COPY":
			if strings.HasPrefix(in.args, "--from=") {
				continue
			}
			f := strings.Fields(in.args)
			for _, src := range f[:len(f)-1] {
				p := filepath.Join(root, src)
				info, err := os.Stat(p)
				if err != nil {
					t.Errorf("%s: COPY %s: %v", rel, src, err)
					continue
				}
				if stage == 1 {
					if info.IsDir() {
						copyDir(t, p, filepath.Join(ctx, src))
					} else {
						data, err := os.ReadFile(p)
						if err != nil {
							t.Fatal(err)
						}
						write(t, filepath.Join(ctx, src), string(data))
					}
				}
			}
		case "RUN":
			if stage == 1 && strings.Contains(in.args, "go build") {
				build = in.args
			}
		}
	}
	if build == "" {
		t.Fatalf("%s: no go build in the build stage", rel)
	}
	// Run the build stage's go build on the copied files only.
	build = strings.ReplaceAll(build, "${VERSION}", "test")
	out := filepath.Join(t.TempDir(), "kubectl-typekro")
	build = regexp.MustCompile(`-o /out/kubectl-typekro`).ReplaceAllString(build, "-o "+out)
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = ctx
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: build stage: %v\n%s", rel, err, b)
	}
	if b, err := exec.Command(out, "version").CombinedOutput(); err != nil || !strings.Contains(string(b), "test") {
		t.Errorf("%s: built binary: %v %s", rel, err, b)
	}
	return ins
}

func last(ins []instruction, op string) string {
	v := ""
	for _, in := range ins {
		if in.op == op {
			v = in.args
		}
	}
	return v
}

func TestKustomizeFunctionDockerfile(t *testing.T) {
	ins := checkDockerfile(t, "plugins/kustomize/Dockerfile")
	if got := last(ins, "ENTRYPOINT"); got != `["/usr/local/bin/kubectl-typekro", "fn"]` {
		t.Errorf("ENTRYPOINT %s", got)
	}
	if got := last(ins, "FROM"); !strings.HasPrefix(got, "gcr.io/distroless/static") {
		t.Errorf("final stage %s, want distroless/static", got)
	}
}

func TestArgoCDSidecarDockerfile(t *testing.T) {
	ins := checkDockerfile(t, "plugins/argocd/Dockerfile")
	if got := last(ins, "USER"); got != "999" {
		t.Errorf("USER %s, want 999 (Argo CD runs CMP sidecars as 999)", got)
	}
	if got := last(ins, "ENTRYPOINT"); got != `["/var/run/argocd/argocd-cmp-server"]` {
		t.Errorf("ENTRYPOINT %s", got)
	}
	found := false
	for _, in := range ins {
		if in.op == "COPY" && in.args == "plugins/argocd/plugin.yaml /home/argocd/cmp-server/config/plugin.yaml" {
			found = true
		}
	}
	if !found {
		t.Error("plugin.yaml is not copied to /home/argocd/cmp-server/config/plugin.yaml")
	}
}
