// Package deploy puts kro-mode output into a cluster and takes it out
// again: server-side apply in stages (CRDs and namespaces, then
// ResourceGraphDefinitions in dependency waves, then plain objects and
// instances), waiting on KRO between stages; server-side diff; and ordered
// deletion.
//
// It writes through typekro's pkg/ssa, which keeps Flux's change-set model
// but sends the apply requests itself: fluxcd's ResourceManager always
// applies with force ownership, and typekro, like kubectl, must fail on a
// field-manager conflict unless the user passes --force-conflicts.
package deploy

import (
	"context"
	"fmt"
	"io"

	"k8s.io/client-go/rest"

	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// DefaultFieldManager owns the fields typekro applies.
const DefaultFieldManager = ssa.DefaultFieldManager

// ErrUnreachable marks errors talking to the cluster at all.
var ErrUnreachable = ssa.ErrUnreachable

// Subject names an object kubectl-style: "deployment.apps/webapp -n production".
var Subject = ssa.Subject

// Engine deploys to one cluster.
type Engine struct {
	*ssa.Client
	// Out receives change-set lines as stages are written (stdout); Progress
	// receives wait progress (stderr). Either may be nil.
	Out, Progress io.Writer
}

// New connects to the cluster behind cfg and checks that it answers.
func New(ctx context.Context, cfg *rest.Config) (*Engine, error) {
	c, err := ssa.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Engine{Client: c}, nil
}

// item is one object on its way into the cluster.
type item struct {
	ssa.Object
	role render.Role
	// deferred says why the object cannot be dry-run before the earlier
	// stages are written ("" when it can).
	deferred string
	// byDefinition: deferred because its kind's definition changes in this
	// apply (the served schema is about to change), not because it is absent.
	byDefinition bool
	// newNamespace: deferred because its namespace is created by this apply.
	newNamespace bool
}

// waitTarget describes an object for the readiness waiter.
func waitTarget(it *item, want string, check readiness.Check) readiness.Target {
	return readiness.Target{GVR: it.Mapping.Resource, Namespace: it.Obj.GetNamespace(), Name: it.Obj.GetName(), Ref: readiness.Ref(it.Obj), Want: want, Check: check}
}

func (e *Engine) waiter() *readiness.Waiter {
	return &readiness.Waiter{Client: e.Dynamic, Progress: e.Progress, Explain: &readiness.Explainer{Client: e.Dynamic, Mapper: e.Mapper}}
}

func (e *Engine) printChanges(items []*item, suffix string) {
	if e.Out == nil {
		return
	}
	for _, it := range items {
		fmt.Fprintln(e.Out, it.Entry().String()+suffix)
	}
}
