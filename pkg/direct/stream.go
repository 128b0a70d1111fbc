package direct

import (
	"bufio"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// Encoded is a direct render as YAML documents in output order.
type Encoded struct {
	Docs    [][]byte
	Pending []Pending
}

// WriteTo writes the stream the documents make.
func (e *Encoded) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	var n int64
	for i, d := range e.Docs {
		if i > 0 {
			k, _ := bw.WriteString("---\n")
			n += int64(k)
		}
		k, _ := bw.Write(d)
		n += int64(k)
	}
	return n, bw.Flush()
}

// RenderYAML renders like Render and lays out like Objects, but encodes
// each resource on the worker that rendered it and keeps only its YAML:
// memory follows the output rather than the objects, and the objects need
// no copy of their own.
func RenderYAML(res *compile.Result, opts Options) (*Encoded, error) {
	type instanceDocs struct {
		docs    []render.Keyed[[]byte]
		owners  []Resource // for checkOwners, without the objects
		pending []Pending
	}
	sh := newShared(opts.Observer)
	results, err := forEachInstance(res, func(inst *compile.Instance) (instanceDocs, error) {
		r, err := renderRecovering(inst, sh)
		if err != nil {
			return instanceDocs{}, err
		}
		out := instanceDocs{docs: make([]render.Keyed[[]byte], len(r.Resources)), owners: r.Resources, pending: r.Pending}
		for i, rs := range r.Resources {
			if out.docs[i], err = keyedYAML(render.ResourceRole(rs.Object), rs.Object); err != nil {
				return instanceDocs{}, err
			}
			out.owners[i].Object = nil // not kept: checkOwners reads the key
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	// Objects' order: the inputs, then each instance's resources, stably
	// sorted by role and key.
	n := 0
	for _, r := range results {
		n += len(r.docs)
	}
	inputs := Objects(res, &Result{})
	keyed := make([]render.Keyed[[]byte], 0, len(inputs)+n)
	for _, o := range inputs {
		k, err := keyedYAML(o.Role, o.Object)
		if err != nil {
			return nil, err
		}
		keyed = append(keyed, k)
	}
	out := &Encoded{}
	owners := make([]Resource, 0, n)
	ownerKeys := make([]string, 0, n)
	for _, r := range results {
		keyed = append(keyed, r.docs...)
		owners = append(owners, r.owners...)
		for _, d := range r.docs {
			ownerKeys = append(ownerKeys, d.Key)
		}
		out.Pending = append(out.Pending, r.pending...)
	}
	if err := checkOwners(owners, ownerKeys); err != nil {
		return nil, err
	}
	if len(out.Pending) > 0 && !opts.AllowPending {
		return out, &PendingError{Pending: out.Pending}
	}
	render.SortKeyed(keyed)
	out.Docs = make([][]byte, len(keyed))
	for i, k := range keyed {
		out.Docs[i] = k.Value
	}
	return out, nil
}

func keyedYAML(role render.Role, u *unstructured.Unstructured) (render.Keyed[[]byte], error) {
	b, err := render.EncodeYAML(u)
	return render.Keyed[[]byte]{Role: role, Key: render.Key(u), Value: b}, err
}
