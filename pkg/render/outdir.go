package render

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// OwnedFile is the index, in the output directory, of the files render
// wrote there: one "SHA256  path" line per file, sorted, in sha256sum's
// format (so `sha256sum -c .typekro-owned` checks the tree). render
// overwrites and prunes only the files listed with the content it wrote;
// every other file under the directory belongs to someone else.
const OwnedFile = ".typekro-owned"

// Conflict is a file render would have to overwrite or delete but does not
// own: not in the index, changed since render wrote it, or not a regular
// file.
type Conflict struct {
	Path   string // slash-separated, relative to the output directory
	Reason string
}

// ConflictError lists every file render refused to touch; nothing was
// written.
type ConflictError struct {
	Dir       string
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to write %s: %d file(s) there are not typekro's to overwrite (nothing was written):", e.Dir, len(e.Conflicts))
	for _, c := range e.Conflicts {
		fmt.Fprintf(&b, "\n  %s: %s", path.Join(filepath.ToSlash(e.Dir), c.Path), c.Reason)
	}
	b.WriteString("\nmove or delete them, or choose another --output-dir; typekro only touches files listed in " + OwnedFile)
	return b.String()
}

// ownership is what the index says render owns in a directory.
type ownership map[string]string // path -> hex sha256

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// readOwnership reads dir's index; a missing index owns nothing.
func readOwnership(dir string) (ownership, error) {
	own := ownership{}
	f := filepath.Join(dir, OwnedFile)
	info, err := os.Lstat(f)
	if errors.Is(err, fs.ErrNotExist) {
		return own, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", f)
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		hash, p, ok := strings.Cut(line, "  ")
		if !ok || len(hash) != sha256.Size*2 || !localPath(p) {
			return nil, fmt.Errorf("%s:%d: not a line of typekro's index (want \"SHA256  relative/path\")", f, n)
		}
		own[p] = hash
	}
	return own, nil
}

// Owned lists the files render wrote into dir (absolute paths), from its
// index; none when there is no index.
func Owned(dir string) ([]string, error) {
	own, err := readOwnership(dir)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(own))
	for p := range own {
		out = append(out, filepath.Join(abs, filepath.FromSlash(p)))
	}
	sort.Strings(out)
	return out, nil
}

// index is the content of the index: the tree's files, less those that
// were already there with the same bytes before typekro owned them.
func (t Tree) index(foreign map[string]bool) []byte {
	var b bytes.Buffer
	for _, p := range t.Paths() {
		if !foreign[p] {
			fmt.Fprintf(&b, "%s  %s\n", sum(t[p]), p)
		}
	}
	return b.Bytes()
}

func localPath(p string) bool {
	return p != "" && filepath.IsLocal(filepath.FromSlash(p)) && !strings.Contains(p, "\\") && p != OwnedFile
}

// plan compares the tree with dir: what to write, what to delete, what
// differs (for --check), and every file render may not touch.
type plan struct {
	write, remove, diff []string
	conflicts           []Conflict
	// foreign files hold exactly what the tree has but are not typekro's:
	// left as they are and never recorded, so never pruned.
	foreign map[string]bool
	index   []byte
}

func (t Tree) plan(dir string) (*plan, error) {
	own, err := readOwnership(dir)
	if err != nil {
		return nil, err
	}
	p := &plan{foreign: map[string]bool{}}
	for _, rel := range t.Paths() {
		if !localPath(rel) {
			return nil, fmt.Errorf("render: %q is not a path inside the output directory", rel)
		}
		got, state, err := lookFile(dir, rel)
		if err != nil {
			return nil, err
		}
		switch {
		case state == missing:
			p.write = append(p.write, rel)
		case state != regular:
			p.conflicts = append(p.conflicts, Conflict{rel, state.String()})
		case bytes.Equal(got, t[rel]):
			// Nothing to write; a file typekro did not write stays unowned.
			if own[rel] == "" {
				p.foreign[rel] = true
			}
		case own[rel] == "":
			p.conflicts = append(p.conflicts, Conflict{rel, "exists and was not written by typekro"})
		case own[rel] != sum(got):
			p.conflicts = append(p.conflicts, Conflict{rel, "was changed since typekro wrote it"})
		default:
			p.write = append(p.write, rel)
		}
	}
	for rel, hash := range own {
		if _, keep := t[rel]; keep {
			continue
		}
		got, state, err := lookFile(dir, rel)
		if err != nil {
			return nil, err
		}
		switch {
		case state == missing:
		case state != regular:
			p.conflicts = append(p.conflicts, Conflict{rel, state.String() + "; left alone"})
		case sum(got) != hash:
			p.conflicts = append(p.conflicts, Conflict{rel, "no longer rendered, but changed since typekro wrote it; left alone"})
		default:
			p.remove = append(p.remove, rel)
		}
	}
	sort.Strings(p.remove)
	sort.Slice(p.conflicts, func(i, j int) bool { return p.conflicts[i].Path < p.conflicts[j].Path })
	p.diff = append(append([]string{}, p.write...), p.remove...)
	p.index = t.index(p.foreign)
	if idx, _, err := lookFile(dir, OwnedFile); err != nil || !bytes.Equal(idx, p.index) {
		if len(p.index) > 0 || len(own) > 0 {
			p.diff = append(p.diff, OwnedFile)
		}
	}
	sort.Strings(p.diff)
	return p, nil
}

type fileState int

const (
	missing fileState = iota
	regular
	notRegular
	viaSymlink
)

func (s fileState) String() string {
	switch s {
	case notRegular:
		return "not a regular file"
	case viaSymlink:
		return "is, or lies under, a symbolic link"
	}
	return ""
}

// lookFile reads dir/rel without following symlinks anywhere below dir, so
// a link planted in the output directory cannot make render read or write
// elsewhere.
func lookFile(dir, rel string) ([]byte, fileState, error) {
	cur := dir
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			return nil, missing, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return nil, viaSymlink, nil
		}
		if i < len(parts)-1 {
			if !info.IsDir() {
				return nil, notRegular, nil
			}
			continue
		}
		if !info.Mode().IsRegular() {
			return nil, notRegular, nil
		}
	}
	data, err := os.ReadFile(cur)
	return data, regular, err
}

// Write makes dir hold the tree: it writes new and changed files, deletes
// files it wrote earlier that the tree no longer has, and records what it
// owns in the index. It refuses (a *ConflictError, nothing written) to
// overwrite or delete anything it did not write, or that changed since.
// Files are written to a temporary name and renamed, so an interrupted run
// leaves each file either old or new.
func (t Tree) Write(dir string) error {
	p, err := t.plan(dir)
	if err != nil {
		return err
	}
	if len(p.conflicts) > 0 {
		return &ConflictError{Dir: dir, Conflicts: p.conflicts}
	}
	for _, rel := range p.write {
		if err := writeFile(dir, rel, t[rel]); err != nil {
			return err
		}
	}
	for _, rel := range p.remove {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.Remove(full); err != nil {
			return err
		}
		removeEmptyParents(dir, filepath.Dir(full))
	}
	if len(p.index) == 0 {
		if err := os.Remove(filepath.Join(dir, OwnedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeFile(dir, OwnedFile, p.index)
}

// Diff lists the paths whose content on disk differs from the tree (changed,
// missing, or written earlier and no longer rendered), the index included.
// Files render does not own are an error, as they would be for Write.
func (t Tree) Diff(dir string) ([]string, error) {
	p, err := t.plan(dir)
	if err != nil {
		return nil, err
	}
	if len(p.conflicts) > 0 {
		return nil, &ConflictError{Dir: dir, Conflicts: p.conflicts}
	}
	return p.diff, nil
}

func writeFile(dir, rel string, data []byte) error {
	full := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(full), ".typekro-*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), full); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// removeEmptyParents removes directories left empty by a prune, up to (not
// including) dir; a directory with anything in it stays.
func removeEmptyParents(dir, from string) {
	for d := from; d != dir && strings.HasPrefix(d, dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}
