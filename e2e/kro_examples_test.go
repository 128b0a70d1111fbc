package e2e

import (
	"encoding/json"
	"os"
	"sort"
	"testing"
	"time"
)

// statusList is the -o json output of apply and status.
type statusList struct {
	Items []struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Status map[string]any `json:"status"`
	} `json:"items"`
}

// TestKroExamples applies every example directory with the real KRO
// controller and expects every RGD Active and every instance ACTIVE, then
// deletes it and expects nothing of it left. A new example is covered
// without touching this test.
func TestKroExamples(t *testing.T) {
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var examples []string
	for _, e := range entries {
		if e.IsDir() {
			examples = append(examples, e.Name())
		}
	}
	sort.Strings(examples)
	if len(examples) == 0 {
		t.Fatalf("no examples under %s", examplesDir)
	}
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			ex := copyExample(t, name, createdByApply(t))
			dir, nss := ex.Dir, ex.Namespaces
			// Instances without a namespace go to -n.
			var nsFlag []string
			if ns, ok := nss[""]; ok {
				nsFlag = []string{"-n", ns}
			}
			typekroDeleteAtEnd(t, nsFlag, dir)

			start := time.Now()
			r := typekro(t, 0, append([]string{"apply", dir, "--create-namespace", "--timeout", "3m", "-o", "json"}, nsFlag...)...)
			t.Logf("%s: applied and ready in %s", name, time.Since(start).Round(time.Millisecond))
			var applied statusList
			if err := json.Unmarshal([]byte(r.Stdout), &applied); err != nil {
				t.Fatalf("apply -o json: %v\n%s", err, r.Stdout)
			}
			if len(applied.Items) == 0 {
				t.Fatalf("example %s has no instances", name)
			}

			// Read back what KRO reports, independently of apply's wait.
			r = typekro(t, 0, append([]string{"status", "-f", dir, "-o", "json"}, nsFlag...)...)
			var st statusList
			if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
				t.Fatalf("status -o json: %v\n%s", err, r.Stdout)
			}
			rgds, instances := 0, 0
			for _, it := range st.Items {
				ref := it.Kind + "/" + it.Metadata.Name + " " + it.Metadata.Namespace
				if it.Kind == "ResourceGraphDefinition" {
					rgds++
					if it.Status["state"] != "Active" {
						t.Errorf("%s: state %v", ref, it.Status["state"])
					}
					continue
				}
				instances++
				if it.Status["state"] != "ACTIVE" {
					t.Errorf("%s: state %v, status %v", ref, it.Status["state"], it.Status)
				}
			}
			if rgds == 0 || instances != len(applied.Items) {
				t.Errorf("status -f: %d RGDs, %d instances (apply reported %d)", rgds, instances, len(applied.Items))
			}

			typekro(t, 0, append([]string{"delete", dir, "--timeout", "2m"}, nsFlag...)...)
			for _, ns := range nss {
				if got := names(t, deploymentGVK, ns); len(got) > 0 {
					t.Errorf("deployments left in %s after delete: %v", ns, got)
				}
			}
			// Nothing of the inputs is found any more.
			typekro(t, 1, append([]string{"status", "-f", dir}, nsFlag...)...)
			for _, it := range st.Items {
				if it.Kind == "ResourceGraphDefinition" && getRGD(t, it.Metadata.Name) != nil {
					t.Errorf("RGD %s left after delete", it.Metadata.Name)
				}
			}
		})
	}
}
