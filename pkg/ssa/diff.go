package ssa

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Overlay approximates a merge: the live object with the desired object's
// top-level fields (spec, data...) and metadata labels and annotations.
func Overlay(live, desired *unstructured.Unstructured) *unstructured.Unstructured {
	if live == nil {
		return desired.DeepCopy()
	}
	m := live.DeepCopy()
	for k, v := range desired.DeepCopy().Object {
		if k != "metadata" && k != "status" {
			m.Object[k] = v
		}
	}
	labels, annotations := m.GetLabels(), m.GetAnnotations()
	for k, v := range desired.GetLabels() {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	for k, v := range desired.GetAnnotations() {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[k] = v
	}
	m.SetLabels(labels)
	m.SetAnnotations(annotations)
	return m
}

// UnifiedDiff renders a unified diff of two objects (either may be nil:
// nil live is a new object, nil merged one that would be deleted).
func UnifiedDiff(subject string, live, merged *unstructured.Unstructured) (string, error) {
	a, b := forDiff(live), forDiff(merged)
	if isSecret(live) || isSecret(merged) {
		if err := maskSecrets(a, b); err != nil {
			return "", err
		}
	}
	ya, err := toYAML(a)
	if err != nil {
		return "", err
	}
	yb, err := toYAML(b)
	if err != nil {
		return "", err
	}
	if ya == yb {
		return "", nil
	}
	from, to := "live/"+subject, "merged/"+subject
	if live == nil {
		from = "/dev/null"
	}
	if merged == nil {
		to = "/dev/null" // deleted
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(ya), B: lines(yb),
		FromFile: from, ToFile: to, Context: 3,
	})
}

// lines splits YAML for difflib; an absent object has no lines at all
// (difflib.SplitLines("") would give one empty line).
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(s, "\n"))
}

func toYAML(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	b, err := yaml.Marshal(u.Object)
	return string(b), err
}

// forDiff drops what the server sets and nobody applies: managed fields,
// resourceVersion, uid, generation, timestamps, and status.
func forDiff(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	c := u.DeepCopy()
	delete(c.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c
}

func isSecret(u *unstructured.Unstructured) bool {
	return u != nil && u.GetKind() == "Secret" && u.GetAPIVersion() == "v1"
}

// maskSecrets replaces Secret values with fluxcd's masks, as kubectl diff
// does: "***" when a value is the same on both sides, "*** (before)" and
// "*** (after)" when it changes, so a diff shows which keys change without
// their values. maskData masks data; stringData
// (write-only, but in the desired object) goes through it the same way.
func maskSecrets(live, merged *unstructured.Unstructured) error {
	if err := maskData(live, merged); err != nil {
		return err
	}
	swap := func(u *unstructured.Unstructured) map[string]any {
		if u == nil {
			return nil
		}
		data, hasData := u.Object["data"]
		u.Object["data"] = u.Object["stringData"]
		if u.Object["data"] == nil {
			delete(u.Object, "data")
		}
		if !hasData {
			return nil
		}
		return map[string]any{"data": data}
	}
	restore := func(u *unstructured.Unstructured, saved map[string]any) {
		if u == nil {
			return
		}
		if sd, ok := u.Object["data"]; ok {
			u.Object["stringData"] = sd
		}
		delete(u.Object, "data")
		if saved != nil {
			u.Object["data"] = saved["data"]
		}
	}
	sa, sb := swap(live), swap(merged)
	err := maskData(live, merged)
	restore(live, sa)
	restore(merged, sb)
	return err
}

// CRDGroupVersions lists "group/version" for every version of a CRD.
func CRDGroupVersions(crd *unstructured.Unstructured) []string {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var out []string
	for _, v := range versions {
		if m, ok := v.(map[string]any); ok {
			if name, ok := m["name"].(string); ok {
				out = append(out, group+"/"+name)
			}
		}
	}
	return out
}
