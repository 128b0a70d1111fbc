package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/backend"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

type applyOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	print   *objectPrinter

	Paths           []string
	Timeout         time.Duration
	Wait            bool
	DryRun          string
	FieldManager    string
	ForceConflicts  bool
	CreateNamespace bool
	Mode            string
	// AllowBreaking is --allow-breaking-changes (kro mode).
	AllowBreaking bool
	// Prune is --prune; ApplySet --applyset (kro mode: kubectl's
	// ApplySet, NAME, secret/NAME or configmap/NAME).
	Prune    bool
	ApplySet string
}

var (
	applyLong = longDesc(`
		Apply checks everything offline first, then dry-runs every object on the server, and only
		then writes, in stages:

		1. CRDs and namespaces from the inputs (and, with --create-namespace, missing
		   namespaces of the objects), waiting until the CRDs are Established;
		2. ResourceGraphDefinitions (an RGD that uses another one's kind after that one),
		   waiting until KRO reports each Active with Ready=True and its generated CRD is
		   Established; an RGD KRO rejects fails at once with KRO's message;
		3. plain objects and instances, waiting (with --wait) until every instance has
		   status.state ACTIVE and a Ready condition True for its current generation.
		   Instances of a changed RGD are applied only once the API server serves the
		   new schema of its CRD.

		Before anything is written, every RGD's generated CRD is compared with the CRD the
		cluster serves, with KRO's own breaking-change check. A breaking change (field removed,
		type changed, required added, enum narrowed, pattern or bounds tightened, ...) that KRO
		would refuse, and a kind whose CRD another RGD owns, stop the apply with exit 1, each
		named as FILE:LINE: Kind/name: spec.field: BREAKING TYPE (detail). With
		--allow-breaking-changes typekro sets KRO's kro.run/allow-breaking-changes: "true" on
		those RGDs and lists the live instances the new schema rejects (namespace/name: field).

		Invalid input writes nothing. Instances of a kind the cluster does not serve yet were
		checked offline against the CRD KRO will generate; the server dry-runs them once their
		RGD is Active, before any of them is written. Objects in a namespace that
		--create-namespace will create are checked by a dry-run create in namespace "default"
		first (validation without namespace policy), and dry-run in place once it exists.

		With --mode direct there is no KRO: the instances' resources are computed with KRO's
		runtime and applied stage by stage, each stage once the live objects it references
		exist (and are ready, where a readyWhen says so); --prune deletes what an earlier
		apply created and the composition no longer renders.

		The change set (kubectl style: created, configured, unchanged) and the final status of
		every instance go to stdout; wait progress goes to stderr. With -o (json, yaml, name,
		jsonpath=..., go-template=..., wide) stdout holds only the instances, printed as
		kubectl prints objects, and the change set moves to stderr.`) + "\n\n" + exitCodeLong

	applyExample = exampleText(`
		# Apply an example's RGD and instances, creating their namespaces, and wait until ready
		kubectl typekro apply examples/webapp --create-namespace

		# Ask the server what would change, write nothing
		kubectl typekro apply examples/webapp --dry-run=server

		# Print the applied instances' names, or one status field of each
		kubectl typekro apply examples/webapp -o name
		kubectl typekro apply examples/webapp -o jsonpath='{.items[*].status.state}'

		# Without KRO: the instances' resources, deleting what they no longer render
		kubectl typekro apply --mode direct examples/database-stack --prune

		# kro mode: an ApplySet, so an instance removed from the files is deleted
		kubectl typekro apply examples/webapp --prune --applyset=webapp -n platform

		# Take over fields another field manager owns, give up after two minutes
		kubectl typekro apply examples/webapp --force-conflicts --timeout 2m`)
)

func newApplyCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &applyOptions{flags: flags, streams: streams, print: newObjectPrinter("applied")}
	cmd := &cobra.Command{
		Use:     "apply PATH...",
		Short:   "Validate, then server-side apply RGDs and instances and wait until KRO reports them ready",
		Long:    applyLong,
		Example: applyExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	o.inputOptions.AddFlags(fs, streams.In)
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up after this long (the whole apply, including waits); 0 waits forever")
	fs.BoolVar(&o.Wait, "wait", true, "wait until every instance is ACTIVE and Ready (RGDs are always waited for: instances need their kind; --mode direct still waits where a resource needs another's live state or readiness)")
	fs.StringVar(&o.DryRun, "dry-run", "none", "none, or server: only ask the server what would change")
	fs.StringVar(&o.FieldManager, "field-manager", deploy.DefaultFieldManager, "name of the field manager that owns the applied fields")
	fs.BoolVar(&o.ForceConflicts, "force-conflicts", false, "take over fields owned by other field managers instead of failing")
	fs.BoolVar(&o.CreateNamespace, "create-namespace", false, "create namespaces of the objects that do not exist yet (like helm --create-namespace); kubectl apply does not")
	fs.StringVar(&o.Mode, "mode", render.ModeKro, "kro: ResourceGraphDefinitions + instances; direct: the instances' resources without KRO, stage by stage (see --prune)")
	fs.BoolVar(&o.AllowBreaking, "allow-breaking-changes", false, "apply schema changes KRO calls breaking: sets kro.run/allow-breaking-changes: \"true\" on those RGDs, after listing the live instances the new schema rejects")
	fs.BoolVar(&o.Prune, "prune", false, "delete what an earlier apply created that the inputs no longer contain, after the rest is applied. kro mode: the members of --applyset; direct mode: each instance's resources its composition no longer renders (tracked by an ApplySet parent configmap typekro-<kind>-<name>)")
	fs.StringVar(&o.ApplySet, "applyset", "", "kro mode, with --prune: the apply set's parent, NAME or secret/NAME (default kind) or configmap/NAME in the namespace of -n; every applied object is labelled applyset.kubernetes.io/part-of=<id> (kubectl's --applyset)")
	o.print.AddFlags(cmd)
	return cmd
}

// Complete takes the inputs from the arguments and -f, and builds the
// printer.
func (o *applyOptions) Complete(args []string) (err error) {
	if o.Paths, err = o.paths(args); err != nil {
		return err
	}
	return o.print.Complete()
}

func (o *applyOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if o.DryRun != "none" && o.DryRun != "server" {
		return Usage(fmt.Errorf("--dry-run must be none or server, not %q", o.DryRun))
	}
	if o.FieldManager == "" {
		return Usage(fmt.Errorf("--field-manager must not be empty"))
	}
	if err := checkMode(o.Mode); err != nil {
		return err
	}
	if o.AllowBreaking && o.Mode != render.ModeKro {
		return Usage(fmt.Errorf("--allow-breaking-changes needs --mode kro: direct mode has no CRDs"))
	}
	if err := checkApplySet(o.ApplySet, o.Mode); err != nil {
		return err
	}
	switch {
	case o.ApplySet != "" && !o.Prune:
		return Usage(fmt.Errorf("--applyset needs --prune (as in kubectl)"))
	case o.Prune && o.Mode == render.ModeKro && o.ApplySet == "":
		return Usage(fmt.Errorf("--prune in kro mode needs --applyset NAME: the set whose members the inputs no longer contain are deleted"))
	}
	if o.Timeout < 0 {
		return Usage(fmt.Errorf("--timeout must not be negative"))
	}
	return nil
}

func (o *applyOptions) Run() error {
	ns, res, err := o.load(o.Paths, o.flags)
	if err != nil {
		return err
	}
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	e.FieldManager, e.Out, e.Progress = o.FieldManager, o.streams.Out, o.streams.ErrOut
	if !o.print.Readable() {
		e.Out = o.streams.ErrOut // stdout is for the printed objects only
	}
	b, set, err := modeBackend(o.Mode, e, o.ApplySet)
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := b.Apply(ctx, res, backend.ApplyOptions{
		Force:            o.ForceConflicts,
		DryRun:           o.DryRun == "server",
		CreateNamespaces: o.CreateNamespace,
		Wait:             o.Wait,
		AllowBreaking:    o.AllowBreaking,
		Prune:            o.Prune,
		ApplySet:         set,
	})
	if err != nil {
		if r != nil && len(r.Instances) > 0 {
			_ = o.printInstances(r)
		}
		var refused *deploy.RefusedError
		if errors.As(err, &refused) {
			return Fail(err)
		}
		return deployError(timeoutError(ctx, err, o.Timeout))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(o.streams.ErrOut, "note:", n)
	}
	if o.DryRun == "server" {
		return nil
	}
	if len(r.Instances) > 0 && (o.Wait || o.Mode == render.ModeDirect) {
		verb := "ready"
		if !o.Wait {
			verb = "applied (--wait=false: the last resources' readiness not waited for)"
		}
		fmt.Fprintf(o.streams.ErrOut, "%d instance(s) %s in %s\n", len(r.Instances), verb, time.Since(start).Round(100*time.Millisecond))
	}
	return o.printInstances(r)
}

// printInstances prints the instances as last seen: after a blank line in
// the readable view (it follows the change set), alone with -o.
func (o *applyOptions) printInstances(r *backend.ApplyResult) error {
	if len(r.Instances) == 0 {
		return nil
	}
	var w io.Writer = o.streams.Out
	if o.print.Readable() {
		fmt.Fprintln(w)
	}
	return o.print.PrintList(w, r.Instances)
}
