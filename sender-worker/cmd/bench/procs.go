package main

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

// process is one child process of the run: the API or a worker.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan error // receives Wait's result once
}

// startProcess execs bin with the caller's environment plus vars (later
// entries win, so the run's settings override the caller's).
func startProcess(name, bin string, args, vars []string, output io.Writer) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), vars...)
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case err := <-p.done:
		p.done <- err // keep it for stop
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for a clean exit, then kills.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return <-p.done
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("no clean exit within %s; killed", grace)
	}
}

// peakRSSMiB is the process's peak resident set size (VmHWM): the kernel
// keeps the maximum, so no sample can miss a short peak.
func (p *process) peakRSSMiB() (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("%s peak RSS: %w", p.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s peak RSS: %w", p.name, err)
			}
			return float64(kb) / 1024, nil
		}
	}
	return 0, fmt.Errorf("%s peak RSS: no VmHWM in /proc status", p.name)
}

// cpuSeconds is the user plus system CPU time the process has used.
func (p *process) cpuSeconds() (float64, error) {
	return procCPUSeconds(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
}

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux
// architecture Go supports.
const clockTicks = 100

func procCPUSeconds(path string) (float64, error) {
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
	return float64(ut+st) / clockTicks, nil
}
