package celexpr

import (
	"reflect"
	"testing"
)

func TestFieldRefs(t *testing.T) {
	got, err := FieldRefs(`"http://" + service.spec.clusterIP + ":" + string(deployment.spec.replicas)`, []string{"service", "deployment"})
	if err != nil {
		t.Fatal(err)
	}
	want := []FieldRef{{ID: "service", Path: "service.spec.clusterIP"}, {ID: "deployment", Path: "deployment.spec.replicas"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := FieldRefs(`service.spec.(`, []string{"service"}); err == nil {
		t.Error("a syntax error must be an error")
	}
}
