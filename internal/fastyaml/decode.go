// Package fastyaml decodes the plain YAML that fleet repositories hold by
// the thousand (block mappings and sequences of one-line scalars, as
// generators and `kubectl get -o yaml` write them) into the nodes yaml.v3
// itself builds, less their comments (typekro reads none), about four
// times faster. It is a fast path, not a parser: Decode skips comment
// lines and declines (ok false) any other input outside that subset
// (comments after content, non-empty flow collections, anchors, tags,
// block or multi-line scalars, escapes, tabs, CRs, non-ASCII, empty
// values, odd numbers); the caller then decodes with yaml.v3 as before,
// so errors and unusual input read exactly as yaml.v3 reads them.
// Decoding was half of a 10,000-instance kro-mode render (issue 13);
// FuzzDecode checks every accepted input against yaml.v3, node for node.
package fastyaml

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// Decode returns the documents of a YAML stream as yaml.v3's Decoder
// returns them one by one, or ok false when data is outside the subset.
func Decode(data []byte) (docs []*yaml.Node, ok bool) {
	lines, ok := split(data)
	if !ok {
		return nil, false
	}
	d := decoder{lines: lines, src: string(data), capData: cap(data)}
	// Segments between "---" markers; before the first marker, only
	// content makes a document.
	start, explicit, markerLine := 0, false, 0
	for i := 0; i <= len(lines); i++ {
		if i < len(lines) && !lines[i].marker {
			continue
		}
		doc, ok := d.document(start, i, explicit, markerLine, data)
		if !ok {
			return nil, false
		}
		if doc != nil {
			docs = append(docs, doc)
		}
		if i < len(lines) {
			start, explicit, markerLine = i+1, true, lines[i].n
		}
	}
	return docs, true
}

type line struct {
	n      int    // 1-based line number
	indent int    // leading spaces
	text   []byte // after the indent, trailing spaces removed; never empty
	marker bool   // a "---" document marker
}

// split cuts data into its non-blank lines, declining what the subset
// leaves to yaml.v3.
func split(data []byte) ([]line, bool) {
	lines := make([]line, 0, bytes.Count(data, []byte{'\n'})+1)
	for n, off := 1, 0; off < len(data); n++ {
		raw := data[off:]
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[:i]
			off += i + 1
		} else {
			off = len(data)
		}
		indent := 0
		for indent < len(raw) && raw[indent] == ' ' {
			indent++
		}
		comment := indent < len(raw) && raw[indent] == '#'
		for _, c := range raw {
			// A '#' after content may start a comment, or not ("a#b");
			// tabs and CRs change indentation and folding; columns past
			// a multi-byte character count runes, and yaml.v3 checks the
			// encoding even of comments.
			if c >= 0x7f || c < ' ' && !(comment && c == '\t') || c == '#' && !comment {
				return nil, false
			}
		}
		if comment {
			continue
		}
		text := bytes.TrimRight(raw[indent:], " ")
		if len(text) == 0 {
			continue
		}
		if indent == 0 && (text[0] == '%' || bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("..."))) {
			if string(text) != "---" {
				return nil, false // directive, end marker, "--- value"
			}
			lines = append(lines, line{n: n, marker: true})
			continue
		}
		lines = append(lines, line{n: n, indent: indent, text: text})
	}
	return lines, true
}

type decoder struct {
	// src is data as one string: values are substrings of it rather than
	// a copy each; a line's text at offset capData-cap(text) of data (every
	// text is a subslice of data, so its capacity runs to data's end).
	src     string
	capData int
	slab    []yaml.Node // nodes are allocated in blocks
	lines   []line
	i       int // next line
	end     int // end of the current document's lines
	depth   int // open collections
}

// maxDepth bounds the recursion on untrusted input; Kubernetes objects
// nest a few dozen levels at most.
const maxDepth = 100

// document decodes lines[start:end]; nil for no document (no marker, no
// content).
func (d *decoder) document(start, end int, explicit bool, markerLine int, data []byte) (*yaml.Node, bool) {
	if start == end {
		if !explicit {
			return nil, true
		}
		// "---" with nothing after it: yaml.v3 gives a null scalar where
		// the next token (marker or end of stream) is.
		line, col := 0, 1
		if end < len(d.lines) {
			line = d.lines[end].n
		} else {
			line, col = endOfStream(data)
		}
		return &yaml.Node{Kind: yaml.DocumentNode, Line: markerLine, Column: 1, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!null", Line: line, Column: col},
		}}, true
	}
	d.i, d.end = start, end
	first := d.lines[start]
	root, ok := d.block()
	if !ok || d.i != end {
		return nil, false
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Line: first.n, Column: first.indent + 1, Content: []*yaml.Node{root}}
	if explicit {
		doc.Line, doc.Column = markerLine, 1
	}
	return doc, true
}

// str is text, a subslice of data, as a substring of src.
func (d *decoder) str(text []byte) string {
	off := d.capData - cap(text)
	return d.src[off : off+len(text)]
}

func (d *decoder) node(n yaml.Node) *yaml.Node {
	if len(d.slab) == 0 {
		d.slab = make([]yaml.Node, 256)
	}
	p := &d.slab[0]
	d.slab = d.slab[1:]
	*p = n
	return p
}

// endOfStream is where yaml.v3 puts the end of data: a last line without
// a line break is ended first.
func endOfStream(data []byte) (line, col int) {
	line = bytes.Count(data, []byte{'\n'}) + 1
	if len(data) > 0 && data[len(data)-1] != '\n' {
		line++
	}
	return line, 1
}

// block decodes the node that starts line d.i.
func (d *decoder) block() (*yaml.Node, bool) {
	l := d.lines[d.i]
	if isEntry(l.text) {
		return d.sequence(l.indent)
	}
	if _, _, ok := cutKey(l.text); ok {
		return d.mapping(l.indent)
	}
	return nil, false // a bare scalar: a document of one, or a continuation
}

// isEntry: a block sequence entry, "- " then its content.
func isEntry(text []byte) bool { return len(text) > 2 && text[0] == '-' && text[1] == ' ' }

// cutKey splits "key: value" and "key:"; value is nil for the second.
func cutKey(text []byte) (key, value []byte, ok bool) {
	i := bytes.Index(text, []byte(": "))
	switch {
	case i > 0:
		key, value = text[:i], bytes.TrimLeft(text[i+2:], " ")
	case text[len(text)-1] == ':':
		key = text[:len(text)-1]
	default:
		return nil, nil, false
	}
	// yaml.v3 forgets a simple key more than 1,024 bytes before its ':'.
	if len(key) == 0 || len(key) > 1000 || key[len(key)-1] == ' ' || key[0] == '"' || key[0] == '\'' {
		return nil, nil, false
	}
	return key, value, true
}

// mapping decodes a block mapping whose keys start at column col (0-based);
// the first key may follow "- ", the others start their lines.
func (d *decoder) mapping(col int) (*yaml.Node, bool) {
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	defer func() { d.depth-- }()
	first := d.lines[d.i]
	m := d.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: first.n, Column: col + 1})
	for {
		l := d.lines[d.i]
		key, value, ok := cutKey(l.text[col-l.indent:])
		if !ok {
			return nil, false
		}
		k, ok := d.plain(key, l.n, col+1)
		if !ok {
			return nil, false
		}
		var v *yaml.Node
		if value != nil {
			v, ok = d.scalar(value, l.n, l.indent+len(l.text)-len(value)+1)
			if !ok {
				return nil, false
			}
			d.i++
		} else {
			// "key:" then its value on the lines below: more indented,
			// or a sequence at the key's own column.
			d.i++
			if d.i == d.end {
				return nil, false // empty value
			}
			next := d.lines[d.i]
			switch {
			case next.indent > col:
				v, ok = d.block()
			case next.indent == col && isEntry(next.text):
				v, ok = d.sequence(col)
			default:
				return nil, false // empty value
			}
			if !ok {
				return nil, false
			}
		}
		m.Content = append(m.Content, k, v)
		if d.i == d.end {
			return m, true
		}
		next := d.lines[d.i]
		switch {
		case next.indent < col:
			return m, true
		case next.indent > col, isEntry(next.text):
			return nil, false // continuation line or misplaced entry
		}
	}
}

// sequence decodes the block sequence whose "- " entries start at column
// col.
func (d *decoder) sequence(col int) (*yaml.Node, bool) {
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	defer func() { d.depth-- }()
	s := d.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: d.lines[d.i].n, Column: col + 1})
	for d.i < d.end {
		l := d.lines[d.i]
		if l.indent < col || (l.indent == col && !isEntry(l.text)) {
			break // the parent mapping's next key, or its end
		}
		if l.indent > col {
			return nil, false
		}
		item := l.text[2:]
		if item[0] == ' ' {
			return nil, false // "-   x": more than one blank
		}
		var v *yaml.Node
		var ok bool
		if _, _, isKey := cutKey(item); isKey {
			v, ok = d.mapping(col + 2)
		} else if isEntry(item) {
			return nil, false
		} else {
			v, ok = d.scalar(item, l.n, col+3)
			d.i++
		}
		if !ok {
			return nil, false
		}
		s.Content = append(s.Content, v)
	}
	return s, true
}

// scalar decodes a one-line value at line, column (1-based).
func (d *decoder) scalar(text []byte, line, column int) (*yaml.Node, bool) {
	var style yaml.Style
	switch string(text) {
	case "{}": // empty flow collections, as `kubectl get -o yaml` writes them
		return d.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: line, Column: column}), true
	case "[]":
		return d.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line, Column: column}), true
	}
	switch text[0] {
	case '"':
		style = yaml.DoubleQuotedStyle
	case '\'':
		style = yaml.SingleQuotedStyle
	default:
		return d.plain(text, line, column)
	}
	// One pair of quotes around text with no quote or escape inside.
	if len(text) < 2 || text[len(text)-1] != text[0] {
		return nil, false
	}
	inner := text[1 : len(text)-1]
	if bytes.IndexByte(inner, text[0]) >= 0 || bytes.IndexByte(inner, '\\') >= 0 {
		return nil, false
	}
	return d.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: d.str(inner), Style: style, Line: line, Column: column}), true
}

// plain decodes a plain scalar, resolving its tag as yaml.v3's resolve
// does for the words and numbers the subset admits.
func (d *decoder) plain(text []byte, line, column int) (*yaml.Node, bool) {
	c := text[0]
	switch {
	case indicator[c]:
		return nil, false // an indicator
	case (c == '-' || c == '?' || c == ':') && (len(text) == 1 || text[1] == ' '):
		return nil, false
	case bytes.Contains(text, []byte(": ")) || text[len(text)-1] == ':':
		return nil, false
	}
	tag, ok := resolve(text)
	if !ok {
		return nil, false
	}
	return d.node(yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: d.str(text), Line: line, Column: column}), true
}

// indicator marks the characters a plain scalar cannot start with (besides
// "- ", "? ", ": ", and '#', declined everywhere).
var indicator = func() (t [256]bool) {
	for _, c := range []byte(",[]{}&*!|>'\"%@`") {
		t[c] = true
	}
	return t
}()

// resolve mirrors yaml.v3's resolve for plain scalars: the first byte
// decides which rules apply. Numbers other than plain decimal integers
// and simple decimals (octal, hex, exponents, timestamps, "1.0.0") are
// declined rather than re-implemented.
func resolve(s []byte) (string, bool) {
	switch c := s[0]; {
	case c == '<' && string(s) == "<<":
		return "", false // merge key
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return number(s)
	case bytes.IndexByte([]byte("yYnNtTfFoO~"), c) >= 0:
		switch string(s) {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return "!!bool", true
		case "null", "Null", "NULL", "~":
			return "!!null", true
		}
	}
	return "!!str", true
}

// number resolves what starts with a sign, a digit or a dot. It admits
// decimal integers (!!int), d.d decimals (!!float), and words yaml.v3 can
// only read as strings: a sign then a letter or '-' ("--port"), digits
// then a unit ("10Gi", "500m"), dotted numbers ("1.2.3", "10.0.0.1").
// Anything else (octal, hex, binary, exponents, underscores, timestamps,
// ".5") is declined.
func number(s []byte) (string, bool) {
	body := s
	if s[0] == '+' || s[0] == '-' {
		body = s[1:]
		if len(body) > 0 && (isLetter(body[0]) || body[0] == '-') {
			return "!!str", true
		}
	}
	k := 0
	for k < len(body) && body[k] >= '0' && body[k] <= '9' {
		k++
	}
	if k == 0 {
		return "", false
	}
	rest := body[k:]
	switch {
	case len(rest) == 0:
		if k > 18 || (k > 1 && body[0] == '0') {
			return "", false
		}
		return "!!int", true
	case rest[0] == '.':
		if digits(rest[1:]) {
			return "!!float", true
		}
		if dotted(rest) {
			return "!!str", true
		}
	case isLetter(rest[0]) && rest[0] != 'e' && rest[0] != 'E' && body[0] != '0':
		return "!!str", true
	}
	return "", false
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func digits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) > 0
}

// dotted: two or more ".digits" groups.
func dotted(s []byte) bool {
	groups := bytes.Split(s[1:], []byte{'.'})
	if len(groups) < 2 {
		return false
	}
	for _, g := range groups {
		if !digits(g) {
			return false
		}
	}
	return true
}
