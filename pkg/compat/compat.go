// Package compat predicts what KRO does with a changed definition: it runs
// KRO's own comparator (github.com/kubernetes-sigs/kro/pkg/graph/crd/compat,
// the one KRO's CRD manager calls before it updates a generated CRD) on the
// CRD KRO would generate, and KRO's ownership rule (a kind served by a CRD
// another RGD owns is refused). Changes are located in the definition's
// file: FILE:LINE: Kind/name: spec.field: BREAKING PROPERTY_REMOVED (was string).
package compat

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	krocompat "github.com/kubernetes-sigs/kro/pkg/graph/crd/compat"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// AllowAnnotation is KRO's annotation that lets an RGD change its schema in
// a breaking way.
const AllowAnnotation = v1alpha1.AllowBreakingChangesAnnotation

// Change types typekro adds to KRO's (krocompat.ChangeType values).
const (
	// DefinitionAdded: a definition (its CRD) is new.
	DefinitionAdded = "DEFINITION_ADDED"
	// DefinitionRemoved: a definition is gone; its instances lose their API.
	DefinitionRemoved = "DEFINITION_REMOVED"
	// OwnerChanged: the kind's CRD belongs to another RGD (or to no RGD):
	// KRO refuses this even with the allow annotation.
	OwnerChanged = "OWNER_CHANGED"
)

// Change is one difference between the CRD KRO serves (or generated at the
// old revision) and the one it would generate now.
type Change struct {
	File string
	Line int
	Doc  string // Kind/name of the definition's document
	// Definition is the RGD name; CRD the generated CRD's name.
	Definition, CRD string
	// Field is the instance field (spec.name, status.url, spec.tags[*]), or
	// "" for a change of the whole definition.
	Field string
	Type  string // KRO's change type (PROPERTY_REMOVED, ...) or one above
	// Breaking: KRO refuses the update (unless Allowed).
	Breaking bool
	// Allowed: breaking, but the RGD carries KRO's allow annotation (or
	// the user allowed it): KRO applies it.
	Allowed bool
	// Detail is the parenthesised explanation: "was string", "now required".
	Detail string
}

// Refused reports whether KRO would refuse the change.
func (c Change) Refused() bool { return c.Breaking && !c.Allowed }

// String is FILE:LINE: Kind/name: field: VERDICT TYPE (detail).
func (c Change) String() string {
	var msg strings.Builder
	switch {
	case c.Refused():
		msg.WriteString("BREAKING ")
	case c.Breaking:
		msg.WriteString("BREAKING (allowed) ")
	default:
		msg.WriteString("compatible ")
	}
	msg.WriteString(c.Type)
	if c.Detail != "" {
		msg.WriteString(" (" + c.Detail + ")")
	}
	e := composition.Error{File: c.File, Line: c.Line, Doc: c.Doc, Field: c.Field, Msg: msg.String()}
	return e.Error()
}

// Report is every change of a set of definitions, in file and line order.
type Report []Change

// Refused are the changes KRO would refuse.
func (r Report) Refused() Report { return r.filter(Change.Refused) }

// Breaking are the breaking changes, refused or allowed.
func (r Report) Breaking() Report { return r.filter(func(c Change) bool { return c.Breaking }) }

func (r Report) filter(keep func(Change) bool) Report {
	var out Report
	for _, c := range r {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// Sort orders changes by file, line, field and type: the output is the
// same every run although KRO's comparator walks maps.
func (r Report) Sort() {
	sort.SliceStable(r, func(i, j int) bool {
		a, b := r[i], r[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Doc != b.Doc {
			return a.Doc < b.Doc
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Detail < b.Detail
	})
}

// Write prints the breaking changes, and with verbose the compatible ones
// too, one a line.
func (r Report) Write(w io.Writer, verbose bool) {
	for _, c := range r {
		if c.Breaking || verbose {
			fmt.Fprintln(w, c.String())
		}
	}
}

// Summary counts the changes for a closing line on stderr.
func (r Report) Summary() string {
	refused, allowed := len(r.Refused()), len(r.Breaking())-len(r.Refused())
	return fmt.Sprintf("%d breaking change(s) KRO would refuse, %d allowed by %s, %d compatible", refused, allowed, AllowAnnotation, len(r)-refused-allowed)
}

// Allows reports whether the definition carries KRO's allow annotation.
func Allows(def *compile.Definition) bool {
	return def.Typed != nil && def.Typed.Annotations[AllowAnnotation] == "true"
}

// CRD is the CRD KRO generates for a definition.
func CRD(def *compile.Definition) *extv1.CustomResourceDefinition {
	if def.Graph == nil {
		return nil
	}
	return def.Graph.CRD
}

// Compare runs KRO's comparator on the CRD that serves the definition's
// kind now (old: live, or generated at an old revision) and the one KRO
// would generate from def, as KRO's CRD manager does. allow marks breaking
// changes allowed (the annotation, or the user's flag).
func Compare(def *compile.Definition, old *extv1.CustomResourceDefinition, allow bool) (Report, error) {
	desired := CRD(def)
	if desired == nil || old == nil {
		return nil, fmt.Errorf("%s: no CRD to compare", def.Name())
	}
	kr, err := krocompat.CompareVersions(old.Spec.Versions, desired.Spec.Versions)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", def.Name(), err)
	}
	var out Report
	add := func(ch krocompat.Change, breaking bool) {
		field, loc, detail := describe(ch, old.Spec.Versions[0].Schema)
		if loc == "spec.schema.apiVersion" {
			loc = headerPath(def, "apiVersion")
		}
		c := newChange(def, loc)
		c.Field, c.Type, c.Breaking, c.Detail = field, string(ch.ChangeType), breaking, detail
		c.Allowed = breaking && allow
		out = append(out, c)
	}
	for _, ch := range kr.BreakingChanges {
		add(ch, true)
	}
	for _, ch := range kr.NonBreakingChanges {
		add(ch, false)
	}
	out.Sort()
	return out, nil
}

// Owner applies KRO's ownership rule to the CRD that serves the kind now:
// KRO updates only a CRD it owns for this very RGD (by name). The change,
// when there is one, is refused whatever the allow annotation says.
func Owner(def *compile.Definition, live *extv1.CustomResourceDefinition) *Change {
	if live == nil {
		return nil
	}
	var detail string
	switch owner := live.Labels[metadata.ResourceGraphDefinitionNameLabel]; {
	case !metadata.IsKROOwned(&live.ObjectMeta):
		detail = fmt.Sprintf("CRD %s exists and is not owned by KRO", live.Name)
	case owner != def.Name():
		detail = fmt.Sprintf("CRD %s is owned by ResourceGraphDefinition %s", live.Name, owner)
	default:
		return nil
	}
	c := newChange(def, headerPath(def, "kind"))
	c.Type, c.Breaking = OwnerChanged, true
	c.Detail = detail + "; KRO refuses this even with " + AllowAnnotation
	return &c
}

// Added is the change for a definition whose kind was not served before.
func Added(def *compile.Definition) Change {
	c := newChange(def, headerPath(def, "kind"))
	c.Type, c.Detail = DefinitionAdded, "new kind "+def.GVK.Kind
	return c
}

// Removed is the change for a definition that is gone: file, line and
// document are where it was (display names that file).
func Removed(old *compile.Definition, file string, allow bool) Change {
	c := newChange(old, "metadata.name")
	c.File = file
	c.Type, c.Breaking, c.Allowed = DefinitionRemoved, true, allow
	c.Detail = fmt.Sprintf("%s is no longer defined: its instances lose their API and KRO stops reconciling them", old.GVK.Kind)
	return c
}

// headerPath is where a definition names its kind or apiVersion: under
// spec.schema in an RGD, under spec in a Composition.
func headerPath(def *compile.Definition, key string) string {
	if def.FromRGD {
		return "spec.schema." + key
	}
	return "spec." + key
}

func newChange(def *compile.Definition, loc string) Change {
	c := Change{Doc: def.Doc.Ref(), Definition: def.Name(), File: def.Doc.File, Line: def.Doc.Line(loc)}
	if crd := CRD(def); crd != nil {
		c.CRD = crd.Name
	}
	return c
}

// attributes are the last steps of KRO's change paths that name a schema
// keyword, not a property.
var attributes = map[string]bool{
	"type": true, "pattern": true, "minimum": true, "maximum": true, "minLength": true, "maxLength": true,
	"minItems": true, "maxItems": true, "enum": true, "required": true, "description": true, "default": true,
}

// describe turns one of KRO's changes into the instance field it concerns
// (spec.tags[*].name), the definition field to locate it at
// (spec.schema.spec.tags.name) and a short explanation. KRO's paths are
// schema paths: .properties.spec.properties.tags.items.properties.name.type.
func describe(ch krocompat.Change, old *extv1.CustomResourceValidation) (field, loc, detail string) {
	if ch.Path == "version" {
		// An RGD's spec.schema.apiVersion is immutable (a validation rule
		// of the RGD CRD): the API server refuses this before KRO sees it.
		return "", "spec.schema.apiVersion", wasNow(ch.OldValue, ch.NewValue) + "; the API server refuses it: spec.schema.apiVersion of an RGD is immutable"
	}
	if strings.HasPrefix(ch.Path, "version") {
		return "", "spec.schema.apiVersion", wasNow(ch.OldValue, ch.NewValue)
	}
	steps := strings.Split(strings.TrimPrefix(ch.Path, "."), ".")
	var props []string // property names and "[*]"
	var schemaPath []string
	for i := 0; i < len(steps); i++ {
		switch {
		case steps[i] == "properties" && i+1 < len(steps):
			props = append(props, steps[i+1])
			schemaPath = append(schemaPath, "properties", steps[i+1])
			i++
		case steps[i] == "items":
			props = append(props, "[*]")
			schemaPath = append(schemaPath, "items")
		case attributes[steps[i]] && i == len(steps)-1:
		default:
			props = append(props, steps[i])
		}
	}
	switch ch.ChangeType {
	case krocompat.RequiredAdded:
		props, detail = append(props, ch.NewValue), "now required"
	case krocompat.RequiredRemoved:
		props, detail = append(props, ch.OldValue), "no longer required"
	case krocompat.RequiredDefaultRemoved:
		props, detail = append(props, ch.OldValue), "required, and its default was removed"
	case krocompat.PropertyRemoved:
		if t := typeAt(old, schemaPath); t != "" {
			detail = "was " + t
		}
	case krocompat.PropertyAdded:
		if ch.NewValue == "required=true" {
			detail = "required, without a default"
		}
	case krocompat.TypeChanged:
		detail = wasNow(ch.OldValue, ch.NewValue)
	case krocompat.EnumRestricted:
		detail = "value " + ch.OldValue + " no longer allowed"
	case krocompat.EnumExpanded:
		detail = "value " + ch.NewValue + " added"
	case krocompat.DescriptionChanged, krocompat.AdditionalPrinterColumnsChanged:
	default:
		detail = wasNow(ch.OldValue, ch.NewValue)
	}
	field = strings.ReplaceAll(strings.Join(props, "."), ".[*]", "[*]")
	loc = "spec.schema." + strings.ReplaceAll(field, "[*]", "")
	return field, loc, detail
}

func wasNow(old, new string) string {
	switch {
	case old != "" && new != "":
		return "was " + old + ", now " + new
	case old != "":
		return "was " + old
	case new != "":
		return "now " + new
	}
	return ""
}

// typeAt finds the type of the schema at path (properties/NAME and items
// steps) in a CRD version's schema.
func typeAt(v *extv1.CustomResourceValidation, path []string) string {
	if v == nil || v.OpenAPIV3Schema == nil {
		return ""
	}
	s := v.OpenAPIV3Schema
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case "properties":
			if i+1 >= len(path) {
				return ""
			}
			p, ok := s.Properties[path[i+1]]
			if !ok {
				return ""
			}
			s = &p
			i++
		case "items":
			if s.Items == nil || s.Items.Schema == nil {
				return ""
			}
			s = s.Items.Schema
		}
	}
	if s.Type == "" && s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
		return "any object"
	}
	return s.Type
}
