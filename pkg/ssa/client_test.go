package ssa

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/internal/testobj"
)

// u parses a test object.
var u = testobj.YAML

func TestSubject(t *testing.T) {
	for y, want := range map[string]string{
		`{apiVersion: kro.run/v1alpha1, kind: ResourceGraphDefinition, metadata: {name: kro-webapp}}`:          "resourcegraphdefinition.kro.run/kro-webapp",
		`{apiVersion: v1, kind: Service, metadata: {name: s, namespace: prod}}`:                                "service/s -n prod",
		`{apiVersion: example.com/v1alpha1, kind: KroWebApp, metadata: {name: webapp, namespace: production}}`: "krowebapp.example.com/webapp -n production",
	} {
		if got := Subject(u(t, y)); got != want {
			t.Errorf("Subject = %q, want %q", got, want)
		}
	}
	o := &Object{Obj: u(t, `{apiVersion: v1, kind: Namespace, metadata: {name: x}}`), Action: CreatedAction}
	if got := o.Entry().String(); got != "namespace/x created" {
		t.Errorf("entry = %q", got)
	}
}

func TestDrifted(t *testing.T) {
	live := u(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: a, resourceVersion: "5", labels: {app: a}}
spec: {replicas: 3}
status: {readyReplicas: 3}`)
	live.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "typekro", Operation: metav1.ManagedFieldsOperationApply}})
	same := live.DeepCopy()
	unstructured.RemoveNestedField(same.Object, "status")
	if Drifted(live, same, "typekro") {
		t.Error("status-only difference counted as drift")
	}
	more := same.DeepCopy()
	_ = unstructured.SetNestedField(more.Object, int64(4), "spec", "replicas")
	if !Drifted(live, more, "typekro") {
		t.Error("spec change not detected")
	}
	if !Drifted(live, same, "other") {
		t.Error("an object typekro does not own yet must be applied to take ownership")
	}
	relabeled := same.DeepCopy()
	relabeled.SetLabels(map[string]string{"app": "b"})
	if !Drifted(live, relabeled, "typekro") {
		t.Error("label change not detected")
	}
}

func TestMaskSecrets(t *testing.T) {
	live := u(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {same: YQ==, changed: Yg==, removed: Yw==}}`)
	merged := u(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {same: YQ==, changed: ZA==, added: ZQ==}, stringData: {plain: hunter2}}`)
	text, err := UnifiedDiff("secret/s", live, merged)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"YQ==", "Yg==", "Yw==", "ZA==", "ZQ==", "hunter2"} {
		if strings.Contains(text, secret) {
			t.Errorf("diff leaks %q:\n%s", secret, text)
		}
	}
	for _, want := range []string{"-  changed: '*** (before)'", "+  changed: '*** (after)'", "+  added: '***'", "-  removed: '***'", "+  plain: '***'", "--- live/secret/s", "+++ merged/secret/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "-  same:") || strings.Contains(text, "+  same:") {
		t.Errorf("unchanged key shown as changed:\n%s", text)
	}
}

func TestUnifiedStripsServerFields(t *testing.T) {
	live := u(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, uid: "1", resourceVersion: "9", creationTimestamp: "2025-01-01T00:00:00Z", managedFields: [{manager: x}]}
data: {a: "1"}`)
	merged := live.DeepCopy()
	_ = unstructured.SetNestedField(merged.Object, "2", "data", "a")
	_ = unstructured.SetNestedField(merged.Object, "10", "metadata", "resourceVersion")
	text, err := UnifiedDiff("configmap/c", live, merged)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "resourceVersion") || strings.Contains(text, "managedFields") || strings.Contains(text, "uid") {
		t.Errorf("server fields in diff:\n%s", text)
	}
	if !strings.Contains(text, `-  a: "1"`) || !strings.Contains(text, `+  a: "2"`) {
		t.Errorf("change missing:\n%s", text)
	}
	created, _ := UnifiedDiff("configmap/c", nil, merged)
	if !strings.HasPrefix(created, "--- /dev/null") {
		t.Errorf("new object should diff from /dev/null:\n%s", created)
	}
	deleted, _ := UnifiedDiff("configmap/c", live, nil)
	if !strings.Contains(deleted, "--- live/configmap/c\n+++ /dev/null\n") || !strings.Contains(deleted, `-  a: "1"`) {
		t.Errorf("deleted object should diff to /dev/null:\n%s", deleted)
	}
}
