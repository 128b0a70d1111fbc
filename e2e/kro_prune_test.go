package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
)

// TestKroApplyPrune: kro-mode apply --prune --applyset deletes what the
// inputs no longer contain. Without --prune an instance removed from the
// files stays in the cluster (the gap issue 10 names); with it, the dry
// run lists it and deletes nothing, the real run deletes it (and KRO its
// resources) and a plain object, and leaves the rest unchanged. Members are
// listed by kubectl's applyset label.
func TestKroApplyPrune(t *testing.T) {
	suffix := fmt.Sprintf("%05x", rand.IntN(1<<20))
	kind := "PruneApp" + suffix
	group := "prune" + suffix + ".example.com"
	ns := createdByApply(t)("prune")
	dir := t.TempDir()
	writeFile(t, dir, "composition.yaml", `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata: {name: prune-`+suffix+`}
spec:
  apiVersion: `+group+`/v1
  kind: `+kind+`
  schema:
    spec: {value: string}
  resources:
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: "${schema.metadata.name}-config"}
        data: {value: "${schema.spec.value}"}
`)
	inst := func(name string) string {
		return "apiVersion: " + group + "/v1\nkind: " + kind + "\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec: {value: " + name + "}\n"
	}
	writeFile(t, dir, "instances/a.yaml", inst("a"))
	writeFile(t, dir, "instances/b.yaml", inst("b"))
	writeFile(t, dir, "plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: "+ns+"}\ndata: {k: v}\n")
	typekroDeleteAtEnd(t, nil, dir)
	gvk := schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind}
	cm := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	set := "--applyset=apps-" + suffix

	typekro(t, 0, "apply", dir, "--create-namespace", "--prune", set, "-n", ns, "--timeout", "3m")
	id := kubectl(t, "get", "secret", "apps-"+suffix, "-n", ns, "-o", `jsonpath={.metadata.labels.applyset\.kubernetes\.io/id}`)
	if !strings.HasPrefix(id, "applyset-") {
		t.Fatalf("parent id %q", id)
	}
	members := kubectl(t, "get", strings.ToLower(kind)+"."+group+",configmaps", "-n", ns, "-l", "applyset.kubernetes.io/part-of="+id, "-o", "name")
	mustContain(t, "kubectl get -l part-of", members, "/a\n", "/b\n", "configmap/plain")

	// b and the plain object leave the inputs.
	if err := os.Remove(filepath.Join(dir, "instances/b.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "plain.yaml")); err != nil {
		t.Fatal(err)
	}
	// Without --prune nothing is deleted.
	typekro(t, 0, "apply", dir, "-n", ns, "--timeout", "2m")
	if get(t, gvk, ns, "b") == nil {
		t.Fatal("apply without --prune deleted an instance")
	}
	r := typekro(t, 1, "diff", dir, set, "-n", ns)
	mustContain(t, "diff --applyset", r.Stdout, "--- live/"+strings.ToLower(kind)+"."+group+"/b -n "+ns, "+++ /dev/null", "--- live/configmap/plain -n "+ns)
	r = typekro(t, 0, "apply", dir, "--prune", set, "-n", ns, "--dry-run=server")
	mustContain(t, "dry run", r.Stdout,
		strings.ToLower(kind)+"."+group+"/b -n "+ns+" pruned (server dry run)",
		"configmap/plain -n "+ns+" pruned (server dry run)")
	if get(t, gvk, ns, "b") == nil || get(t, cm, ns, "plain") == nil {
		t.Fatal("a server dry run deleted something")
	}

	// a is "configured": the apply without --applyset took the membership
	// label off (server-side apply drops fields a manager stops sending),
	// and this one puts it back, as kubectl apply does.
	r = typekro(t, 0, "apply", dir, "--prune", set, "-n", ns, "--timeout", "2m")
	mustContain(t, "apply --prune", r.Stdout,
		strings.ToLower(kind)+"."+group+"/a -n "+ns+" configured",
		strings.ToLower(kind)+"."+group+"/b -n "+ns+" pruned",
		"configmap/plain -n "+ns+" pruned")
	if get(t, gvk, ns, "b") != nil || get(t, cm, ns, "plain") != nil {
		t.Error("pruned objects still exist")
	}
	if get(t, cm, ns, "b-config") != nil {
		t.Error("KRO did not delete the pruned instance's ConfigMap (apply --prune waits until the instance is gone)")
	}
	if get(t, gvk, ns, "a") == nil || get(t, cm, ns, "a-config") == nil {
		t.Error("prune deleted a member the inputs still contain")
	}
	// The parent records only what is left.
	gks := kubectl(t, "get", "secret", "apps-"+suffix, "-n", ns, "-o", `jsonpath={.metadata.annotations.applyset\.kubernetes\.io/contains-group-kinds}`)
	if want := kind + "." + group + ",ResourceGraphDefinition.kro.run"; gks != want {
		t.Errorf("parent's group-kinds %q, want %q", gks, want)
	}

	// Another tool's parent is refused before anything is written.
	kubectl(t, "create", "configmap", "foreign-"+suffix, "-n", ns)
	kubectl(t, "annotate", "configmap", "foreign-"+suffix, "-n", ns, "applyset.kubernetes.io/tooling=kubectl/v1.36")
	r = typekro(t, 1, "apply", dir, "--prune", "--applyset=configmap/foreign-"+suffix, "-n", ns)
	mustContain(t, "foreign parent", r.Stderr, `managed by "kubectl/v1.36"`, "nothing was written")

	// A member the inputs no longer hold goes with delete --applyset, and
	// so does the parent.
	writeFile(t, dir, "plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: "+ns+"}\ndata: {k: v}\n")
	typekro(t, 0, "apply", dir, "--prune", set, "-n", ns, "--timeout", "2m")
	if err := os.Remove(filepath.Join(dir, "plain.yaml")); err != nil {
		t.Fatal(err)
	}
	r = typekro(t, 0, "delete", dir, set, "-n", ns, "--timeout", "2m")
	mustContain(t, "delete --applyset", r.Stdout, "configmap/plain -n "+ns+" pruned", "secret/apps-"+suffix+" -n "+ns+" deleted")
	if get(t, gvk, ns, "a") != nil || get(t, cm, ns, "plain") != nil || get(t, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, ns, "apps-"+suffix) != nil {
		t.Error("delete --applyset left members or the parent")
	}
}

// kubectl runs kubectl and fails the test unless it exits 0.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := e2eutil.RunKubectl(t, args...)
	if code != 0 {
		t.Fatalf("kubectl %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}
