package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/typekro/kubectl-typekro/pkg/compat"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// liveCRD returns the CRD the cluster has under name, or nil.
func (e *Engine) liveCRD(ctx context.Context, name string) (*extv1.CustomResourceDefinition, error) {
	u, err := e.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get CustomResourceDefinition %s: %w", name, err)
	}
	crd := &extv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, crd); err != nil {
		return nil, fmt.Errorf("CustomResourceDefinition %s: %w", name, err)
	}
	return crd, nil
}

// SchemaChanges runs KRO's checks on every definition against the CRD the
// cluster serves for its kind: the ownership rule, then KRO's breaking-change
// comparator (see package compat). A kind the cluster does not serve yet is
// DEFINITION_ADDED. allow marks breaking changes allowed (the user's flag);
// an RGD with KRO's allow annotation has its own allowed either way.
func (e *Engine) SchemaChanges(ctx context.Context, defs []*compile.Definition, allow bool) (compat.Report, error) {
	var out compat.Report
	for _, d := range defs {
		crd := compat.CRD(d)
		if crd == nil {
			continue
		}
		live, err := e.liveCRD(ctx, crd.Name)
		if err != nil {
			return nil, err
		}
		if live == nil {
			out = append(out, compat.Added(d))
			continue
		}
		if c := compat.Owner(d, live); c != nil {
			out = append(out, *c)
			continue
		}
		changes, err := compat.Compare(d, live, allow || compat.Allows(d))
		if err != nil {
			return nil, err
		}
		out = append(out, changes...)
	}
	out.Sort()
	return out, nil
}

// GuardOptions tune GuardSchemas.
type GuardOptions struct {
	// Allow is --allow-breaking-changes: apply breaking changes, setting
	// KRO's annotation on the RGDs that have them.
	Allow bool
}

// RefusedError is a breaking change apply will not make.
type RefusedError struct{ Changes compat.Report }

func (e *RefusedError) Error() string {
	owner := false
	for _, c := range e.Changes {
		owner = owner || c.Type == compat.OwnerChanged
	}
	msg := fmt.Sprintf("nothing was written: %d breaking change(s) KRO would refuse (the RGD would stay Inactive). If they are intended, pass --allow-breaking-changes (typekro sets %s: \"true\" on the RGD and lists the instances the new schema rejects), or annotate the RGD yourself", len(e.Changes), compat.AllowAnnotation)
	if owner {
		msg += "; a kind owned by another RGD is refused whatever the annotation: delete that RGD (and the CRD) or rename the kind"
	}
	return msg
}

// GuardSchemas is apply's breaking-change guard, run before anything is
// written. It prints the breaking changes to w; a change KRO would refuse
// fails the apply with a *RefusedError. With o.Allow, each RGD with a
// breaking change gets KRO's allow annotation in set, and the live
// instances of its kind that the new schema rejects are listed on w.
func (e *Engine) GuardSchemas(ctx context.Context, set *Set, defs []*compile.Definition, o GuardOptions, w io.Writer) (compat.Report, error) {
	report, err := e.SchemaChanges(ctx, defs, o.Allow)
	if err != nil {
		return nil, err
	}
	report.Write(w, false)
	if refused := report.Refused(); len(refused) > 0 {
		return report, &RefusedError{Changes: refused}
	}
	byName := map[string]*compile.Definition{}
	for _, d := range defs {
		byName[d.Name()] = d
	}
	done := map[string]bool{}
	for _, c := range report.Breaking() {
		d := byName[c.Definition]
		if d == nil || done[c.Definition] {
			continue
		}
		done[c.Definition] = true
		if o.Allow && !compat.Allows(d) {
			set.allowBreaking(d.Name())
		}
		affected, err := e.AffectedInstances(ctx, d)
		if err != nil {
			return report, err
		}
		fmt.Fprintf(w, "%s: breaking changes allowed; %d live %s instance(s) the new schema rejects\n", c.Doc, len(affected), d.GVK.Kind)
		for _, a := range affected {
			fmt.Fprintln(w, "  "+a)
		}
	}
	return report, nil
}

// allowBreaking sets KRO's allow annotation on the RGD named name (on a
// copy: the compile result keeps the RGD as written).
func (s *Set) allowBreaking(name string) {
	for i, o := range s.Objects {
		if o.Role != render.RoleRGD || o.Object.GetName() != name {
			continue
		}
		u := o.Object.DeepCopy()
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[compat.AllowAnnotation] = "true"
		u.SetAnnotations(ann)
		s.Objects[i].Object = u
	}
}

// AffectedInstances lists the live instances of def's kind (all
// namespaces) that the schema KRO would generate from def rejects, as
// typekro checks an instance file: unknown fields (a removed field still
// set), types, required fields, enums, patterns, bounds. Each is
// "namespace/name: field: message"; status is left out (KRO rewrites it).
func (e *Engine) AffectedInstances(ctx context.Context, def *compile.Definition) ([]string, error) {
	crd := compat.CRD(def)
	live, err := e.liveCRD(ctx, crd.Name)
	if err != nil || live == nil || len(live.Spec.Versions) == 0 {
		return nil, err
	}
	var version string
	for _, v := range live.Spec.Versions {
		if v.Storage {
			version = v.Name
		}
	}
	gvr := schema.GroupVersionResource{Group: live.Spec.Group, Version: version, Resource: live.Spec.Names.Plural}
	list, err := e.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", def.GVK.Kind, err)
	}
	var out []string
	for _, item := range list.Items {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": def.GVK.GroupVersion().String(), "kind": def.GVK.Kind}}
		u.SetName(item.GetName())
		u.SetNamespace(item.GetNamespace())
		u.SetLabels(item.GetLabels())
		u.SetAnnotations(item.GetAnnotations())
		if spec, ok := item.Object["spec"]; ok {
			u.Object["spec"] = spec
		}
		ref := item.GetName()
		if ns := item.GetNamespace(); ns != "" {
			ref = ns + "/" + ref
		}
		for _, fe := range def.Check(u) {
			msg := fe.Msg
			if fe.Field != "" {
				msg = fe.Field + ": " + msg
			}
			out = append(out, ref+": "+msg)
		}
	}
	sort.Strings(out)
	return out, nil
}

// servesSchema is ready when the CRD is Established and serves exactly
// the schema KRO generates from the RGD being applied: KRO updates the CRD
// some time after it accepts the RGD, and an instance applied before that
// is checked (and pruned) by the API server against the old schema.
func servesSchema(want *extv1.CustomResourceDefinition) readiness.Check {
	wanted := map[string]any{}
	for _, v := range want.Spec.Versions {
		if v.Schema != nil {
			wanted[v.Name] = normalized(v.Schema.OpenAPIV3Schema)
		}
	}
	return func(obj *unstructured.Unstructured) readiness.Verdict {
		v := readiness.CRDEstablished(obj)
		if !v.Ready {
			return v
		}
		versions, _, _ := unstructured.NestedSlice(obj.Object, "spec", "versions")
		for name, w := range wanted {
			var served any
			for _, raw := range versions {
				vm, _ := raw.(map[string]any)
				if vm["name"] == name {
					served, _, _ = unstructured.NestedFieldNoCopy(vm, "schema", "openAPIV3Schema")
				}
			}
			if !reflect.DeepEqual(normalized(served), w) {
				return readiness.Verdict{Message: "Established, still serving the old schema of version " + name}
			}
		}
		return readiness.Verdict{Ready: true, Message: "Established with the new schema"}
	}
}

// normalized is v through JSON, so typed and unstructured schemas (and
// 1 vs 1.0) compare equal.
func normalized(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}
