package compile_test

import (
	"strings"
	"testing"
)

// TestCompositionReportsEveryGraphError: KRO's builder stops at its first
// error; typekro reports each independent one (a resource using a broken
// one is not reported again).
func TestCompositionReportsEveryGraphError(t *testing.T) {
	tests := []struct {
		name      string
		resources string
		want      []string // fields, in order
	}{
		{
			name: "three broken resources, one depending on a broken one",
			resources: `    - id: deployment
      Deployment:
        name: ${schema.spec.nmae}
        image: nginx
    - id: service
      Service:
        name: ${schema.spec.name}
        selector: {app: "${deployment.metadata.name}"}
        ports: [80]
    - id: config
      ConfigMap:
        name: ${schema.spec.name}
        data:
          a: ${schema.spec.replicaz}
    - id: other
      ConfigMap:
        name: other
        data:
          b: ${servce.spec.clusterIP}
`,
			want: []string{"spec.resources[0].Deployment.name", "spec.resources[2].ConfigMap.data.a", "spec.resources[3].ConfigMap.data.b"},
		},
		{
			name:      "one mistake is one error",
			resources: okDeployment + "    - id: config\n      ConfigMap:\n        name: ${schema.spec.nmae}\n",
			want:      []string{"spec.resources[1].ConfigMap.name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "c.yaml", compose("", tt.resources))
			errs := compileDir(t, dir)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("errors at\n%s\nwant\n%s\n%v", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), errs)
			}
		})
	}
}
