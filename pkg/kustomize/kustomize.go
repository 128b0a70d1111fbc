// Package kustomize is typekro as a KRM function (kubectl-typekro fn): a
// ResourceList on stdin, rendered RGDs and instances (or direct-mode
// resources) on stdout, for `kustomize build --enable-alpha-plugins
// --enable-exec` and for any other KRM function runner.
//
// The function is a generator (it renders the files its functionConfig
// names, relative to the kustomization directory) and a transformer (it
// replaces Compositions, RGDs, CRDs and instances of those definitions found
// among its input resources with the rendered output; everything else passes
// through untouched). On any error it emits its input unchanged plus
// results of severity error, and exits non-zero: never a half-rendered list.
package kustomize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// Renderer turns a checked model into the objects to emit: one per mode
// (kro: RGDs + instances; direct: concrete resources).
type Renderer func(*compile.Result) ([]render.Object, error)

// DefaultRenderers are the modes every build has.
func DefaultRenderers() map[string]Renderer {
	return map[string]Renderer{
		render.ModeKro: func(res *compile.Result) ([]render.Object, error) { return render.KroObjects(res), nil },
	}
}

// Processor is the KRM function. The zero value renders kro mode relative
// to the working directory, which kustomize sets to the kustomization
// directory when it runs an exec function.
type Processor struct {
	// Root is the directory spec.paths are relative to, and that no input
	// may leave; empty means the working directory.
	Root string
	// Renderers by mode; nil means DefaultRenderers.
	Renderers map[string]Renderer
	// Options are passed to compile.Compile (the namespace comes from the
	// functionConfig).
	Options compile.Options
}

var _ framework.ResourceListProcessor = (*Processor)(nil)

type source int

const (
	fromFile   source = iota // spec.paths
	fromSchema               // spec.crds: schemas only, not emitted
	fromInline               // spec.instances
	fromStream               // ResourceList items
)

// input is one document fed to the compiler, with where it came from.
type input struct {
	doc    *composition.Document
	src    source
	file   string // for results: file relative to the root, or the item's path annotation
	index  int    // document index in that file
	inline int    // spec.instances index
	item   int    // ResourceList items index
	// kept holds the kustomize bookkeeping annotations of a stream item
	// (path, index, ids), taken off before compiling and put back on the
	// objects rendered from it.
	kept map[string]string
}

// Process implements framework.ResourceListProcessor.
func (p *Processor) Process(rl *framework.ResourceList) error {
	items, results := p.process(rl)
	if len(results) > 0 {
		sortResults(results)
		rl.Results = append(rl.Results, results...)
		return rl.Results // rl.Items stay as they came in
	}
	rl.Items = items
	return nil
}

type run struct {
	p       *Processor
	cfg     *Config
	fcRef   *yaml.ResourceIdentifier
	fcFile  string
	root    string
	reader  *composition.Reader
	results framework.Results
	inputs  []*input
	byDoc   map[*composition.Document]*input
	byFile  map[string][]*input
}

func (p *Processor) process(rl *framework.ResourceList) ([]*yaml.RNode, framework.Results) {
	r := &run{p: p, byDoc: map[*composition.Document]*input{}, byFile: map[string][]*input{}}
	r.fcRef, r.fcFile = identify(rl.FunctionConfig)
	cfg, probs := parseConfig(rl.FunctionConfig)
	for _, pr := range probs {
		r.configError(pr.field, pr.msg)
	}
	if len(r.results) > 0 {
		return nil, r.results
	}
	r.cfg = cfg
	renderers := p.Renderers
	if renderers == nil {
		renderers = DefaultRenderers()
	}
	mode := cfg.Spec.Mode
	if mode == "" {
		mode = render.ModeKro
	}
	renderer := renderers[mode]
	if renderer == nil {
		var known []string
		for m := range renderers {
			known = append(known, m)
		}
		sort.Strings(known)
		r.configError("spec.mode", fmt.Sprintf("unknown mode %q (this build supports: %s)", mode, strings.Join(known, ", ")))
		return nil, r.results
	}
	dir := p.Root
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			r.configError("", err.Error())
			return nil, r.results
		}
		dir = wd
	}
	root, err := composition.Root(dir)
	if err != nil {
		r.configError("", err.Error())
		return nil, r.results
	}
	r.root = root
	r.reader = composition.NewReader(root, nil)

	var cerrs composition.Errors
	cerrs = append(cerrs, r.readFiles("spec.paths", cfg.Spec.Paths, fromFile)...)
	cerrs = append(cerrs, r.readFiles("spec.crds", cfg.Spec.CRDs, fromSchema)...)
	cerrs = append(cerrs, r.readInline()...)
	passthrough, serrs := r.readStream(rl.Items)
	cerrs = append(cerrs, serrs...)
	if len(r.results) > 0 || len(cerrs) > 0 {
		r.compositionErrors(cerrs)
		return nil, r.results
	}

	set, serrs := r.classify()
	if len(serrs) > 0 {
		r.compositionErrors(serrs)
		return nil, r.results
	}
	opts := p.Options
	opts.Namespace = cfg.Spec.Namespace
	res, err := compile.Compile(set, opts)
	if err != nil {
		var ce composition.Errors
		if errors.As(err, &ce) {
			r.compositionErrors(ce)
		} else {
			r.configError("", err.Error())
		}
		return nil, r.results
	}
	objs, err := renderer(res)
	if err != nil {
		var ce composition.Errors
		if errors.As(err, &ce) {
			r.compositionErrors(ce)
		} else {
			r.configError("spec.mode", fmt.Sprintf("render (%s mode): %v", mode, err))
		}
		return nil, r.results
	}
	out, err := r.emit(res, objs)
	if err != nil {
		r.configError("", err.Error())
		return nil, r.results
	}
	return append(out, passthrough...), nil
}

// readFiles reads the files and directories of spec.paths or spec.crds
// through one reader confined to the root.
func (r *run) readFiles(field string, paths []string, src source) composition.Errors {
	var errs composition.Errors
	seen := map[string]bool{}
	for i, rel := range paths {
		f := fmt.Sprintf("%s[%d]", field, i)
		real, err := composition.Inside(r.root, rel)
		if err != nil {
			r.configError(f, err.Error())
			continue
		}
		files, err := r.reader.Files([]string{real})
		if err != nil {
			r.ioErrors(f, err)
			continue
		}
		for _, file := range files {
			display := r.display(file)
			if seen[display] {
				continue
			}
			seen[display] = true
			data, err := r.reader.ReadFile(file)
			if err != nil {
				r.ioErrors(f, err)
				continue
			}
			docs, perrs := composition.Parse(display, data)
			errs = append(errs, perrs...)
			for _, d := range docs {
				if src == fromSchema && !isCRD(d) {
					continue
				}
				r.add(&input{doc: d, src: src, file: display, index: d.Index})
			}
		}
	}
	return errs
}

// ioErrors reports each refused or unreadable file once.
func (r *run) ioErrors(field string, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		r.configError(field, r.relative(line))
	}
}

// readInline parses spec.instances.
func (r *run) readInline() composition.Errors {
	var errs composition.Errors
	for i, m := range r.cfg.Spec.Instances {
		data, err := sigsyaml.Marshal(m)
		if err != nil {
			r.configError(fmt.Sprintf("spec.instances[%d]", i), err.Error())
			continue
		}
		name := fmt.Sprintf("spec.instances[%d]", i)
		docs, perrs := composition.Parse(name, data)
		errs = append(errs, perrs...)
		for _, d := range docs {
			if d.GVK().Group == composition.Group {
				r.configError(name+".kind", fmt.Sprintf("spec.instances holds instances, not %s", d.Kind()))
				continue
			}
			r.add(&input{doc: d, src: fromInline, file: name, inline: i})
		}
	}
	return errs
}

// bookkeeping reports whether an annotation is kustomize's or kyaml's own
// (file path, index, ids) rather than the author's.
func bookkeeping(key string) bool {
	switch key {
	case kioutil.LegacyPathAnnotation, kioutil.LegacyIndexAnnotation, kioutil.LegacyIdAnnotation,
		"config.kubernetes.io/origin", "alpha.config.kubernetes.io/transformations", "kustomize.config.k8s.io/id":
		return true
	}
	return strings.HasPrefix(key, "internal.config.kubernetes.io/")
}

// readStream parses the ResourceList items that typekro renders and returns
// the others, which pass through untouched.
func (r *run) readStream(items []*yaml.RNode) ([]*yaml.RNode, composition.Errors) {
	var pass []*yaml.RNode
	var errs composition.Errors
	for i, item := range items {
		apiVersion, kind := item.GetApiVersion(), item.GetKind()
		gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
		ann := item.GetAnnotations()
		_, fn := ann["config.kubernetes.io/function"]
		if apiVersion == composition.APIVersion && kind == composition.KindTest {
			continue // a typekro test document is never a resource: left out
		}
		if (gvk.Group == composition.Group && kind != composition.KindComposition) || fn || ann["config.kubernetes.io/local-config"] == "true" {
			pass = append(pass, item) // e.g. the functionConfig kustomize hands a generator
			continue
		}
		c := item.Copy()
		ann = c.GetAnnotations()
		kept := map[string]string{}
		for k, v := range ann {
			if bookkeeping(k) {
				kept[k] = v
				delete(ann, k)
			}
		}
		if err := c.SetAnnotations(ann); err != nil {
			return nil, append(errs, &composition.Error{Msg: err.Error()})
		}
		s, err := c.String()
		if err != nil {
			return nil, append(errs, &composition.Error{Msg: err.Error()})
		}
		pseudo := fmt.Sprintf("items[%d]", i)
		docs, perrs := composition.Parse(pseudo, []byte(s))
		errs = append(errs, perrs...)
		if len(docs) != 1 {
			pass = append(pass, item)
			continue
		}
		file := kept[kioutil.PathAnnotation]
		if file == "" {
			file = kept[kioutil.LegacyPathAnnotation]
		}
		idx := kept[kioutil.IndexAnnotation]
		if idx == "" {
			idx = kept[kioutil.LegacyIndexAnnotation]
		}
		index, _ := strconv.Atoi(idx)
		r.add(&input{doc: docs[0], src: fromStream, file: file, index: index, item: i, kept: kept})
	}
	// Items that are neither definitions nor instances of one are not ours.
	defined := map[schema.GroupKind]bool{}
	for _, in := range r.inputs {
		switch {
		case isComposition(in.doc):
			// Parsed again in classify, which reports its errors.
			if c, _ := composition.ParseComposition(in.doc); c != nil {
				defined[c.InstanceGVK().GroupKind()] = true
			}
		case isRGD(in.doc):
			defined[composition.FromRGD(in.doc).InstanceGVK().GroupKind()] = true
		}
	}
	var keep []*input
	for _, in := range r.inputs {
		if in.src != fromStream || isComposition(in.doc) || isRGD(in.doc) || isCRD(in.doc) || defined[in.doc.GVK().GroupKind()] {
			keep = append(keep, in)
			continue
		}
		pass = append(pass, items[in.item])
		delete(r.byDoc, in.doc)
	}
	r.inputs = keep
	r.byFile = map[string][]*input{}
	for _, in := range keep {
		r.byFile[in.doc.File] = append(r.byFile[in.doc.File], in)
	}
	// Keep pass-through items in their input order.
	order := map[*yaml.RNode]int{}
	for i, it := range items {
		order[it] = i
	}
	sort.SliceStable(pass, func(a, b int) bool { return order[pass[a]] < order[pass[b]] })
	return pass, errs
}

func isComposition(d *composition.Document) bool {
	return d.APIVersion() == composition.APIVersion && d.Kind() == composition.KindComposition
}
func isRGD(d *composition.Document) bool {
	return d.APIVersion() == composition.KroAPIVersion && d.Kind() == composition.KindRGD
}
func isCRD(d *composition.Document) bool {
	return d.APIVersion() == composition.CRDAPIVersion && d.Kind() == composition.KindCRD
}

func (r *run) add(in *input) {
	r.inputs = append(r.inputs, in)
	r.byDoc[in.doc] = in
	r.byFile[in.doc.File] = append(r.byFile[in.doc.File], in)
}

// classify builds the compiler's input set the way composition.Load does.
func (r *run) classify() (*composition.Set, composition.Errors) {
	set := &composition.Set{}
	var errs composition.Errors
	for _, in := range r.inputs {
		errs = append(errs, set.Add(in.doc)...)
	}
	return set, errs
}

// emit converts the rendered objects to RNodes: schema-only CRDs are left
// out, and objects rendered from a stream item get that item's kustomize
// bookkeeping annotations back (all of them when the object is the item
// itself, e.g. an instance; only its file path and index when it replaces
// it, e.g. the RGD of a Composition).
func (r *run) emit(res *compile.Result, objs []render.Object) ([]*yaml.RNode, error) {
	srcOf := map[string]*input{}
	same := map[string]bool{}
	for _, inst := range res.Instances {
		k := objKey(inst.Object)
		srcOf[k], same[k] = r.byDoc[inst.Doc], true
	}
	for _, d := range res.Definitions {
		u := &unstructured.Unstructured{Object: d.RGD}
		k := objKey(u)
		srcOf[k], same[k] = r.byDoc[d.Composition.Doc], d.Composition.FromRGD
	}
	schemaOnly := map[string]bool{}
	for _, d := range res.CRDs {
		k := objKey(d.Unstructured())
		in := r.byDoc[d]
		if in != nil && in.src == fromSchema {
			if _, emitted := srcOf[k]; !emitted {
				schemaOnly[k] = true
			}
			continue
		}
		srcOf[k], same[k] = in, true
		delete(schemaOnly, k)
	}
	var out []*yaml.RNode
	for _, o := range objs {
		k := objKey(o.Object)
		if o.Role == render.RoleCRD && schemaOnly[k] {
			continue
		}
		u := o.Object
		if in := srcOf[k]; in != nil && in.src == fromStream && len(in.kept) > 0 {
			u = u.DeepCopy()
			ann := u.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			for key, v := range in.kept {
				if same[k] || key == kioutil.PathAnnotation || key == kioutil.LegacyPathAnnotation ||
					key == kioutil.IndexAnnotation || key == kioutil.LegacyIndexAnnotation || key == "config.kubernetes.io/origin" {
					ann[key] = v
				}
			}
			u.SetAnnotations(ann)
		}
		b, err := render.YAML([]*unstructured.Unstructured{u})
		if err != nil {
			return nil, err
		}
		n, err := yaml.Parse(string(b))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func objKey(u *unstructured.Unstructured) string {
	return strings.Join([]string{u.GroupVersionKind().GroupKind().String(), u.GetNamespace(), u.GetName()}, "\x00")
}

// identify returns the functionConfig's identity and file for results.
func identify(fc *yaml.RNode) (*yaml.ResourceIdentifier, string) {
	if fc == nil || fc.IsNilOrEmpty() {
		return nil, ""
	}
	id := &yaml.ResourceIdentifier{
		TypeMeta: yaml.TypeMeta{APIVersion: fc.GetApiVersion(), Kind: fc.GetKind()},
		NameMeta: yaml.NameMeta{Name: fc.GetName(), Namespace: fc.GetNamespace()},
	}
	ann := fc.GetAnnotations()
	file := ann[kioutil.PathAnnotation]
	if file == "" {
		file = ann[kioutil.LegacyPathAnnotation]
	}
	return id, file
}

func (r *run) configError(field, msg string) {
	res := &framework.Result{Message: msg, Severity: framework.Error, ResourceRef: r.fcRef}
	if field != "" {
		res.Field = &framework.Field{Path: field}
	}
	if r.fcFile != "" {
		res.File = &framework.File{Path: r.fcFile}
	}
	r.results = append(r.results, res)
}

// compositionErrors turns the loader's and compiler's errors into results
// that name the file, document and field.
func (r *run) compositionErrors(errs composition.Errors) {
	for _, e := range errs {
		res := &framework.Result{Message: e.Msg, Severity: framework.Error}
		in := r.find(e)
		field := e.Field
		switch {
		case in == nil:
			if e.File != "" {
				res.File = &framework.File{Path: e.File}
			}
			if e.Doc != "" {
				res.Message = e.Doc + ": " + res.Message
			}
		case in.src == fromInline:
			res.ResourceRef = r.fcRef
			if r.fcFile != "" {
				res.File = &framework.File{Path: r.fcFile}
			}
			field = fmt.Sprintf("spec.instances[%d]", in.inline)
			if e.Field != "" {
				field += "." + e.Field
			}
			res.Message = in.doc.Ref() + ": " + res.Message
		default:
			res.ResourceRef = ref(in.doc)
			if in.file != "" {
				res.File = &framework.File{Path: in.file, Index: in.index}
			}
			if in.src != fromStream && e.Line > 0 {
				res.Tags = map[string]string{"line": strconv.Itoa(e.Line)}
			}
		}
		if field != "" {
			res.Field = &framework.Field{Path: field}
		}
		r.results = append(r.results, res)
	}
}

func (r *run) find(e *composition.Error) *input {
	cands := r.byFile[e.File]
	for _, in := range cands {
		if in.doc.Ref() == e.Doc {
			return in
		}
	}
	if len(cands) == 1 {
		return cands[0]
	}
	return nil
}

func ref(d *composition.Document) *yaml.ResourceIdentifier {
	return &yaml.ResourceIdentifier{
		TypeMeta: yaml.TypeMeta{APIVersion: d.APIVersion(), Kind: d.Kind()},
		NameMeta: yaml.NameMeta{Name: d.Name(), Namespace: d.Namespace()},
	}
}

// display is a file's name relative to the root, slash-separated.
func (r *run) display(file string) string {
	rel, err := filepath.Rel(r.root, file)
	if err != nil {
		return file
	}
	return filepath.ToSlash(rel)
}

// relative shortens absolute paths under the root in a message.
func (r *run) relative(msg string) string {
	return strings.ReplaceAll(msg, r.root+string(filepath.Separator), "")
}

// sortResults orders results by file, line, resource and message, so the
// output does not depend on map iteration or input order.
func sortResults(rs framework.Results) {
	key := func(r *framework.Result) string {
		var b strings.Builder
		if r.File != nil {
			fmt.Fprintf(&b, "%s\x00%08d", r.File.Path, r.File.Index)
		}
		b.WriteString("\x00")
		if r.Tags != nil {
			line, _ := strconv.Atoi(r.Tags["line"])
			fmt.Fprintf(&b, "%08d", line)
		}
		b.WriteString("\x00")
		if r.ResourceRef != nil {
			b.WriteString(r.ResourceRef.Kind + "/" + r.ResourceRef.Name)
		}
		b.WriteString("\x00")
		if r.Field != nil {
			b.WriteString(r.Field.Path)
		}
		b.WriteString("\x00" + r.Message)
		return b.String()
	}
	sort.SliceStable(rs, func(i, j int) bool { return key(rs[i]) < key(rs[j]) })
}

// Describe formats a result for a terminal:
// FILE[:LINE]: Kind/name: field: message.
func Describe(r *framework.Result) string {
	var parts []string
	if r.File != nil && r.File.Path != "" {
		loc := r.File.Path
		if line := r.Tags["line"]; line != "" {
			loc += ":" + line
		}
		parts = append(parts, loc)
	}
	if r.ResourceRef != nil && r.ResourceRef.Kind != "" {
		parts = append(parts, r.ResourceRef.Kind+"/"+r.ResourceRef.Name)
	}
	if r.Field != nil && r.Field.Path != "" {
		parts = append(parts, r.Field.Path)
	}
	parts = append(parts, r.Message)
	return strings.Join(parts, ": ")
}
