package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// recordedInstances are what a status or apply result holds: a live
// instance (managed fields, generation, KRO's conditions) and an RGD.
func recordedInstances() []*unstructured.Unstructured {
	inst := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1alpha1", "kind": "KroWebApp",
		"metadata": map[string]any{
			"name": "webapp", "namespace": "production", "generation": int64(3),
			"managedFields": []any{map[string]any{"manager": "typekro", "operation": "Apply"}},
		},
		"spec": map[string]any{"image": "nginx", "replicas": int64(2)},
		"status": map[string]any{
			"state": "ACTIVE", "url": "http://webapp.production",
			"conditions": []any{
				map[string]any{"type": "InstanceManaged", "status": "True", "observedGeneration": int64(3)},
				map[string]any{"type": "Ready", "status": "True", "observedGeneration": int64(2), "message": "all   resources\nready"},
			},
		},
	}}
	rgd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kro.run/v1alpha1", "kind": "ResourceGraphDefinition",
		"metadata": map[string]any{"name": "kro-webapp", "generation": int64(1)},
		"status": map[string]any{
			"state":            "Active",
			"topologicalOrder": []any{"deployment", "service"},
			"conditions":       []any{map[string]any{"type": "Ready", "status": "False", "reason": "Pending"}},
		},
	}}
	return []*unstructured.Unstructured{inst, rgd}
}

func printerFor(t *testing.T, operation string, args ...string) *objectPrinter {
	t.Helper()
	p := newObjectPrinter(operation)
	p.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC) }
	cmd := &cobra.Command{Use: "x"}
	p.AddFlags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := p.Complete(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestObjectPrinter(t *testing.T) {
	tests := []struct {
		name      string
		operation string // "applied" for apply, "" for status
		args      []string
		want      string
	}{
		{"readable (no -o)", "", nil, `KroWebApp/webapp -n production: ACTIVE (generation 3)
  CONDITION        STATUS  REASON  OBSERVED  MESSAGE
  InstanceManaged  True    -       3         -
  Ready            True    -       2         all resources ready
  status:
    url: http://webapp.production

ResourceGraphDefinition/kro-webapp: Active (generation 1)
  CONDITION  STATUS  REASON   OBSERVED  MESSAGE
  Ready      False   Pending  -         -
  status:
    topologicalOrder:
    - deployment
    - service
`},
		{"name (status)", "", []string{"-o", "name"}, "krowebapp.example.com/webapp\nresourcegraphdefinition.kro.run/kro-webapp\n"},
		{"name (apply: no operation with -o name, as kubectl apply)", "applied", []string{"-o", "name"}, "krowebapp.example.com/webapp\nresourcegraphdefinition.kro.run/kro-webapp\n"},
		{"jsonpath over the List", "", []string{"-o", "jsonpath={range .items[*]}{.metadata.name}={.status.state}{\"\\n\"}{end}"}, "webapp=ACTIVE\nkro-webapp=Active\n"},
		{"go-template", "", []string{"-o", "go-template={{range .items}}{{.kind}} {{end}}"}, "KroWebApp ResourceGraphDefinition "},
		{"wide", "", []string{"-o", "wide"}, `NAMESPACE    NAME                                         STATE    READY   GENERATION   OBSERVED   CONDITIONS   RESOURCES   MESSAGE
production   krowebapp.example.com/webapp                 ACTIVE   True    3            2          2/2          -           all resources ready
-            resourcegraphdefinition.kro.run/kro-webapp   Active   False   1            -          0/1          2           -
`},
		{"yaml: a List, managed fields left out", "", []string{"-o", "yaml"}, `apiVersion: v1
items:
- apiVersion: example.com/v1alpha1
  kind: KroWebApp
  metadata:
    generation: 3
    name: webapp
    namespace: production
  spec:
    image: nginx
    replicas: 2
  status:
    conditions:
    - observedGeneration: 3
      status: "True"
      type: InstanceManaged
    - message: |-
        all   resources
        ready
      observedGeneration: 2
      status: "True"
      type: Ready
    state: ACTIVE
    url: http://webapp.production
- apiVersion: kro.run/v1alpha1
  kind: ResourceGraphDefinition
  metadata:
    generation: 1
    name: kro-webapp
  status:
    conditions:
    - reason: Pending
      status: "False"
      type: Ready
    state: Active
    topologicalOrder:
    - deployment
    - service
kind: List
metadata: {}
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := printerFor(t, tc.operation, tc.args...).PrintList(&buf, recordedInstances()); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", buf.String(), tc.want)
			}
		})
	}
}

func TestObjectPrinterJSONIsAList(t *testing.T) {
	var buf bytes.Buffer
	if err := printerFor(t, "", "-o", "json").PrintList(&buf, recordedInstances()[:1]); err != nil {
		t.Fatal(err)
	}
	want := `{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "example.com/v1alpha1",
            "kind": "KroWebApp",
            "metadata": {
                "generation": 3,
                "name": "webapp",
                "namespace": "production"
            },
            "spec": {
                "image": "nginx",
                "replicas": 2
            },
            "status": {
                "conditions": [
                    {
                        "observedGeneration": 3,
                        "status": "True",
                        "type": "InstanceManaged"
                    },
                    {
                        "message": "all   resources\nready",
                        "observedGeneration": 2,
                        "status": "True",
                        "type": "Ready"
                    }
                ],
                "state": "ACTIVE",
                "url": "http://webapp.production"
            }
        }
    ],
    "kind": "List",
    "metadata": {}
}
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// --watch prints each change on its own: the object (not a List) with -o,
// a row without headers with -o wide, a timestamped block without -o.
func TestObjectPrinterEvents(t *testing.T) {
	inst := recordedInstances()[0]
	tests := []struct {
		args []string
		obj  *unstructured.Unstructured
		want string
	}{
		{[]string{"-o", "name"}, inst, "krowebapp.example.com/webapp\n"},
		{[]string{"-o", "jsonpath={.status.state}"}, inst, "ACTIVE"},
		{[]string{"-o", "wide"}, inst, "production   krowebapp.example.com/webapp   ACTIVE   True   3     2     2/2   -     all resources ready\n"},
		{nil, nil, "KroWebApp/webapp -n production: deleted\n"},
		{[]string{"-o", "json"}, nil, "KroWebApp/webapp -n production: deleted\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := printerFor(t, "", tc.args...).PrintEvent(&buf, tc.obj, "KroWebApp/webapp -n production"); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%v: got %q, want %q", tc.args, buf.String(), tc.want)
		}
	}
	var buf bytes.Buffer
	if err := printerFor(t, "").PrintEvent(&buf, inst, ""); err != nil {
		t.Fatal(err)
	}
	if want := "\n[03:04:05.006] KroWebApp/webapp -n production: ACTIVE (generation 3)\n"; !bytes.HasPrefix(buf.Bytes(), []byte(want)) {
		t.Errorf("readable event: got %q, want prefix %q", buf.String(), want)
	}
}
