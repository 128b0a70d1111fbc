package composition

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/simpleschema"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/pkg/factories"
)

// Composition is one API definition: either a typekro Composition or a
// ResourceGraphDefinition given as-is. Both end up as an RGD; Resources
// maps each RGD resource back to where it was written, for error messages.
type Composition struct {
	Doc       *Document
	FromRGD   bool           // true when the input already was an RGD
	RGD       map[string]any // the ResourceGraphDefinition object
	Resources []ResourceSource
}

// ResourceSource locates one resource of the RGD in the input document.
type ResourceSource struct {
	ID           string
	Path         string // e.g. spec.resources[1]
	TemplatePath string // e.g. spec.resources[1].template or spec.resources[1].Deployment
}

// Name is the RGD name.
func (c *Composition) Name() string { return c.Doc.Name() }

// InstanceGVK is the group/version/kind of the API the composition defines,
// with KRO's default group applied.
func (c *Composition) InstanceGVK() schema.GroupVersionKind {
	s, _ := c.RGD["spec"].(map[string]any)
	sch, _ := s["schema"].(map[string]any)
	str := func(k string) string { v, _ := sch[k].(string); return v }
	group := str("group")
	if group == "" {
		group = DefaultGroup
	}
	return schema.GroupVersionKind{Group: group, Version: str("apiVersion"), Kind: str("kind")}
}

// DefaultGroup is what the API server defaults spec.schema.group to.
const DefaultGroup = "kro.run"

// Resource locates a resource by id.
func (c *Composition) Resource(id string) (ResourceSource, bool) {
	for _, r := range c.Resources {
		if r.ID == id {
			return r, true
		}
	}
	return ResourceSource{}, false
}

var (
	specKeys     = keySet("apiVersion", "group", "kind", "scope", "shortNames", "categories", "additionalPrinterColumns", "crdMetadata", "schema", "resources")
	schemaKeys   = keySet("spec", "status", "types")
	resourceKeys = keySet("id", "template", "externalRef", "readyWhen", "includeWhen", "forEach", "dependsOn")
)

func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// ParseComposition turns a Composition document into its RGD: factories
// expanded, default readiness added, dependsOn turned into graph edges and
// apiVersion split into KRO's group + version.
func ParseComposition(d *Document) (*Composition, Errors) {
	var errs Errors
	fail := func(path, format string, args ...any) { errs = append(errs, d.Errorf(path, format, args...)) }

	if d.Name() == "" {
		fail("metadata.name", "a Composition needs metadata.name (it becomes the ResourceGraphDefinition name)")
	}
	spec, ok := d.Object["spec"].(map[string]any)
	if !ok {
		fail("spec", "a Composition needs a spec mapping")
		return nil, errs
	}
	for _, k := range sortedKeys(spec) {
		if !specKeys[k] {
			fail("spec."+k, "unknown field %q (known: %s)", k, strings.Join(sortedKeys(specKeys), ", "))
		}
	}

	rgdSchema := map[string]any{}
	apiVersion, _ := spec["apiVersion"].(string)
	group, _ := spec["group"].(string)
	version := apiVersion
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		if group != "" && group != apiVersion[:i] {
			fail("spec.group", "group %q contradicts apiVersion %q", group, apiVersion)
		}
		group, version = apiVersion[:i], apiVersion[i+1:]
	}
	if version == "" {
		fail("spec.apiVersion", "required: the version (v1alpha1) or group/version (example.com/v1alpha1) of the new API")
	}
	if group == "" {
		group = DefaultGroup
	}
	kind, _ := spec["kind"].(string)
	if kind == "" {
		fail("spec.kind", "required: the kind of the new API, e.g. WebApp")
	}
	rgdSchema["apiVersion"], rgdSchema["group"], rgdSchema["kind"] = version, group, kind
	copyKeys(rgdSchema, spec, "scope", "shortNames", "categories", "additionalPrinterColumns")
	if m, ok := spec["crdMetadata"]; ok {
		rgdSchema["metadata"] = m
	}
	if s, ok := spec["schema"]; ok {
		sm, ok := s.(map[string]any)
		if !ok {
			fail("spec.schema", "must be a mapping with spec, status and types")
		}
		for _, k := range sortedKeys(sm) {
			if !schemaKeys[k] {
				fail("spec.schema."+k, "unknown field %q (known: spec, status, types)", k)
				continue
			}
			rgdSchema[k] = sm[k]
		}
	}

	c := &Composition{Doc: d}
	rawResources, _ := spec["resources"].([]any)
	if _, ok := spec["resources"]; ok && rawResources == nil {
		fail("spec.resources", "must be a list")
	}
	ids := map[string]bool{}
	collections := map[string]bool{}
	firstOf := map[string]string{} // id -> path of the resource that declared it first
	duplicate := map[int]bool{}
	for i, raw := range rawResources {
		if r, ok := raw.(map[string]any); ok {
			id, _ := r["id"].(string)
			path := fmt.Sprintf("spec.resources[%d]", i)
			if first, dup := firstOf[id]; dup && id != "" {
				duplicate[i] = true
				fail(path+".id", "duplicate resource id %q: already used by %s (line %d)", id, first, d.Line(first+".id"))
				continue
			}
			firstOf[id] = path
			ids[id] = true
			if _, fe := r["forEach"]; fe {
				collections[id] = true
			}
		}
	}
	for _, k := range []string{"spec", "types"} {
		errs = append(errs, checkSimpleSchema(d, "spec.schema."+k, rgdSchema[k])...)
	}
	if status, ok := rgdSchema["status"]; ok {
		errs = append(errs, checkValues(d, "spec.schema.status", status)...)
	}
	var resources []any
	for i, raw := range rawResources {
		path := fmt.Sprintf("spec.resources[%d]", i)
		r, ok := raw.(map[string]any)
		if !ok {
			fail(path, "a resource must be a mapping with an id")
			continue
		}
		if duplicate[i] {
			continue // its other errors would only repeat the first one's
		}
		if verrs := checkValues(d, path, r); len(verrs) > 0 {
			// A typo such as an unclosed ${ explains the factory's or KRO's
			// complaints about the same value: report only the cause.
			errs = append(errs, verrs...)
			continue
		}
		res, src, rerrs := convertResource(d, path, r, ids, collections)
		errs = append(errs, rerrs...)
		if res != nil {
			resources = append(resources, res)
			c.Resources = append(c.Resources, src)
		}
	}

	metadata := map[string]any{"name": d.Name()}
	if m, ok := d.Object["metadata"].(map[string]any); ok {
		copyKeys(metadata, m, "labels", "annotations")
	}
	rgdSpec := map[string]any{"schema": rgdSchema}
	if len(resources) > 0 {
		rgdSpec["resources"] = resources
	}
	c.RGD = map[string]any{
		"apiVersion": KroAPIVersion,
		"kind":       KindRGD,
		"metadata":   metadata,
		"spec":       rgdSpec,
	}
	return c, errs
}

func convertResource(d *Document, path string, r map[string]any, ids, collections map[string]bool) (map[string]any, ResourceSource, Errors) {
	var errs Errors
	fail := func(p, format string, args ...any) { errs = append(errs, d.Errorf(p, format, args...)) }

	id, _ := r["id"].(string)
	src := ResourceSource{ID: id, Path: path}
	if id == "" {
		fail(path+".id", "required: a resource id (a CEL identifier such as deployment or appService)")
	}
	out := map[string]any{"id": id}
	var sources []string
	var manifest map[string]any
	for _, k := range sortedKeys(r) {
		switch {
		case k == "template":
			sources = append(sources, k)
			manifest, _ = r[k].(map[string]any)
			if manifest == nil {
				fail(path+".template", "must be a Kubernetes manifest (a mapping)")
			}
			out["template"] = r[k]
			src.TemplatePath = path + ".template"
		case k == "externalRef":
			sources = append(sources, k)
			out["externalRef"] = r[k]
			src.TemplatePath = path + ".externalRef"
		case factories.IsFactory(k):
			sources = append(sources, k)
			cfg, ok := r[k].(map[string]any)
			if !ok {
				fail(path+"."+k, "the %s factory takes a mapping of settings", k)
				continue
			}
			m, err := factories.Expand(k, cfg)
			if err != nil {
				p := path + "." + k
				if fe, ok := err.(*factories.FieldError); ok {
					if fe.Path != "" {
						p += "." + fe.Path
					}
					fail(p, "%s", fe.Msg)
				} else {
					fail(p, "%v", err)
				}
				continue
			}
			manifest = m
			out["template"] = m
			src.TemplatePath = path + "." + k
		case resourceKeys[k]:
		default:
			fail(path+"."+k, "unknown field %q: expected id, template, externalRef, a factory (%s), readyWhen, includeWhen, forEach or dependsOn", k, strings.Join(factories.Kinds(), ", "))
		}
	}
	switch len(sources) {
	case 0:
		fail(path, "resource %q needs one of template, externalRef or a factory (%s)", id, strings.Join(factories.Kinds(), ", "))
	case 1:
	default:
		fail(path, "resource %q has %s: give exactly one", id, strings.Join(sources, " and "))
	}
	copyKeys(out, r, "includeWhen", "forEach")

	_, isCollection := r["forEach"]
	if rw, given := r["readyWhen"]; given {
		if rw != nil {
			out["readyWhen"] = rw // an explicit empty list opts out of default readiness
		}
	} else if manifest != nil {
		self := id
		if isCollection {
			self = "each" // KRO's readyWhen for collections speaks of the item as "each"
		}
		if rw := factories.DefaultReadyWhen(self, manifest); len(rw) > 0 {
			out["readyWhen"] = toAnySlice(rw)
		}
	}
	if deps, given := r["dependsOn"]; given {
		list, ok := deps.([]any)
		if !ok {
			fail(path+".dependsOn", "must be a list of resource ids")
		}
		include, _ := out["includeWhen"].([]any)
		include = append([]any(nil), include...)
		for j, dep := range list {
			depID, _ := dep.(string)
			switch {
			case depID == id:
				fail(fmt.Sprintf("%s.dependsOn[%d]", path, j), "resource %q cannot depend on itself", id)
			case !ids[depID]:
				fail(fmt.Sprintf("%s.dependsOn[%d]", path, j), "unknown resource id %q", depID)
			case collections[depID]:
				// Referencing the dependency adds the DAG edge; the test is always true.
				include = append(include, fmt.Sprintf("${size(%s) >= 0}", depID))
			default:
				include = append(include, fmt.Sprintf("${%s.metadata.name != \"\"}", depID))
			}
		}
		if len(include) > 0 {
			out["includeWhen"] = include
		}
	}
	return out, src, errs
}

// maxValueErrors caps checkValues' reports for one resource.
const maxValueErrors = 20

// checkValues finds, in everything written for one resource (or the status
// schema), values that are accepted silently but are nonsense: a string with
// a ${ that never closes (KRO keeps it as literal text) and null list items
// (volumeClaimTemplates: [null] becomes an empty object the API server
// refuses).
func checkValues(d *Document, path string, v any) Errors {
	var errs Errors
	var walk func(p string, v any)
	walk = func(p string, v any) {
		if len(errs) >= maxValueErrors {
			return
		}
		switch t := v.(type) {
		case string:
			if at := unclosedExpr(t); at >= 0 {
				errs = append(errs, d.Errorf(p, "unclosed ${ in %s: missing }", snippet(t, at)))
			}
		case map[string]any:
			for _, k := range sortedKeys(t) {
				walk(p+"."+k, t[k])
			}
		case []any:
			for i, item := range t {
				ip := fmt.Sprintf("%s[%d]", p, i)
				if item == nil {
					errs = append(errs, d.Errorf(ip, "empty list item (null)"))
					continue
				}
				walk(ip, item)
			}
		}
	}
	walk(path, v)
	return errs
}

// checkSimpleSchema parses every SimpleSchema field string with KRO's own
// parser, so a bad type or marker is reported at its line rather than at
// spec.schema by KRO's builder. The parser panics on some inputs (a marker
// value that is a lone quote: default="), which becomes an error here.
func checkSimpleSchema(d *Document, path string, v any) Errors {
	var errs Errors
	var walk func(p string, v any)
	walk = func(p string, v any) {
		switch t := v.(type) {
		case string:
			if err := parseSimpleField(t); err != nil && len(errs) < maxValueErrors {
				errs = append(errs, d.Errorf(p, "invalid SimpleSchema field %s: %v", snippet(t, 0), err))
			}
		case map[string]any:
			for _, k := range sortedKeys(t) {
				walk(p+"."+k, t[k])
			}
		}
	}
	walk(path, v)
	return errs
}

func parseSimpleField(s string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed markers (an unclosed quote?)")
		}
	}()
	_, _, err = simpleschema.ParseField(s)
	return err
}

// unclosedExpr returns the offset of the first ${ without a matching }
// (KRO's parser rules), or -1.
func unclosedExpr(s string) int {
	if !strings.Contains(s, "${") {
		return -1
	}
	_, at, _ := factories.Scan(s)
	return at
}

// snippet quotes s around offset at, shortened for long values.
func snippet(s string, at int) string {
	const width = 40
	start, end, pre, post := max(0, at-10), min(len(s), at+width), "", ""
	if start > 0 {
		pre = "..."
	}
	if end < len(s) {
		post = "..."
	}
	return fmt.Sprintf("%q", pre+s[start:end]+post)
}

// ResourceGVKs lists the kinds an RGD's resources create (template) or read
// (externalRef), in order. Plain type assertions, not unstructured.Nested*:
// a loaded map may hold values the deep copy in Nested* rejects.
func ResourceGVKs(rgd map[string]any) []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	spec, _ := rgd["spec"].(map[string]any)
	resources, _ := spec["resources"].([]any)
	for _, raw := range resources {
		r, _ := raw.(map[string]any)
		for _, key := range []string{"template", "externalRef"} {
			if m, ok := r[key].(map[string]any); ok {
				av, _ := m["apiVersion"].(string)
				k, _ := m["kind"].(string)
				out = append(out, schema.FromAPIVersionAndKind(av, k))
			}
		}
	}
	return out
}

// FromRGD wraps a ResourceGraphDefinition given as-is.
func FromRGD(d *Document) *Composition {
	c := &Composition{Doc: d, FromRGD: true, RGD: d.Unstructured().Object}
	spec, _ := c.RGD["spec"].(map[string]any)
	resources, _ := spec["resources"].([]any)
	for i, raw := range resources {
		r, _ := raw.(map[string]any)
		id, _ := r["id"].(string)
		path := fmt.Sprintf("spec.resources[%d]", i)
		tp := path + ".template"
		if _, ok := r["externalRef"]; ok {
			tp = path + ".externalRef"
		}
		c.Resources = append(c.Resources, ResourceSource{ID: id, Path: path, TemplatePath: tp})
	}
	return c
}

// CheckRGD runs on a ResourceGraphDefinition given as-is the checks a
// Composition gets while it is converted: duplicate ids, SimpleSchema
// strings, unclosed ${ and null list items. It also keeps such input away
// from KRO's expression scan, which is quadratic on an unclosed ${.
func CheckRGD(d *Document) Errors {
	var errs Errors
	spec, _ := d.Object["spec"].(map[string]any)
	schemaSpec, _ := spec["schema"].(map[string]any)
	for _, k := range []string{"spec", "types"} {
		errs = append(errs, checkSimpleSchema(d, "spec.schema."+k, schemaSpec[k])...)
	}
	if status, ok := schemaSpec["status"]; ok {
		errs = append(errs, checkValues(d, "spec.schema.status", status)...)
	}
	resources, _ := spec["resources"].([]any)
	firstOf := map[string]string{}
	for i, raw := range resources {
		path := fmt.Sprintf("spec.resources[%d]", i)
		r, ok := raw.(map[string]any)
		if !ok {
			continue // KRO's builder names it
		}
		if id, _ := r["id"].(string); id != "" {
			if first, dup := firstOf[id]; dup {
				errs = append(errs, d.Errorf(path+".id", "duplicate resource id %q: already used by %s (line %d)", id, first, d.Line(first+".id")))
				continue
			}
			firstOf[id] = path
		}
		errs = append(errs, checkValues(d, path, r)...)
	}
	return errs
}

func copyKeys(dst, src map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
