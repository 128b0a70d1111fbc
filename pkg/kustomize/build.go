package kustomize

import (
	"bytes"
	"fmt"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// functionAnnotations mark a KRM function config (the second one is
// kustomize's legacy spelling).
var functionAnnotations = []string{"config.kubernetes.io/function", "config.k8s.io/function"}

// Build runs `kustomize build DIR` in process, as kubectl -k does (kustomize's
// own krusty: the kustomization's load restrictions, ordering and
// transformers), with one addition kubectl lacks: typekro's own KRM function
// (a functionConfig of kind TypeKro, as generator or transformer) runs as
// `self fn`, so a kustomization written for `kustomize build
// --enable-alpha-plugins --enable-exec` builds here without either flag.
// Any other KRM function is refused, naming its file: -k never runs a
// program the repository names. self is the path of the kubectl-typekro
// binary (os.Executable()).
func Build(dir, self string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	pc := types.MakePluginConfig(types.PluginRestrictionsNone, types.BploUseStaticallyLinked)
	pc.FnpLoadingOptions.EnableExec = true
	opts.PluginConfig = pc
	fs := &functionFS{FileSystem: filesys.MakeFsOnDisk(), self: self}
	m, err := krusty.MakeKustomizer(opts).Run(fs, abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m.AsYaml()
}

// functionFS is the disk as krusty reads it, except that typekro's
// function configs point their exec at self and other function configs are
// refused. krusty reads generator and transformer configs through it like
// any other file.
type functionFS struct {
	filesys.FileSystem
	self string
}

func (f *functionFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || !mentionsFunction(data) {
		return data, err
	}
	return f.rewrite(path, data)
}

func mentionsFunction(data []byte) bool {
	for _, a := range functionAnnotations {
		if bytes.Contains(data, []byte(a)) {
			return true
		}
	}
	return false
}

// rewrite sets exec.path of every typekro function config in data to self.
// Only files that carry a function annotation get here; anything else in
// them (comments, other documents) is re-encoded unchanged in meaning.
func (f *functionFS) rewrite(path string, data []byte) ([]byte, error) {
	nodes, err := kio.FromBytes(data)
	if err != nil {
		// Not ours to judge: krusty reports the file's YAML error itself.
		return data, nil
	}
	changed := false
	for i, n := range nodes {
		for _, a := range functionAnnotations {
			spec, ok := n.GetAnnotations()[a]
			if !ok {
				continue
			}
			if n.GetApiVersion() != composition.APIVersion || n.GetKind() != KindConfig {
				return nil, fmt.Errorf("%s: document %d (%s %s): runs a KRM function other than typekro's; -k runs only typekro's own (use kustomize build --enable-alpha-plugins and pipe the result with -f -)", path, i+1, n.GetKind(), n.GetName())
			}
			fn, err := yaml.Parse(spec)
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: annotation %s: %w", path, i+1, a, err)
			}
			if fn.Field("exec") == nil {
				return nil, fmt.Errorf("%s: document %d: annotation %s: -k runs typekro's function as exec only (got %s)", path, i+1, a, firstKey(fn))
			}
			if err := fn.PipeE(yaml.Lookup("exec"), yaml.SetField("path", yaml.NewStringRNode(f.self))); err != nil {
				return nil, err
			}
			out, err := fn.String()
			if err != nil {
				return nil, err
			}
			if err := n.PipeE(yaml.SetAnnotation(a, out)); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if !changed {
		return data, nil
	}
	var buf bytes.Buffer
	if err := (kio.ByteWriter{Writer: &buf}).Write(nodes); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func firstKey(n *yaml.RNode) string {
	if keys, err := n.Fields(); err == nil && len(keys) > 0 {
		return keys[0]
	}
	return "nothing"
}
