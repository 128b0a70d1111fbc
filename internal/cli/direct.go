package cli

import (
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// renderDirect computes direct-mode objects; with allowPending the
// resources left out are listed on stderr.
func renderDirect(res *compile.Result, opts direct.Options, stderr io.Writer) ([]render.Object, error) {
	r, err := direct.Render(res, opts)
	if err := directError(err); err != nil {
		return nil, err
	}
	printPending(stderr, r.Pending)
	return direct.Objects(res, r), nil
}

// renderDirectYAML is renderDirect followed by the YAML writer, for the
// common case of a stream on stdout: each object is encoded as soon as it
// is rendered and only its YAML is kept (direct.RenderYAML), which halves
// a large render's memory. Nothing is written unless everything rendered.
func renderDirectYAML(res *compile.Result, opts direct.Options, stdout, stderr io.Writer) error {
	// After compile nothing locates a field of an instance any more (render
	// errors point at the composition, or at the instance document itself):
	// their YAML node trees, half of a 10,000-instance render's live heap,
	// are cut down to the document's own position.
	for _, inst := range res.Instances {
		inst.Doc.Node = documentPosition(inst.Doc.Node)
	}
	e, err := direct.RenderYAML(res, opts)
	if err := directError(err); err != nil {
		return err
	}
	printPending(stderr, e.Pending)
	_, err = e.WriteTo(stdout)
	return err
}

func directError(err error) error {
	var pe *direct.PendingError
	if errors.As(err, &pe) || direct.IsLimit(err) {
		return Fail(err)
	}
	return err
}

func printPending(stderr io.Writer, pending []direct.Pending) {
	for _, p := range pending {
		fmt.Fprintln(stderr, "pending (left out):", p.String())
	}
}

// documentPosition is a node with only the position of a document's
// content: what Document.Line gives for the document itself.
func documentPosition(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return nil
	}
	return &yaml.Node{Kind: n.Kind, Line: n.Line, Column: n.Column}
}
