package render

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// GitOps targets: what render --target adds for a GitOps engine.
const (
	TargetPlain  = "plain"
	TargetArgoCD = "argocd"
	TargetFlux   = "flux"
)

// Targets lists the valid --target values.
var Targets = []string{TargetPlain, TargetFlux, TargetArgoCD}

// Argo CD annotations.
const (
	ArgoSyncWave    = "argocd.argoproj.io/sync-wave"
	ArgoSyncOptions = "argocd.argoproj.io/sync-options"
	// ArgoSkipDryRun lets Argo CD's dry run pass for an instance whose
	// kind does not exist yet: KRO creates the CRD only after it accepted
	// the RGD, which happens during the same sync, in an earlier wave.
	ArgoSkipDryRun = "SkipDryRunOnMissingResource=true"
)

// ArgoSyncWaves is the sync wave of each role: CRDs and namespaces first,
// then RGDs (with the health check from plugins/argocd, Argo CD waits for
// them to be Active, i.e. for KRO to have created the instance CRD), plain
// manifests, and instances last.
var ArgoSyncWaves = map[Role]string{
	RoleCRD:       "-2",
	RoleNamespace: "-2",
	RoleRGD:       "-1",
	RoleResource:  "0",
	RoleInstance:  "1",
}

// ArgoCD annotates objects for Argo CD: a sync wave per role (a wave the
// author already set is kept) and SkipDryRunOnMissingResource on instances.
// The objects are copied; the input is not modified.
func ArgoCD(objs []Object) []Object {
	out := make([]Object, len(objs))
	for i, o := range objs {
		u := o.Object.DeepCopy()
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		if _, set := ann[ArgoSyncWave]; !set {
			ann[ArgoSyncWave] = ArgoSyncWaves[o.Role]
		}
		if o.Role == RoleInstance {
			ann[ArgoSyncOptions] = addOption(ann[ArgoSyncOptions], ArgoSkipDryRun)
		}
		u.SetAnnotations(ann)
		out[i] = Object{Role: o.Role, Object: u}
	}
	return out
}

// addOption appends opt to a comma-separated Argo CD option list unless an
// option with the same name is already there.
func addOption(list, opt string) string {
	name := strings.SplitN(opt, "=", 2)[0]
	var opts []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if strings.SplitN(o, "=", 2)[0] == name {
			return list
		}
		opts = append(opts, o)
	}
	return strings.Join(append(opts, opt), ",")
}

// Flux annotations and API.
const (
	FluxSubstitute         = "kustomize.toolkit.fluxcd.io/substitute"
	FluxKustomizationAPI   = "kustomize.toolkit.fluxcd.io/v1"
	FluxDefaultSource      = "flux-system"
	FluxDefaultNamespace   = "flux-system"
	kustomizeKustomization = "kustomize.config.k8s.io/v1beta1"
)

// Flux health checks (kustomize-controller healthCheckExprs, CEL). KRO
// instances have no top-level status.observedGeneration, so kstatus cannot
// tell a status written for the previous generation from a current one, and
// KRO briefly reports ACTIVE (and an RGD stays Active) while the new
// generation is still being reconciled. Only KRO's Ready condition stamped
// with the current generation means "done": KRO stamps every condition with
// the generation it observed. has() guards keep an expression from failing
// before KRO has written a status.
const (
	fluxReadyNow = "has(status.conditions) && status.conditions.exists(c, c.type == 'Ready' && c.status == 'True' && " +
		"has(c.observedGeneration) && c.observedGeneration == metadata.generation)"
	FluxInstanceCurrent = fluxReadyNow
	// A failure counts only if KRO reported it for the current generation:
	// an ERROR left over from the previous spec must not fail the new one.
	FluxInstanceFailed = "has(status.state) && (status.state == 'ERROR' || status.state == 'FAILED') && has(status.conditions) && " +
		"status.conditions.exists(c, c.type in ['InstanceManaged', 'GraphResolved', 'ResourcesReady', 'Ready'] && c.status == 'False' && " +
		"has(c.observedGeneration) && c.observedGeneration == metadata.generation)"
	FluxRGDCurrent = fluxReadyNow
	// An RGD is Inactive while KRO is still creating its CRD, and KindReady
	// can be False for a moment then, so only a graph KRO rejected
	// (GraphAccepted=False) or a CRD update it refused (KindReady=False with
	// one of readiness.KindRefusals) for the current generation counts as
	// failed: Flux then reports it at once instead of at its timeout.
	FluxRGDFailed = "has(status.conditions) && status.conditions.exists(c, c.status == 'False' && " +
		"has(c.observedGeneration) && c.observedGeneration == metadata.generation && (c.type == 'GraphAccepted' || " +
		"(c.type == 'KindReady' && has(c.message) && (c.message.contains('breaking changes detected') || " +
		"c.message.contains('is not owned by KRO') || c.message.contains('is owned by another ResourceGraphDefinition')))))"
)

// FluxRetryInterval is the Kustomizations' spec.retryInterval: without it
// a failed reconciliation (e.g. an instance applied while its CRD was not
// there yet) is retried only after spec.interval (10m).
const FluxRetryInterval = "1m"

// FluxPruneDisabled is the annotation that keeps kustomize-controller from
// deleting an object it applied; the Namespaces typekro adds carry it, since
// a namespace may hold objects that are not in the tree.
const FluxPruneDisabled = "kustomize.toolkit.fluxcd.io/prune"

// FluxOptions shape the Flux tree.
type FluxOptions struct {
	// Name prefixes the two Flux Kustomizations: <Name>-definitions and
	// <Name>-instances. Required.
	Name string
	// Path is the tree's directory relative to the Git repository root,
	// as Flux's spec.path wants it (slash-separated). Required.
	Path string
	// Source is the GitRepository the Kustomizations read from
	// (default flux-system), in Namespace.
	Source string
	// Namespace of the Flux Kustomizations (default flux-system).
	Namespace string
	// Interval of the Kustomizations (default 10m).
	Interval string
	// CreateNamespaces adds a Namespace to the instance layer for every
	// namespace its objects use that the inputs do not declare (and that
	// is not one every cluster has), so the README's own example works on
	// a fresh cluster.
	CreateNamespaces bool
}

// Flux layer directories inside the tree.
const (
	FluxDefinitionsDir = "definitions"
	FluxInstancesDir   = "instances"
	FluxDir            = "flux"
)

// FluxTree lays objects out for Flux's kustomize-controller, which runs no
// plugins and so needs the rendered YAML committed:
//
//	kustomization.yaml  lists flux/*.yaml only
//	definitions/        CRDs and RGDs                        (applied first, waited for)
//	instances/          namespaces, plain manifests, instances
//	flux/definitions.yaml, flux/instances.yaml: the Flux Kustomizations
//
// The layers have no kustomization.yaml: kustomize-controller then
// generates one listing every manifest under the path, so deleting an
// instance's file by hand removes (prunes) the instance instead of breaking
// the build with "no such file"; render --check still reports the tree as
// stale. The root kustomization.yaml lists only the two files that are
// always there, and stops a Kustomization that syncs a parent directory
// (e.g. flux-system's clusters/<name>) from descending into the layers and
// applying them without the order and health checks.
//
// The instance layer dependsOn the definition layer, so instances are
// applied only once KRO accepted every RGD and created their CRDs. RGDs get
// kustomize.toolkit.fluxcd.io/substitute: disabled, since their ${...} CEL
// expressions would be mangled by postBuild variable substitution.
func FluxTree(objs []Object, o FluxOptions) (Tree, error) {
	if o.Name == "" {
		return nil, fmt.Errorf("flux: a name for the Kustomizations is required")
	}
	if o.Path == "" || path.IsAbs(o.Path) {
		return nil, fmt.Errorf("flux: path must be relative to the repository root, not %q", o.Path)
	}
	if o.Source == "" {
		o.Source = FluxDefaultSource
	}
	if o.Namespace == "" {
		o.Namespace = FluxDefaultNamespace
	}
	if o.Interval == "" {
		o.Interval = "10m"
	}
	if o.CreateNamespaces {
		objs = append(missingNamespaces(objs), objs...)
	}
	t := Tree{}
	instanceKinds := map[schema.GroupVersionKind]bool{}
	hasRGD := false
	for _, obj := range objs {
		layer := FluxInstancesDir
		u := obj.Object
		switch obj.Role {
		case RoleCRD:
			layer = FluxDefinitionsDir
		case RoleRGD:
			layer = FluxDefinitionsDir
			hasRGD = true
			u = annotated(u, FluxSubstitute, "disabled")
		case RoleInstance:
			instanceKinds[u.GroupVersionKind()] = true
		}
		b, err := YAML([]*unstructured.Unstructured{u})
		if err != nil {
			return nil, err
		}
		p := layer + "/" + Path(Object{Role: obj.Role, Object: u})
		if _, dup := t[p]; dup {
			return nil, fmt.Errorf("two objects map to %s", p)
		}
		t[p] = b
	}
	root, err := marshal(map[string]any{
		"apiVersion": kustomizeKustomization,
		"kind":       "Kustomization",
		"resources":  []any{FluxDir + "/" + FluxDefinitionsDir + ".yaml", FluxDir + "/" + FluxInstancesDir + ".yaml"},
	})
	if err != nil {
		return nil, err
	}
	t["kustomization.yaml"] = root

	defs := fluxKustomization(o, FluxDefinitionsDir)
	if hasRGD {
		defs["spec"].(map[string]any)["healthCheckExprs"] = []any{map[string]any{
			"apiVersion": "kro.run/v1alpha1",
			"kind":       "ResourceGraphDefinition",
			"current":    FluxRGDCurrent,
			"failed":     FluxRGDFailed,
		}}
	}
	insts := fluxKustomization(o, FluxInstancesDir)
	spec := insts["spec"].(map[string]any)
	spec["dependsOn"] = []any{map[string]any{"name": o.Name + "-" + FluxDefinitionsDir}}
	var gvks []schema.GroupVersionKind
	for gvk := range instanceKinds {
		gvks = append(gvks, gvk)
	}
	sort.Slice(gvks, func(i, j int) bool { return gvks[i].String() < gvks[j].String() })
	var exprs []any
	for _, gvk := range gvks {
		av, kind := gvk.ToAPIVersionAndKind()
		exprs = append(exprs, map[string]any{
			"apiVersion": av,
			"kind":       kind,
			"current":    FluxInstanceCurrent,
			"failed":     FluxInstanceFailed,
		})
	}
	if len(exprs) > 0 {
		spec["healthCheckExprs"] = exprs
	}
	for name, obj := range map[string]map[string]any{FluxDefinitionsDir: defs, FluxInstancesDir: insts} {
		b, err := marshal(obj)
		if err != nil {
			return nil, err
		}
		t[FluxDir+"/"+name+".yaml"] = b
	}
	return t, nil
}

// builtinNamespaces exist in every cluster; typekro never writes them.
var builtinNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// missingNamespaces returns a Namespace for every namespace that the
// instance layer's objects use and no input declares, sorted by name.
// They carry prune: disabled: removing the last instance of a namespace
// must not delete the namespace and whatever else lives in it.
func missingNamespaces(objs []Object) []Object {
	declared := map[string]bool{}
	used := map[string]bool{}
	for _, o := range objs {
		switch o.Role {
		case RoleNamespace:
			declared[o.Object.GetName()] = true
		case RoleResource, RoleInstance:
			if ns := o.Object.GetNamespace(); ns != "" {
				used[ns] = true
			}
		}
	}
	var names []string
	for ns := range used {
		if !declared[ns] && !builtinNamespaces[ns] {
			names = append(names, ns)
		}
	}
	sort.Strings(names)
	out := make([]Object, len(names))
	for i, ns := range names {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
		out[i] = Object{Role: RoleNamespace, Object: annotated(u, FluxPruneDisabled, "disabled")}
	}
	return out
}

// annotated returns a copy of u with one more annotation.
func annotated(u *unstructured.Unstructured, key, value string) *unstructured.Unstructured {
	u = u.DeepCopy()
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[key] = value
	u.SetAnnotations(ann)
	return u
}

func fluxKustomization(o FluxOptions, layer string) map[string]any {
	p := path.Clean(o.Path)
	if p == "." {
		p = "./" + layer
	} else {
		p = "./" + strings.TrimPrefix(p, "./") + "/" + layer
	}
	return map[string]any{
		"apiVersion": FluxKustomizationAPI,
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": o.Name + "-" + layer, "namespace": o.Namespace},
		"spec": map[string]any{
			"interval": o.Interval,
			"path":     p,
			"prune":    true,
			"wait":     true,
			// retryInterval does not shorten the wait for a dependency:
			// kustomize-controller's --requeue-dependency (30s) does.
			"retryInterval": FluxRetryInterval,
			"timeout":       "5m",
			"sourceRef":     map[string]any{"kind": "GitRepository", "name": o.Source},
		},
	}
}

func marshal(v map[string]any) ([]byte, error) {
	return yaml.Marshal(v)
}

// FluxName turns a directory name into a DNS-1123 label usable as the
// prefix of the Flux Kustomization names.
func FluxName(dir string) string {
	base := strings.ToLower(path.Base(strings.TrimRight(strings.ReplaceAll(dir, "\\", "/"), "/")))
	var b strings.Builder
	dash := false
	for _, r := range base {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimRight(b.String(), "-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	if name == "" {
		name = "typekro"
	}
	return name
}
