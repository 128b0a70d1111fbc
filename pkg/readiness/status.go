package readiness

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// StatusView is the part of an object that status output shows: identity,
// generation and status. Managed fields, spec and other metadata are left
// out so `-o yaml` stays readable and stable.
func StatusView(obj *unstructured.Unstructured) *unstructured.Unstructured {
	md := map[string]any{"name": obj.GetName()}
	if g := obj.GetGeneration(); g != 0 { // 0: not from the server (direct mode)
		md["generation"] = g
	}
	if ns := obj.GetNamespace(); ns != "" {
		md["namespace"] = ns
	}
	if ts := obj.GetDeletionTimestamp(); ts != nil {
		md["deletionTimestamp"] = ts.UTC().Format("2006-01-02T15:04:05Z")
	}
	out := map[string]any{"apiVersion": obj.GetAPIVersion(), "kind": obj.GetKind(), "metadata": md}
	if st, ok := obj.Object["status"]; ok {
		out["status"] = runtime.DeepCopyJSONValue(st)
	}
	return &unstructured.Unstructured{Object: out}
}

// Ref names an object the way kubectl arguments do: Kind/name, with
// " -n namespace" for namespaced objects.
func Ref(obj *unstructured.Unstructured) string {
	s := obj.GetKind() + "/" + obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		s += " -n " + ns
	}
	return s
}

// WriteHuman prints each object's state, conditions and remaining status
// fields as an indented block:
//
//	KroWebApp/webapp -n production: ACTIVE (generation 2)
//	  CONDITION        STATUS  REASON  MESSAGE
//	  Ready            True    Ready   ...
//	  status:
//	    readyReplicas: 3
func WriteHuman(w io.Writer, objs []*unstructured.Unstructured) error {
	for i, obj := range objs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		state := State(obj)
		if state == "" {
			state = "no state"
		}
		if g := obj.GetGeneration(); g != 0 {
			fmt.Fprintf(w, "%s: %s (generation %d)\n", Ref(obj), state, g)
		} else { // direct mode: no object on the server, no generation
			fmt.Fprintf(w, "%s: %s\n", Ref(obj), state)
		}
		if obj.GetDeletionTimestamp() != nil {
			fmt.Fprintf(w, "  being deleted; finalizers: %s\n", strings.Join(obj.GetFinalizers(), ", "))
		}
		if conds := Conditions(obj); len(conds) > 0 {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  CONDITION\tSTATUS\tREASON\tOBSERVED\tMESSAGE")
			for _, c := range conds {
				gen := "-"
				if c.HasObservedGeneration {
					gen = fmt.Sprint(c.ObservedGeneration)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, dash(c.Reason), gen, oneLine(c.Message))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		st, _, _ := unstructured.NestedMap(obj.Object, "status")
		rest := map[string]any{}
		for k, v := range st {
			if k != "state" && k != "conditions" {
				rest[k] = v
			}
		}
		if len(rest) > 0 {
			b, err := yaml.Marshal(rest)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "  status:")
			for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				fmt.Fprintln(w, "    "+line)
			}
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return s
}
