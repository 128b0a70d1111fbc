package test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version   string `json:"version"`
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// validateKrew runs krew's own validator. It takes the plugin name from the
// file name, as krew-index stores manifests as plugins/<name>.yaml.
func validateKrew(t *testing.T, manifest string, extra ...string) krewPlugin {
	t.Helper()
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	named := filepath.Join(t.TempDir(), p.Metadata.Name+".yaml")
	write(t, named, string(data))
	args := append([]string{"-manifest", named}, extra...)
	if r := run(t.TempDir(), os.Environ(), tool(t, "KREW_VALIDATE"), args...); r.err != nil {
		t.Fatalf("validate-krew-manifest %s: %v\n%s%s", manifest, r.err, r.stdout, r.stderr)
	}
	return p
}

// The committed manifest (written by `make release`) is valid and covers
// linux and darwin on amd64 and arm64.
func TestKrewManifest(t *testing.T) {
	p := validateKrew(t, filepath.Join(repoRoot(t), "plugins", "krew.yaml"), "-skip-install")
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "typekro" {
		t.Errorf("manifest header: %+v", p)
	}
	got := map[string]bool{}
	for _, pl := range p.Spec.Platforms {
		l := pl.Selector.MatchLabels
		got[l["os"]+"/"+l["arch"]] = true
		if pl.Bin != "kubectl-typekro" {
			t.Errorf("%v: bin %q", l, pl.Bin)
		}
		want := "https://github.com/typekro/kubectl-typekro/releases/download/" + p.Spec.Version + "/kubectl-typekro_" + l["os"] + "_" + l["arch"] + ".tar.gz"
		if pl.URI != want {
			t.Errorf("uri %s, want %s", pl.URI, want)
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"} {
		if !got[want] {
			t.Errorf("no platform %s", want)
		}
	}
}

// A release for this machine's platform, made by scripts/release.sh, passes
// krew's validator and installs with krew itself (which checks the sha256
// and extracts binary and LICENSE); the archives are reproducible, and a
// tampered archive is refused.
func TestKrewRelease(t *testing.T) {
	root := repoRoot(t)
	platform := runtime.GOOS + "/" + runtime.GOARCH
	release := func(dist string) krewPlugin {
		t.Helper()
		env := append(os.Environ(), "VERSION=v0.0.0-test", "PLATFORMS="+platform, "DIST="+dist, "MANIFEST="+filepath.Join(dist, "typekro.yaml"))
		if r := run(root, env, filepath.Join(root, "scripts", "release.sh")); r.err != nil {
			t.Fatalf("release.sh: %v\n%s", r.err, r.stderr)
		}
		return validateKrew(t, filepath.Join(dist, "typekro.yaml"), "-skip-install")
	}
	dist := t.TempDir()
	p := release(dist)
	archive := filepath.Join(dist, "kubectl-typekro_"+runtime.GOOS+"_"+runtime.GOARCH+".tar.gz")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if len(p.Spec.Platforms) != 1 || p.Spec.Platforms[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("manifest sha256 does not match the archive: %+v", p.Spec.Platforms)
	}
	if again := release(t.TempDir()); again.Spec.Platforms[0].SHA256 != p.Spec.Platforms[0].SHA256 {
		t.Errorf("release archives are not reproducible: %s vs %s", again.Spec.Platforms[0].SHA256, p.Spec.Platforms[0].SHA256)
	}

	install := func(archive string) result {
		krewRoot := t.TempDir()
		env := append(os.Environ(), "KREW_ROOT="+krewRoot, "KREW_OS="+runtime.GOOS, "KREW_ARCH="+runtime.GOARCH)
		r := run(t.TempDir(), env, tool(t, "KREW"), "install", "--manifest="+filepath.Join(dist, "typekro.yaml"), "--archive="+archive)
		if r.err == nil {
			bin := filepath.Join(krewRoot, "bin", "kubectl-typekro")
			if v := run(t.TempDir(), os.Environ(), bin, "version"); v.err != nil || !strings.Contains(v.stdout+v.stderr, "v0.0.0-test") {
				t.Errorf("installed binary: %v %s%s", v.err, v.stdout, v.stderr)
			}
			if _, err := os.Stat(filepath.Join(krewRoot, "store", "typekro", "v0.0.0-test", "LICENSE")); err != nil {
				t.Errorf("LICENSE not installed: %v", err)
			}
		}
		return r
	}
	if r := install(archive); r.err != nil {
		t.Fatalf("krew install: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	tampered := filepath.Join(t.TempDir(), filepath.Base(archive))
	write(t, tampered, string(append(data, 0)))
	if r := install(tampered); r.err == nil || !strings.Contains(r.stderr, "checksum does not match") {
		t.Errorf("krew installed a tampered archive: %v\n%s", r.err, r.stderr)
	}
}

// `version` reads KRO's version from the binary's build info: the release
// built binary must name the KRO release go.mod requires.
func TestVersionNamesTheLinkedKRO(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var kro string
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/kubernetes-sigs/kro" {
			kro = f[1]
		}
	}
	r := run(t.TempDir(), os.Environ(), tool(t, "TYPEKRO_BIN"), "version")
	if r.err != nil || kro == "" || !strings.Contains(r.stdout, "(kro "+kro+",") {
		t.Errorf("version printed %q (%v); go.mod requires KRO %q", r.stdout, r.err, kro)
	}
}
