package render

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
)

// TestFastYAMLMatchesYAMLv2 holds fastYAML to yaml.v2 byte for byte: on
// hand-picked shapes and scalars that yaml.v2 quotes, folds or orders in
// its own way, and on random objects built from them. Where fastYAML
// declines, the caller uses yaml.v2, so only what it writes is compared,
// and the test counts that it wrote most of them.
func TestFastYAMLMatchesYAMLv2(t *testing.T) {
	cases := []map[string]any{
		{"a": int64(1), "b": map[string]any{"c": "x"}, "d": []any{map[string]any{"e": int64(1), "f": int64(2)}, "s"}, "g": map[string]any{}, "h": []any{}, "n": nil, "t": true},
		{"l": []any{[]any{"a", "b"}, []any{}, map[string]any{}, []any{[]any{"c"}}}},
		{"deep": map[string]any{"list": []any{map[string]any{"m": map[string]any{"x": []any{"y", map[string]any{"z": int64(0)}}}}}}},
		{"a10": 1, "a9": 2, "a09": 3, "a_b": 4, "aB": 5, "a.b": 6, "A": 7, "_": 8, "a-b": 9, "a/b": 10, "9": 11, "10": 12, ":": 13, "0": 14, "00": 15, "é": 16},
	}
	for _, c := range cases {
		if !compareYAML(t, c) {
			t.Errorf("fastYAML declined %#v", c)
		}
	}
	// Each scalar alone, as a mapping value and as a list item.
	for _, v := range scalars {
		compareYAML(t, map[string]any{"k": v})
		compareYAML(t, map[string]any{"l": []any{v}})
	}
	r := rand.New(rand.NewPCG(1, 2))
	wrote := 0
	const n = 3000
	for range n {
		if compareYAML(t, randomMap(r, 0)) {
			wrote++
		}
	}
	// The scalar pool is mostly made of what fastYAML declines; a third
	// written still compares thousands of objects.
	if wrote < n/3 {
		t.Errorf("fastYAML wrote %d of %d random objects, want at least a third", wrote, n)
	}
}

func compareYAML(t *testing.T, obj map[string]any) bool {
	t.Helper()
	got, ok := fastYAML(obj)
	if !ok {
		return false
	}
	want, err := yamlv2.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("fastYAML differs from yaml.v2 for %#v:\n--- fast\n%s--- yaml.v2\n%s", obj, got, want)
	}
	return true
}

var scalars = []any{
	"nginx", "nginx:1.27", "http://svc.example.com:80/x", "app.kubernetes.io/name", "", " ", "a b", "yes", "No", "on", "OFF", "y", "n", "true", "False", "null", "~",
	"1", "0x1F", "1e3", "1.5", ".inf", "-.inf", ".nan", "1:20", "0755", "+1", "-", "-a", "--- x", "...", "a: b", "a #b", "#x", "@x", "`x", "!x", "&x", "*x", "|x", ">x",
	"%x", "'q'", "\"dq\"", "{a}", "[a]", "a,b", "?x", "tab\there", "ünïcödé", "\u00a0", "trailing ", " leading", "x\ny", "line\n", "\r",
	"a very long string with spaces that goes past the eighty column limit of yaml.v2's emitter for sure",
	"a:", "a::b", "a:b:c", "x@y", "nginx@sha256:0123abcd", "mailto:a@b.c", "http:", "k:", "Y:", "yes:no", "on:",
	strings.Repeat("nospace", 20), "svc-00001", "registry.example.com/svc:1.2.0", "8080", "team-03", "Yes please", "2026-01-01", "12:30:00",
	int64(0), int64(-5), int64(math.MaxInt64), 7, int32(3), int32(math.MinInt32), 1.5, 2.0, 8080.0, 1e6, 1e21, 1e-7, 0.1, -2.5, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), true, false, nil,
}

var keys = []string{"name", "namespace", "app", "a10", "a9", "a_b", "aB", "A", "_x", "x.y/z", "9", "10", "0", "00", "with space", "yes", "é", "k:v", "k:", "a@b", "http://x", "-", "long key " + strings.Repeat("x", 70), strings.Repeat("k", 120)}

func randomValue(r *rand.Rand, depth int) any {
	switch k := r.IntN(10); {
	case k < 2 && depth < 4:
		return randomMap(r, depth+1)
	case k < 4 && depth < 4:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randomValue(r, depth+1)
		}
		return l
	}
	return scalars[r.IntN(len(scalars))]
}

func randomMap(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range r.IntN(5) {
		m[keys[r.IntN(len(keys))]] = randomValue(r, depth)
	}
	return m
}
