// Package proc runs the product's binaries as child processes of a
// measuring run (the API, workers) and reads what they use from /proc, so
// the tools measure the real processes rather than the code in-process.
package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one child process of a run.
type Process struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // Wait's result, set before done is closed
}

// Start execs bin with the caller's environment plus vars (later entries
// win, so the run's settings override the caller's); its stdout and
// stderr go to output.
func Start(name, bin string, args, vars []string, output io.Writer) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), vars...)
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Exited tells whether the process is no longer running.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit and returns how it exited.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Stop sends SIGTERM and waits up to grace for a clean exit, then kills.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("no clean exit within %s; killed", grace)
	}
}

// PeakRSSMiB is the process's peak resident set size (VmHWM): the kernel
// keeps the maximum, so no sample can miss a short peak.
func (p *Process) PeakRSSMiB() (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("%s peak RSS: %w", p.Name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s peak RSS: %w", p.Name, err)
			}
			return float64(kb) / 1024, nil
		}
	}
	return 0, fmt.Errorf("%s peak RSS: no VmHWM in /proc status", p.Name)
}

// CPUSeconds is the user plus system CPU time the process has used.
func (p *Process) CPUSeconds() (float64, error) {
	return StatCPUSeconds(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
}

// ClockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux
// architecture Go supports.
const ClockTicks = 100

// StatCPUSeconds reads the user plus system CPU seconds from a
// /proc/<pid>/stat file.
func StatCPUSeconds(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are
	// plain numbers. utime and stime are fields 14 and 15.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return float64(ut+st) / ClockTicks, nil
}
