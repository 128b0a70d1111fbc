package composition

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestScalarsAsYAMLv3 holds toValue's ints and bools (converted without a
// yaml.v3 decoder where the spelling allows) to what yaml.v3 decodes.
func TestScalarsAsYAMLv3(t *testing.T) {
	for _, in := range []string{"10", "-3", "+4", "0", "-0", "0755", "0o17", "0x1F", "1_000", "9223372036854775807",
		"true", "True", "TRUE", "false", "False", "FALSE", "!!bool true", "!!int 12", "!!int 012"} {
		var want map[string]any
		if err := yaml.Unmarshal([]byte("a: "+in), &want); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if i, ok := want["a"].(int); ok {
			want["a"] = int64(i)
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte("a: "+in), &n); err != nil {
			t.Fatal(err)
		}
		got, err := toValue(&n, 0)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.(map[string]any)["a"] != want["a"] {
			t.Errorf("%s: got %#v, want %#v", in, got.(map[string]any)["a"], want["a"])
		}
	}
}
