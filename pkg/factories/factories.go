// Package factories expands typekro "simple factories" — compact, YAML-first
// configs keyed by a kind name (Deployment, Service, Pvc, ...) — into complete
// Kubernetes manifests suitable as KRO ResourceGraphDefinition templates.
//
// Values are copied verbatim: literals stay literals and KRO CEL strings
// ("${schema.spec.name}", "${schema.spec.name}-svc") are never interpreted.
// Integral numbers arriving as int, int64, uint64 or float64 are normalised to
// int64. Every problem is reported as a *FieldError whose Path is relative to
// the factory config (e.g. "ports[1].containerPort").
package factories

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// FieldError reports a problem with one field of a factory config.
type FieldError struct {
	// Path locates the field inside the factory config, e.g. "ports[1].containerPort".
	// It is empty for problems with the config as a whole (unknown kind).
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

var builders = map[string]func(*reader) map[string]any{
	"Deployment":       func(r *reader) map[string]any { return workload(r, "Deployment") },
	"StatefulSet":      func(r *reader) map[string]any { return workload(r, "StatefulSet") },
	"DaemonSet":        func(r *reader) map[string]any { return workload(r, "DaemonSet") },
	"Job":              func(r *reader) map[string]any { return workload(r, "Job") },
	"CronJob":          func(r *reader) map[string]any { return workload(r, "CronJob") },
	"Service":          service,
	"Ingress":          ingress,
	"NetworkPolicy":    networkPolicy,
	"ConfigMap":        configMap,
	"Secret":           secret,
	"Pvc":              pvc,
	"PersistentVolume": persistentVolume,
	"Hpa":              hpa,
}

// Kinds returns the sorted names of all simple factories.
func Kinds() []string {
	return sortedKeys(builders)
}

// IsFactory reports whether key names a simple factory (case-sensitive).
func IsFactory(key string) bool {
	_, ok := builders[key]
	return ok
}

// Expand turns the config of factory kind into a complete manifest. The
// result never aliases cfg and has deterministic content.
func Expand(kind string, cfg map[string]any) (map[string]any, error) {
	build, ok := builders[kind]
	if !ok {
		return nil, &FieldError{Msg: fmt.Sprintf("unknown factory %q (known: %s)", kind, strings.Join(Kinds(), ", "))}
	}
	norm, _ := clone(cfg).(map[string]any)
	if norm == nil {
		norm = map[string]any{}
	}
	r := &reader{cfg: norm, known: map[string]bool{}}
	r.root = r
	obj := build(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return obj, nil
}

// reader reads one config map, remembering which keys the factory asked for
// (anything else is an unknown key) and the first error. Helpers never stop
// early, so every known key is visited even after an error.
type reader struct {
	cfg   map[string]any
	path  string
	known map[string]bool
	root  *reader
	err   *FieldError
}

func (r *reader) at(key string) string {
	if r.path == "" {
		return key
	}
	return r.path + "." + key
}

func (r *reader) fail(path, format string, args ...any) {
	if r.root.err == nil {
		r.root.err = &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
}

// child returns a reader for a nested map whose allowed keys are given up
// front; unknown keys are reported immediately.
func (r *reader) child(path string, m map[string]any, allowed ...string) *reader {
	c := &reader{cfg: m, path: path, known: map[string]bool{}, root: r.root}
	for _, k := range allowed {
		c.known[k] = true
	}
	if err := c.unknownKey(); err != nil {
		r.fail(err.Path, "%s", err.Msg)
	}
	return c
}

func (r *reader) unknownKey() *FieldError {
	for _, k := range sortedKeys(r.cfg) {
		if !r.known[k] {
			msg := "unknown field"
			if s := suggest(k, r.known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return &FieldError{Path: r.at(k), Msg: msg}
		}
	}
	return nil
}

// finish reports unknown top-level keys first (a typo often explains a
// "required" error), then the first recorded error.
func (r *reader) finish() error {
	if err := r.unknownKey(); err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	return nil
}

func (r *reader) get(key string) (any, bool) {
	r.known[key] = true
	v, ok := r.cfg[key]
	return v, ok && v != nil
}

// required reports missing settings; an empty string counts as missing
// (ConfigMap {name: ""} would only fail at the API server).
func (r *reader) required(keys ...string) {
	for _, k := range keys {
		switch v, ok := r.get(k); {
		case !ok:
			r.fail(r.at(k), "required")
		case v == "":
			r.fail(r.at(k), "required: must not be empty")
		}
	}
}

// raw passes a value through untouched (already deep-copied by Expand).
func (r *reader) raw(key string) any {
	v, _ := r.get(key)
	return v
}

// Value kinds accepted by the scalar readers. A single ${...} expression is
// allowed where KRO can type it (ints, bools): KRO's builder type-checks it
// against the field; IntOrString and quantities take any string.
var (
	isString   = func(v any) bool { _, ok := v.(string); return ok }
	isInteger  = func(v any) bool { _, ok := v.(int64); return ok || isStandaloneVal(v) }
	isBool     = func(v any) bool { _, ok := v.(bool); return ok || isStandaloneVal(v) }
	isIntOrStr = func(v any) bool { _, ok := v.(int64); return ok || isString(v) }
	isQuantity = func(v any) bool { _, ok := v.(float64); return ok || isIntOrStr(v) }
)

const (
	wantString   = "a string"
	wantInteger  = "an integer or a ${...} expression"
	wantBool     = "true, false or a ${...} expression"
	wantIntOrStr = "an integer or a string"
	wantQuantity = "a quantity such as \"10Gi\""
)

// check returns v if accept(v), otherwise records an error at path.
func (r *reader) check(path string, v any, want string, accept func(any) bool) any {
	if !accept(v) {
		r.fail(path, "must be %s, got %s", want, describe(v))
		return nil
	}
	return v
}

func (r *reader) scalar(key, want string, accept func(any) bool) any {
	if v, ok := r.get(key); ok {
		return r.check(r.at(key), v, want, accept)
	}
	return nil
}

func (r *reader) str(key string) any         { return r.scalar(key, wantString, isString) }
func (r *reader) integer(key string) any     { return r.scalar(key, wantInteger, isInteger) }
func (r *reader) boolean(key string) any     { return r.scalar(key, wantBool, isBool) }
func (r *reader) intOrString(key string) any { return r.scalar(key, wantIntOrStr, isIntOrStr) }
func (r *reader) quantity(key string) any    { return r.scalar(key, wantQuantity, isQuantity) }

// enum reads a string that, unless it is a CEL expression, must be one of values.
func (r *reader) enum(key string, values ...string) any {
	v := r.str(key)
	if s, ok := v.(string); ok && !isExpr(s) && !contains(values, s) {
		r.fail(r.at(key), "must be one of %s, got %q", strings.Join(values, ", "), s)
		return nil
	}
	return v
}

// strMap reads a map of strings (scalar values are stringified) or a
// single ${...} expression producing the whole map, as KRO allows in a
// template; KRO's builder type-checks it against the field.
func (r *reader) strMap(key string) any {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	if isStandaloneVal(v) {
		return v
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		r.fail(r.at(key), "must be a map of strings or a single ${...} expression, got %s", describe(v))
		return nil
	}
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		s, ok := scalarString(m[k])
		if !ok {
			r.fail(r.at(key)+"."+k, "must be a string, got %s", describe(m[k]))
		}
		out[k] = s
	}
	return out
}

// strList reads a list of strings (or one CEL expression producing a list).
func (r *reader) strList(key string) any {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	if isStandaloneVal(v) {
		return v
	}
	l, isList := v.([]any)
	if !isList {
		r.fail(r.at(key), "must be a list of strings or a single ${...} expression, got %s", describe(v))
		return nil
	}
	for i, item := range l {
		if _, isStr := item.(string); !isStr {
			r.fail(fmt.Sprintf("%s[%d]", r.at(key), i), "must be a string, got %s", describe(item))
		}
	}
	return l
}

// alias reads a field that also has a TypeKro-compatible alternative name.
func (r *reader) alias(key, alt string, read func(string) any) any {
	a, b := read(key), read(alt)
	if a != nil && b != nil {
		r.fail(r.at(alt), "duplicates %q; set only one", key)
	}
	if a != nil {
		return a
	}
	return b
}

var reservedPrefixes = []string{"kro.run/", "internal.kro.run/"}

// metadata reads name, namespace, labels and annotations. With appLabel the
// labels default to {app: <name>} (user labels win; for a labels expression
// through KRO's CEL merge()).
func (r *reader) metadata(namespaced, appLabel bool) map[string]any {
	r.required("name")
	md := map[string]any{}
	put(md, "name", r.str("name"))
	if namespaced {
		put(md, "namespace", r.str("namespace"))
	}
	for _, key := range []string{"labels", "annotations"} {
		v := r.strMap(key)
		if expr, isExpr := v.(string); isExpr {
			if name, ok := md["name"].(string); ok && key == "labels" && appLabel {
				v = "${{\"app\": " + celString(name) + "}.merge(" + strings.TrimSuffix(strings.TrimPrefix(expr, "${"), "}") + ")}"
			}
			md[key] = v
			continue
		}
		m, _ := v.(map[string]any)
		for k := range m {
			for _, p := range reservedPrefixes {
				if strings.HasPrefix(k, p) {
					r.fail(r.at(key)+"."+k, "prefix %q is reserved for KRO", p)
				}
			}
		}
		if key == "labels" && appLabel {
			if m == nil {
				m = map[string]any{}
			}
			if _, ok := m["app"]; !ok && md["name"] != nil {
				m["app"] = md["name"]
			}
		}
		put(md, key, m)
	}
	return md
}

func object(apiVersion, kind string, md map[string]any, body ...any) map[string]any {
	obj := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md}
	for i := 0; i+1 < len(body); i += 2 {
		put(obj, body[i].(string), body[i+1])
	}
	return obj
}

// put sets m[key] unless v is nil or an empty map.
func put(m map[string]any, key string, v any) {
	switch t := v.(type) {
	case nil:
		return
	case map[string]any:
		if len(t) == 0 {
			return
		}
	}
	m[key] = v
}

func orDefault(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case int64:
		return strconv.FormatInt(t, 10), true
	case uint64:
		return strconv.FormatUint(t, 10), true
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case int64, uint64, float64:
		return fmt.Sprintf("number %v", v)
	}
	return fmt.Sprintf("%T", v)
}

// clone deep-copies v into map[string]any / []any form and normalises
// integral numbers of any Go numeric type to int64.
func clone(v any) any {
	switch t := v.(type) {
	case nil, string, bool:
		return t
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u)
		}
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f)
		}
		return f
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out[fmt.Sprint(it.Key().Interface())] = clone(it.Value().Interface())
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = clone(rv.Index(i).Interface())
		}
		return out
	}
	return v
}

// suggest returns the known key closest to s (edit distance <= 2).
func suggest(s string, known map[string]bool) string {
	best, bestD := "", 3
	for _, k := range sortedKeys(known) {
		if d := editDistance(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
