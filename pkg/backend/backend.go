// Package backend is one deploy mode behind one interface: what render,
// apply, diff, status and delete do in kro mode (pkg/deploy: RGDs and
// instances, KRO does the rest) and in direct mode (pkg/direct and
// pkg/direct/live: the instances' resources without KRO). Commands in
// internal/cli parse flags, pick a backend with New, call it and print its
// result; they hold no engine logic.
package backend

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/typekro/kubectl-typekro/pkg/bootstrap"
	"github.com/typekro/kubectl-typekro/pkg/compat"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/direct/live"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// Backend is a deploy mode. Render is offline; the others use the cluster
// the backend was made with. Change lines and progress go to the engine's
// Out and Progress writers as the work happens; the results carry what a
// command prints at the end.
type Backend interface {
	// Mode is render.ModeKro or render.ModeDirect.
	Mode() string
	Render(res *compile.Result, o RenderOptions) (*RenderResult, error)
	// Apply validates on the server (dry run), then writes and waits. On
	// error the result, when not nil, holds the instances as last seen.
	Apply(ctx context.Context, res *compile.Result, o ApplyOptions) (*ApplyResult, error)
	Diff(ctx context.Context, res *compile.Result, o DiffOptions) (*DiffResult, error)
	Status(ctx context.Context, o StatusOptions) (*StatusResult, error)
	Delete(ctx context.Context, res *compile.Result, o DeleteOptions) error
}

// New returns the backend of a mode; cluster may be nil for Render.
func New(mode string, cluster *deploy.Engine) (Backend, error) {
	switch mode {
	case render.ModeKro:
		return &Kro{e: cluster}, nil
	case render.ModeDirect:
		return &Direct{e: cluster}, nil
	}
	return nil, &ArgumentError{Err: fmt.Errorf("--mode must be kro or direct, not %q", mode)}
}

// RenderOptions: AllowPending and Observed are direct mode's.
type RenderOptions struct {
	// AllowPending leaves out resources that need live state.
	AllowPending bool
	// Observed resolves references, readyWhen and status from objects
	// read offline (render --observed); nil: none.
	Observed *live.Offline
	// Status adds each instance with the status KRO would write given
	// Observed (render --status).
	Status bool
}

// RenderResult is the objects in render order, and (direct mode) what was
// left out.
type RenderResult struct {
	Objects []render.Object
	Pending []direct.Pending
}

// ApplyOptions are apply's flags.
type ApplyOptions struct {
	Force            bool // --force-conflicts
	DryRun           bool // --dry-run=server
	CreateNamespaces bool
	Wait             bool
	// AllowBreaking is --allow-breaking-changes (kro mode).
	AllowBreaking bool
	// Prune deletes what an earlier apply created and is no longer
	// rendered: in kro mode the members of ApplySet, in direct mode each
	// instance's resources.
	Prune bool
	// ApplySet (kro mode) makes every object a member of that apply set
	// (kubectl's --applyset).
	ApplySet *deploy.ApplySetRef
}

// ApplyResult is what apply prints at the end.
type ApplyResult struct {
	// Instances are the instances as last observed (kro mode: from the
	// cluster; direct mode: with the status KRO would write).
	Instances []*unstructured.Unstructured
	// Notes are remarks for stderr (objects a dry run could not verify).
	Notes []string
}

// DiffOptions are diff's flags.
type DiffOptions struct {
	Force            bool
	CreateNamespaces bool
	// ApplySet (kro mode) adds the set's members apply --prune would delete.
	ApplySet *deploy.ApplySetRef
}

// DiffResult: Schema is kro mode's comparison of every RGD's generated CRD
// with the served one (empty in direct mode); Objects the per-object diffs.
type DiffResult struct {
	Schema  compat.Report
	Objects []deploy.ObjectDiff
}

// DeleteOptions are delete's flags.
type DeleteOptions struct {
	KeepDefinitions bool // --keep-rgd
	Wait            bool
	// ApplySet (kro mode) also deletes the set's other members, then its
	// parent.
	ApplySet *deploy.ApplySetRef
}

// StatusOptions say which objects to show.
type StatusOptions struct {
	// Inputs (-f): the RGDs and instances of compiled files. Direct mode
	// needs them: the status expressions come from the composition.
	Inputs *compile.Result
	// Args are kubectl-style TYPE/NAME or TYPE [NAME...] arguments,
	// resolved through Getter's discovery (kro mode).
	Args          []string
	Getter        genericclioptions.RESTClientGetter
	AllNamespaces bool
	// Namespace is the one objects without a namespace are looked up in.
	Namespace string
	// Watch: the result's Follow reports later changes.
	Watch bool
}

// StatusResult is what status shows.
type StatusResult struct {
	Objects []*unstructured.Unstructured
	// Missing are inputs or arguments not found, one line each (exit 1).
	Missing []string
	// Notes are remarks for stderr (why a direct-mode instance is not ready).
	Notes []string
	// RGDList is set when status listed every RGD of the cluster (no
	// arguments); KRO then says whether KRO itself is installed.
	RGDList bool
	KRO     *bootstrap.Installation
	// KROErr says why KRO's installation could not be told.
	KROErr error
	// Follow (with Watch) calls onChange for every later change of the
	// objects (or of the kinds asked for) until ctx ends.
	Follow func(ctx context.Context, onChange func(Event))
}

// Event is one change --watch reports.
type Event struct {
	Object *unstructured.Unstructured // nil when deleted
	// Desc names the object (Kind/name -n ns).
	Desc string
}

// ArgumentError is an argument the cluster cannot make sense of (an
// unknown kind, a malformed TYPE/NAME): a usage error, not a failure.
type ArgumentError struct{ Err error }

func (e *ArgumentError) Error() string { return e.Err.Error() }
func (e *ArgumentError) Unwrap() error { return e.Err }

// IsArgument reports whether err is an ArgumentError.
func IsArgument(err error) bool {
	var ae *ArgumentError
	return errors.As(err, &ae)
}

// needCluster guards the methods that need one.
func needCluster(e *deploy.Engine) error {
	if e == nil {
		return errors.New("backend: no cluster connection")
	}
	return nil
}
