package composition

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MaxErrorsPerDocument caps how many errors one document reports. Twenty
// fills a terminal screen and is enough to show the pattern of a mistake
// repeated in a long list; beyond it, one line counts the rest. The cap also
// keeps the work per error (finding its line) bounded, so a document with
// 100,000 wrong items is reported in linear time.
const MaxErrorsPerDocument = 20

// Error is one problem found in the inputs, located as precisely as the
// loader knows: file, line, document (Kind/name) and field path.
type Error struct {
	File  string
	Line  int
	Doc   string // "Kind/name" of the document, or "document N" when unnamed
	Field string // dotted field path inside the document, e.g. spec.resources[0].template
	Msg   string
	// More, when set, makes this a summary: the document has More further
	// errors that are not listed (see MaxErrorsPerDocument).
	More int
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Doc != "" {
		b.WriteString(e.Doc)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Summary returns the error that stands for more further errors of the
// document doc of file.
func Summary(file, doc string, line, more int) *Error {
	return &Error{File: file, Line: line, Doc: doc, More: more, Msg: moreMsg(more)}
}

func moreMsg(n int) string {
	if n == 1 {
		return "... and 1 more error in this document"
	}
	return fmt.Sprintf("... and %d more errors in this document", n)
}

// Errors collects every problem so a user sees them all at once.
type Errors []*Error

func (l Errors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Total counts the errors found, including those a summary stands for.
func (l Errors) Total() int {
	n := 0
	for _, e := range l {
		if e.More > 0 {
			n += e.More
		} else {
			n++
		}
	}
	return n
}

// Sort orders errors by file, line, then message so output is stable. A
// summary comes after the errors of its line.
func (l Errors) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if (a.More > 0) != (b.More > 0) {
			return b.More > 0
		}
		return a.Msg < b.Msg
	})
}

// Err returns the list as an error, or nil when empty: sorted, and capped at
// MaxErrorsPerDocument per document with one summary for the rest.
func (l Errors) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l.capped(MaxErrorsPerDocument)
}

// capped keeps the first max errors of each document (l is sorted) and puts
// one summary after the last one kept, merging summaries made earlier (by a
// check that stopped creating errors at the cap).
func (l Errors) capped(max int) Errors {
	type docKey struct{ file, doc string }
	type state struct {
		kept, more int
		last       *Error // last error kept, the summary follows it
	}
	docs := map[docKey]*state{}
	kept := make(Errors, 0, len(l))
	for _, e := range l {
		k := docKey{e.File, e.Doc}
		s := docs[k]
		if s == nil {
			s = &state{}
			docs[k] = s
		}
		switch {
		case e.More > 0:
			s.more += e.More
		case s.kept < max:
			s.kept++
			s.last = e
			kept = append(kept, e)
		default:
			s.more++
		}
	}
	out := make(Errors, 0, len(kept)+1)
	for _, e := range kept {
		out = append(out, e)
		s := docs[docKey{e.File, e.Doc}]
		if s.last == e && s.more > 0 {
			out = append(out, Summary(e.File, e.Doc, e.Line, s.more))
		}
	}
	// Documents with nothing but summaries (cannot happen from the checks
	// in this module, but keep every count) get theirs at the end.
	for _, e := range l {
		if s := docs[docKey{e.File, e.Doc}]; e.More > 0 && s.last == nil {
			out = append(out, Summary(e.File, e.Doc, e.Line, s.more))
			s.last = e
		}
	}
	return out
}

// IOError marks failures to read inputs (as opposed to invalid content), so
// commands can map them to the usage/IO exit code.
type IOError struct{ Err error }

func (e *IOError) Error() string { return e.Err.Error() }
func (e *IOError) Unwrap() error { return e.Err }

// ContentErrors splits what Load returns: problems in the content (a list
// to report with later checks, so every file's errors come at once) from
// errors that stop everything (unreadable input).
func ContentErrors(err error) (Errors, error) {
	var l Errors
	if err == nil {
		return nil, nil
	}
	if errors.As(err, &l) {
		return l, nil
	}
	return nil, err
}
