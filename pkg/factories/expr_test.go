package factories

import (
	"reflect"
	"testing"

	"github.com/kubernetes-sigs/kro/pkg/graph/parser"
)

func TestScan(t *testing.T) {
	cases := []struct {
		in       string
		exprs    []string
		unclosed int
		nested   bool
	}{
		{"plain", nil, -1, false},
		{"${a}", []string{"a"}, -1, false},
		{"x-${a}-${b.c}", []string{"a", "b.c"}, -1, false},
		{`${{"k": "}"}}`, []string{`{"k": "}"}`}, -1, false},
		{`${"a\"}" + b}`, []string{`"a\"}" + b`}, -1, false},
		{"${schema.spec.name", nil, 0, false},
		{"ok ${a} then ${b", []string{"a"}, 13, false},
		{`${"${" + a`, nil, 0, false},
		{"${a ${b}}", nil, -1, true},
		{`${f("${x}")}`, []string{`f("${x}")`}, -1, false},
		{"$ {a} $", nil, -1, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			spans, unclosed, nested := Scan(tc.in)
			var exprs []string
			for _, sp := range spans {
				exprs = append(exprs, sp.Expr)
				if tc.in[sp.Start:sp.End] != "${"+sp.Expr+"}" {
					t.Errorf("span %+v does not cover ${%s}", sp, sp.Expr)
				}
			}
			if !reflect.DeepEqual(exprs, tc.exprs) || unclosed != tc.unclosed || nested != tc.nested {
				t.Errorf("Scan = %q, %d, %v; want %q, %d, %v", exprs, unclosed, nested, tc.exprs, tc.unclosed, tc.nested)
			}
			// Where nothing is unclosed or nested, KRO's own parser must agree.
			if tc.unclosed < 0 && !tc.nested {
				kro, err := parser.ExtractExpressions(tc.in)
				if err != nil || len(kro) != len(exprs) || (len(kro) > 0 && !reflect.DeepEqual(kro, exprs)) {
					t.Errorf("KRO's parser found %q (%v), Scan %q", kro, err, exprs)
				}
			}
		})
	}
}

func TestCelString(t *testing.T) {
	for in, want := range map[string]string{
		"web":                  `"web"`,
		"${schema.spec.name}":  `(schema.spec.name)`,
		"${schema.spec.n}-web": `(schema.spec.n) + "-web"`,
		`a"b`:                  `"a\"b"`,
		"":                     `""`,
	} {
		if got := celString(in); got != want {
			t.Errorf("celString(%q) = %s, want %s", in, got, want)
		}
	}
}
