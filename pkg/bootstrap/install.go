package bootstrap

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// GVRs bootstrap reads directly.
var (
	RGDResource        = schema.GroupVersionResource{Group: "kro.run", Version: "v1alpha1", Resource: "resourcegraphdefinitions"}
	DeploymentResource = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// Installer applies and removes the KRO manifests through typekro's
// server-side apply client and readiness waiter.
type Installer struct {
	Client *ssa.Client
	// Out receives one change-set line per object; Progress the wait
	// progress. Either may be nil.
	Out, Progress io.Writer
}

// Options shape an install.
type Options struct {
	DryRun bool // server-side dry run: nothing is stored, nothing waited for
	Force  bool // take over fields other field managers own
}

// Stages splits the manifests into what must exist first (CRDs, and the
// Namespace the rest lives in) and the rest.
func Stages(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	var first, rest []*unstructured.Unstructured
	for _, o := range objs {
		if IsCRD(o) || o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	return [][]*unstructured.Unstructured{first, rest}
}

// ToWrite are the planned objects applying would change: re-running
// bootstrap on an installed KRO writes nothing.
func ToWrite(items []*ssa.Object) []*ssa.Object {
	var out []*ssa.Object
	for _, it := range items {
		if it.Action != ssa.UnchangedAction {
			out = append(out, it)
		}
	}
	return out
}

// Install applies the manifests stage by stage: CRDs and the Namespace,
// waiting for the CRDs to be Established, then the rest, waiting for the
// controller Deployment to be Available.
func (in *Installer) Install(ctx context.Context, objs []*unstructured.Unstructured, o Options) ([]ssa.ChangeSetEntry, error) {
	var entries []ssa.ChangeSetEntry
	newNamespaces := map[string]bool{}
	for i, stage := range Stages(objs) {
		items := make([]*ssa.Object, len(stage))
		for j, u := range stage {
			items[j] = &ssa.Object{Obj: u.DeepCopy()}
			if err := in.mapKind(items[j]); err != nil {
				return entries, err
			}
		}
		for _, it := range items {
			if err := in.plan(ctx, it, o, newNamespaces); err != nil {
				return entries, err
			}
			if it.Obj.GetKind() == "Namespace" && it.Action == ssa.CreatedAction {
				newNamespaces[it.Obj.GetName()] = true
			}
		}
		if !o.DryRun {
			for _, it := range ToWrite(items) {
				if _, err := in.Client.Apply(ctx, it, false, o.Force); err != nil {
					return entries, ssa.ApplyError(err, it.Obj)
				}
			}
		}
		for _, it := range items {
			entries = append(entries, it.Entry())
			in.print(it, o.DryRun)
		}
		if o.DryRun {
			continue
		}
		if err := in.wait(ctx, items); err != nil {
			return entries, err
		}
		if i == 0 {
			// The new kinds are served only now.
			in.Client.Mapper.Reset()
		}
	}
	return entries, nil
}

func (in *Installer) mapKind(it *ssa.Object) error {
	ok, err := in.Client.Map(it)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: the cluster does not serve %s", ssa.Subject(it.Obj), it.Obj.GroupVersionKind())
	}
	return nil
}

// plan decides the object's action with a server-side dry run. In a dry
// run, objects in a namespace that does not exist yet are validated with a
// dry-run create elsewhere: the server would refuse the apply.
func (in *Installer) plan(ctx context.Context, it *ssa.Object, o Options, newNamespaces map[string]bool) error {
	if o.DryRun && it.Namespaced && newNamespaces[it.Obj.GetNamespace()] {
		it.Action = ssa.CreatedAction
		return in.Client.CreateDryRun(ctx, it, "default")
	}
	return in.Client.DryRun(ctx, it, o.Force)
}

func (in *Installer) print(it *ssa.Object, dryRun bool) {
	if in.Out == nil {
		return
	}
	suffix := ""
	if dryRun {
		suffix = " (server dry run)"
	}
	fmt.Fprintf(in.Out, "%s %s%s\n", ssa.Subject(it.Obj), it.Action, suffix)
}

// wait waits for the stage's CRDs to be Established and its Deployments
// Available.
func (in *Installer) wait(ctx context.Context, items []*ssa.Object) error {
	var targets []readiness.Target
	for _, it := range items {
		t := readiness.Target{GVR: it.Mapping.Resource, Namespace: it.Obj.GetNamespace(), Name: it.Obj.GetName(), Ref: ssa.Subject(it.Obj)}
		switch {
		case IsCRD(it.Obj):
			t.Want, t.Check = "Established", readiness.CRDEstablished
		case it.Obj.GetKind() == "Deployment":
			t.Want, t.Check = "Available", DeploymentAvailable
		default:
			continue
		}
		targets = append(targets, t)
	}
	w := &readiness.Waiter{Client: in.Client.Dynamic, Progress: in.Progress, Explain: &readiness.Explainer{Client: in.Client.Dynamic, Mapper: in.Client.Mapper}}
	_, err := w.Wait(ctx, targets)
	return err
}

// DeploymentAvailable is kstatus's verdict on a Deployment (the rollout of
// the current generation finished and the Available condition is True),
// as Flux's health checks compute it.
func DeploymentAvailable(obj *unstructured.Unstructured) readiness.Verdict {
	res, err := status.Compute(obj)
	if err != nil {
		return readiness.Verdict{Message: err.Error()}
	}
	switch res.Status {
	case status.CurrentStatus:
		return readiness.Verdict{Ready: true, Message: "Available"}
	case status.FailedStatus:
		return readiness.Verdict{Failed: true, Message: res.Message}
	}
	return readiness.Verdict{Message: res.Message}
}

// UninstallOptions shape an uninstall.
type UninstallOptions struct {
	// Force deletes KRO's CRDs even while ResourceGraphDefinitions exist
	// (deleting the CRD deletes every RGD).
	Force bool
	// KeepCRDs deletes everything but the CRDs: RGDs and instances stay.
	KeepCRDs bool
}

// systemNamespaces are never deleted, even when --set namespace named one.
var systemNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// RefuseUninstall is the check before anything is deleted: deleting KRO's
// CRDs deletes every ResourceGraphDefinition (and KRO's generated CRDs and
// instances with them), so it needs Force while any exist.
func RefuseUninstall(ctx context.Context, dyn dynamic.Interface, o UninstallOptions) error {
	if o.Force || o.KeepCRDs {
		return nil
	}
	list, err := dyn.Resource(RGDResource).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing ResourceGraphDefinitions: %w", err)
	}
	if n := len(list.Items); n > 0 {
		names := make([]string, 0, n)
		for _, u := range list.Items {
			names = append(names, u.GetName())
		}
		return fmt.Errorf("refusing to uninstall KRO: %d ResourceGraphDefinition(s) exist (%s); deleting KRO's CRDs would delete them and everything KRO created from them. Delete them first, keep the CRDs (--keep-crds), or pass --force",
			n, strings.Join(names, ", "))
	}
	return nil
}

// Uninstall deletes the manifests in reverse order and waits until they
// are gone.
func (in *Installer) Uninstall(ctx context.Context, objs []*unstructured.Unstructured, o UninstallOptions) ([]ssa.ChangeSetEntry, error) {
	if err := RefuseUninstall(ctx, in.Client.Dynamic, o); err != nil {
		return nil, err
	}
	var entries []ssa.ChangeSetEntry
	var targets []readiness.Target
	for i := len(objs) - 1; i >= 0; i-- {
		u := objs[i]
		if o.KeepCRDs && IsCRD(u) || u.GetKind() == "Namespace" && systemNamespaces[u.GetName()] {
			continue
		}
		it := &ssa.Object{Obj: u.DeepCopy()}
		ok, err := in.Client.Map(it)
		if err != nil {
			return entries, err
		}
		if !ok {
			continue // kind not served: nothing of it can exist
		}
		deleted, err := in.Client.DeleteCurrent(ctx, it)
		if err != nil {
			return entries, err
		}
		it.Action = ssa.DeletedAction
		if !deleted {
			it.Action = ssa.SkippedAction
		} else {
			targets = append(targets, readiness.Target{GVR: it.Mapping.Resource, Namespace: it.Obj.GetNamespace(), Name: it.Obj.GetName(), Ref: ssa.Subject(it.Obj), Want: "deleted"})
		}
		entries = append(entries, it.Entry())
		if in.Out != nil {
			fmt.Fprintf(in.Out, "%s %s\n", ssa.Subject(it.Obj), it.Action)
		}
	}
	w := &readiness.Waiter{Client: in.Client.Dynamic, Progress: in.Progress}
	_, err := w.Wait(ctx, targets)
	return entries, err
}

// Installation is what the cluster shows of a KRO controller installed
// as a Deployment.
type Installation struct {
	Found                bool
	Namespace, Name      string
	Image, Version       string
	Available, Supported bool
	Message              string
}

// Installed finds KRO's controller Deployment by the chart's labels, in
// any namespace, and reads its version from the image tag.
func Installed(ctx context.Context, dyn dynamic.Interface) (Installation, error) {
	list, err := dyn.Resource(DeploymentResource).List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/name=kro,app.kubernetes.io/component=controller"})
	if err != nil {
		return Installation{}, fmt.Errorf("listing Deployments: %w", err)
	}
	if len(list.Items) == 0 {
		return Installation{}, nil
	}
	d := &list.Items[0]
	inst := Installation{Found: true, Namespace: d.GetNamespace(), Name: d.GetName()}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		if m, ok := c.(map[string]any); ok && m["name"] == ContainerName {
			inst.Image, _ = m["image"].(string)
		}
	}
	inst.Version = ImageVersion(inst.Image)
	inst.Supported = SameVersion(inst.Version, Version)
	v := DeploymentAvailable(d)
	inst.Available, inst.Message = v.Ready, v.Message
	return inst, nil
}
