package cli

import (
	"strings"
	"sync"

	"github.com/MakeNowJust/heredoc"
)

// Help texts read exactly as kubectl's templates.LongDesc and Examples
// render them, but LongDesc's markdown rendering (blackfriday) is done ahead
// of time, into helptext_rendered.go: linking and running it cost every
// command ~1.5 ms at start-up (issue 13). TestHelpTexts renders each text
// with kubectl's own templates and fails on any difference; after editing a
// text, `go test ./internal/cli -run TestHelpTexts -update` rewrites the file.

var helpTexts struct {
	sync.Mutex
	long []string // every text longDesc was given, for TestHelpTexts
}

// longDesc is templates.LongDesc(raw).
func longDesc(raw string) string {
	helpTexts.Lock()
	helpTexts.long = append(helpTexts.long, raw)
	helpTexts.Unlock()
	if r, ok := renderedLong[raw]; ok {
		return r
	}
	// Not rendered yet (TestHelpTexts fails): readable, if not kubectl's.
	return strings.TrimSpace(heredoc.Doc(raw))
}

// exampleText is templates.Examples(s): trimmed, each line trimmed and
// indented by two spaces.
func exampleText(s string) string {
	if s == "" {
		return s
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}
