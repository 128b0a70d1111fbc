package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

type applyOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Paths           []string
	Timeout         time.Duration
	Wait            bool
	DryRun          string
	FieldManager    string
	ForceConflicts  bool
	CreateNamespace bool
	Output          string
	Mode            string
	// AllowBreaking is --allow-breaking-changes (kro mode).
	AllowBreaking bool
	direct        pruneFlags
}

func newApplyCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &applyOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "apply PATH...",
		Short: "Validate, then server-side apply RGDs and instances and wait until KRO reports them ready",
		Long: `Apply checks everything offline first, then dry-runs every object on the server, and only
then writes, in stages:

  1. CRDs and namespaces from the inputs (and, with --create-namespace, missing
     namespaces of the objects), waiting until the CRDs are Established;
  2. ResourceGraphDefinitions — an RGD that uses another one's kind after that one —
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

The change set (kubectl style: created, configured, unchanged) and the final status of
every instance go to stdout; wait progress goes to stderr. With -o yaml|json stdout
holds only the instances' status, and the change set moves to stderr.

` + exitCodeDoc,
		Example: `  kubectl typekro apply examples/webapp --create-namespace
  kubectl typekro apply examples/webapp --dry-run=server
  kubectl typekro apply apps/ -n staging --timeout 2m -o yaml
  kubectl typekro apply apps/ --force-conflicts
  kubectl typekro apply apps/ --prune --applyset=apps -n platform`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Paths, err = o.paths(args); err != nil {
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
	fs.StringVarP(&o.Output, "output", "o", "", "format of the final status: yaml or json (default: readable text)")
	fs.StringVar(&o.Mode, "mode", render.ModeKro, "kro: ResourceGraphDefinitions + instances; direct: the instances' resources without KRO, stage by stage (see --prune)")
	fs.BoolVar(&o.AllowBreaking, "allow-breaking-changes", false, "apply schema changes KRO calls breaking: sets kro.run/allow-breaking-changes: \"true\" on those RGDs, after listing the live instances the new schema rejects")
	o.direct.AddFlags(fs)
	return cmd
}

func (o *applyOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if o.DryRun != "none" && o.DryRun != "server" {
		return Usage(fmt.Errorf("--dry-run must be none or server, not %q", o.DryRun))
	}
	if o.Output != "" && o.Output != "yaml" && o.Output != "json" {
		return Usage(fmt.Errorf("--output must be yaml or json, not %q", o.Output))
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
	if err := o.direct.validate(o.Mode); err != nil {
		return err
	}
	if o.Timeout < 0 {
		return Usage(fmt.Errorf("--timeout must not be negative"))
	}
	return nil
}

func (o *applyOptions) Run() error {
	if o.Mode == render.ModeDirect {
		return o.runDirect()
	}
	ns, inputs, err := o.load(o.Paths, o.flags)
	if err != nil {
		return err
	}
	set := deploy.NewSet(inputs)
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	e.FieldManager = o.FieldManager
	e.Progress = o.streams.ErrOut
	e.Out = o.streams.Out
	if o.Output != "" {
		e.Out = o.streams.ErrOut
	}
	if _, err := e.GuardSchemas(ctx, set, inputs.Definitions, deploy.GuardOptions{Allow: o.AllowBreaking}, o.streams.ErrOut); err != nil {
		var refused *deploy.RefusedError
		if errors.As(err, &refused) {
			return Fail(err)
		}
		return deployError(err)
	}
	opts := deploy.ApplyOptions{
		Force:            o.ForceConflicts,
		DryRun:           o.DryRun == "server",
		CreateNamespaces: o.CreateNamespace,
		Wait:             o.Wait,
		Prune:            o.direct.Prune,
	}
	if o.direct.ApplySet != "" {
		ref, err := deploy.ParseApplySet(o.direct.ApplySet, e.DefaultNamespace)
		if err != nil {
			return Usage(err)
		}
		opts.ApplySet = &ref
	}
	start := time.Now()
	res, err := e.Apply(ctx, set, opts)
	if err != nil {
		if len(res.Instances) > 0 {
			_ = o.printStatus(res)
		}
		return deployError(timeoutError(err, o.Timeout))
	}
	for _, u := range res.Unverified {
		fmt.Fprintln(o.streams.ErrOut, "note:", u)
	}
	if o.DryRun == "server" {
		return nil
	}
	if o.Wait && len(res.Instances) > 0 {
		fmt.Fprintf(o.streams.ErrOut, "%d instance(s) ready in %s\n", len(res.Instances), time.Since(start).Round(100*time.Millisecond))
	}
	return o.printStatus(res)
}

func (o *applyOptions) printStatus(res *deploy.ApplyResult) error {
	if len(res.Instances) == 0 {
		return nil
	}
	var w io.Writer = o.streams.Out
	if o.Output == "" {
		fmt.Fprintln(w)
	}
	return writeStatus(w, o.Output, res.Instances)
}
