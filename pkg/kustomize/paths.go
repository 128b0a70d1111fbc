package kustomize

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Root resolves dir (the kustomization directory) to an absolute path
// without symlinks, the reference every input path is checked against.
func Root(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// Inside resolves rel, a path relative to root (the base directory), and
// returns its real location. It fails for absolute paths, for paths that leave root with
// "..", and for paths that reach outside root through a symlink, so a
// kustomization (or an Argo CD app) can only read files of its own tree.
// root must come from Root.
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
		if os.IsNotExist(err) {
			return "", fmt.Errorf("%s: no such file or directory", rel)
		}
		return "", err
	}
	if !within(root, real) {
		return "", fmt.Errorf("%s: resolves to %s, outside the base directory (through a symlink)", rel, real)
	}
	return real, nil
}

// checkFile verifies that a file found while walking a directory that is
// inside root does not lead outside root through a symlink.
func checkFile(root, file string) error {
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return err
	}
	if !within(root, real) {
		return fmt.Errorf("%s: resolves to %s, outside the base directory (through a symlink)", file, real)
	}
	info, err := os.Stat(real)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", file)
	}
	return nil
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
