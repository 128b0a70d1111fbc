package composition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/internal/fastyaml"
)

// Well-known document kinds.
const (
	Group           = "typekro.dev"
	APIVersion      = "typekro.dev/v1alpha1"
	KindComposition = "Composition"
	KroAPIVersion   = "kro.run/v1alpha1"
	KindRGD         = "ResourceGraphDefinition"
	CRDAPIVersion   = "apiextensions.k8s.io/v1"
	KindCRD         = "CustomResourceDefinition"
)

// Set is everything read from the inputs, sorted by kind of document.
type Set struct {
	Compositions []*Composition // typekro Compositions and RGDs given as-is
	CRDs         []*Document
	Others       []*Document // instances, plain manifests: classified by the compiler
}

// Documents returns every document of the set, in input order.
func (s *Set) Documents() []*Document {
	var all []*Document
	for _, c := range s.Compositions {
		all = append(all, c.Doc)
	}
	all = append(all, s.CRDs...)
	all = append(all, s.Others...)
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].File != all[j].File {
			return all[i].File < all[j].File
		}
		return all[i].Index < all[j].Index
	})
	return all
}

// Files expands paths into the YAML files to read, with a default reader.
func Files(paths []string) ([]string, error) {
	return NewReader("", nil).Files(paths)
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// kustomization files describe how to build, they are not inputs.
func isKustomization(name string) bool {
	switch name {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// Parse splits a multi-document YAML stream into documents. A syntax error
// ends the file (the parser cannot resynchronise) and is reported with its line.
func Parse(file string, data []byte) ([]*Document, Errors) {
	if docs, errs, ok := parseChunks(file, data); ok {
		return docs, errs
	}
	docs, errs, _ := parseStream(file, data, 0, 0)
	return docs, errs
}

// parseStream parses data, a whole file or the part of one that starts at
// line+1 after index documents; syntax reports whether it met a syntax
// error.
func parseStream(file string, data []byte, line, index int) (docs []*Document, errs Errors, syntax bool) {
	next := decoder(data)
	for ; ; index++ {
		node, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, &Error{File: file, Line: min(yamlErrorLine(err), lines(data)), Doc: fmt.Sprintf("document %d", index+1), Msg: "malformed YAML: " + cleanYAMLError(err)})
			syntax = true
			break
		}
		if line > 0 {
			shiftLines(node, line)
		}
		if len(node.Content) == 0 || (node.Content[0].Kind == yaml.ScalarNode && node.Content[0].ShortTag() == "!!null") {
			continue // empty document between separators
		}
		root := node.Content[0]
		doc := &Document{File: file, Index: index, Node: node}
		if root.Kind != yaml.MappingNode {
			errs = append(errs, &Error{File: file, Line: root.Line, Doc: doc.Ref(), Msg: "a document must be a mapping with apiVersion and kind"})
			continue
		}
		v, err := toValue(root, 0)
		if err != nil {
			line, msg := root.Line, err.Error()
			var ne *nodeError
			if errors.As(err, &ne) {
				line, msg = ne.line, ne.msg
			}
			errs = append(errs, &Error{File: file, Line: line, Doc: doc.Ref(), Msg: "malformed YAML: " + msg})
			continue
		}
		doc.Object = v.(map[string]any)
		if doc.APIVersion() == "" || doc.Kind() == "" {
			errs = append(errs, &Error{File: file, Line: root.Line, Doc: doc.Ref(), Msg: "missing apiVersion or kind"})
			continue
		}
		docs = append(docs, doc)
	}
	return docs, errs, syntax
}

// decoder returns the documents of data one by one, then io.EOF: the
// fast decoder's when data is in its subset, else yaml.v3's.
func decoder(data []byte) func() (*yaml.Node, error) {
	if nodes, ok := fastyaml.Decode(data); ok {
		return func() (*yaml.Node, error) {
			if len(nodes) == 0 {
				return nil, io.EOF
			}
			n := nodes[0]
			nodes = nodes[1:]
			return n, nil
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	return func() (*yaml.Node, error) {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nil, err
		}
		return &n, nil
	}
}

// Add classifies one document into the set: Compositions (checked and
// converted), RGDs (checked), CRDs and everything else; build-only
// documents (function configs, local-config) are left out.
func (s *Set) Add(d *Document) Errors {
	switch {
	case isLocalConfig(d):
		// kustomize function configs and local-config objects describe how
		// to build; they are not resources.
	case IsTest(d):
		// typekro test documents are run by `typekro test`: they sit next
		// to the compositions they test and are never resources.
	case d.APIVersion() == APIVersion && d.Kind() == KindComposition:
		c, errs := ParseComposition(d)
		if c != nil {
			s.Compositions = append(s.Compositions, c)
		}
		return errs
	case d.GVK().Group == Group:
		return Errors{d.Errorf("kind", "unknown typekro kind %q (known: %s, %s)", d.Kind(), KindComposition, KindTest)}
	case d.APIVersion() == KroAPIVersion && d.Kind() == KindRGD:
		s.Compositions = append(s.Compositions, FromRGD(d))
		return CheckRGD(d)
	case d.APIVersion() == CRDAPIVersion && d.Kind() == KindCRD:
		s.CRDs = append(s.CRDs, d)
	default:
		s.Others = append(s.Others, d)
	}
	return nil
}

// KindTest is the kind of `kubectl typekro test` documents.
const KindTest = "Test"

// IsTest reports whether d is a typekro test document.
func IsTest(d *Document) bool { return d.APIVersion() == APIVersion && d.Kind() == KindTest }

// KindFunctionConfig is the functionConfig kind of the KRM function.
const KindFunctionConfig = "TypeKro"

func isLocalConfig(d *Document) bool {
	if d.APIVersion() == APIVersion && d.Kind() == KindFunctionConfig {
		return true
	}
	ann, _, _ := unstructured.NestedStringMap(d.Object, "metadata", "annotations")
	_, fn := ann["config.kubernetes.io/function"]
	return fn || ann["config.kubernetes.io/local-config"] == "true"
}

// Merge appends another set's documents (used for --crds directories).
func (s *Set) Merge(o *Set) {
	s.Compositions = append(s.Compositions, o.Compositions...)
	s.CRDs = append(s.CRDs, o.CRDs...)
	s.Others = append(s.Others, o.Others...)
}

// yamlErrorLine is the line of a syntax error. yaml.v3 reports a parser
// error (as opposed to a scanner error) at the 0-based line of the
// construct it was parsing, so those are one line short.
func yamlErrorLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	var line int
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	fmt.Sscanf(msg[i:], "line %d", &line)
	for _, p := range parserProblems {
		if strings.Contains(msg, p) {
			return line + 1
		}
	}
	return line
}

// lines counts the lines of data, so an error at the end of the stream
// points at the last line instead of one past it.
func lines(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return max(n, 1)
}

// parserProblems are the messages of yaml.v3's parser (not its scanner).
var parserProblems = []string{
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected key",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

func cleanYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, "line "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return msg
}
