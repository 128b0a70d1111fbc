package direct_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

const namesComposition = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata: {name: app}
spec:
  apiVersion: example.com/v1alpha1
  kind: App
  schema:
    spec: {name: string, svc: string | default="web", ns: string | default="default", job: string | default="j"}
  resources:
  - id: config
    ConfigMap:
      name: ${schema.spec.name}
      namespace: ${schema.spec.ns}
  - id: svc
    template:
      apiVersion: v1
      kind: Service
      metadata:
        name: ${schema.spec.svc}
      spec: {selector: {app: x}, ports: [{port: 80}]}
  - id: cron
    CronJob: {name: "${schema.spec.job}", image: busybox, schedule: "* * * * *"}
  - id: role
    template:
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata:
        name: system:${schema.spec.name}
      rules: []
`

// TestRenderRefusesInvalidNames: a rendered name the API server would
// refuse is an error naming the instance, the resource and the line of the
// template's name field.
func TestRenderRefusesInvalidNames(t *testing.T) {
	long := strings.Repeat("a", 2000)
	cases := []struct {
		name, spec string
		want       string // "" = renders
	}{
		{"valid", `{name: shop}`, ""},
		{"empty", `{name: ""}`, `c.yaml:12: Composition/app: spec.resources[0].ConfigMap.name: instance App/default/i: resource "config" (ConfigMap): rendered metadata.name "": required`},
		{"2000 characters", `{name: ` + long + `}`, `c.yaml:12: Composition/app: spec.resources[0].ConfigMap.name: instance App/default/i: resource "config" (ConfigMap): rendered metadata.name "aaaa`},
		{"uppercase", `{name: Shop}`, `c.yaml:12: Composition/app: spec.resources[0].ConfigMap.name: instance App/default/i: resource "config" (ConfigMap): rendered metadata.name "Shop": a lowercase RFC 1123 subdomain`},
		{"bad namespace", `{name: shop, ns: "my.ns"}`, `c.yaml:13: Composition/app: spec.resources[0].ConfigMap.namespace: instance App/default/i: resource "config" (ConfigMap): rendered metadata.namespace "my.ns": must not contain dots`},
		{"service needs a DNS-1035 label", `{name: shop, svc: 1web}`, `c.yaml:19: Composition/app: spec.resources[1].template.metadata.name: instance App/default/i: resource "svc" (Service): rendered metadata.name "1web": a DNS-1035 label`},
		{"cronjob name length", `{name: shop, job: ` + strings.Repeat("j", 53) + `}`, `must be no more than 52 characters`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "c.yaml"), namesComposition)
			write(t, filepath.Join(dir, "i.yaml"), "apiVersion: example.com/v1alpha1\nkind: App\nmetadata: {name: i}\nspec: "+tc.spec+"\n")
			_, err := direct.Render(compileDir(t, dir), direct.Options{})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *composition.Error
			if !errors.As(err, &ce) || !strings.Contains(strings.ReplaceAll(err.Error(), dir+"/", ""), tc.want) {
				t.Fatalf("got %v\nwant a *composition.Error containing %s", err, tc.want)
			}
			if strings.Contains(err.Error(), strings.Repeat("a", 100)) {
				t.Errorf("a long name is quoted whole: %d characters", len(err.Error()))
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
