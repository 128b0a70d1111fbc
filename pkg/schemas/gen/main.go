// Command gen regenerates the embedded built-in OpenAPI v3 data of package
// schemas from the Kubernetes release's published OpenAPI v3 spec
// (k8s.io/kubernetes/api/openapi-spec/v3).
//
// It is run by `go generate ./pkg/schemas/...`. The spec files are located
// with `go mod download -json k8s.io/kubernetes@VERSION`, so the module proxy
// (or the local module cache) is the only input. The output is deterministic:
// running it twice yields identical bytes.
//
// Two files are written:
//
//   - index.json: one line per API resource kind: group, version, kind, plural
//     resource name, scope and the name of its schema definition. It is
//     derived from the spec's operation paths and their
//     x-kubernetes-group-version-kind extensions.
//   - definitions.tsv: the merged components.schemas of every
//     group-version, one definition per line as NAME<TAB>SCHEMA-JSON (so that
//     they can be split without a JSON scan and decoded one at a time), trimmed to what validation and CEL type-checking use
//     (descriptions, examples, titles, patch strategies, unions and the
//     x-kubernetes-group-version-kind lookup extension are dropped; types,
//     formats, required, enum, defaults, bounds, $ref/allOf/oneOf/anyOf and the
//     structural x-kubernetes-* extensions are kept).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

func main() {
	version := flag.String("k8s", "", "k8s.io/kubernetes module version whose api/openapi-spec/v3 is used (e.g. v1.36.3)")
	out := flag.String("out", "data", "output directory")
	specDir := flag.String("spec-dir", "", "use this api/openapi-spec/v3 directory instead of downloading the module")
	flag.Parse()
	if *version == "" {
		fatalf("-k8s is required")
	}
	dir := *specDir
	if dir == "" {
		modDir, err := downloadModule("k8s.io/kubernetes", *version)
		if err != nil {
			fatalf("%v", err)
		}
		dir = filepath.Join(modDir, "api", "openapi-spec", "v3")
	}
	if err := run(dir, *version, *out); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gen: "+format+"\n", args...)
	os.Exit(1)
}

// downloadModule returns the extracted directory of module@version, fetching
// it into the module cache if needed. It runs outside any main module so that
// no go.mod or go.sum is touched.
func downloadModule(path, version string) (string, error) {
	tmp, err := os.MkdirTemp("", "schemas-gen-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=")
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	var res struct {
		Dir   string
		Error string
	}
	if jerr := json.Unmarshal(outb, &res); jerr != nil && err == nil {
		err = jerr
	}
	if res.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", path, version, res.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", path, version, err)
	}
	if res.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no Dir in output", path, version)
	}
	return res.Dir, nil
}

// specFile matches the per-group-version spec documents; the per-group
// discovery documents (apis__apps_openapi.json) carry no resource kinds.
var specFile = regexp.MustCompile(`^(api__v1|apis__[^_]+(?:_[^_]+)*__v[0-9]+(?:(?:alpha|beta)[0-9]+)?)_openapi\.json$`)

type gvk struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type kindEntry struct {
	Group      string `json:"group"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	Resource   string `json:"resource"`
	Namespaced bool   `json:"namespaced"`
	Definition string `json:"definition"`
}

type document struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Action string `json:"x-kubernetes-action"`
	GVK    *gvk   `json:"x-kubernetes-group-version-kind"`
}

func run(dir, version, out string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	definitions := map[string]any{}
	var kinds []kindEntry
	files := 0
	for _, e := range entries {
		if !specFile.MatchString(e.Name()) {
			continue
		}
		files++
		doc, err := readDocument(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		defByGVK := map[gvk]string{}
		for name, s := range doc.Components.Schemas {
			for _, g := range gvksOf(s) {
				defByGVK[g] = name
			}
			trimmed := trimSchema(s)
			if prev, ok := definitions[name]; ok && !reflect.DeepEqual(prev, trimmed) {
				return fmt.Errorf("%s: definition %s differs from the one of an earlier group-version", e.Name(), name)
			}
			definitions[name] = trimmed
		}
		ks, err := kindsFromPaths(doc)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		for _, k := range ks {
			def, ok := defByGVK[gvk{k.Group, k.Version, k.Kind}]
			if !ok {
				return fmt.Errorf("%s: no schema definition for %s/%s %s", e.Name(), k.Group, k.Version, k.Kind)
			}
			k.Definition = def
			kinds = append(kinds, k)
		}
	}
	if files == 0 {
		return fmt.Errorf("no OpenAPI v3 group-version documents in %s", dir)
	}
	sort.Slice(kinds, func(i, j int) bool {
		a, b := kinds[i], kinds[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Kind < b.Kind
	})

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "index.json"), encodeIndex(version, kinds), 0o644); err != nil {
		return err
	}
	defs, err := encodeDefinitions(definitions)
	if err != nil {
		return err
	}
	// Not compressed: inflating it was a fifth of resolving the first
	// kind, at every start of a command that builds a composition; the
	// binary is 0.3 MB larger.
	if err := os.WriteFile(filepath.Join(out, "definitions.tsv"), defs, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %d group-versions, %d kinds, %d definitions, %d bytes JSON\n",
		files, len(kinds), len(definitions), len(defs))
	return nil
}

func readDocument(path string) (*document, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	doc := &document{}
	if err := dec.Decode(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

func gvksOf(s map[string]any) []gvk {
	raw, ok := s["x-kubernetes-group-version-kind"]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(raw)
	var out []gvk
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// kindsFromPaths derives the resource kinds of one group-version document
// from its operation paths: /api/v1[/namespaces/{namespace}]/PLURAL[/{name}]
// or /apis/GROUP/VERSION[/namespaces/{namespace}]/PLURAL[/{name}].
// Subresource paths (PLURAL/{name}/status) and the deprecated watch paths are
// ignored. A kind is namespaced when one of its paths is namespaced.
func kindsFromPaths(doc *document) ([]kindEntry, error) {
	type acc struct {
		resources  map[string]bool
		namespaced bool
	}
	found := map[gvk]*acc{}
	for path, ops := range doc.Paths {
		rest, ok := stripGroupVersionPrefix(path)
		if !ok || strings.HasPrefix(rest, "watch/") {
			continue
		}
		namespaced := false
		if r, ok := strings.CutPrefix(rest, "namespaces/{namespace}/"); ok {
			namespaced = true
			rest = r
		}
		rest = strings.TrimSuffix(rest, "/{name}")
		if rest == "" || strings.ContainsAny(rest, "/{}") {
			continue
		}
		for method, raw := range ops {
			switch method {
			case "get", "put", "post", "patch", "delete":
			default:
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("path %s %s: %w", path, method, err)
			}
			if op.GVK == nil || op.GVK.Kind == "" {
				continue
			}
			a := found[*op.GVK]
			if a == nil {
				a = &acc{resources: map[string]bool{}}
				found[*op.GVK] = a
			}
			a.resources[rest] = true
			a.namespaced = a.namespaced || namespaced
		}
	}
	var out []kindEntry
	for g, a := range found {
		if len(a.resources) != 1 {
			return nil, fmt.Errorf("kind %s/%s %s is served by several resources: %v", g.Group, g.Version, g.Kind, a.resources)
		}
		for r := range a.resources {
			out = append(out, kindEntry{Group: g.Group, Version: g.Version, Kind: g.Kind, Resource: r, Namespaced: a.namespaced})
		}
	}
	return out, nil
}

func stripGroupVersionPrefix(path string) (string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 4)
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		return strings.Join(parts[2:], "/"), true
	case len(parts) == 4 && parts[0] == "apis":
		return parts[3], true
	}
	return "", false
}

// dropped lists schema keywords that neither structural validation nor CEL
// type-checking reads.
var dropped = map[string]bool{
	"description":                     true,
	"example":                         true,
	"externalDocs":                    true,
	"title":                           true,
	"x-kubernetes-patch-strategy":     true,
	"x-kubernetes-patch-merge-key":    true,
	"x-kubernetes-unions":             true,
	"x-kubernetes-group-version-kind": true,
}

// trimSchema copies an OpenAPI schema object without the dropped keywords,
// descending only into keywords that hold sub-schemas (so a property that
// happens to be named "description" is kept).
func trimSchema(s map[string]any) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		if dropped[k] {
			continue
		}
		switch k {
		case "properties", "patternProperties":
			if m, ok := v.(map[string]any); ok {
				props := make(map[string]any, len(m))
				for name, p := range m {
					props[name] = trimAny(p)
				}
				v = props
			}
		case "items", "additionalProperties", "not":
			v = trimAny(v)
		case "allOf", "oneOf", "anyOf":
			if l, ok := v.([]any); ok {
				subs := make([]any, len(l))
				for i, p := range l {
					subs[i] = trimAny(p)
				}
				v = subs
			}
		}
		out[k] = v
	}
	return out
}

func trimAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return trimSchema(t)
	case []any:
		l := make([]any, len(t))
		for i, p := range t {
			l[i] = trimAny(p)
		}
		return l
	}
	return v
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeDefinitions writes one definition per line, sorted by name:
// NAME<TAB>compact JSON schema. Compact JSON holds no raw newline or tab.
func encodeDefinitions(definitions map[string]any) ([]byte, error) {
	names := make([]string, 0, len(definitions))
	for name := range definitions {
		if strings.ContainsAny(name, "\t\n") {
			return nil, fmt.Errorf("definition name %q contains a tab or newline", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, name := range names {
		b, err := marshal(definitions[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		buf.WriteString(name)
		buf.WriteByte('\t')
		buf.Write(b) // ends with the encoder's newline
	}
	return buf.Bytes(), nil
}

// encodeIndex writes the index with one kind per line, so that a regeneration
// against another Kubernetes release gives a readable diff.
func encodeIndex(version string, kinds []kindEntry) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\n\"kubernetesVersion\": %q,\n\"kinds\": [\n", version)
	for i, k := range kinds {
		b, _ := marshal(k)
		buf.Write(bytes.TrimSuffix(b, []byte("\n")))
		if i < len(kinds)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n}\n")
	return buf.Bytes()
}
