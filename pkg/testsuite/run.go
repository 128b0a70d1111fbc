package testsuite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/direct/live"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// DefaultNamespace is given to namespaced instances without one, as
// render --mode direct does offline.
const DefaultNamespace = "default"

// Runner finds and runs tests. Every file goes through Reader (the
// project's one input reader: limits and confinement apply), which is
// used by one goroutine at a time.
type Runner struct {
	Reader *composition.Reader
	// Compile tunes compilation (cost limit, registry); Namespace and
	// LoadErrors are set per run.
	Compile compile.Options
	// Update rewrites golden files instead of comparing them.
	Update bool
	// Parallel bounds concurrent work (0: GOMAXPROCS).
	Parallel int

	mu     sync.Mutex // guards Reader and loaded
	loaded map[string]*loaded
}

// Find reads every Test document under paths (files or directories,
// recursively), in file order. Other documents are passed over.
func (r *Runner) Find(paths ...string) ([]*Test, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	files, err := r.Reader.Files(paths)
	if err != nil {
		return nil, err
	}
	var tests []*Test
	var errs composition.Errors
	names := map[string]*Test{}
	for _, f := range files {
		data, err := r.Reader.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(data, []byte(composition.KindTest)) {
			continue // cheap: most inputs are no tests
		}
		docs, perrs := composition.Parse(f, data)
		for _, d := range docs {
			if !composition.IsTest(d) {
				continue
			}
			if len(perrs) > 0 {
				break // the file's YAML is broken: say so once, below
			}
			t, terrs := Parse(d)
			errs = append(errs, terrs...)
			if len(terrs) > 0 {
				continue
			}
			key := filepath.Dir(f) + "\x00" + t.Name
			if prev := names[key]; prev != nil {
				errs = append(errs, d.Errorf("metadata.name", "duplicate test name %q in this directory (also at %s)", t.Name, prev.Location("metadata.name")))
				continue
			}
			names[key] = t
			tests = append(tests, t)
		}
		for _, d := range docs {
			if composition.IsTest(d) {
				errs = append(errs, perrs...)
				break
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return tests, nil
}

// Result is the outcome of one test.
type Result struct {
	Test     *Test
	Failures []Failure
	// Output is the rendered YAML (resources and the instance with its
	// status) of a test with a golden file, as compared with it.
	Output []byte
}

// Passed reports whether the test passed.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Failure is one unmet expectation, located in the test file.
type Failure struct {
	Location string // file:line of the expectation
	Field    string // what was compared, e.g. "expect.resources[0] Deployment/prod/web: spec.replicas"
	Want     string
	Got      string
	Message  string // when there is no want/got
}

func (f Failure) String() string {
	s := f.Location + ": "
	if f.Field != "" {
		s += f.Field + ": "
	}
	if f.Message != "" {
		return s + f.Message
	}
	return s + "want " + f.Want + ", got " + f.Got
}

// group is tests that share inputs (or a share of them, so the
// definitions of a large group are built on every core): the inputs are
// loaded once, and the definitions built once per group.
type group struct {
	inputs []string
	tests  []*Test
	insts  map[*Test]*composition.Document
	res    map[*Test]*compile.Result
	errs   map[*Test]error
	kinds  *live.Kinds
}

// loaded is a set of inputs as read, shared by the groups that use it.
type loaded struct {
	set      *composition.Set
	loadErrs composition.Errors
	err      error
}

// Run runs tests and returns their results in the order given. An error
// is returned only when inputs cannot be read (exit 2); everything else
// is a test failure.
func (r *Runner) Run(tests []*Test) ([]*Result, error) {
	byInputs := map[string][]*Test{}
	var order []string
	for _, t := range tests {
		key := strings.Join(t.Inputs, "\x00")
		if byInputs[key] == nil {
			order = append(order, key)
		}
		byInputs[key] = append(byInputs[key], t)
	}
	var groups []*group
	for _, key := range order {
		ts := byInputs[key]
		size := max(minShare, (len(ts)+r.workers()-1)/r.workers())
		for len(ts) > 0 {
			n := min(size, len(ts))
			groups = append(groups, &group{inputs: ts[0].Inputs, tests: ts[:n],
				insts: map[*Test]*composition.Document{}, res: map[*Test]*compile.Result{}, errs: map[*Test]error{}})
			ts = ts[n:]
		}
	}
	r.loaded = map[string]*loaded{}
	ioErrs := make([]error, len(groups))
	r.each(len(groups), func(i int) { ioErrs[i] = r.prepare(groups[i]) })
	if err := errors.Join(ioErrs...); err != nil {
		return nil, err
	}
	byTest := map[*Test]*group{}
	for _, g := range groups {
		for _, t := range g.tests {
			byTest[t] = g
		}
	}
	results := make([]*Result, len(tests))
	errs := make([]error, len(tests))
	r.each(len(tests), func(i int) {
		results[i], errs[i] = r.run(tests[i], byTest[tests[i]])
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// minShare is the fewest tests a group is split into: building the
// definitions again costs about as much as running this many tests.
const minShare = 50

func (r *Runner) workers() int {
	if r.Parallel > 0 {
		return r.Parallel
	}
	return goruntime.GOMAXPROCS(0)
}

// each runs f(0..n-1) on the workers.
func (r *Runner) each(n int, f func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(r.workers(), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// load reads a set of inputs once per run.
func (r *Runner) load(inputs []string) *loaded {
	key := strings.Join(inputs, "\x00")
	if l := r.loaded[key]; l != nil {
		return l
	}
	set, err := r.Reader.Load(inputs...)
	l := &loaded{set: set}
	l.loadErrs, l.err = composition.ContentErrors(err)
	r.loaded[key] = l
	return l
}

// prepare loads a group's inputs and instances and compiles them: all
// instances at once, or, when that fails, each on its own so an error is
// charged to the test that causes it.
func (r *Runner) prepare(g *group) error {
	r.mu.Lock()
	l := r.load(g.inputs)
	err := l.err
	if err == nil {
		for _, t := range g.tests {
			if g.insts[t], err = r.instance(t); err != nil {
				break
			}
		}
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	// Only definitions and CRDs are inputs: instances in those
	// directories are not the test's.
	base := composition.Set{Compositions: l.set.Compositions, CRDs: l.set.CRDs}
	compileWith := func(docs []*composition.Document) (*compile.Result, error) {
		s := base
		s.Others = docs
		opts := r.Compile
		opts.Namespace = DefaultNamespace
		opts.LoadErrors = l.loadErrs
		return compile.Compile(&s, opts)
	}
	all := make([]*composition.Document, 0, len(g.tests))
	for _, t := range g.tests {
		all = append(all, g.insts[t])
	}
	res, err := compileWith(all)
	if err == nil {
		byDoc := map[*composition.Document]*compile.Instance{}
		for _, inst := range res.Instances {
			byDoc[inst.Doc] = inst
		}
		for _, t := range g.tests {
			g.res[t] = only(res, byDoc[g.insts[t]])
		}
		g.kinds, err = live.NewKinds(res)
		return err
	}
	for _, t := range g.tests {
		res, err := compileWith([]*composition.Document{g.insts[t]})
		if err != nil {
			g.errs[t] = err
			continue
		}
		g.res[t] = res
		if g.kinds == nil {
			if g.kinds, err = live.NewKinds(res); err != nil {
				return err
			}
		}
	}
	return nil
}

// only is res with one instance.
func only(res *compile.Result, inst *compile.Instance) *compile.Result {
	c := *res
	c.Instances = []*compile.Instance{inst}
	return &c
}

// instance returns the test's instance document, reading instanceFile.
func (r *Runner) instance(t *Test) (*composition.Document, error) {
	if t.Instance != nil {
		return t.Instance, nil
	}
	data, err := r.Reader.ReadFile(t.InstanceFile)
	if err != nil {
		return nil, fmt.Errorf("%s: spec.instanceFile: %w", t.Location("spec.instanceFile"), err)
	}
	docs, errs := composition.Parse(t.InstanceFile, data)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: spec.instanceFile: %s holds %d documents, want one instance", t.Location("spec.instanceFile"), t.InstanceFile, len(docs))
	}
	return docs[0], nil
}

// run renders one test's instance and checks it. The error is for
// unreadable observed files only.
func (r *Runner) run(t *Test, g *group) (res *Result, err error) {
	defer func() {
		// A crash inside KRO's runtime on some input fails that test,
		// naming it, instead of ending the run with a stack trace.
		if p := recover(); p != nil {
			res, err = &Result{Test: t, Failures: []Failure{{Location: t.Location("metadata.name"), Message: fmt.Sprintf("internal error while running this test: %v", p)}}}, nil
		}
	}()
	res = &Result{Test: t}
	out, err := r.render(t, g)
	var ioErr *composition.IOError
	if errors.As(err, &ioErr) {
		return nil, err
	}
	if t.Expect.Error != nil {
		res.Failures = checkError(t, err)
		return res, nil
	}
	if err != nil {
		res.Failures = []Failure{{Location: t.Location("spec.instance"), Message: "rendering failed: " + err.Error()}}
		return res, nil
	}
	res.Output = out.yaml
	res.Failures = check(t, out)
	if t.Golden != "" {
		f, err := r.golden(t, out.yaml)
		if err != nil {
			return nil, err
		}
		res.Failures = append(res.Failures, f...)
	}
	return res, nil
}

// rendered is a test's instance rendered in direct mode.
type rendered struct {
	resources []*unstructured.Unstructured
	pending   []direct.Pending
	instance  *unstructured.Unstructured // with the status KRO would write
	ready     bool
	waiting   []string
	yaml      []byte
}

func (r *Runner) render(t *Test, g *group) (*rendered, error) {
	if err := g.errs[t]; err != nil {
		return nil, err
	}
	res := g.res[t]
	objs := t.Observed
	if len(t.ObservedFiles) > 0 {
		r.mu.Lock()
		more, err := live.ReadObjects(r.Reader, t.ObservedFiles...)
		r.mu.Unlock()
		if err != nil {
			return nil, err
		}
		objs = append(append([]*unstructured.Unstructured{}, objs...), more...)
	}
	off, err := g.kinds.Offline(objs, DefaultNamespace)
	if err != nil {
		return nil, err
	}
	dr, err := direct.Render(res, direct.Options{AllowPending: true, Observer: off})
	if err != nil {
		return nil, err
	}
	st, err := off.Status(res.Instances[0])
	if err != nil {
		return nil, err
	}
	out := &rendered{pending: dr.Pending, instance: st.Instance, ready: st.Ready, waiting: st.Waiting}
	var objects []render.Object
	for _, rs := range dr.Resources {
		out.resources = append(out.resources, rs.Object)
		objects = append(objects, render.Object{Role: render.ResourceRole(rs.Object), Object: rs.Object})
	}
	objects = append(objects, render.Object{Role: render.RoleInstance, Object: st.Instance})
	if t.Golden == "" {
		return out, nil // encoding costs as much as rendering: only for the golden file
	}
	render.Sort(objects)
	if out.yaml, err = render.YAML(render.Unstructured(objects)); err != nil {
		return nil, err
	}
	return out, nil
}

func checkError(t *Test, err error) []Failure {
	want := *t.Expect.Error
	loc := t.Location("spec.expect.error")
	if err == nil {
		return []Failure{{Location: loc, Field: "expect.error", Want: fmt.Sprintf("an error containing %q", want), Got: "no error"}}
	}
	if !strings.Contains(err.Error(), want) {
		return []Failure{{Location: loc, Field: "expect.error", Want: fmt.Sprintf("an error containing %q", want), Got: fmt.Sprintf("%q", err.Error())}}
	}
	return nil
}

// golden compares (or with Update, writes) the golden file.
func (r *Runner) golden(t *Test, out []byte) ([]Failure, error) {
	if r.Update {
		if err := os.MkdirAll(filepath.Dir(t.Golden), 0o755); err != nil {
			return nil, err
		}
		return nil, os.WriteFile(t.Golden, out, 0o644)
	}
	r.mu.Lock()
	want, err := r.Reader.ReadFile(t.Golden)
	r.mu.Unlock()
	if err != nil {
		return []Failure{{Location: t.Location("spec.golden"), Field: "golden", Message: fmt.Sprintf("%v (run with --update to write it)", err)}}, nil
	}
	if bytes.Equal(want, out) {
		return nil, nil
	}
	return []Failure{{Location: t.Location("spec.golden"), Field: "golden " + t.Golden,
		Message: "rendered output differs (run with --update to rewrite it):\n" + lineDiff(string(want), string(out))}}, nil
}

// lineDiff shows the first differing line of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("        line %d: want %q\n        line %d: got  %q", i+1, a, i+1, b)
		}
	}
	return ""
}

// Counts returns the passed and failed numbers.
func Counts(results []*Result) (passed, failed int) {
	for _, r := range results {
		if r.Passed() {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// sortedKeys of a map, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
