package gctune

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
)

func pace() (gogc, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// The test binary runs this package's init like the command does: no
// collection until the first one the memory limit forces, then the steady
// pace. Each case runs in a fresh process, as the environment decides.
func TestPace(t *testing.T) {
	if os.Getenv("GCTUNE_CHILD") == "" {
		for _, tt := range []struct {
			env, want string
		}{
			{"", "off 64MiB -> 400 300MiB"},
			{"GOGC=50", "50 300MiB"},
			{"GOMEMLIMIT=1GiB", "400 1024MiB"},
		} {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPace$")
			var env []string
			for _, kv := range os.Environ() { // only the case's own settings
				if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
					env = append(env, kv)
				}
			}
			cmd.Env = append(env, "GCTUNE_CHILD=1", tt.env)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tt.env, err, out)
			}
			if got := lastLine(string(out)); got != tt.want {
				t.Errorf("%s: pace %q, want %q", tt.env, got, tt.want)
			}
		}
		return
	}
	describe := func() string {
		g, l := pace()
		gs := "off"
		if g >= 0 && g < 1<<31 {
			gs = strconv.FormatInt(g, 10)
		}
		return fmt.Sprintf("%s %dMiB", gs, l>>20)
	}
	before := describe()
	if before != "off 64MiB" {
		fmt.Println(before)
		return
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for describe() == before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	fmt.Println(before + " -> " + describe())
}

// lastLine is the child's report: the last line before the test runner's.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for len(lines) > 1 && strings.HasPrefix(lines[len(lines)-1], "PASS") {
		lines = lines[:len(lines)-1]
	}
	return lines[len(lines)-1]
}
