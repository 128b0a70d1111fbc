package composition

import (
	"fmt"
	"strings"
	"testing"
)

// TestErrCapsPerDocument: Err lists at most MaxErrorsPerDocument errors of
// each document, then one line counting the rest; summaries made by a check
// that stopped early merge with the count; other documents are untouched.
func TestErrCapsPerDocument(t *testing.T) {
	many := func(file, doc string, n int) Errors {
		var l Errors
		for i := range n {
			l = append(l, &Error{File: file, Line: i + 1, Doc: doc, Msg: fmt.Sprintf("e%d", i)})
		}
		return l
	}
	max := MaxErrorsPerDocument
	tests := []struct {
		name   string
		in     Errors
		listed int
		total  int
		more   []string // summaries expected, in order
	}{
		{"under the cap", many("a.yaml", "A/a", max), max, max, nil},
		{"over the cap", many("a.yaml", "A/a", max+5), max + 1, max + 5, []string{"... and 5 more errors in this document"}},
		{"one more", many("a.yaml", "A/a", max+1), max + 1, max + 1, []string{"... and 1 more error in this document"}},
		{"two documents capped apart", append(many("a.yaml", "A/a", max+2), many("b.yaml", "B/b", max+3)...), 2*max + 2, 2*max + 5,
			[]string{"... and 2 more errors in this document", "... and 3 more errors in this document"}},
		{"an earlier summary is merged", append(many("a.yaml", "A/a", max+1), Summary("a.yaml", "A/a", max, 100)), max + 1, max + 101,
			[]string{"... and 101 more errors in this document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Errors
			if err := tt.in.Err(); err != nil {
				got = err.(Errors)
			}
			if len(got) != tt.listed || got.Total() != tt.total {
				t.Fatalf("listed %d (want %d), total %d (want %d):\n%v", len(got), tt.listed, got.Total(), tt.total, got)
			}
			var more []string
			for i, e := range got {
				if e.More > 0 {
					more = append(more, e.Msg)
					if i == 0 || got[i-1].Doc != e.Doc {
						t.Errorf("summary %q does not follow its document's errors", e.Msg)
					}
				}
			}
			if strings.Join(more, "|") != strings.Join(tt.more, "|") {
				t.Errorf("summaries %q, want %q", more, tt.more)
			}
			// Err is idempotent: loading then compiling calls it twice.
			if again := got.Err().(Errors); again.Total() != tt.total || len(again) != tt.listed {
				t.Errorf("second Err: listed %d, total %d", len(again), again.Total())
			}
		})
	}
}
