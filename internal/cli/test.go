package cli

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/testsuite"
)

type testOptions struct {
	inputOptions
	streams genericiooptions.IOStreams

	Paths  []string
	Match  string
	Update bool
	JUnit  string
	Output string

	run *regexp.Regexp
}

const testExitCodes = `
	Exit codes:

	    0  every test passed
	    1  a test failed
	    2  usage error, no tests found, or a test or its inputs could not be read`

func newTestCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &testOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run typekro Test documents offline: render an instance, check resources, status, readiness",
		Long: longDesc(`Test finds Test documents (apiVersion typekro.dev/v1alpha1, kind Test) in the paths
(default ".", recursively) and runs each offline: the instance is checked and rendered in
direct mode with KRO's runtime, against the observed objects the test gives (references,
externalRefs, readyWhen and status resolve from them, as with render --observed), then
compared with expect.resources (every field given must be equal), expect.absent,
expect.count, expect.status (a subset of the status KRO would write), expect.ready,
expect.error, and the golden file. Tests run in parallel; the report lists them in file
order, like go test -v, with each failure's file:line, field path, want and got.`) + "\n\n" + longDesc(testExitCodes),
		Example: exampleText(`
		# Run every example's tests
		kubectl typekro test examples/

		# Only the tests whose name matches
		kubectl typekro test --run 'production' examples/webapp

		# Rewrite golden files
		kubectl typekro test --update examples/

		# A JUnit report for CI, and a JSON report on stdout
		kubectl typekro test --junit report.xml -o json examples/`),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	o.stdin = streams.In
	fs.StringVar(&o.Match, "run", "", "run only the tests whose name matches this regular expression")
	fs.BoolVar(&o.Update, "update", false, "rewrite the golden files with the rendered output instead of comparing")
	fs.StringVar(&o.JUnit, "junit", "", "also write a JUnit XML report to this file (for CI systems)")
	fs.StringVarP(&o.Output, "output", "o", "text", "report format on stdout: text (like go test -v) or json")
	addCELCostLimitFlag(fs, &o.CELCostLimit)
	fs.IntVar(&o.MaxInputFiles, "max-input-files", composition.DefaultLimits.MaxFiles, "refuse to read more than this many input files")
	fs.StringVar(&o.MaxInputBytes, "max-input-bytes", resource.NewQuantity(composition.DefaultLimits.MaxBytes, resource.BinarySI).String(), "refuse inputs (all files together) larger than this, e.g. 256Mi")
	o.Schemas = "builtin"
	// Registered first, so the root's yaml/json/name for -o does not apply.
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *testOptions) Complete(args []string) error {
	o.Paths = args
	if len(o.Paths) == 0 {
		o.Paths = []string{"."}
	}
	return nil
}

func (o *testOptions) Validate() error {
	if err := o.inputOptions.Validate(); err != nil {
		return err
	}
	if o.Output != "text" && o.Output != "json" {
		return Usage(fmt.Errorf("--output must be text or json, not %q", o.Output))
	}
	if o.Match != "" {
		re, err := regexp.Compile(o.Match)
		if err != nil {
			return Usage(fmt.Errorf("--run: %w", err))
		}
		o.run = re
	}
	return nil
}

// Run finds, runs and reports the tests.
func (o *testOptions) Run() error {
	r := &testsuite.Runner{Reader: o.reader(), Update: o.Update}
	r.Compile.CELCostLimit = o.celCostLimit()
	tests, err := r.Find(o.Paths...)
	if err != nil {
		return Usage(err)
	}
	if len(tests) == 0 {
		return Usage(fmt.Errorf("no Test documents (apiVersion %s, kind %s) in %v", composition.APIVersion, composition.KindTest, o.Paths))
	}
	tests = testsuite.Filter(tests, o.run)
	results, err := r.Run(tests)
	if err != nil {
		return Usage(err)
	}
	var buf bytes.Buffer
	if o.Output == "json" {
		err = testsuite.WriteJSON(&buf, results)
	} else {
		err = testsuite.WriteText(&buf, results)
	}
	if err != nil {
		return err
	}
	if _, err := o.streams.Out.Write(buf.Bytes()); err != nil {
		return err
	}
	if o.JUnit != "" {
		var x bytes.Buffer
		if err := testsuite.WriteJUnit(&x, results); err != nil {
			return err
		}
		if err := os.WriteFile(o.JUnit, x.Bytes(), 0o644); err != nil {
			return Usage(fmt.Errorf("--junit: %w", err))
		}
	}
	if _, failed := testsuite.Counts(results); failed > 0 {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}
