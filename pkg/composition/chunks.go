package composition

import (
	"bytes"
	"runtime"

	"go.yaml.in/yaml/v3"

	"github.com/typekro/kubectl-typekro/internal/parallel"
)

// A fleet's instances file holds thousands of documents, and yaml.v3
// decodes a stream one document after the other: parsing it was a third
// of a 10,000-instance kro-mode render. Documents are independent, so a
// large file is cut at its document markers ("---" at the start of a
// line, which YAML forbids inside any scalar) into parts parsed on every
// core, each part's lines and document numbers offset to the whole file's.
// A file with directives or "..." markers, or a part with a syntax error,
// is parsed whole as before, so errors read exactly as they did.

// chunkMin is the smallest file parsed in parts (a variable for tests).
var chunkMin = 256 << 10

// parseChunks parses a large file in parts; ok is false when it did not
// (small file, directives, a syntax error).
func parseChunks(file string, data []byte) (docs []*Document, errs Errors, ok bool) {
	if len(data) < chunkMin {
		return nil, nil, false
	}
	parts := splitDocuments(data, 4*runtime.GOMAXPROCS(0))
	if len(parts) < 2 {
		return nil, nil, false
	}
	// Each part's first line, and its first document's number: the
	// documents the parts before it hold. A part starts with a marker
	// (except the first), and yaml.v3 counts a document for every marker.
	type result struct {
		docs   []*Document
		errs   Errors
		syntax bool
	}
	results := make([]result, len(parts))
	lineAt, indexAt := make([]int, len(parts)), make([]int, len(parts))
	for i := 1; i < len(parts); i++ {
		prev := parts[i-1]
		lineAt[i] = lineAt[i-1] + bytes.Count(data[prev.start:prev.end], []byte{'\n'})
		indexAt[i] = indexAt[i-1] + prev.docs
	}
	parallel.Each(len(parts), func(i int) {
		p := parts[i]
		r := &results[i]
		r.docs, r.errs, r.syntax = parseStream(file, data[p.start:p.end], lineAt[i], indexAt[i])
	})
	for _, r := range results {
		if r.syntax {
			return nil, nil, false
		}
		docs = append(docs, r.docs...)
		errs = append(errs, r.errs...)
	}
	return docs, errs, true
}

type part struct {
	start, end int
	docs       int // documents yaml.v3 decodes in it
}

// splitDocuments cuts data at document markers into about n parts; none
// when data has a directive or document end marker.
func splitDocuments(data []byte, n int) []part {
	var markers []int // offsets of "---" lines
	for off := 0; off < len(data); {
		line := data[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		switch {
		case len(line) > 0 && line[0] == '%', bytes.HasPrefix(line, []byte("...")):
			return nil
		case isMarker(line):
			markers = append(markers, off)
		}
		off += len(line)
	}
	if len(markers) < n {
		return nil
	}
	// What precedes the first marker is a document of its own when it has
	// content; only comments and blank lines are left to a whole parse
	// (yaml.v3 then gives the next document their comments).
	var parts []part
	if markers[0] > 0 {
		if !hasContent(data[:markers[0]]) {
			return nil
		}
		parts = append(parts, part{start: 0, end: markers[0], docs: 1})
	}
	per := (len(markers) + n - 1) / n
	for i := 0; i < len(markers); i += per {
		end := len(data)
		if i+per < len(markers) {
			end = markers[i+per]
		}
		parts = append(parts, part{start: markers[i], end: end, docs: min(per, len(markers)-i)})
	}
	return parts
}

// isMarker: "---" then the end of the line or a blank.
func isMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\n' || line[3] == '\r'
}

// shiftLines moves a parsed part's nodes to their lines in the file.
func shiftLines(n *yaml.Node, by int) {
	if n.Line > 0 {
		n.Line += by
	}
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// hasContent: some line is neither blank nor a comment.
func hasContent(b []byte) bool {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}
