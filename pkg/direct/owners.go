package direct

import (
	"strings"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// checkOwners refuses objects rendered more than once (by two instances, or
// by two resources of one): applied, the later would silently take the
// object over, as both write with typekro's field manager, where KRO
// refuses the same with an ApplySet conflict. Each conflict is an error at
// the second owner's instance document, naming the first. keys[i] is
// render.Key of rs[i].Object, computed where the objects were rendered (in
// parallel): here only the look-ups are left, and the objects themselves
// are not read (a streaming render keeps none).
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
		// render.Key: "Kind[.group]\x00namespace\x00name".
		gk, rest, _ := strings.Cut(keys[i], "\x00")
		ns, name, _ := strings.Cut(rest, "\x00")
		kind, _, _ := strings.Cut(gk, ".")
		errs = append(errs, r.Instance.Doc.Errorf("", "resource %q renders %s %s, which %s (resource %q, %s) renders too: every object needs one owner",
			r.NodeID, kind, objectName(ns, name), prev.inst.Ref(), prev.node, prev.inst.File))
	}
	return errs.Err()
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
