package composition

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Root resolves dir (the directory untrusted input must stay in) to an
// absolute path without symlinks, the reference every input path is
// checked against.
func Root(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// Inside resolves rel, a path relative to root (which must come from Root),
// and returns its real location. It fails for absolute paths, for paths
// that leave root with "..", and for paths that reach outside root through
// a symlink, so a kustomization (or an Argo CD app) can only read files of
// its own tree. Errors never say where a link points.
func Inside(root, rel string) (string, error) {
	if rel == "" {
		return "", fmt.Errorf("empty path")
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`) || filepath.VolumeName(rel) != "" {
		return "", fmt.Errorf("%s: absolute paths are not allowed, give a path relative to the base directory", rel)
	}
	clean := filepath.Clean(filepath.FromSlash(rel))
	if escapes(clean) {
		return "", fmt.Errorf("%s: leaves the base directory", rel)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, clean))
	if err != nil {
		return "", (&Reader{}).pathError(rel, err)
	}
	if !within(root, real) {
		return "", fmt.Errorf("%s: outside the base directory (through a symbolic link)", rel)
	}
	return real, nil
}

// insideReal reports whether p, after resolving symlinks, lies inside root.
func insideReal(root, p string) (bool, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return false, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return false, err
	}
	if _, err := os.Lstat(real); err != nil {
		return false, err
	}
	return within(root, real), nil
}

func escapes(clean string) bool {
	return clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator))
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (!escapes(rel) && !filepath.IsAbs(rel))
}
