package compile

import (
	"regexp"
	"strings"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

var (
	resourceRe   = regexp.MustCompile(`resource "([^"]+)"`)
	exprRe       = regexp.MustCompile(`expression "((?:[^"\\]|\\.)*)"`)
	atPathRe     = regexp.MustCompile(`at path "([^"]+)"|(?:field schema )?for path \.?([A-Za-z0-9_.\[\]]+):`)
	unknownIDsRe = regexp.MustCompile(`unknown identifiers: \[([^\]]+)\]`)
	schemaFldRe  = regexp.MustCompile(`(?:OpenAPI schema for instance|status): field ([A-Za-z0-9_.]+):`)
	badIDRe      = regexp.MustCompile(`\bid (\S+) is`)
	statusListRe = regexp.MustCompile(`without expressions are not supported: \[([A-Za-z0-9_.]+)`)
	wrapRe       = regexp.MustCompile(`failed to (?:validate|build) (?:resource|resourcegraphdefinition) "[^"]*": `)
)

// locate turns a KRO builder error into an Error at the field the user
// wrote: KRO names the resource, the expression and the path inside the
// template; typekro maps those back to the line in the Composition (for a
// factory, the setting whose value holds the expression).
func locate(c *composition.Composition, err error) *composition.Error {
	raw := err.Error()
	msg := readable(raw)
	path := "spec"
	var src composition.ResourceSource
	var found bool
	if m := resourceRe.FindStringSubmatch(raw); m != nil {
		src, found = c.Resource(m[1])
	}
	if !found {
		if strings.Contains(raw, "cycle: ") {
			// KRO starts the cycle at an arbitrary member; name the first one written.
			best := composition.ResourceSource{}
			for _, id := range regexp.MustCompile(`[A-Za-z0-9_]+`).FindAllString(raw[strings.Index(raw, "cycle: ")+7:], -1) {
				if r, ok := c.Resource(id); ok && (best.Path == "" || r.Path < best.Path) {
					best = r
				}
			}
			if best.Path != "" {
				return c.Doc.Errorf(best.Path+".id", "%s", msg)
			}
		}
		for _, re := range []*regexp.Regexp{badIDRe} {
			if m := re.FindStringSubmatch(raw); m != nil {
				if r, ok := c.Resource(m[1]); ok {
					return c.Doc.Errorf(r.Path+".id", "%s", msg)
				}
			}
		}
		// Unknown identifiers: find the resource whose text uses one.
		if m := unknownIDsRe.FindStringSubmatch(raw); m != nil {
			for _, id := range strings.Fields(strings.ReplaceAll(m[1], ",", " ")) {
				if p := firstUse(c, "spec.resources", id+"."); p != "" {
					return c.Doc.Errorf(p, "%s", msg)
				}
			}
		}
	}
	switch {
	case found:
		path = src.Path
		if src.TemplatePath != "" {
			path = src.TemplatePath
		}
		expr := ""
		if m := exprRe.FindStringSubmatch(raw); m != nil {
			expr = m[1]
		}
		at := ""
		if m := atPathRe.FindStringSubmatch(raw); m != nil {
			at = m[1] + m[2]
		}
		if p := fieldOf(c, src, expr, at); p != "" {
			path = p
		}
	case strings.Contains(raw, "status"):
		path = "spec.schema.status"
		if m := schemaFldRe.FindStringSubmatch(raw); m != nil {
			path += "." + m[1]
		} else if m := statusListRe.FindStringSubmatch(raw); m != nil {
			path += "." + m[1]
		} else if m := atPathRe.FindStringSubmatch(raw); m != nil {
			path += "." + m[1] + m[2]
		}
	case strings.Contains(raw, "OpenAPI schema for instance") || strings.Contains(raw, "simple schema"):
		path = "spec.schema.spec"
		if m := schemaFldRe.FindStringSubmatch(raw); m != nil {
			path += "." + m[1]
		}
	}
	return c.Doc.Errorf(path, "%s", msg)
}

// fieldOf finds where in the source the failing expression was written.
func fieldOf(c *composition.Composition, src composition.ResourceSource, expr, at string) string {
	if src.TemplatePath == "" {
		return ""
	}
	isTemplate := strings.HasSuffix(src.TemplatePath, ".template") || strings.HasSuffix(src.TemplatePath, ".externalRef")
	if isTemplate && at != "" {
		return src.TemplatePath + "." + at
	}
	if expr == "" {
		return ""
	}
	needle := strings.TrimSuffix(strings.TrimPrefix(expr, "${"), "}")
	last := at
	if i := strings.LastIndex(at, "."); i >= 0 {
		last = at[i+1:]
	}
	matches := c.Doc.FindScalars(src.Path, func(key, value string) bool { return strings.Contains(value, needle) })
	for _, m := range matches {
		if strings.HasSuffix(m, "."+last) {
			return m
		}
	}
	if len(matches) > 0 {
		return matches[0]
	}
	return ""
}

// firstUse finds the first scalar under path that uses text inside ${...}.
func firstUse(c *composition.Composition, path, text string) string {
	matches := c.Doc.FindScalars(path, func(_, value string) bool {
		i := strings.Index(value, "${")
		return i >= 0 && strings.Contains(value[i:], text)
	})
	if len(matches) > 0 {
		return matches[0]
	}
	return ""
}

// readable drops KRO's generic wrapping so the specific cause comes first.
func readable(msg string) string {
	msg = wrapRe.ReplaceAllString(msg, "")
	for _, p := range []string{
		"failed to validate resourcegraphdefinition: ",
		"failed to build OpenAPI schema for instance: ",
		"failed to build dependency graph: ",
		"failed to extract dependencies: ",
	} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}
