package compile_test

import "testing"

// A comprehension over an externalRef collection compiles under the CEL
// cost limit: the re-planned programs declare resource ids dyn (KRO's
// WithResourceIDs declares google.protobuf.Any, which no comprehension
// accepts as its range). Found by e2e's TestDirectExternalCollection.
func TestCostLimitedCollectionComprehension(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "rgd.yaml", `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: rosters.example.com
spec:
  schema:
    apiVersion: v1alpha1
    kind: Roster
    spec:
      team: string
    status:
      members: ${size(members)}
  resources:
    - id: members
      externalRef:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          namespace: ${schema.metadata.namespace}
          selector:
            matchLabels:
              team: ${schema.spec.team}
    - id: roster
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.metadata.name}-roster
        data:
          names: ${members.map(m, m.metadata.name).join(",")}
`)
	if errs := compileDir(t, dir); len(errs) > 0 {
		t.Fatalf("want no error, got:\n%v", errs)
	}
}
