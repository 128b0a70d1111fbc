package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// rgd is an RGD of kind Shop whose spec schema lines are given (indented
// under spec:), with extra metadata lines (annotations).
func rgd(name, kind, meta string, spec ...string) string {
	return "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata:\n  name: " + name + "\n" + meta +
		"spec:\n  schema:\n    apiVersion: v1\n    kind: " + kind + "\n    spec:\n" +
		"      " + strings.Join(spec, "\n      ") + "\n" +
		"  resources:\n    - id: cm\n      template:\n        apiVersion: v1\n        kind: ConfigMap\n        metadata: {name: fixed}\n"
}

func definitions(t *testing.T, dir string, files map[string]string) []*compile.Definition {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := composition.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compile.Compile(set, compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Definitions
}

// TestCompare: each class of change KRO's comparator knows comes out as
// one line naming the instance field, at the line of the field in the new
// file, with the verdict KRO reaches (breaking, allowed or compatible).
func TestCompare(t *testing.T) {
	const allow = "  annotations:\n    kro.run/allow-breaking-changes: \"true\"\n"
	tests := []struct {
		name     string
		old, new []string
		meta     string // metadata lines of the new RGD
		want     []string
	}{
		{"field removed", []string{"a: string", "b: string"}, []string{"a: string"}, "",
			[]string{"shop.yaml:9: ResourceGraphDefinition/shop: spec.b: BREAKING PROPERTY_REMOVED (was string)"}},
		{"type changed", []string{"a: string"}, []string{"a: integer"}, "",
			[]string{"shop.yaml:10: ResourceGraphDefinition/shop: spec.a: BREAKING TYPE_CHANGED (was string, now integer)"}},
		{"existing field made required", []string{"a: string"}, []string{"a: string | required=true"}, "",
			[]string{"shop.yaml:10: ResourceGraphDefinition/shop: spec.a: BREAKING REQUIRED_ADDED (now required)"}},
		{"required field added", []string{"a: string"}, []string{"a: string", "b: string | required=true"}, "",
			[]string{"shop.yaml:11: ResourceGraphDefinition/shop: spec.b: BREAKING PROPERTY_ADDED (required, without a default)"}},
		{"enum narrowed", []string{`a: string | enum="x,y"`}, []string{`a: string | enum="x"`}, "",
			[]string{`shop.yaml:10: ResourceGraphDefinition/shop: spec.a: BREAKING ENUM_RESTRICTED (value "y" no longer allowed)`}},
		{"pattern added", []string{"a: string"}, []string{`a: string | pattern="^[a-z]+$"`}, "",
			[]string{"shop.yaml:10: ResourceGraphDefinition/shop: spec.a: BREAKING PATTERN_ADDED (now ^[a-z]+$)"}},
		{"minimum raised", []string{"n: integer | minimum=1"}, []string{"n: integer | minimum=3"}, "",
			[]string{"shop.yaml:10: ResourceGraphDefinition/shop: spec.n: BREAKING MINIMUM_INCREASED (was 1, now 3)"}},
		{"maxLength lowered", []string{"a: string | maxLength=10"}, []string{"a: string | maxLength=5"}, "",
			[]string{"shop.yaml:10: ResourceGraphDefinition/shop: spec.a: BREAKING MAX_LENGTH_DECREASED (was 10, now 5)"}},
		{"optional field added", []string{"a: string"}, []string{"a: string", "b: string"}, "",
			[]string{"shop.yaml:11: ResourceGraphDefinition/shop: spec.b: compatible PROPERTY_ADDED"}},
		{"enum widened", []string{`a: string | enum="x"`}, []string{`a: string | enum="x,y"`}, "",
			[]string{`shop.yaml:10: ResourceGraphDefinition/shop: spec.a: compatible ENUM_EXPANDED (value "y" added)`}},
		{"breaking, allowed by the annotation", []string{"a: string", "b: string"}, []string{"a: string"}, allow,
			[]string{"shop.yaml:11: ResourceGraphDefinition/shop: spec.b: BREAKING (allowed) PROPERTY_REMOVED (was string)"}},
		{"no change", []string{"a: string"}, []string{"a: string"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := definitions(t, t.TempDir(), map[string]string{"shop.yaml": rgd("shop", "Shop", "", tt.old...)})
			dir := t.TempDir()
			cur := definitions(t, dir, map[string]string{"shop.yaml": rgd("shop", "Shop", tt.meta, tt.new...)})
			report, err := Compare(cur[0], CRD(old[0]), Allows(cur[0]))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range report {
				got = append(got, strings.TrimPrefix(c.String(), dir+"/"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// Refused() is what fails validate and stops apply.
			if refused, want := len(report.Refused()) > 0, strings.Contains(strings.Join(tt.want, ""), ": BREAKING ") && !strings.Contains(strings.Join(tt.want, ""), "(allowed)"); refused != want {
				t.Errorf("Refused() non-empty = %v, want %v", refused, want)
			}
		})
	}
}

// TestCompareNested: changes inside lists and custom types name the
// instance field with [*] and are located at the field using the type.
func TestCompareNested(t *testing.T) {
	withTypes := func(item string) string {
		return strings.Replace(rgd("shop", "Shop", "", "items: '[]Item'"), "    spec:\n", "    types:\n      Item:\n        "+item+"\n    spec:\n", 1)
	}
	old := definitions(t, t.TempDir(), map[string]string{"shop.yaml": withTypes("name: string")})
	dir := t.TempDir()
	cur := definitions(t, dir, map[string]string{"shop.yaml": withTypes("name: integer")})
	report, err := Compare(cur[0], CRD(old[0]), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != 1 {
		t.Fatalf("want one change, got %v", report)
	}
	want := "shop.yaml:13: ResourceGraphDefinition/shop: spec.items[*].name: BREAKING TYPE_CHANGED (was string, now integer)"
	if got := strings.TrimPrefix(report[0].String(), dir+"/"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestAgainst reads the old definitions through git: a changed file, a
// file deleted since, a new file, and an RGD renamed while its kind stays
// (KRO refuses: the CRD carries the old RGD's name), each reported, in a
// fixed order.
func TestAgainst(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to read old revisions")
	}
	repo := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(repo, "defs", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitRun("init", "-q")
	write("shop.yaml", rgd("shop", "Shop", "", "a: string", "b: string"))
	write("gone.yaml", rgd("gone", "Gone", "", "a: string"))
	write("cart.yaml", rgd("cart", "Cart", "", "a: string"))
	gitRun("add", "-A")
	gitRun("commit", "-q", "-m", "old")
	write("shop.yaml", rgd("shop", "Shop", "", "a: string"))
	write("new.yaml", rgd("fresh", "Fresh", "", "a: string"))
	write("cart.yaml", rgd("basket", "Cart", "", "a: string"))
	if err := os.Remove(filepath.Join(repo, "defs", "gone.yaml")); err != nil {
		t.Fatal(err)
	}
	defs := filepath.Join(repo, "defs")
	tree, err := Checkout(context.Background(), "HEAD", []string{defs}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	oldDir, err := tree.Path(defs)
	if err != nil {
		t.Fatal(err)
	}
	old := definitions(t, oldDir, nil)
	cur := definitions(t, defs, nil)
	report, err := Against(cur, old, tree, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range report {
		s := c.String()
		s = strings.ReplaceAll(s, defs+"/", "")
		if real, err := filepath.EvalSymlinks(defs); err == nil {
			s = strings.ReplaceAll(s, real+"/", "")
		}
		got = append(got, s)
	}
	want := []string{
		"cart.yaml:4: ResourceGraphDefinition/basket: BREAKING OWNER_CHANGED (CRD carts.kro.run was generated for ResourceGraphDefinition cart and stays labelled with it; KRO refuses this even with kro.run/allow-breaking-changes)",
		"gone.yaml:4: ResourceGraphDefinition/gone: BREAKING DEFINITION_REMOVED (Gone is no longer defined: its instances lose their API and KRO stops reconciling them)",
		"new.yaml:8: ResourceGraphDefinition/fresh: compatible DEFINITION_ADDED (new kind Fresh)",
		"shop.yaml:9: ResourceGraphDefinition/shop: spec.b: BREAKING PROPERTY_REMOVED (was string)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(report.Refused()); n != 3 {
		t.Errorf("%d refused changes, want 3", n)
	}
	// With the flag every breaking change is allowed, except the owner
	// change: KRO refuses that whatever the annotation says.
	report, err = Against(cur, old, tree, true)
	if err != nil {
		t.Fatal(err)
	}
	if r := report.Refused(); len(r) != 1 || r[0].Type != OwnerChanged {
		t.Errorf("allowed: refused %v, want only the owner change", r)
	}
}

// TestOwner: KRO updates only a CRD it owns for the same RGD name; the
// refusal is not lifted by the allow annotation.
func TestOwner(t *testing.T) {
	dir := t.TempDir()
	def := definitions(t, dir, map[string]string{"shop.yaml": rgd("shop", "Shop", "", "a: string")})[0]
	tests := []struct {
		name   string
		labels map[string]string
		want   string // "" when KRO accepts the owner
	}{
		{"same RGD", map[string]string{"kro.run/owned": "true", "kro.run/resource-graph-definition-name": "shop"}, ""},
		{"another RGD", map[string]string{"kro.run/owned": "true", "kro.run/resource-graph-definition-name": "store"},
			"shop.yaml:8: ResourceGraphDefinition/shop: BREAKING OWNER_CHANGED (CRD shops.kro.run is owned by ResourceGraphDefinition store; KRO refuses this even with kro.run/allow-breaking-changes)"},
		{"not KRO's", nil,
			"shop.yaml:8: ResourceGraphDefinition/shop: BREAKING OWNER_CHANGED (CRD shops.kro.run exists and is not owned by KRO; KRO refuses this even with kro.run/allow-breaking-changes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := CRD(def).DeepCopy()
			live.Labels = tt.labels
			got := ""
			if c := Owner(def, live); c != nil {
				got = strings.TrimPrefix(c.String(), dir+"/")
				if !c.Refused() {
					t.Error("an owner change must be refused")
				}
			}
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
