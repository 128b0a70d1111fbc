package schemas

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// indexJSON lists the built-in resource kinds: group, version, kind, plural
// resource, scope and the name of the kind's schema definition.
//
//go:embed data/index.json
var indexJSON []byte

// definitionsTSV holds the trimmed, merged components.schemas of every
// built-in group-version, one per line as NAME<TAB>SCHEMA-JSON.
//
//go:embed data/definitions.tsv
var definitionsTSV []byte

// refPrefix is how OpenAPI v3 documents refer to components.schemas entries.
const refPrefix = "#/components/schemas/"

type kindEntry struct {
	Group      string `json:"group"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	Resource   string `json:"resource"`
	Namespaced bool   `json:"namespaced"`
	Definition string `json:"definition"`
}

func (k *kindEntry) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
}

// builtinIndex is decoded from indexJSON on first use.
var builtinIndex struct {
	once    sync.Once
	version string
	kinds   []kindEntry
	byGVK   map[schema.GroupVersionKind]*kindEntry
}

func loadIndex() {
	var doc struct {
		KubernetesVersion string      `json:"kubernetesVersion"`
		Kinds             []kindEntry `json:"kinds"`
	}
	if err := json.Unmarshal(indexJSON, &doc); err != nil {
		// The index is generated and embedded; a decode failure is a build defect.
		panic(fmt.Sprintf("schemas: corrupt embedded index: %v", err))
	}
	builtinIndex.version = doc.KubernetesVersion
	builtinIndex.kinds = doc.Kinds
	builtinIndex.byGVK = make(map[schema.GroupVersionKind]*kindEntry, len(doc.Kinds))
	for i := range doc.Kinds {
		k := &doc.Kinds[i]
		builtinIndex.byGVK[k.gvk()] = k
	}
}

func builtinKinds() []kindEntry {
	builtinIndex.once.Do(loadIndex)
	return builtinIndex.kinds
}

func builtinKind(gvk schema.GroupVersionKind) (*kindEntry, bool) {
	builtinIndex.once.Do(loadIndex)
	k, ok := builtinIndex.byGVK[gvk]
	return k, ok
}

// builtinDefs holds the definitions: the raw JSON of each is split out of the
// document on first use, and a definition is decoded into a spec.Schema only
// when a resolution reaches it.
var builtinDefs struct {
	once     sync.Once
	err      error
	raw      map[string][]byte
	mu       sync.Mutex
	decoded  map[string]*spec.Schema
	resolved map[schema.GroupVersionKind]*spec.Schema
}

func loadDefinitions() {
	b := definitionsTSV // each definition is a slice of it, not a copy
	raw := make(map[string][]byte, 1024)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		name, def, ok := bytes.Cut(line, []byte{'\t'})
		if !ok {
			builtinDefs.err = fmt.Errorf("schemas: corrupt embedded definitions: line %.40q", line)
			return
		}
		raw[string(name)] = def
	}
	builtinDefs.raw = raw
	builtinDefs.decoded = make(map[string]*spec.Schema, 256)
	builtinDefs.resolved = make(map[schema.GroupVersionKind]*spec.Schema)
}

// resolveBuiltin returns the populated schema of a built-in kind, computing it
// once per process.
func resolveBuiltin(k *kindEntry) (*spec.Schema, error) {
	gvk := k.gvk()
	builtinDefs.once.Do(loadDefinitions)
	if builtinDefs.err != nil {
		return nil, builtinDefs.err
	}
	builtinDefs.mu.Lock()
	defer builtinDefs.mu.Unlock()
	if s, ok := builtinDefs.resolved[gvk]; ok {
		return s, nil
	}
	s, err := populateRefsLocked(k.Definition)
	if err != nil {
		return nil, fmt.Errorf("resolving schema of %s: %w", gvk, err)
	}
	builtinDefs.resolved[gvk] = s
	return s, nil
}

// populateRefsLocked resolves the built-in definition root as
// resolver.PopulateRefs does (populate.go). It must be called with
// builtinDefs.mu held.
func populateRefsLocked(root string) (*spec.Schema, error) {
	var decodeErr error
	s, err := populateRefs(func(ref string) (*spec.Schema, bool) {
		d, ok, err := builtinDefinition(strings.TrimPrefix(ref, refPrefix))
		if err != nil {
			decodeErr = err
		}
		return d, ok
	}, root)
	if decodeErr != nil {
		return nil, decodeErr
	}
	return s, err
}

// builtinDefinition returns the built-in definition name, decoding it on
// first use. It must be called with builtinDefs.mu held.
func builtinDefinition(name string) (*spec.Schema, bool, error) {
	if d, ok := builtinDefs.decoded[name]; ok {
		return d, true, nil
	}
	raw, ok := builtinDefs.raw[name]
	if !ok {
		return nil, false, nil
	}
	d, ok := decodeDefinition(raw)
	if !ok {
		// UnmarshalJSON directly: json.Unmarshal would first scan the whole
		// definition to validate it, then hand it to the same method.
		d = &spec.Schema{}
		if err := d.UnmarshalJSON(raw); err != nil {
			return nil, false, fmt.Errorf("schemas: corrupt embedded definition %s: %w", name, err)
		}
	}
	builtinDefs.decoded[name] = d
	return d, true, nil
}

// Warm resolves the built-in kinds among gvks into the process-wide cache,
// in order, so that a later ResolveSchema of one returns at once; other
// kinds are left alone. compile runs it beside KRO's graph builder, which
// resolves the same kinds one by one between other work.
func Warm(gvks []schema.GroupVersionKind) {
	for _, gvk := range gvks {
		if k, ok := builtinKind(gvk); ok {
			_, _ = resolveBuiltin(k) // an error is the builder's to report
		}
	}
}
