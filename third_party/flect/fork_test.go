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

// TestRulesAsUpstreamInsertsThem: the rule lists laid out at once equal
// the lists upstream's init built by inserting one rule at a time.
func TestRulesAsUpstreamInsertsThem(t *testing.T) {
	load()
	gotPlural, gotSingular := pluralRules, singularRules
	pluralRules, singularRules = nil, nil
	defer func() { pluralRules, singularRules = gotPlural, gotSingular }()
	// Upstream's init, verbatim but for the unexported inserters.
	for i := len(singularToPluralSuffixList) - 1; i >= 0; i-- {
		insertPluralRule(singularToPluralSuffixList[i].singular, singularToPluralSuffixList[i].plural)
		insertSingularRule(singularToPluralSuffixList[i].plural, singularToPluralSuffixList[i].singular)
	}
	for _, wd := range dictionary {
		if wd.exact {
			continue
		}
		if wd.uncountable && wd.plural == "" {
			wd.plural = wd.singular
		}
		insertPluralRule(wd.singular, wd.plural)
		if !wd.unidirectional {
			insertSingularRule(wd.plural, wd.singular)
			if wd.alternative != "" {
				insertSingularRule(wd.alternative, wd.singular)
			}
		}
	}
	for name, lists := range map[string][2][]rule{"plural": {gotPlural, pluralRules}, "singular": {gotSingular, singularRules}} {
		got, want := lists[0], lists[1]
		if len(got) != len(want) {
			t.Fatalf("%s: %d rules, upstream %d", name, len(got), len(want))
		}
		for i := range want {
			word := "xyz" + want[i].suffix
			if got[i].suffix != want[i].suffix || got[i].fn(word) != want[i].fn(word) {
				t.Fatalf("%s rule %d: %q -> %q, upstream %q -> %q", name, i, got[i].suffix, got[i].fn(word), want[i].suffix, want[i].fn(word))
			}
		}
	}
}
