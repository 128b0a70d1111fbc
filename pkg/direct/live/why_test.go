package live

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/typekro/kubectl-typekro/internal/fakecluster"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// A slow wait says why: once the run has waited readiness.SlowAfter on
// the ticking clock, the progress quotes the Warning event of the object
// it waits for.
func TestApplySaysWhyWhenSlow(t *testing.T) {
	events := fakecluster.Kind{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Event"}, Resource: "events", Namespaced: true}
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap, fakecluster.Namespace, events})
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	progress := make(signal, 16)
	d := &Deployer{Dynamic: fc.Client, Mapper: fc.Mapper, FieldManager: ssa.DefaultFieldManager, DefaultNamespace: "default",
		Out: &bytes.Buffer{}, Clock: clk, Progress: progress}
	done := make(chan error, 1)
	go func() {
		_, err := d.Apply(context.Background(), compileWith(t, gated, instance("one", "{name: one}")), Options{})
		done <- err
	}()
	for line := range progress {
		if strings.Contains(line, "waiting for config") {
			break
		}
	}
	if strings.Contains(line(progress), "why:") {
		t.Fatal("explained before the wait was slow")
	}
	config := cm(fc, "one-config")
	fc.Add(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata":       map[string]any{"name": "one-config.1", "namespace": "apps"},
		"type":           "Warning",
		"reason":         "NotYet",
		"message":        "the data is not ready",
		"involvedObject": map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "one-config", "namespace": "apps", "uid": string(config.GetUID())},
	}})
	clk.Step(readiness.SlowAfter)
	for l := range progress {
		if strings.Contains(l, "why:") {
			if want := "one: waiting for config (ConfigMap/one-config) (5s) — why: Warning NotYet on ConfigMap/one-config: the data is not ready"; !strings.Contains(l, want) {
				t.Errorf("line %q\nwant %q", l, want)
			}
			break
		}
	}
	_ = unstructured.SetNestedField(config.Object, "yes", "data", "ready")
	if err := fc.Client.Tracker().Update(fakecluster.ConfigMap.GVR(), config, "apps"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range progress { // the rest of the lines
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// line returns a line already printed, or "" (without waiting).
func line(s signal) string {
	select {
	case l := <-s:
		return l
	default:
		return ""
	}
}
