package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/backend"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

type deleteOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Paths   []string
	Timeout time.Duration
	Wait    bool
	KeepRGD bool
	Mode    string
	// ApplySet is --applyset (kro mode).
	ApplySet string
}

var (
	deleteLong = longDesc(`
		Delete removes the objects of the inputs in reverse apply order:

		1. instances, and waits until they are gone: KRO keeps an instance (by its finalizer)
		   until it has deleted the resources the instance created;
		2. plain objects;
		3. ResourceGraphDefinitions (not with --keep-rgd);
		4. namespaces of the inputs;
		5. CRDs of the inputs (not with --keep-rgd).

		KRO leaves the CRD it generated for an RGD in place when the RGD is deleted; so does this
		command. Namespaces made by apply --create-namespace are not in the inputs and stay.
		With --mode direct, step 1 is each instance's resources (its ApplySet, in reverse
		dependency order) and steps 2, 4 and 5 follow as above.
		Objects already gone are reported as "not found".
		With --applyset NAME (kro mode), the members of that apply set the inputs do not contain
		are deleted too, in the same order, and then its parent (kept with --keep-rgd, which keeps
		the set's RGDs and CRDs).`) + "\n\n" + exitCodeLong

	deleteExample = exampleText(`
		# Delete an example's instances, then its RGD
		kubectl typekro delete examples/webapp

		# Delete the instances only, keep the RGDs and CRDs
		kubectl typekro delete examples/webapp --keep-rgd

		# Also the other members of an apply set, then its parent
		kubectl typekro delete examples/webapp -n platform --applyset=webapp

		# Delete what apply --mode direct created
		kubectl typekro delete --mode direct examples/database-stack`)
)

func newDeleteCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &deleteOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:     "delete PATH...",
		Short:   "Delete instances, then their RGDs, waiting until KRO has removed what the instances created",
		Long:    deleteLong,
		Example: deleteExample,
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
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up after this long; 0 waits forever")
	fs.BoolVar(&o.Wait, "wait", true, "wait until every deleted object is gone (instances are always waited for before their RGDs are deleted)")
	fs.StringVar(&o.Mode, "mode", render.ModeKro, "kro: instances, RGDs...; direct: what apply --mode direct created (its ApplySet) in reverse dependency order, then the inputs' plain objects, namespaces and CRDs")
	fs.BoolVar(&o.KeepRGD, "keep-rgd", false, "keep the ResourceGraphDefinitions and CRDs of the inputs")
	fs.StringVar(&o.ApplySet, "applyset", "", "kro mode: also delete the other members of this apply set (NAME, secret/NAME or configmap/NAME, as given to apply --prune --applyset), then its parent")
	return cmd
}

func (o *deleteOptions) Complete(args []string) (err error) {
	o.Paths, err = o.paths(args)
	return err
}

func (o *deleteOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if o.Timeout < 0 {
		return Usage(fmt.Errorf("--timeout must not be negative"))
	}
	if err := checkMode(o.Mode); err != nil {
		return err
	}
	return checkApplySet(o.ApplySet, o.Mode)
}

func (o *deleteOptions) Run() error {
	ns, res, err := o.load(o.Paths, o.flags)
	if err != nil {
		return err
	}
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	e.Out, e.Progress = o.streams.Out, o.streams.ErrOut
	b, set, err := modeBackend(o.Mode, e, o.ApplySet)
	if err != nil {
		return err
	}
	return deployError(timeoutError(ctx, b.Delete(ctx, res, backend.DeleteOptions{KeepDefinitions: o.KeepRGD, Wait: o.Wait, ApplySet: set}), o.Timeout))
}
