package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOptionsFlux checks the Flux options: both directories or neither, and
// the two controller binaries must exist (with the rest of the binaries).
func TestOptionsFlux(t *testing.T) {
	dir := t.TempDir()
	bin := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, n := range []string{APIServer, ControllerManager, Scheduler} {
		bin(filepath.Join("kube", n))
	}
	base := Options{
		StateDir: filepath.Join(dir, "state"), KubeBinDir: filepath.Join(dir, "kube"),
		Etcd: bin("etcd"), Kwok: bin("kwok"), KwokStagesDir: dir,
	}
	bin("flux/source-controller")
	for _, tc := range []struct {
		name       string
		binDir     string
		crds       string
		wantErrSub string
	}{
		{"without Flux", "", "", ""},
		{"kustomize-controller missing", filepath.Join(dir, "flux"), dir, "kustomize-controller"},
		{"CRDs missing", filepath.Join(dir, "flux"), "", "FluxCRDsDir is required"},
		{"no binaries", filepath.Join(dir, "none"), dir, "source-controller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			o.FluxBinDir, o.FluxCRDsDir = tc.binDir, tc.crds
			err := o.complete()
			switch {
			case tc.wantErrSub == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErrSub != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrSub)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErrSub)
			}
		})
	}
	bin("flux/kustomize-controller")
	o := base
	o.FluxBinDir, o.FluxCRDsDir = filepath.Join(dir, "flux"), dir
	if err := o.complete(); err != nil {
		t.Fatalf("both binaries present: %v", err)
	}
}
