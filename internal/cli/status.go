package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/backend"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

type statusOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	print   *objectPrinter

	Args          []string
	AllNamespaces bool
	Watch         bool
	Timeout       time.Duration
	Mode          string
	namespace     string
}

var (
	statusLong = longDesc(`
		Status reads what KRO reports: status.state, the conditions (with the generation each
		was observed for) and every other status field.

		Which objects:

		    status TYPE/NAME ...    kubectl-style arguments (krowebapp/webapp, rgd/kro-webapp)
		    status TYPE [NAME...]   all (or the named) objects of a kind in the namespace (-A: all)
		    status -f PATH...       the RGDs and instances defined in files or directories
		    status                  whether KRO is installed, then every RGD in the cluster

		With --mode direct (and -f) the instances' status is computed as KRO would write it, from
		the live objects apply --mode direct created.

		Output: readable blocks by default; -o json, yaml, jsonpath=..., jsonpath-file=...,
		go-template=... print a v1 List of the objects (managed fields left out), -o name their
		kind.group/name, -o wide a table with generations, condition and resource counts.
		With --watch the status is printed again whenever it changes (with -o: each changed
		object on its own), until Ctrl-C or --timeout.

		Exit codes: 0 shown, 1 an object was not found, 2 usage error or cluster unreachable.`)

	statusExample = exampleText(`
		# The RGDs and instances of an example, as KRO reports them
		kubectl typekro status -f examples/webapp

		# One instance, by kubectl-style name, as JSON or one field
		kubectl typekro status krowebapp/webapp -n production -o json
		kubectl typekro status krowebapp/webapp -n production -o jsonpath='{.items[0].status.state}'

		# Every instance of a kind in every namespace, as a wide table, following changes
		kubectl typekro status krowebapp -A -o wide --watch

		# Status computed from the live objects apply --mode direct created
		kubectl typekro status --mode direct -f examples/database-stack -o yaml`)
)

func newStatusCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &statusOptions{flags: flags, streams: streams, print: newObjectPrinter("")}
	cmd := &cobra.Command{
		Use:     "status [TYPE[.GROUP]/NAME... | TYPE [NAME...] | -f PATH...]",
		Short:   "Show KRO's state, conditions and status fields of instances and RGDs",
		Long:    statusLong,
		Example: statusExample,
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
	fs.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "with TYPE: objects in every namespace")
	fs.BoolVarP(&o.Watch, "watch", "w", false, "print the status again whenever it changes")
	fs.StringVar(&o.Mode, "mode", render.ModeKro, "kro: what KRO reports; direct (with -f): the status expressions evaluated on the live objects apply --mode direct created")
	fs.DurationVar(&o.Timeout, "timeout", 0, "stop after this long (0: until Ctrl-C; without --watch: 1m)")
	o.print.AddFlags(cmd)
	return cmd
}

// Complete takes the arguments, the namespace (-n, the context's, else
// "default") and the printer. Nothing here contacts the cluster.
func (o *statusOptions) Complete(args []string) (err error) {
	o.Args = args
	if o.Timeout == 0 && !o.Watch {
		o.Timeout = time.Minute
	}
	if o.namespace, err = clusterNamespace(o.flags); err != nil {
		return err
	}
	return o.print.Complete()
}

func (o *statusOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if err := checkMode(o.Mode); err != nil {
		return err
	}
	if len(o.Filenames) > 0 && len(o.Args) > 0 {
		return Usage(fmt.Errorf("give either -f PATH or TYPE/NAME arguments, not both"))
	}
	if o.Kustomize != "" && len(o.Args) > 0 {
		return Usage(fmt.Errorf("give either -k DIR or TYPE/NAME arguments, not both"))
	}
	if o.Mode == render.ModeDirect {
		if len(o.Filenames) == 0 && o.Kustomize == "" {
			return Usage(fmt.Errorf("--mode direct needs -f PATH: the status expressions come from the composition"))
		}
		if o.Watch {
			return Usage(fmt.Errorf("--watch needs --mode kro: a direct-mode instance is not an object in the cluster"))
		}
	}
	if o.AllNamespaces && len(o.Args) == 0 {
		return Usage(fmt.Errorf("-A (--all-namespaces) needs a TYPE argument"))
	}
	if o.Timeout < 0 {
		return Usage(fmt.Errorf("--timeout must not be negative"))
	}
	return nil
}

func (o *statusOptions) Run() error {
	var inputs *compile.Result
	if len(o.Filenames) > 0 || o.Kustomize != "" {
		// Invalid files fail before the cluster is contacted.
		var err error
		if inputs, err = o.Compile(o.Filenames, o.namespace, o.flags); err != nil {
			return err
		}
	}
	ctx, cancel, e, err := connect(o.flags, o.namespace, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := backend.New(o.Mode, e)
	if err != nil {
		return Usage(err)
	}
	r, err := b.Status(ctx, backend.StatusOptions{
		Inputs:        inputs,
		Args:          o.Args,
		Getter:        o.flags,
		AllNamespaces: o.AllNamespaces,
		Namespace:     o.namespace,
		Watch:         o.Watch,
	})
	if err != nil {
		return statusError(err)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(o.streams.ErrOut, n)
	}
	if r.RGDList && !o.Watch && o.print.Readable() {
		if r.KROErr != nil {
			fmt.Fprintf(o.streams.Out, "KRO: cannot tell whether it is installed: %v\n", r.KROErr)
		} else if r.KRO != nil {
			fmt.Fprintln(o.streams.Out, kroLine(*r.KRO))
		}
		return writeRGDTable(o.streams.Out, r.Objects)
	}
	if len(r.Objects) > 0 || !o.Watch {
		if err := o.print.PrintList(o.streams.Out, r.Objects); err != nil {
			return err
		}
	}
	if r.Follow != nil {
		r.Follow(ctx, func(ev backend.Event) {
			_ = o.print.PrintEvent(o.streams.Out, ev.Object, ev.Desc)
		})
	}
	if len(r.Missing) > 0 {
		for _, m := range r.Missing {
			fmt.Fprintln(o.streams.ErrOut, m)
		}
		return Fail(fmt.Errorf("%d object(s) not found", len(r.Missing)))
	}
	return nil
}

// statusError: an object not found exits 1, an argument the cluster
// cannot resolve 2.
func statusError(err error) error {
	switch {
	case backend.IsArgument(err):
		return Usage(err)
	case errors.Is(err, backend.ErrNoObjects), apierrors.IsNotFound(err):
		return Fail(err)
	}
	return deployError(err)
}
