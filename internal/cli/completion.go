package cli

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"

	"github.com/typekro/kubectl-typekro/pkg/backend"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// completionTimeout bounds every cluster look-up a <TAB> makes: a shell
// must never hang on an unreachable cluster.
const completionTimeout = 3 * time.Second

// registerCompletions adds shell completion (cobra's `completion` command
// prints the scripts) for kubectl's flags (namespaces, contexts, clusters,
// users), typekro's fixed-value flags, and status's KIND [NAME] arguments.
// k8s.io/kubectl/pkg/util/completion is not used: each of its look-ups runs
// `kubectl get` (linking kubectl's get and describe packages, two more
// modules, into every start-up) with no request timeout (its own TODO), so
// a <TAB> against an unreachable cluster hangs; here it is a kubeconfig read
// or one list bounded by completionTimeout.
func registerCompletions(root *cobra.Command, flags *genericclioptions.ConfigFlags) {
	_ = root.RegisterFlagCompletionFunc("namespace", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return clusterNames(flags, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false), cobra.ShellCompDirectiveNoFileComp
	})
	for _, f := range []struct {
		flag string
		of   func(*kubeconfigNames) []string
	}{
		{"context", func(k *kubeconfigNames) []string { return k.contexts }},
		{"cluster", func(k *kubeconfigNames) []string { return k.clusters }},
		{"user", func(k *kubeconfigNames) []string { return k.users }},
	} {
		_ = root.RegisterFlagCompletionFunc(f.flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return f.of(readKubeconfigNames(flags)), cobra.ShellCompDirectiveNoFileComp
		})
	}
	fixed := map[string][]string{
		"mode":   {render.ModeKro, render.ModeDirect},
		"target": {render.TargetPlain, "flux", "argocd"},
		"output": {"yaml", "json", "name"},
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for flag, values := range fixed {
			// c.Flags() holds only c's own flags until cobra merges the
			// inherited ones at execution; LocalNonPersistentFlags would
			// merge them here, a third of building the command tree.
			if c.Flags().Lookup(flag) != nil && c.PersistentFlags().Lookup(flag) == nil {
				_ = c.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if status, _, err := root.Find([]string{"status"}); err == nil && status != root {
		status.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return instanceKinds(flags), cobra.ShellCompDirectiveNoFileComp
			case 1:
				return instanceNames(flags, args[0]), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
}

type kubeconfigNames struct{ contexts, clusters, users []string }

func readKubeconfigNames(flags *genericclioptions.ConfigFlags) *kubeconfigNames {
	cfg, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return &kubeconfigNames{}
	}
	k := &kubeconfigNames{}
	for n := range cfg.Contexts {
		k.contexts = append(k.contexts, n)
	}
	for n := range cfg.Clusters {
		k.clusters = append(k.clusters, n)
	}
	for n := range cfg.AuthInfos {
		k.users = append(k.users, n)
	}
	sort.Strings(k.contexts)
	sort.Strings(k.clusters)
	sort.Strings(k.users)
	return k
}

func completionClient(flags *genericclioptions.ConfigFlags) (dynamic.Interface, context.Context, context.CancelFunc) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, nil, nil
	}
	cfg.Timeout = completionTimeout
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	return client, ctx, cancel
}

// clusterNames lists the names of a resource, in the namespace of the
// flags when namespaced; nothing when the cluster does not answer.
func clusterNames(flags *genericclioptions.ConfigFlags, gvr schema.GroupVersionResource, namespaced bool) []string {
	client, ctx, cancel := completionClient(flags)
	if client == nil {
		return nil
	}
	defer cancel()
	ri := dynamic.ResourceInterface(client.Resource(gvr))
	if namespaced {
		ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return nil
		}
		ri = client.Resource(gvr).Namespace(ns)
	}
	list, err := ri.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	for _, u := range list.Items {
		names = append(names, u.GetName())
	}
	sort.Strings(names)
	return names
}

// instanceKinds are the kinds the cluster's RGDs serve, as `status` takes
// them (lowercase kind, kubectl's singular resource name).
func instanceKinds(flags *genericclioptions.ConfigFlags) []string {
	client, ctx, cancel := completionClient(flags)
	if client == nil {
		return nil
	}
	defer cancel()
	list, err := client.Resource(backend.RGDResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var kinds []string
	for _, rgd := range list.Items {
		if k, _, _ := unstructured.NestedString(rgd.Object, "spec", "schema", "kind"); k != "" {
			kinds = append(kinds, strings.ToLower(k))
		}
	}
	sort.Strings(kinds)
	return kinds
}

// instanceNames lists the objects of kind (as typed) in the namespace.
func instanceNames(flags *genericclioptions.ConfigFlags, kind string) []string {
	mapper, err := flags.ToRESTMapper()
	if err != nil {
		return nil
	}
	gvr, err := mapper.ResourceFor(schema.ParseGroupResource(kind).WithVersion(""))
	if err != nil {
		return nil
	}
	return clusterNames(flags, gvr, true)
}
