package compat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Tree is a copy of some input paths as they are at a git revision, in a
// temporary directory laid out like the repository, so the ordinary
// loader and compiler read the old definitions.
type Tree struct {
	Rev  string
	Dir  string // the temporary copy of the repository's files
	Root string // the repository's work tree
	cwd  string
}

// Checkout copies the files under paths (files or directories of one git
// work tree) as they are at rev into a temporary directory, reading them
// through git: ls-tree to list, one cat-file --batch to read. A path that
// does not exist at rev is simply empty there. With whole, the entire
// repository is copied (a kustomization may reference any file in it).
// Close removes the copy.
func Checkout(ctx context.Context, rev string, paths []string, whole bool) (*Tree, error) {
	if len(paths) == 0 {
		return nil, errors.New("no paths")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	start := paths[0]
	if fi, err := os.Stat(start); err != nil || !fi.IsDir() {
		start = filepath.Dir(start)
	}
	out, err := git(ctx, start, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("--against needs the inputs in a git work tree: %w", err)
	}
	root := strings.TrimSpace(string(out))
	if _, err := git(ctx, root, nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return nil, fmt.Errorf("--against %s: no such commit in %s", rev, root)
	}
	rels := make([]string, 0, len(paths))
	if whole {
		paths = []string{root}
	}
	for _, p := range paths {
		rel, err := repoRel(root, p)
		if err != nil {
			return nil, err
		}
		rels = append(rels, rel)
	}
	args := append([]string{"ls-tree", "-r", "-z", "--full-tree", rev, "--"}, rels...)
	out, err = git(ctx, root, nil, args...)
	if err != nil {
		return nil, err
	}
	type blob struct{ oid, path string }
	var blobs []blob
	for _, entry := range bytes.Split(out, []byte{0}) {
		// "<mode> <type> <oid>\t<path>"; only regular files (no symlinks,
		// no submodules) are inputs.
		meta, path, ok := strings.Cut(string(entry), "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 || f[1] != "blob" || !strings.HasPrefix(f[0], "100") {
			continue
		}
		blobs = append(blobs, blob{f[2], path})
	}
	dir, err := os.MkdirTemp("", "typekro-against-")
	if err != nil {
		return nil, err
	}
	t := &Tree{Rev: rev, Dir: dir, Root: root, cwd: cwd}
	var stdin bytes.Buffer
	for _, b := range blobs {
		stdin.WriteString(b.oid + "\n")
	}
	out, err = git(ctx, root, &stdin, "cat-file", "--batch")
	if err != nil {
		t.Close()
		return nil, err
	}
	r := bufio.NewReader(bytes.NewReader(out))
	for _, b := range blobs {
		header, err := r.ReadString('\n')
		f := strings.Fields(header)
		if err != nil || len(f) != 3 {
			t.Close()
			return nil, fmt.Errorf("git cat-file: unexpected answer %q for %s", header, b.path)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("git cat-file: unexpected answer %q for %s", header, b.path)
		}
		data := make([]byte, size+1) // content and a newline
		if _, err := io.ReadFull(r, data); err != nil {
			t.Close()
			return nil, fmt.Errorf("git cat-file %s: %w", b.path, err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(b.path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Close()
			return nil, err
		}
		if err := os.WriteFile(dst, data[:size], 0o644); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// Path is where input path p (as the user gave it) is in the copy.
func (t *Tree) Path(p string) (string, error) {
	rel, err := repoRel(t.Root, p)
	if err != nil {
		return "", err
	}
	return filepath.Join(t.Dir, filepath.FromSlash(rel)), nil
}

// Display names a file of the copy as the user would name the file in the
// work tree (relative to the current directory when inside it), so old
// and new definitions are reported with the same file names.
func (t *Tree) Display(file string) string {
	const kustomized = "kustomize build " // -k's input name
	if rest, ok := strings.CutPrefix(file, kustomized); ok {
		return kustomized + t.Display(rest)
	}
	rel, err := filepath.Rel(t.Dir, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		return file
	}
	abs := filepath.Join(t.Root, rel)
	if r, err := filepath.Rel(t.cwd, abs); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return abs
}

// Close removes the copy.
func (t *Tree) Close() error { return os.RemoveAll(t.Dir) }

// repoRel is p relative to the repository root, slash-separated ("." for
// the root itself); symlinks (a temp dir under /tmp -> /private/tmp) are
// resolved on both sides, as git reports the root resolved.
func repoRel(root, p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s is outside the git work tree %s", p, root)
	}
	return filepath.ToSlash(rel), nil
}

func git(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
