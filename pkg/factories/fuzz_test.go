package factories

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	yaml3 "go.yaml.in/yaml/v3"
)

// FuzzFactory expands arbitrary settings with every factory: the result is
// a JSON-encodable manifest of the factory's kind or a *FieldError, never a
// panic. Seeds are the golden inputs.
func FuzzFactory(f *testing.F) {
	inputs, err := filepath.Glob("testdata/*/*.in.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(filepath.Dir(in)), data)
	}
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		var cfg map[string]any
		if yaml3.Unmarshal(data, &cfg) != nil {
			return
		}
		m, err := Expand(kind, cfg)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Msg == "" {
				t.Fatalf("error %v is not a *FieldError with a message", err)
			}
			return
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("manifest does not encode: %v", err)
		}
		if m["kind"] == nil || m["apiVersion"] == nil {
			t.Fatalf("manifest without apiVersion/kind: %v", m)
		}
		_ = DefaultReadyWhen("x", m)
	})
}
