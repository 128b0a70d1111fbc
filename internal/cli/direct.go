package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// renderDirect computes direct-mode objects; with allowPending the
// resources left out are listed on stderr.
func renderDirect(res *compile.Result, allowPending bool, stderr io.Writer) ([]render.Object, error) {
	r, err := direct.Render(res, direct.Options{AllowPending: allowPending})
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
func renderDirectYAML(res *compile.Result, allowPending bool, stdout, stderr io.Writer) error {
	// After compile nothing locates an instance's fields any more (render
	// errors name the instance and the composition's line): their YAML
	// node trees were half of a 10,000-instance render's live heap.
	for _, inst := range res.Instances {
		inst.Doc.Node = nil
	}
	e, err := direct.RenderYAML(res, direct.Options{AllowPending: allowPending})
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
