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
func renderDirect(res *compile.Result, opts direct.Options, stderr io.Writer) ([]render.Object, error) {
	r, err := direct.Render(res, opts)
	var pe *direct.PendingError
	if errors.As(err, &pe) || direct.IsLimit(err) {
		return nil, Fail(err)
	}
	if err != nil {
		return nil, err
	}
	for _, p := range r.Pending {
		fmt.Fprintln(stderr, "pending (left out):", p.String())
	}
	return direct.Objects(res, r), nil
}
