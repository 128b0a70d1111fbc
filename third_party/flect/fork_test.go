package flect

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoCustomDataFromWorkingDirectory: typekro's fork reads no
// inflections.json (upstream loads it from the working directory or
// $INFLECT_PATH at init and prints its errors to stdout). The test binary
// runs again in a directory holding one, so an init would see it.
func TestNoCustomDataFromWorkingDirectory(t *testing.T) {
	if os.Getenv("FLECT_FORK_CHILD") != "" {
		os.Stdout.WriteString("plural=" + Pluralize("widget") + "\n")
		return
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"inflections.json": `{"widget": "gadgets"}`, "acronyms.json": `{bad`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoCustomDataFromWorkingDirectory$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FLECT_FORK_CHILD=1", "INFLECT_PATH="+filepath.Join(dir, "inflections.json"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if first := strings.SplitN(string(out), "\n", 2)[0]; first != "plural=widgets" {
		t.Errorf("stdout starts %q, want plural=widgets (no custom data, nothing printed)", first)
	}
}
