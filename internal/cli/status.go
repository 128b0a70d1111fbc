package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/yaml"

	"github.com/typekro/kubectl-typekro/pkg/bootstrap"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

type statusOptions struct {
	inputOptions
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Args          []string
	AllNamespaces bool
	Output        string
	Watch         bool
	Timeout       time.Duration
	Mode          string
}

func newStatusCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &statusOptions{flags: flags, streams: streams}
	cmd := &cobra.Command{
		Use:   "status [TYPE[.GROUP]/NAME... | TYPE [NAME...] | -f PATH...]",
		Short: "Show KRO's state, conditions and status fields of instances and RGDs",
		Long: `Status reads what KRO reports: status.state, the conditions (with the generation each
was observed for) and every other status field.

Which objects:
  status TYPE/NAME ...     kubectl-style arguments, resolved through live discovery:
                           krowebapp/webapp, krowebapps.example.com/webapp, rgd/kro-webapp
  status TYPE [NAME...]    all (or the named) objects of a kind in the namespace (-A: all)
  status -f PATH...        the RGDs and instances defined in files or directories
  status                   whether KRO is installed (version, Available), then every
                           ResourceGraphDefinition in the cluster, as a table

With --watch the status is printed again whenever it changes, until Ctrl-C or --timeout.

Exit codes: 0 shown, 1 an object was not found, 2 usage error or cluster unreachable.`,
		Example: `  kubectl typekro status krowebapp/webapp -n production
  kubectl typekro status -f examples/webapp -o yaml
  kubectl typekro status krowebapp -A --watch`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Args = args
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	o.inputOptions.AddFlags(fs, streams.In)
	fs.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "with TYPE: objects in every namespace")
	fs.StringVarP(&o.Output, "output", "o", "", "yaml or json (default: readable text)")
	fs.BoolVarP(&o.Watch, "watch", "w", false, "print the status again whenever it changes")
	fs.StringVar(&o.Mode, "mode", render.ModeKro, "kro: what KRO reports; direct (with -f): the status expressions evaluated on the live objects apply --mode direct created")
	fs.DurationVar(&o.Timeout, "timeout", 0, "stop after this long (0: until Ctrl-C; without --watch: 1m)")
	return cmd
}

func (o *statusOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if o.Output != "" && o.Output != "yaml" && o.Output != "json" {
		return Usage(fmt.Errorf("--output must be yaml or json, not %q", o.Output))
	}
	if err := checkMode(o.Mode); err != nil {
		return err
	}
	if len(o.Filenames) > 0 && len(o.Args) > 0 {
		return Usage(fmt.Errorf("give either -f PATH or TYPE/NAME arguments, not both"))
	}
	return nil
}

// ref is one object to show.
type ref struct {
	gvr             schema.GroupVersionResource
	namespace, name string
	desc            string
	obj             *unstructured.Unstructured
}

func (o *statusOptions) Run() error {
	if o.Mode == render.ModeDirect {
		return o.runDirect()
	}
	ns, err := clusterNamespace(o.flags)
	if err != nil {
		return err
	}
	timeout := o.Timeout
	if !o.Watch && timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel, e, err := connect(o.flags, ns, timeout)
	if err != nil {
		return err
	}
	defer cancel()
	var refs []*ref
	var missing []string
	var follow []collection
	switch {
	case len(o.Filenames) > 0:
		refs, missing, err = o.fromFiles(ctx, e, ns)
	case len(o.Args) > 0:
		if o.Watch {
			// `status KIND --watch` follows the whole collection, so objects
			// created after it starts are shown too.
			if follow, err = o.collections(e, ns); err != nil {
				return err
			}
		}
		refs, err = o.fromArgs()
		if err != nil && len(follow) > 0 && isNoObjects(err) {
			refs, err = nil, nil
		}
	default:
		if o.Watch {
			follow = []collection{{gvr: rgdGVR}}
		}
		refs, err = o.allRGDs(ctx, e)
		if err == nil && !o.Watch && o.Output == "" {
			// Whether KRO itself is installed, and at which version, first.
			// Not being allowed to list Deployments must not hide the RGDs.
			if inst, ierr := bootstrap.Installed(ctx, e.Dynamic); ierr != nil {
				fmt.Fprintf(o.streams.Out, "KRO: cannot tell whether it is installed: %v\n", ierr)
			} else {
				fmt.Fprintln(o.streams.Out, kroLine(inst))
			}
			return writeRGDTable(o.streams.Out, refs)
		}
	}
	if err != nil {
		return deployError(err)
	}
	objs := make([]*unstructured.Unstructured, 0, len(refs))
	for _, r := range refs {
		objs = append(objs, r.obj)
	}
	if err := writeStatus(o.streams.Out, o.Output, objs); err != nil {
		return err
	}
	if o.Watch && len(follow) > 0 {
		o.watchCollections(ctx, e, follow, refs)
	} else if o.Watch {
		o.watch(ctx, e, refs)
	}
	if len(missing) > 0 {
		for _, m := range missing {
			fmt.Fprintln(o.streams.ErrOut, m)
		}
		return Fail(fmt.Errorf("%d object(s) not found", len(missing)))
	}
	return nil
}

// fromFiles finds the RGDs and instances of the inputs in the cluster.
func (o *statusOptions) fromFiles(ctx context.Context, e *deploy.Engine, ns string) ([]*ref, []string, error) {
	res, err := o.Compile(o.Filenames, ns, o.flags)
	if err != nil {
		return nil, nil, err
	}
	set := deploy.NewSet(res)
	var refs []*ref
	var missing []string
	for _, ro := range set.Objects {
		if ro.Role != render.RoleRGD && ro.Role != render.RoleInstance {
			continue
		}
		u := ro.Object
		gvk := u.GroupVersionKind()
		m, err := e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: not found (the cluster does not serve %s)", readiness.Ref(u), gvk))
			continue
		}
		r := &ref{gvr: m.Resource, name: u.GetName(), desc: readiness.Ref(u)}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			r.namespace = u.GetNamespace()
			if r.namespace == "" {
				r.namespace = ns
			}
		}
		live, err := e.Dynamic.Resource(r.gvr).Namespace(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, r.desc+": not found")
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		r.obj = live
		refs = append(refs, r)
	}
	return refs, missing, nil
}

// fromArgs resolves kubectl-style arguments with live discovery.
func (o *statusOptions) fromArgs() ([]*ref, error) {
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, Usage(err)
	}
	b := resource.NewBuilder(o.flags).Unstructured().
		NamespaceParam(ns).DefaultNamespace().AllNamespaces(o.AllNamespaces).
		ResourceTypeOrNameArgs(true, o.Args...).ContinueOnError().Latest().Flatten()
	infos, err := b.Do().Infos()
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, Fail(err)
		}
		return nil, Usage(err)
	}
	var refs []*ref
	for _, info := range infos {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		refs = append(refs, &ref{gvr: info.Mapping.Resource, namespace: info.Namespace, name: info.Name, desc: readiness.Ref(u), obj: u})
	}
	if len(refs) == 0 {
		return nil, Fail(errNoObjects)
	}
	return refs, nil
}

var errNoObjects = errors.New("no objects found")

func isNoObjects(err error) bool { return errors.Is(err, errNoObjects) }

// collection is a kind (in a namespace, or all) that --watch follows.
type collection struct {
	gvr       schema.GroupVersionResource
	namespace string
}

// collections maps `status KIND[,KIND...] --watch` to what to follow; named
// objects (KIND/NAME, KIND NAME) are watched one by one instead.
func (o *statusOptions) collections(e *deploy.Engine, ns string) ([]collection, error) {
	if len(o.Args) != 1 || strings.Contains(o.Args[0], "/") {
		return nil, nil
	}
	var out []collection
	for _, kind := range strings.Split(o.Args[0], ",") {
		gvr, err := e.Mapper.ResourceFor(schema.ParseGroupResource(kind).WithVersion(""))
		if err != nil {
			return nil, Usage(fmt.Errorf("%s: %w", kind, err))
		}
		c := collection{gvr: gvr}
		if !o.AllNamespaces && namespaced(e, gvr) {
			c.namespace = ns
		}
		out = append(out, c)
	}
	return out, nil
}

func namespaced(e *deploy.Engine, gvr schema.GroupVersionResource) bool {
	gvk, err := e.Mapper.KindFor(gvr)
	if err != nil {
		return true
	}
	m, err := e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err != nil || m.Scope.Name() == meta.RESTScopeNameNamespace
}

// watchCollections prints an object of the followed kinds whenever it
// appears, changes its generation or status, or is deleted; shown is what
// was printed already.
func (o *statusOptions) watchCollections(ctx context.Context, e *deploy.Engine, follow []collection, shown []*ref) {
	var mu sync.Mutex
	last := map[string]string{} // id → statusKey, "gone" once deleted
	desc := map[string]string{}
	id := func(gvr schema.GroupVersionResource, u *unstructured.Unstructured) string {
		return gvr.String() + "|" + u.GetNamespace() + "/" + u.GetName()
	}
	for _, r := range shown {
		last[id(r.gvr, r.obj)] = statusKey(r.obj)
		desc[id(r.gvr, r.obj)] = r.desc
	}
	var wg sync.WaitGroup
	for _, c := range follow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := c.gvr.String() + "|"
			readiness.WatchList(ctx, e.Dynamic, c.gvr, c.namespace, labels.Everything(), func(objs []*unstructured.Unstructured) {
				mu.Lock()
				defer mu.Unlock()
				present := map[string]bool{}
				for _, u := range objs {
					k := id(c.gvr, u)
					present[k] = true
					if sk := statusKey(u); last[k] != sk {
						last[k], desc[k] = sk, readiness.Ref(u)
						o.printOne(u)
					}
				}
				var gone []string
				for k, v := range last {
					if strings.HasPrefix(k, prefix) && !present[k] && v != "gone" && (c.namespace == "" || strings.HasPrefix(k, prefix+c.namespace+"/")) {
						gone = append(gone, k)
					}
				}
				sort.Strings(gone)
				for _, k := range gone {
					last[k] = "gone"
					fmt.Fprintf(o.streams.Out, "%s: deleted\n", desc[k])
				}
			})
		}()
	}
	wg.Wait()
}

var rgdGVR = schema.GroupVersionResource{Group: "kro.run", Version: "v1alpha1", Resource: "resourcegraphdefinitions"}

func (o *statusOptions) allRGDs(ctx context.Context, e *deploy.Engine) ([]*ref, error) {
	list, err := e.Dynamic.Resource(rgdGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var refs []*ref
	for i := range list.Items {
		u := &list.Items[i]
		refs = append(refs, &ref{gvr: rgdGVR, name: u.GetName(), desc: readiness.Ref(u), obj: u})
	}
	return refs, nil
}

func writeRGDTable(w io.Writer, refs []*ref) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tREADY\tMESSAGE")
	for _, r := range refs {
		u := r.obj
		av, _, _ := unstructured.NestedString(u.Object, "spec", "schema", "apiVersion")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "schema", "kind")
		group, _, _ := unstructured.NestedString(u.Object, "spec", "schema", "group")
		if group == "" {
			group = "kro.run"
		}
		ready := readiness.FindCondition(readiness.Conditions(u), readiness.ConditionReady)
		status, msg := "-", "-"
		if ready != nil {
			status = ready.Status
			if ready.Message != "" {
				msg = ready.Message
			}
		}
		fmt.Fprintf(tw, "%s\t%s.%s/%s\t%s\t%s\t%s\n", u.GetName(), kind, group, av, readiness.State(u), status, msg)
	}
	return tw.Flush()
}

// watch prints an object again whenever its generation or status changes.
func (o *statusOptions) watch(ctx context.Context, e *deploy.Engine, refs []*ref) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range refs {
		last := statusKey(r.obj)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = readiness.Watch(ctx, e.Dynamic, r.gvr, r.namespace, r.name, func(u *unstructured.Unstructured) bool {
				mu.Lock()
				defer mu.Unlock()
				if u == nil {
					if last != "gone" {
						fmt.Fprintf(o.streams.Out, "%s: deleted\n", r.desc)
						last = "gone"
					}
					return false
				}
				if k := statusKey(u); k != last {
					last = k
					o.printOne(u)
				}
				return false
			})
		}()
	}
	wg.Wait()
}

func (o *statusOptions) printOne(u *unstructured.Unstructured) {
	switch o.Output {
	case "json":
		b, _ := json.MarshalIndent(readiness.StatusView(u).Object, "", "    ")
		fmt.Fprintln(o.streams.Out, string(b))
	case "yaml":
		b, _ := yaml.Marshal(readiness.StatusView(u).Object)
		fmt.Fprint(o.streams.Out, "---\n"+string(b))
	default:
		fmt.Fprintf(o.streams.Out, "\n[%s] ", time.Now().Format("15:04:05.000"))
		_ = readiness.WriteHuman(o.streams.Out, []*unstructured.Unstructured{u})
	}
}

func statusKey(u *unstructured.Unstructured) string {
	if u == nil {
		return "gone"
	}
	st, _ := json.Marshal(u.Object["status"])
	return fmt.Sprintf("%d/%v/%s", u.GetGeneration(), u.GetDeletionTimestamp() != nil, st)
}
