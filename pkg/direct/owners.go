package direct

import (
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// checkOwners refuses objects rendered more than once (by two instances, or
// by two resources of one): applied, the later would silently take the
// object over, as both write with typekro's field manager, where KRO
// refuses the same with an ApplySet conflict. Each conflict is an error at
// the second owner's instance document, naming the first. keys[i] is
// render.Key of rs[i].Object, computed where the objects were rendered (in
// parallel): here only the look-ups are left.
func checkOwners(rs []Resource, keys []string) error {
	type owner struct {
		inst *composition.Document
		node string
	}
	first := make(map[string]owner, len(rs))
	var errs composition.Errors
	for i, r := range rs {
		prev, seen := first[keys[i]]
		if !seen {
			first[keys[i]] = owner{r.Instance.Doc, r.NodeID}
			continue
		}
		o := r.Object
		gvk := o.GroupVersionKind()
		errs = append(errs, r.Instance.Doc.Errorf("", "resource %q renders %s %s, which %s (resource %q, %s) renders too: every object needs one owner",
			r.NodeID, gvk.Kind, objectName(o.GetNamespace(), o.GetName()), prev.inst.Ref(), prev.node, prev.inst.File))
	}
	return errs.Err()
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
