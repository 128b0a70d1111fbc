package render

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ArgoCDSettings is what an Argo CD Config Management Plugin receives
// through its environment (see plugins/argocd/README.md):
//
//	ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE     set by Argo CD for every app
//	ARGOCD_ENV_TYPEKRO_MODE|NAMESPACE|PATHS   the app's spec.source.plugin.env
//	PARAM_MODE, PARAM_NAMESPACE, PARAM_PATHS_<n>
//	                                          the app's spec.source.plugin.parameters
//
// Parameters win over env entries; the namespace falls back to the app's
// destination namespace.
type ArgoCDSettings struct {
	AppName      string
	AppNamespace string
	Mode         string
	Namespace    string
	Paths        []string
}

// ArgoCDFromEnv reads the settings from an environment in os.Environ form.
func ArgoCDFromEnv(environ []string) ArgoCDSettings {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(env[k]); v != "" {
				return v
			}
		}
		return ""
	}
	s := ArgoCDSettings{
		AppName:      env["ARGOCD_APP_NAME"],
		AppNamespace: env["ARGOCD_APP_NAMESPACE"],
		Mode:         first("PARAM_MODE", "ARGOCD_ENV_TYPEKRO_MODE"),
		Namespace:    first("PARAM_NAMESPACE", "ARGOCD_ENV_TYPEKRO_NAMESPACE", "ARGOCD_APP_NAMESPACE"),
	}
	// Array parameters arrive as PARAM_<NAME>_<index>.
	type item struct {
		i int
		v string
	}
	var items []item
	for k, v := range env {
		if rest, ok := strings.CutPrefix(k, "PARAM_PATHS_"); ok {
			if i, err := strconv.Atoi(rest); err == nil && strings.TrimSpace(v) != "" {
				items = append(items, item{i, strings.TrimSpace(v)})
			}
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	for _, it := range items {
		s.Paths = append(s.Paths, it.v)
	}
	if len(s.Paths) == 0 {
		s.Paths = strings.FieldsFunc(env["ARGOCD_ENV_TYPEKRO_PATHS"], func(r rune) bool {
			return r == ',' || r == ' ' || r == '\n' || r == '\t'
		})
	}
	return s
}

// RepoRelative returns dir relative to the root of the Git repository that
// contains it (the nearest parent with a .git entry), slash-separated, as
// Flux's spec.path wants it.
func RepoRelative(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(resolved, filepath.Base(abs))
	}
	for root := abs; ; root = filepath.Dir(root) {
		if _, err := os.Lstat(filepath.Join(root, ".git")); err == nil {
			rel, err := filepath.Rel(root, abs)
			if err != nil {
				return "", err
			}
			return filepath.ToSlash(rel), nil
		}
		if root == filepath.Dir(root) {
			return "", fmt.Errorf("%s is not inside a Git repository: give --flux-path (the directory as Flux sees it, relative to the repository root)", dir)
		}
	}
}
