package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testsuiteData = "../../pkg/testsuite/testdata/app/"

func TestTestCommand(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "report.xml")
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "x.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"every example passes", []string{"test", examples}, 0, "17 passed, 0 failed\n", ""},
		{"a failing suite exits 1", []string{"test", testsuiteData + "failing"}, 1, "0 passed, 7 failed\n", ""},
		{"--run selects by name", []string{"test", "--run", "^public", testsuiteData}, 0, "--- PASS: public-shop-observed", ""},
		{"--run matching nothing", []string{"test", "--run", "nothing-matches", testsuiteData}, 0, "0 passed, 0 failed\n", ""},
		{"no tests is a usage error", []string{"test", empty}, 2, "", "no Test documents"},
		{"bad --run", []string{"test", "--run", "(", testsuiteData}, 2, "", "--run: error parsing regexp"},
		{"bad -o", []string{"test", "-o", "xml", testsuiteData}, 2, "", "--output must be text or json"},
		{"--junit", []string{"test", "--junit", junit, testsuiteData + "passing"}, 0, "3 passed, 0 failed\n", ""},
		{"missing path", []string{"test", filepath.Join(empty, "nope")}, 2, "", "no such file"},
		{"-o completes its own formats", []string{"__complete", "test", "-o", ""}, 0, "text\njson\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if tc.stdout != "" && !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.stdout)
			}
			if tc.stderr != "" && !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.stderr)
			}
		})
	}
	x, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(x), `<testsuites tests="3" failures="0">`) {
		t.Errorf("--junit wrote %q (%v)", x, err)
	}
}

func TestTestCommandJSON(t *testing.T) {
	stdout, _, code := run(t, "test", "-o", "json", testsuiteData+"failing")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		Passed, Failed int
		Tests          []struct {
			Name     string
			Failures []struct{ Location, Field, Want, Got string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 7 || rep.Tests[0].Name != "changed-image" || rep.Tests[0].Failures[0].Got != `"shop:1.1"` {
		t.Errorf("report %+v", rep)
	}
}

// Test documents sit next to the compositions they test: render and
// validate of that directory must not take them (or golden and observed
// files that are not .yaml) as inputs.
func TestTestDocumentsAreNotInputs(t *testing.T) {
	for _, args := range [][]string{
		{"validate", testsuiteData},
		{"render", testsuiteData},
		{"render", "--mode", "direct", "--allow-pending", testsuiteData},
	} {
		stdout, stderr, code := run(t, args...)
		if code != 0 || strings.Contains(stdout, "kind: Test") {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
	}
}

func TestRenderObserved(t *testing.T) {
	obs := filepath.Join(t.TempDir(), "live.yaml")
	live := `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Secret, metadata: {name: orders-db, namespace: staging}}
- {apiVersion: v1, kind: Service, metadata: {name: orders-db-service, namespace: staging}, spec: {clusterIP: 10.96.0.12}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: orders-db, namespace: staging, generation: 1}
  spec: {replicas: 1}
  status: {observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1}
`
	if err := os.WriteFile(obs, []byte(live), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		want   []string
		stderr string
	}{
		{"runtime reference resolves from the observed Service", []string{"render", "--mode", "direct", "--observed", obs, examples + "database-stack"}, 0,
			[]string{"value: postgresql://app:$(POSTGRES_PASSWORD)@10.96.0.12:5432/app", "value: ready"}, ""},
		{"--status adds the instance with its status", []string{"render", "--mode", "direct", "--observed", obs, "--status", "--allow-pending", examples + "database-stack"}, 0,
			[]string{"kind: DatabaseStack", "databaseEndpoint: 10.96.0.12:5432", "databaseReady: true", "state: IN_PROGRESS"}, ""},
		{"without observed objects the field stays pending", []string{"render", "--mode", "direct", examples + "database-stack"}, 1, nil, "databaseService.spec.clusterIP"},
		{"--observed needs direct mode", []string{"render", "--observed", obs, examples + "database-stack"}, 2, nil, "--observed and --status need --mode direct"},
		{"unreadable observed file", []string{"render", "--mode", "direct", "--observed", obs + ".nope", examples + "database-stack"}, 2, nil, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.stderr)
			}
		})
	}
}
