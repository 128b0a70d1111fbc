package cluster

import (
	"context"
	"strings"
	"testing"
)

// TestRestartRefuses: only the apiserver of a recorded cluster can be
// restarted (the restart itself is covered by the e2e test
// TestWaitSurvivesAPIServerRestart against a real cluster).
func TestRestartRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Restart(context.Background(), dir, Etcd); err == nil || !strings.Contains(err.Error(), "only kube-apiserver") {
		t.Errorf("restart etcd: %v, want a refusal", err)
	}
	if _, err := Restart(context.Background(), dir, APIServer); err == nil || !strings.Contains(err.Error(), "no cluster recorded") {
		t.Errorf("restart without a cluster: %v, want no cluster recorded", err)
	}
}
