package testsuite

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// WriteText prints results like `go test -v`: one --- PASS/--- FAIL line
// per test with its file:line, each failure indented under it, and a
// closing "N passed, M failed" line.
func WriteText(w io.Writer, results []*Result) error {
	var b strings.Builder
	for _, r := range results {
		status := "PASS"
		if !r.Passed() {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "--- %s: %s (%s)\n", status, r.Test.Name, r.Test.Location("metadata.name"))
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "    %s\n", f)
		}
	}
	passed, failed := Counts(results)
	fmt.Fprintf(&b, "%d passed, %d failed\n", passed, failed)
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON report (-o json).
type jsonReport struct {
	Passed int          `json:"passed"`
	Failed int          `json:"failed"`
	Tests  []jsonResult `json:"tests"`
}

type jsonResult struct {
	Name     string        `json:"name"`
	Location string        `json:"location"`
	Passed   bool          `json:"passed"`
	Failures []jsonFailure `json:"failures,omitempty"`
}

type jsonFailure struct {
	Location string `json:"location"`
	Field    string `json:"field,omitempty"`
	Want     string `json:"want,omitempty"`
	Got      string `json:"got,omitempty"`
	Message  string `json:"message,omitempty"`
}

// WriteJSON writes the results as one JSON document.
func WriteJSON(w io.Writer, results []*Result) error {
	rep := jsonReport{Tests: []jsonResult{}}
	rep.Passed, rep.Failed = Counts(results)
	for _, r := range results {
		jr := jsonResult{Name: r.Test.Name, Location: r.Test.Location("metadata.name"), Passed: r.Passed()}
		for _, f := range r.Failures {
			jr.Failures = append(jr.Failures, jsonFailure(f))
		}
		rep.Tests = append(rep.Tests, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// JUnit XML, as CI systems read it: one testsuite per test file.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name  string      `xml:"name,attr"`
	Tests int         `xml:"tests,attr"`
	Fails int         `xml:"failures,attr"`
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML.
func WriteJUnit(w io.Writer, results []*Result) error {
	rep := junitSuites{}
	rep.Tests = len(results)
	_, rep.Fails = Counts(results)
	index := map[string]int{}
	for _, r := range results {
		file := r.Test.Doc.File
		i, ok := index[file]
		if !ok {
			i = len(rep.Suites)
			index[file] = i
			rep.Suites = append(rep.Suites, junitSuite{Name: file})
		}
		s := &rep.Suites[i]
		c := junitCase{Name: r.Test.Name, Classname: file, File: file, Line: r.Test.Doc.Line("metadata.name")}
		s.Tests++
		if !r.Passed() {
			s.Fails++
			lines := make([]string, len(r.Failures))
			for j, f := range r.Failures {
				lines[j] = f.String()
			}
			c.Failure = &junitFailure{Message: r.Failures[0].String(), Text: strings.Join(lines, "\n")}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
