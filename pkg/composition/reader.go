package composition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Limits bound what reading inputs may cost, so a hostile repository (Argo
// CD and kustomize run typekro on any commit) cannot exhaust memory.
type Limits struct {
	// MaxFiles is the number of input files one run reads.
	MaxFiles int
	// MaxBytes is the size of every input together, stdin included.
	MaxBytes int64
}

// DefaultLimits hold real repositories with room to spare: a fleet
// repository of 10,000 instance files, or the largest CRD bundles (a few
// MiB), is well inside them.
var DefaultLimits = Limits{MaxFiles: 20000, MaxBytes: 256 << 20}

// MaxDocumentBytes bounds one YAML document: more than twice the API
// server's 3 MiB request limit, so nothing it would accept is refused.
const MaxDocumentBytes = 8 << 20

// Reader is the one way typekro reads its inputs, for every entry point
// (CLI arguments and -f, --crds, stdin, Argo CD, the KRM function). It reads
// only regular files (never blocks on a FIFO or reads a device), enforces
// Limits, and with Root set confines every path and symlink to that
// directory.
type Reader struct {
	// Root, when set, is the directory untrusted input must stay in: paths
	// must be relative to it and symlinks must resolve inside it. Errors
	// then name files relative to it and never say where a link points.
	Root   string
	Limits Limits
	Stdin  io.Reader
	// Skip holds files (absolute, clean paths) a directory walk passes
	// over: render's own output is never its input.
	Skip map[string]bool

	root      string // Root, absolute and without symlinks
	files     int
	bytes     int64
	stdinRead bool
}

// NewReader returns a reader with the default limits, reading "-" from stdin.
func NewReader(root string, stdin io.Reader) *Reader {
	return &Reader{Root: root, Limits: DefaultLimits, Stdin: stdin}
}

// Load reads every path with a default reader (no root) and classifies
// the documents.
func Load(paths ...string) (*Set, error) {
	return NewReader("", os.Stdin).Load(paths...)
}

// Load reads every path and classifies its documents. Content problems are
// collected and returned together as Errors; unreadable or refused paths
// return an *IOError listing all of them.
func (r *Reader) Load(paths ...string) (*Set, error) {
	files, err := r.Files(paths)
	if err != nil {
		return nil, err
	}
	set := &Set{}
	var errs Errors
	var ioErrs []error
	for _, f := range files {
		data, err := r.ReadFile(f)
		if err != nil {
			ioErrs = append(ioErrs, err)
			continue
		}
		docs, perrs := Parse(f, data)
		errs = append(errs, perrs...)
		for _, d := range docs {
			errs = append(errs, set.Add(d)...)
		}
	}
	if len(ioErrs) > 0 {
		return nil, &IOError{Err: errors.Join(ioErrs...)}
	}
	return set, errs.Err()
}

// Files expands paths into the YAML files to read: files as given,
// directories recursively (*.yaml, *.yml, sorted, hidden entries and
// kustomization files skipped). "-" means standard input.
func (r *Reader) Files(paths []string) ([]string, error) {
	var files []string
	var errs []error
	for _, p := range paths {
		if p == "-" {
			files = append(files, p)
			continue
		}
		if err := r.confine(p); err != nil {
			errs = append(errs, err)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, r.pathError(p, err))
			continue
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return r.pathError(path, err)
			}
			name := d.Name()
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !isYAML(name) || isKustomization(name) || r.skip(path) {
				return nil
			}
			if len(files) >= r.Limits.MaxFiles {
				return fmt.Errorf("%s: more than %d input files (--max-input-files)", r.display(p), r.Limits.MaxFiles)
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(files) > r.Limits.MaxFiles {
		errs = append(errs, fmt.Errorf("more than %d input files (--max-input-files)", r.Limits.MaxFiles))
	}
	if len(errs) > 0 {
		return nil, &IOError{Err: errors.Join(errs...)}
	}
	return files, nil
}

func (r *Reader) skip(p string) bool {
	if len(r.Skip) == 0 {
		return false
	}
	abs, err := filepath.Abs(p)
	return err == nil && r.Skip[abs]
}

// ReadFile reads one input file (or stdin for "-") whole, or refuses it.
func (r *Reader) ReadFile(name string) ([]byte, error) {
	if name == "-" {
		return r.readStdin()
	}
	if err := r.confine(name); err != nil {
		return nil, err
	}
	r.files++
	if r.files > r.Limits.MaxFiles {
		return nil, fmt.Errorf("%s: more than %d input files (--max-input-files)", r.display(name), r.Limits.MaxFiles)
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer; the file is
	// then checked to be regular before anything is read.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, r.pathError(name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, r.pathError(name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s); typekro reads only regular files", r.display(name), kindOf(info.Mode()))
	}
	return r.readLimited(r.display(name), f, info.Size())
}

func (r *Reader) readStdin() ([]byte, error) {
	if r.stdinRead {
		return nil, fmt.Errorf("stdin (-) given more than once")
	}
	r.stdinRead = true
	if r.Stdin == nil {
		return nil, fmt.Errorf("stdin (-): no standard input")
	}
	return r.readLimited("stdin", r.Stdin, -1)
}

// readLimited reads all of src, or fails once the inputs together exceed
// MaxBytes: input is never silently cut short.
func (r *Reader) readLimited(name string, src io.Reader, size int64) ([]byte, error) {
	left := r.Limits.MaxBytes - r.bytes
	if size > left {
		return nil, fmt.Errorf("%s: %d bytes would take the inputs over %d bytes (--max-input-bytes)", name, size, r.Limits.MaxBytes)
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size))
	}
	n, err := buf.ReadFrom(io.LimitReader(src, left+1))
	r.bytes += n
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if n > left {
		return nil, fmt.Errorf("%s: the inputs are larger than %d bytes (--max-input-bytes)", name, r.Limits.MaxBytes)
	}
	if err := checkDocumentSizes(name, buf.Bytes()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkDocumentSizes refuses a document over MaxDocumentBytes before the
// YAML parser builds a node tree for it (several times its size).
func checkDocumentSizes(name string, data []byte) error {
	if len(data) <= MaxDocumentBytes {
		return nil
	}
	start, line, docLine, doc := 0, 1, 1, 1
	for i := 0; i <= len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		if end < 0 {
			end = len(data) - i
		}
		l := data[i : i+end]
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r') {
			if i > 0 {
				doc++
			}
			start, docLine = i, line
		}
		if i+end-start > MaxDocumentBytes {
			return fmt.Errorf("%s:%d: document %d is larger than %d bytes (the limit per YAML document)", name, docLine, doc, MaxDocumentBytes)
		}
		i += end + 1
		line++
	}
	return nil
}

// confine checks that a path given to a rooted reader resolves, symlinks
// followed, to a place inside the root.
func (r *Reader) confine(p string) error {
	if r.Root == "" {
		return nil
	}
	if r.root == "" {
		root, err := Root(r.Root)
		if err != nil {
			return r.pathError(r.Root, err)
		}
		r.root = root
	}
	ok, err := insideReal(r.root, p)
	if err != nil {
		return r.pathError(p, err)
	}
	if !ok {
		return fmt.Errorf("%s: outside the base directory (through a symbolic link or ..); only files inside it are read", r.display(p))
	}
	return nil
}

// display names a file in errors: as given, or relative to the root.
func (r *Reader) display(p string) string {
	if r.root == "" || !filepath.IsAbs(p) {
		return p
	}
	if rel, err := filepath.Rel(r.root, p); err == nil && !escapes(rel) {
		return rel
	}
	return p
}

// pathError names the file and says what went wrong without the OS's
// wrapping (which repeats the path and, for links, where they point).
func (r *Reader) pathError(p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	// filepath.EvalSymlinks reports a loop as a plain error.
	if errors.Is(err, syscall.ELOOP) || strings.Contains(err.Error(), "too many links") {
		return fmt.Errorf("%s: symbolic link loop", r.display(p))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such file or directory", r.display(p))
	}
	return fmt.Errorf("%s: %v", r.display(p), err)
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "special file"
}
