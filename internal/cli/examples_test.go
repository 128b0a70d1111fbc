package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestExamplesParse runs every help example's command line through the
// command's own flag parsing (no cluster), and checks that the inputs it
// names exist: the examples must work as written against examples/.
func TestExamplesParse(t *testing.T) {
	streams := genericiooptions.NewTestIOStreamsDiscard()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range NewRootCommand(streams).Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		// Help goes through templates.LongDesc: a raw heredoc (tabs) or a
		// "*" eaten as markdown emphasis means it did not, or went wrong.
		if strings.Contains(c.Long, "\t") || strings.Contains(c.Long, `"*`) || strings.Contains(c.Long, `" "`) || strings.Contains(c.Long, " * ") {
			t.Errorf("%s: help text not rendered as kubectl's templates do:\n%s", c.Name(), c.Long)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no examples", c.Name())
			continue
		}
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			t.Run(line, func(t *testing.T) {
				seen++
				dir := repo
				if cd, rest, ok := strings.Cut(line, " && "); ok && strings.HasPrefix(cd, "cd ") {
					dir, line = filepath.Join(repo, strings.TrimPrefix(cd, "cd ")), rest
				}
				words := splitWords(t, line)
				if words[0] == "kustomize" { // another tool's command line: only its inputs
					checkInputs(t, dir, words[len(words)-1:])
					return
				}
				if len(words) < 2 || words[0] != "kubectl" || words[1] != "typekro" {
					t.Fatalf("an example must be a kubectl typekro command line, got %q", line)
				}
				root := NewRootCommand(streams) // flags accumulate: one root per line
				cmd, rest, err := root.Find(words[2:])
				if err != nil || cmd.Name() != c.Name() {
					t.Fatalf("%q runs %q, not %s (%v)", line, cmd.Name(), c.Name(), err)
				}
				if err := cmd.ParseFlags(rest); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				if err := cobra.NoArgs(cmd, cmd.Flags().Args()); cmd.Args != nil && err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				var inputs []string
				// Commands whose arguments are paths (not status's TYPE/NAME).
				if use := strings.Fields(cmd.Use); len(use) > 1 && (strings.HasPrefix(strings.TrimLeft(use[1], "["), "PATH") || strings.HasPrefix(strings.TrimLeft(use[1], "["), "CONFIG")) {
					inputs = append(inputs, cmd.Flags().Args()...)
				}
				for _, f := range []string{"filename", "kustomize", "crds", "observed"} {
					if fl := cmd.Flags().Lookup(f); fl != nil && fl.Changed {
						inputs = append(inputs, strings.Split(strings.Trim(fl.Value.String(), "[]"), ",")...)
					}
				}
				checkInputs(t, dir, inputs)
			})
		}
	}
	if seen < 20 {
		t.Errorf("only %d example lines checked", seen)
	}
}

func checkInputs(t *testing.T, dir string, paths []string) {
	t.Helper()
	for _, p := range paths {
		if p == "-" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("input %s does not exist: %v", p, err)
		}
	}
}

// splitWords splits a shell command line on blanks, keeping 'quoted'
// words whole (the only quoting the examples use).
func splitWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
