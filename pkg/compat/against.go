package compat

import (
	"github.com/typekro/kubectl-typekro/pkg/compile"
)

// Against compares the definitions of the inputs now (head) with those of
// the same inputs at an old revision (old, compiled from tree), matched by
// the CRD KRO generates for them (the kind their instances use):
//   - in both: KRO's comparator on the two generated CRDs, and KRO's
//     ownership rule (the same kind now defined by an RGD of another name
//     is refused: the CRD is labelled with the old RGD's name);
//   - only now: added;
//   - only then: removed, breaking for its instances.
//
// allow marks every breaking change allowed (the user's flag); a definition
// carrying KRO's allow annotation has its own allowed either way.
func Against(head, old []*compile.Definition, tree *Tree, allow bool) (Report, error) {
	byCRD := map[string]*compile.Definition{}
	for _, d := range old {
		if crd := CRD(d); crd != nil {
			byCRD[crd.Name] = d
		}
	}
	var out Report
	seen := map[string]bool{}
	for _, d := range head {
		crd := CRD(d)
		if crd == nil {
			continue
		}
		seen[crd.Name] = true
		prev := byCRD[crd.Name]
		if prev == nil {
			out = append(out, Added(d))
			continue
		}
		if prev.Name() != d.Name() {
			c := newChange(d, "metadata.name")
			c.Type, c.Breaking = OwnerChanged, true
			c.Detail = "CRD " + crd.Name + " was generated for ResourceGraphDefinition " + prev.Name() + " and stays labelled with it; KRO refuses this even with " + AllowAnnotation
			out = append(out, c)
			continue
		}
		changes, err := Compare(d, CRD(prev), allow || Allows(d))
		if err != nil {
			return nil, err
		}
		out = append(out, changes...)
	}
	for _, d := range old {
		if crd := CRD(d); crd != nil && !seen[crd.Name] {
			out = append(out, Removed(d, tree.Display(d.Doc.File), allow))
		}
	}
	out.Sort()
	return out, nil
}
