package schemas

import (
	"errors"
	"fmt"

	schemaresolver "github.com/kubernetes-sigs/kro/pkg/graph/schema/resolver"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// ClusterResolver returns the schema resolver and RESTMapper KRO's controller
// uses against the cluster of restConfig (for --schemas=cluster): KRO's
// combined resolver (compiled-in core definitions, then cached OpenAPI v3
// discovery) and controller-runtime's dynamic, lazily-discovering RESTMapper.
// Nothing is fetched until the first resolution.
func ClusterResolver(restConfig *rest.Config) (resolver.SchemaResolver, meta.RESTMapper, error) {
	if restConfig == nil {
		return nil, nil, errors.New("no cluster configuration")
	}
	httpClient, err := rest.HTTPClientFor(restConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("creating HTTP client for the cluster: %w", err)
	}
	sr, err := schemaresolver.NewCombinedResolver(restConfig, httpClient)
	if err != nil {
		return nil, nil, fmt.Errorf("creating cluster schema resolver: %w", err)
	}
	rm, err := apiutil.NewDynamicRESTMapper(restConfig, httpClient)
	if err != nil {
		return nil, nil, fmt.Errorf("creating cluster REST mapper: %w", err)
	}
	return sr, rm, nil
}
