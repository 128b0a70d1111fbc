package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one component process started by the harness. StartTime is the
// kernel start time (clock ticks since boot, /proc/<pid>/stat field 22); it
// identifies the process together with the PID, so a recycled PID is never
// mistaken for a cluster component.
type Process struct {
	Name      string   `json:"name"`
	PID       int      `json:"pid"`
	StartTime uint64   `json:"startTime"`
	Args      []string `json:"args"`
	Log       string   `json:"log"`
}

// startProcess starts bin in its own session (so it is its own process group
// and terminal signals aimed at `make` do not reach it) with stdout and stderr
// appended to logPath.
func startProcess(name, logPath string, env []string, bin string, args ...string) (*Process, *exec.Cmd, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, PID: cmd.Process.Pid, Args: append([]string{bin}, args...), Log: logPath}
	st, err := procStartTime(p.PID)
	if err != nil {
		// The process died before we could look at it; keep it recorded
		// with StartTime 0, which never matches a live process.
		st = 0
	}
	p.StartTime = st
	return p, cmd, nil
}

// procStat returns the state letter and start time of pid from /proc.
func procStat(pid int) (state byte, startTime uint64, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	startTime, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, err
	}
	return fields[0][0], startTime, nil
}

func procStartTime(pid int) (uint64, error) {
	_, st, err := procStat(pid)
	return st, err
}

// Alive reports whether the recorded process is still running (zombies count
// as gone) and is the same process that was recorded.
func (p *Process) Alive() bool {
	if p.PID <= 0 || p.StartTime == 0 {
		return false
	}
	state, st, err := procStat(p.PID)
	if err != nil {
		return false
	}
	return st == p.StartTime && state != 'Z' && state != 'X'
}

// RSS returns the resident set size of the process in bytes, 0 if unknown.
func (p *Process) RSS() int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "status"))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// signal sends sig to the process group of p (every component runs in its
// own session, so PGID == PID), falling back to the process itself.
func (p *Process) signal(sig syscall.Signal) {
	if !p.Alive() {
		return
	}
	if err := syscall.Kill(-p.PID, sig); errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(p.PID, sig)
	}
}

// stopProcesses sends SIGTERM to every given process, waits up to grace for
// them to exit and SIGKILLs what is left. It waits with a short poll against
// a deadline because the processes are not necessarily our children.
func stopProcesses(procs []*Process, grace time.Duration) error {
	for _, p := range procs {
		p.signal(syscall.SIGTERM)
	}
	if waitGone(procs, grace) {
		return nil
	}
	for _, p := range procs {
		p.signal(syscall.SIGKILL)
	}
	if waitGone(procs, 10*time.Second) {
		return nil
	}
	var alive []string
	for _, p := range procs {
		if p.Alive() {
			alive = append(alive, fmt.Sprintf("%s (pid %d)", p.Name, p.PID))
		}
	}
	return fmt.Errorf("processes survived SIGKILL: %s", strings.Join(alive, ", "))
}

func waitGone(procs []*Process, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		gone := true
		for _, p := range procs {
			if p.Alive() {
				gone = false
				break
			}
		}
		if gone {
			return true
		}
		select {
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}

// tailFile returns the last n lines of path.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
