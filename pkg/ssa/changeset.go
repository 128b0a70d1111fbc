package ssa

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The change-set model is fluxcd/pkg/ssa's (same actions, same
// "Kind/namespace/name action" lines), declared here because that package's
// root links kstatus polling and with it kubectl's cmd/util and scheme,
// whose init cost every typekro command 4 ms at start-up (issue 13). The
// subpackages typekro uses (normalize, utils) do not.

// Action is what a write did, or would do, to one object.
type Action string

func (a Action) String() string { return string(a) }

const (
	CreatedAction    Action = "created"
	ConfiguredAction Action = "configured"
	UnchangedAction  Action = "unchanged"
	DeletedAction    Action = "deleted"
	// SkippedAction: nothing was done, the object was excluded.
	SkippedAction Action = "skipped"
)

// ChangeSet is the result of writing a set of objects, in write order.
type ChangeSet struct {
	Entries []ChangeSetEntry
}

// NewChangeSet returns an empty change set.
func NewChangeSet() *ChangeSet { return &ChangeSet{Entries: []ChangeSetEntry{}} }

// Add appends one entry.
func (c *ChangeSet) Add(e ChangeSetEntry) { c.Entries = append(c.Entries, e) }

// String is one "Subject action" line per entry.
func (c *ChangeSet) String() string {
	lines := make([]string, len(c.Entries))
	for i, e := range c.Entries {
		lines[i] = e.String()
	}
	return strings.Join(lines, "\n")
}

// ChangeSetEntry is what was done to one object.
type ChangeSetEntry struct {
	// Subject is Subject(object): Kind/namespace/name.
	Subject string
	Action  Action
}

func (e ChangeSetEntry) String() string { return e.Subject + " " + string(e.Action) }

// Secret values never reach a diff or a log: each data value is replaced by
// "***", or, where the old and new values differ, by "*** (before)" and
// "*** (after)" so the diff still shows that it changed (Flux's masks, so
// the output reads like flux diff's). Both objects are changed in place;
// either may be nil.
func maskData(old, new *unstructured.Unstructured) error {
	oldData, err := dataOf(old)
	if err != nil {
		return fmt.Errorf("unable to get data from old object: %w", err)
	}
	newData, err := dataOf(new)
	if err != nil {
		return fmt.Errorf("unable to get data from new object: %w", err)
	}
	for k, ov := range oldData {
		oldData[k] = "***"
		if nv, ok := newData[k]; ok {
			if !reflect.DeepEqual(ov, nv) {
				oldData[k], newData[k] = "*** (before)", "*** (after)"
			} else {
				newData[k] = "***"
			}
		}
	}
	for k := range newData {
		if _, ok := oldData[k]; !ok {
			newData[k] = "***"
		}
	}
	for _, o := range []struct {
		u    *unstructured.Unstructured
		data map[string]any
	}{{old, oldData}, {new, newData}} {
		if o.u != nil && o.data != nil {
			if err := unstructured.SetNestedMap(o.u.Object, o.data, "data"); err != nil {
				return fmt.Errorf("masking data failed: %w", err)
			}
		}
	}
	return nil
}

func dataOf(u *unstructured.Unstructured) (map[string]any, error) {
	if u == nil {
		return nil, nil
	}
	data, found, err := unstructured.NestedMap(u.Object, "data")
	if !found {
		return nil, err
	}
	return data, err
}
