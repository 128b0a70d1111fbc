package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// compatRGD is an RGD of kind Compat<Kind> (group e2e.typekro.dev) with the
// given spec schema lines and metadata lines.
func compatRGD(name, kind, meta string, spec ...string) string {
	return "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata:\n  name: " + name + "\n" + meta +
		"spec:\n  schema:\n    apiVersion: v1alpha1\n    group: e2e.typekro.dev\n    kind: " + kind + "\n    spec:\n" +
		"      " + strings.Join(spec, "\n      ") + "\n" +
		"  resources:\n    - id: cm\n      template:\n        apiVersion: v1\n        kind: ConfigMap\n" +
		"        metadata: {name: \"${schema.metadata.name}-cm\"}\n"
}

// TestCompatPrediction: for every class of change KRO's breaking-change
// check knows (reachable from SimpleSchema) and four compatible ones,
// typekro's prediction offline (validate --against HEAD in a git repo)
// and online (diff against the served CRD) equals what the KRO controller
// does when the new RGD is server-side applied as it is: KindReady False
// for the new generation ("breaking changes detected") or the new
// generation Ready. One RGD per case; the cases run in parallel.
func TestCompatPrediction(t *testing.T) {
	tests := []struct {
		id       string
		old, new []string
		change   string // the change type typekro must name
		breaking bool   // what KRO must do (refuse) — checked, not assumed
		// version is the new RGD's apiVersion, when it changes. No case
		// uses it: the RGD's spec.schema.apiVersion is immutable, so the
		// API server refuses the update before KRO sees it (typekro
		// reports it as BREAKING TYPE_CHANGED at spec.schema.apiVersion).
		version string
	}{
		{"removed", []string{"a: string", "b: string"}, []string{"a: string"}, "PROPERTY_REMOVED", true, ""},
		{"type", []string{"a: string"}, []string{"a: integer"}, "TYPE_CHANGED", true, ""},
		{"required", []string{"a: string"}, []string{"a: string | required=true"}, "REQUIRED_ADDED", true, ""},
		{"newrequired", []string{"a: string"}, []string{"a: string", "b: string | required=true"}, "PROPERTY_ADDED", true, ""},
		{"enum", []string{`a: string | enum="x,y"`}, []string{`a: string | enum="x"`}, "ENUM_RESTRICTED", true, ""},
		{"patternadded", []string{"a: string"}, []string{`a: string | pattern="^[a-z]+$"`}, "PATTERN_ADDED", true, ""},
		{"patternchanged", []string{`a: string | pattern="^[a-z]+$"`}, []string{`a: string | pattern="^[a-c]+$"`}, "PATTERN_CHANGED", true, ""},
		{"minadded", []string{"size: integer"}, []string{"size: integer | minimum=1"}, "MINIMUM_ADDED", true, ""},
		{"minraised", []string{"size: integer | minimum=1"}, []string{"size: integer | minimum=2"}, "MINIMUM_INCREASED", true, ""},
		{"maxadded", []string{"size: integer"}, []string{"size: integer | maximum=9"}, "MAXIMUM_ADDED", true, ""},
		{"maxlowered", []string{"size: integer | maximum=9"}, []string{"size: integer | maximum=5"}, "MAXIMUM_DECREASED", true, ""},
		{"minlength", []string{"a: string"}, []string{"a: string | minLength=2"}, "MIN_LENGTH_ADDED", true, ""},
		{"maxlength", []string{"a: string | maxLength=9"}, []string{"a: string | maxLength=5"}, "MAX_LENGTH_DECREASED", true, ""},
		{"minitems", []string{"l: '[]string'"}, []string{"l: '[]string | minItems=1'"}, "MIN_ITEMS_ADDED", true, ""},
		{"maxitems", []string{"l: '[]string | maxItems=5'"}, []string{"l: '[]string | maxItems=2'"}, "MAX_ITEMS_DECREASED", true, ""},
		{"added", []string{"a: string"}, []string{"a: string", "b: string"}, "PROPERTY_ADDED", false, ""},
		{"enumwidened", []string{`a: string | enum="x"`}, []string{`a: string | enum="x,y"`}, "ENUM_EXPANDED", false, ""},
		{"maxraised", []string{"size: integer | maximum=5"}, []string{"size: integer | maximum=9"}, "MAXIMUM_INCREASED", false, ""},
		{"notrequired", []string{"a: string | required=true"}, []string{"a: string"}, "REQUIRED_REMOVED", false, ""},
		{"defaultremoved", []string{`a: string | required=true default="x"`}, []string{"a: string | required=true"}, "REQUIRED_DEFAULT_REMOVED", true, ""},
		{"described", []string{"a: string"}, []string{`a: string | description="the a"`}, "DESCRIPTION_CHANGED", false, ""},
	}
	c := e2eutil.Clients(t)
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			name, kind := "e2e-compat-"+tt.id, "Compat"+strings.ToUpper(tt.id[:1])+tt.id[1:]
			crd := strings.ToLower(kind) + "s.e2e.typekro.dev"
			deleteRGDAndCRDAtEnd(t, crd, name)
			repo := gitRepo(t)
			file := filepath.Join(repo, "rgd.yaml")
			writeFile(t, repo, "rgd.yaml", compatRGD(name, kind, "", tt.old...))
			git(t, repo, "add", "-A")
			git(t, repo, "commit", "-q", "-m", "old")
			applyRGDAndWait(t, compatRGD(name, kind, "", tt.old...))

			newRGD := compatRGD(name, kind, "", tt.new...)
			if tt.version != "" {
				newRGD = strings.Replace(newRGD, "apiVersion: v1alpha1", "apiVersion: "+tt.version, 1)
			}
			writeFile(t, repo, "rgd.yaml", newRGD)
			verdict := "compatible " + tt.change
			if tt.breaking {
				verdict = "BREAKING " + tt.change
			}
			want := 0
			if tt.breaking {
				want = 1
			}
			// Offline: the file against its committed version.
			off := e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.TypekroBin(t), Args: []string{"validate", "rgd.yaml", "--against", "HEAD", "-v=1"}, Dir: repo})
			if off.ExitCode != want {
				t.Errorf("validate --against: exit %d, want %d\n%s%s", off.ExitCode, want, off.Stdout, off.Stderr)
			}
			mustContain(t, "validate --against stdout", off.Stdout, "ResourceGraphDefinition/"+name+": ", verdict)
			// Online: the file against the served CRD (diff exits 1 anyway:
			// the RGD differs).
			on := typekro(t, 1, "diff", file, "-v=1", "--force-conflicts")
			mustContain(t, "diff stdout", on.Stdout, "ResourceGraphDefinition/"+name+": ", verdict)
			if predicted := strings.Contains(on.Stdout, ": BREAKING "); predicted != tt.breaking {
				t.Errorf("diff predicts breaking=%v, want %v:\n%s", predicted, tt.breaking, on.Stdout)
			}
			if predicted := strings.Contains(off.Stdout, ": BREAKING "); predicted != tt.breaking {
				t.Errorf("validate --against predicts breaking=%v, want %v:\n%s", predicted, tt.breaking, off.Stdout)
			}

			// What KRO does with the same RGD, applied as it is.
			refused, msg := kroVerdict(t, c.Apply(t, e2eutil.Object(t, newRGD)))
			if refused != tt.breaking {
				t.Errorf("KRO refused=%v (%s), typekro predicted breaking=%v", refused, msg, tt.breaking)
			}
			if refused && !strings.Contains(msg, "breaking changes detected") {
				t.Errorf("KRO refused for another reason: %s", msg)
			}
		})
	}
}

// TestCompatApplyGuard: apply refuses a breaking change and writes nothing;
// with --allow-breaking-changes it sets KRO's annotation, lists the live
// instance the new schema rejects (it sets the removed field), KRO accepts
// the change, and the instance is applied against the new schema.
func TestCompatApplyGuard(t *testing.T) {
	ns := e2eutil.Namespace(t)
	const name, kind, crd = "e2e-compat-guard", "CompatGuard", "compatguards.e2e.typekro.dev"
	deleteRGDAndCRDAtEnd(t, crd, name)
	dir := t.TempDir()
	// Runs first: the instance goes while KRO still runs its controller
	// (which removes its finalizer).
	typekroDeleteAtEnd(t, nil, dir)
	instance := func(spec string) string {
		return "apiVersion: e2e.typekro.dev/v1alpha1\nkind: CompatGuard\nmetadata: {name: one, namespace: " + ns + "}\nspec: " + spec + "\n"
	}
	writeFile(t, dir, "rgd.yaml", compatRGD(name, kind, "", "a: string", "b: string"))
	writeFile(t, dir, "instance.yaml", instance("{a: x, b: y}"))
	typekro(t, 0, "apply", dir)

	writeFile(t, dir, "rgd.yaml", compatRGD(name, kind, "", "a: string"))
	writeFile(t, dir, "instance.yaml", instance("{a: z}"))
	before := getRGD(t, name)
	r := typekro(t, 1, "apply", dir)
	mustContain(t, "stderr", r.Stderr, "rgd.yaml:10: ResourceGraphDefinition/"+name+": spec.b: BREAKING PROPERTY_REMOVED (was string)",
		"nothing was written", "--allow-breaking-changes")
	after := getRGD(t, name)
	// KRO writes status meanwhile: the generation shows a spec write.
	if after.GetGeneration() != before.GetGeneration() {
		t.Errorf("the refused apply changed the RGD: generation %d -> %d", before.GetGeneration(), after.GetGeneration())
	}
	inst := get(t, schema.GroupVersionKind{Group: "e2e.typekro.dev", Version: "v1alpha1", Kind: kind}, ns, "one")
	if a, _, _ := unstructured.NestedString(inst.Object, "spec", "a"); a != "x" {
		t.Errorf("the refused apply changed the instance: spec.a = %q", a)
	}

	r = typekro(t, 0, "apply", dir, "--allow-breaking-changes")
	mustContain(t, "stderr", r.Stderr, "spec.b: BREAKING (allowed) PROPERTY_REMOVED (was string)",
		"1 live CompatGuard instance(s) the new schema rejects", ns+"/one: spec.b: unknown field")
	rgd := getRGD(t, name)
	if rgd.GetAnnotations()["kro.run/allow-breaking-changes"] != "true" {
		t.Errorf("RGD lacks KRO's allow annotation: %v", rgd.GetAnnotations())
	}
	if refused, msg := kroVerdict(t, rgd); refused {
		t.Errorf("KRO refused the allowed change: %s", msg)
	}
	served := getCRD(t, crd)
	versions, _, _ := unstructured.NestedSlice(served.Object, "spec", "versions")
	if len(versions) != 1 {
		t.Fatalf("CRD %s has %d versions, want 1", crd, len(versions))
	}
	v, _ := versions[0].(map[string]any)
	if _, found, _ := unstructured.NestedMap(v, "schema", "openAPIV3Schema", "properties", "spec", "properties", "b"); found {
		t.Error("the served CRD still has spec.b")
	}
	inst = get(t, schema.GroupVersionKind{Group: "e2e.typekro.dev", Version: "v1alpha1", Kind: kind}, ns, "one")
	if a, _, _ := unstructured.NestedString(inst.Object, "spec", "a"); a != "z" {
		t.Errorf("instance not updated: spec.a = %q", a)
	}
}

// TestCompatOwner: a second RGD defining a kind another RGD owns is
// predicted as OWNER_CHANGED by diff, refused by apply even with
// --allow-breaking-changes (nothing written), and refused by KRO.
func TestCompatOwner(t *testing.T) {
	const kind, crd = "CompatOwner", "compatowners.e2e.typekro.dev"
	deleteRGDAndCRDAtEnd(t, crd, "e2e-compat-owner-a", "e2e-compat-owner-b")
	applyRGDAndWait(t, compatRGD("e2e-compat-owner-a", kind, "", "a: string"))
	dir := t.TempDir()
	second := compatRGD("e2e-compat-owner-b", kind, "", "a: string")
	writeFile(t, dir, "rgd.yaml", second)
	want := "ResourceGraphDefinition/e2e-compat-owner-b: BREAKING OWNER_CHANGED (CRD " + crd + " is owned by ResourceGraphDefinition e2e-compat-owner-a"
	r := typekro(t, 1, "diff", dir)
	mustContain(t, "diff stdout", r.Stdout, want)
	r = typekro(t, 1, "apply", dir, "--allow-breaking-changes")
	mustContain(t, "apply stderr", r.Stderr, want, "nothing was written", "a kind owned by another RGD is refused whatever the annotation")
	if getRGD(t, "e2e-compat-owner-b") != nil {
		t.Fatal("the refused apply created the RGD")
	}
	refused, msg := kroVerdict(t, e2eutil.Clients(t).Apply(t, e2eutil.Object(t, second)))
	if !refused || !strings.Contains(msg, "owned by another ResourceGraphDefinition") {
		t.Errorf("KRO: refused=%v (%s), typekro predicted a refusal for the owner", refused, msg)
	}
}

// kroVerdict waits until KRO has reconciled the RGD's current generation
// and reports whether it refused the CRD update (KindReady False) or made
// the RGD Ready.
func kroVerdict(t *testing.T, applied *unstructured.Unstructured) (refused bool, msg string) {
	t.Helper()
	gen := applied.GetGeneration()
	ri := e2eutil.Clients(t).Dynamic.Resource(e2eutil.RGDGVR)
	e2eutil.WaitForObject(t, ri, applied.GetName(), 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		kind := conditionAt(obj, "KindReady", gen)
		ready := conditionAt(obj, "Ready", gen)
		switch {
		case kind != nil && kind["status"] == "False":
			refused, msg = true, fmt.Sprint(kind["message"])
			return true, nil
		case ready != nil && ready["status"] == "True" && kind != nil && kind["status"] == "True":
			refused, msg = false, "Ready"
			return true, nil
		}
		return false, nil
	})
	return refused, msg
}

// conditionAt is the condition of type typ observed for generation gen.
func conditionAt(obj *unstructured.Unstructured, typ string, gen int64) map[string]any {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != typ {
			continue
		}
		if og, ok := m["observedGeneration"].(int64); ok && og == gen {
			return m
		}
	}
	return nil
}

// applyRGDAndWait server-side applies an RGD and waits until KRO made it
// Ready for that generation.
func applyRGDAndWait(t *testing.T, manifest string) {
	t.Helper()
	applied := e2eutil.Clients(t).Apply(t, e2eutil.Object(t, manifest))
	if refused, msg := kroVerdict(t, applied); refused {
		t.Fatalf("KRO refused the first version of %s: %s", applied.GetName(), msg)
	}
}

func getCRD(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := e2eutil.Clients(t).Dynamic.Resource(crdGVR).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get CRD %s: %v", name, err)
	}
	return obj
}

// deleteRGDAndCRDAtEnd removes the RGDs of a kind and its CRD (KRO keeps
// a CRD when its RGD goes) now, left over from an earlier run, and when the
// test ends.
func deleteRGDAndCRDAtEnd(t *testing.T, crd string, rgds ...string) {
	t.Helper()
	c := e2eutil.Clients(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := removeRGDAndCRD(ctx, c, crd, rgds...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := removeRGDAndCRD(ctx, c, crd, rgds...); err != nil {
			t.Error(err)
		}
	})
}

// removeRGDAndCRD deletes the RGDs and waits until they are gone (KRO's
// finalizer has run: a KRO still reconciling one would create the CRD
// again), then deletes the CRD and waits until it is gone (the next run
// creates the kind again, and a terminating or stale CRD would refuse or
// decide its first version).
func removeRGDAndCRD(ctx context.Context, c *e2eutil.ClientSet, crd string, rgds ...string) error {
	type object struct {
		ri   dynamic.ResourceInterface
		name string
	}
	var steps []object
	for _, rgd := range rgds {
		steps = append(steps, object{c.Dynamic.Resource(e2eutil.RGDGVR), rgd})
	}
	for _, step := range append(steps, object{c.Dynamic.Resource(crdGVR), crd}) {
		if err := step.ri.Delete(ctx, step.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", step.name, err)
		}
		for {
			if _, err := step.ri.Get(ctx, step.name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s still exists after its deletion: %w", step.name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// gitRepo makes a fresh git repository with an identity for commits.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	git(t, dir, "config", "user.email", "e2e@typekro.dev")
	git(t, dir, "config", "user.name", "e2e")
	return dir
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
