package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/typekro/kubectl-typekro/pkg/readiness"
)

// outputWide is -o wide: a table, with the columns of the default view
// plus generations, condition and resource counts.
const outputWide = "wide"

// objectPrinter is -o for status and apply: cli-runtime's PrintFlags
// (json, yaml, name, jsonpath, jsonpath-file, go-template, ...) plus wide;
// no -o keeps typekro's readable blocks.
type objectPrinter struct {
	flags   *genericclioptions.PrintFlags
	printer printers.ResourcePrinter // nil: readable text or wide
	// now is the clock of the readable view's watch timestamps.
	now func() time.Time
}

func newObjectPrinter(operation string) *objectPrinter {
	return &objectPrinter{flags: genericclioptions.NewPrintFlags(operation), now: time.Now}
}

// AddFlags adds -o and the template flags, and completes -o's values.
func (p *objectPrinter) AddFlags(cmd *cobra.Command) {
	p.flags.AddFlags(cmd)
	formats := p.Formats()
	cmd.Flags().Lookup("output").Usage = "output format, one of: " + strings.Join(formats, ", ") + " (default: readable text; json, yaml and templates get a v1 List of the objects, managed fields left out)"
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// Formats are the values -o takes.
func (p *objectPrinter) Formats() []string {
	return append(p.flags.AllowedFormats(), outputWide)
}

// Format is -o as given.
func (p *objectPrinter) Format() string { return *p.flags.OutputFormat }

// Complete builds the printer; an unknown format or a template that does
// not parse is a usage error.
func (p *objectPrinter) Complete() error {
	switch p.Format() {
	case "", outputWide:
		p.printer = nil
		return nil
	}
	pr, err := p.flags.ToPrinter()
	if err != nil {
		return Usage(fmt.Errorf("--output: %w", err))
	}
	p.printer = pr
	return nil
}

// Readable says whether output is typekro's readable text (no -o).
func (p *objectPrinter) Readable() bool { return p.Format() == "" }

// PrintList prints objects: as a v1 List with -o json/yaml/templates (one
// document, as kubectl get prints several objects), a table with -o wide,
// readable blocks without -o.
func (p *objectPrinter) PrintList(w io.Writer, objs []*unstructured.Unstructured) error {
	switch {
	case p.Readable():
		return readiness.WriteHuman(w, objs)
	case p.Format() == outputWide:
		return printers.NewTablePrinter(printers.PrintOptions{Wide: true}).PrintObj(wideTable(objs), w)
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}}}
	for _, u := range objs {
		list.Items = append(list.Items, *u)
	}
	return p.printer.PrintObj(list, w)
}

// PrintEvent prints one change --watch saw: the object itself (not a
// List) with -o, a table row with -o wide, a timestamped block without.
func (p *objectPrinter) PrintEvent(w io.Writer, u *unstructured.Unstructured, desc string) error {
	if u == nil {
		_, err := fmt.Fprintf(w, "%s: deleted\n", desc)
		return err
	}
	switch {
	case p.Readable():
		fmt.Fprintf(w, "\n[%s] ", p.now().Format("15:04:05.000"))
		return readiness.WriteHuman(w, []*unstructured.Unstructured{u})
	case p.Format() == outputWide:
		return printers.NewTablePrinter(printers.PrintOptions{Wide: true, NoHeaders: true}).PrintObj(wideTable([]*unstructured.Unstructured{u}), w)
	}
	return p.printer.PrintObj(u, w)
}

// wideTable is -o wide's table: one row per object, in the given order.
func wideTable(objs []*unstructured.Unstructured) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Namespace", Type: "string"},
		{Name: "Name", Type: "string", Description: "kind.group/name"},
		{Name: "State", Type: "string", Description: "status.state as KRO reports it"},
		{Name: "Ready", Type: "string", Description: "the Ready condition's status"},
		{Name: "Generation", Type: "string", Description: "metadata.generation"},
		{Name: "Observed", Type: "string", Description: "the generation the Ready condition was observed for"},
		{Name: "Conditions", Type: "string", Description: "conditions True / all"},
		{Name: "Resources", Type: "string", Description: "an RGD's resources (status.topologicalOrder)"},
		{Name: "Message", Type: "string", Description: "the Ready condition's message"},
	}}
	t.Kind, t.APIVersion = "Table", metav1.SchemeGroupVersion.String()
	for _, u := range objs {
		state, ready, observed, msg := dash(readiness.State(u)), "-", "-", "-"
		conds := readiness.Conditions(u)
		if c := readiness.FindCondition(conds, readiness.ConditionReady); c != nil {
			ready = c.Status
			if c.HasObservedGeneration {
				observed = fmt.Sprint(c.ObservedGeneration)
			}
			if c.Message != "" {
				msg = c.Message
			}
		}
		gen := "-"
		if g := u.GetGeneration(); g != 0 {
			gen = fmt.Sprint(g)
		}
		trueConds := 0
		for _, c := range conds {
			if c.Status == string(metav1.ConditionTrue) {
				trueConds++
			}
		}
		resources := "-"
		if order, ok, _ := unstructured.NestedStringSlice(u.Object, "status", "topologicalOrder"); ok {
			resources = fmt.Sprint(len(order))
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{dash(u.GetNamespace()), objectName(u), state, ready, gen, observed, fmt.Sprintf("%d/%d", trueConds, len(conds)), resources, oneLine(msg)},
			Object: runtime.RawExtension{Object: u},
		})
	}
	return t
}

// objectName is kubectl's kind.group/name (-o name's form).
func objectName(u *unstructured.Unstructured) string {
	gk := u.GroupVersionKind().GroupKind()
	kind := strings.ToLower(gk.Kind)
	if gk.Group != "" {
		kind += "." + gk.Group
	}
	return kind + "/" + u.GetName()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeRGDTable is status's default view of every RGD in the cluster.
func writeRGDTable(w io.Writer, objs []*unstructured.Unstructured) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tREADY\tMESSAGE")
	for _, u := range objs {
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
