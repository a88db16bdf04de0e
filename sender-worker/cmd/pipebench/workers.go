package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/shared/broker"
)

// worker is one running worker process.
type worker struct {
	index int
	cmd   *exec.Cmd
	done  chan error // receives Wait's result once
}

// startWorkers execs the worker binary o.workers times and waits until each
// one consumes both of its queues, so the measured run does not include
// process start-up.
func (e *env) startWorkers(ctx context.Context, o options) error {
	if _, err := os.Stat(o.workerBin); err != nil {
		return fmt.Errorf("worker binary: %w (run make build first, or pass -worker)", err)
	}
	for i := range o.workers {
		w, err := e.startWorker(o, i)
		if err != nil {
			return err
		}
		e.workers = append(e.workers, w)
	}
	return e.waitConsumers(ctx, o.workers, 30*time.Second)
}

func (e *env) startWorker(o options, i int) (*worker, error) {
	vars := []string{
		"DATABASE_URL=" + o.databaseURL, "AMQP_URL=" + o.amqpURL, "AMQP_PREFIX=" + o.prefix,
		"PROBE_URL=" + e.simURL, "PROBE_TOKEN=" + e.token,
		"LOG_LEVEL=warn", "WORKER_HTTP_ADDR=127.0.0.1:0",
	}
	if o.concurrency > 0 {
		vars = append(vars, "SENDER_CONCURRENCY="+strconv.Itoa(o.concurrency))
	}
	if o.prefetch > 0 {
		vars = append(vars, "SENDER_PREFETCH="+strconv.Itoa(o.prefetch))
	}
	if o.pprofPort > 0 {
		vars = append(vars, "PPROF_ADDR=127.0.0.1:"+strconv.Itoa(o.pprofPort+i))
	}
	cmd := exec.Command(o.workerBin)
	// Later entries win, so the run's settings override the caller's.
	cmd.Env = append(append(os.Environ(), vars...), o.workerEnv...)
	cmd.Stdout, cmd.Stderr = e.stderr, e.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %d: %w", i, err)
	}
	w := &worker{index: i, cmd: cmd, done: make(chan error, 1)}
	go func() { w.done <- cmd.Wait() }()
	return w, nil
}

// waitConsumers waits until the start and send queues each have n
// consumers, failing early when a worker exits.
func (e *env) waitConsumers(ctx context.Context, n int, within time.Duration) error {
	conn, err := amqp.Dial(e.o.amqpURL)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(within)
	for {
		ready := true
		for _, q := range []string{broker.StartQueue, broker.SendQueue} {
			c, err := consumers(conn, e.o.prefix+"."+q)
			if err != nil {
				return err
			}
			ready = ready && c >= n
		}
		if ready {
			return nil
		}
		for _, w := range e.workers {
			if w.exited() {
				return fmt.Errorf("worker %d exited during start-up", w.index)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("workers not consuming after %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// consumers counts the consumers of queue; a passive declare fails (and
// closes its channel) when the queue does not exist, hence a channel each.
func consumers(conn *amqp.Connection, queue string) (int, error) {
	ch, err := conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("broker channel: %w", err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("inspect queue %s: %w", queue, err)
	}
	return q.Consumers, nil
}

func (w *worker) exited() bool {
	select {
	case err := <-w.done:
		w.done <- err // keep it for stop
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for a clean exit, then kills.
func (w *worker) stop(grace time.Duration) error {
	if w.exited() {
		return <-w.done
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		return err
	case <-time.After(grace):
		_ = w.cmd.Process.Kill()
		<-w.done
		return fmt.Errorf("no clean exit within %s; killed", grace)
	}
}

// peakRSS is the process's peak resident set size (VmHWM), in bytes.
func (w *worker) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// cpuSeconds is the user plus system CPU time the process has used.
func (w *worker) cpuSeconds() (float64, error) {
	return procCPUSeconds(fmt.Sprintf("/proc/%d/stat", w.cmd.Process.Pid))
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

// machineCPU reads the busy and total jiffies of all CPUs from /proc/stat.
func machineCPU() (busy, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, errors.New("/proc/stat: unexpected format")
	}
	// user nice system idle iowait irq softirq steal; guest time is
	// already counted in user and nice.
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += n
		if i != 3 && i != 4 { // idle and iowait
			busy += n
		}
	}
	return busy, total, nil
}

// cpuByCommand sums the CPU seconds of every process whose command name
// (/proc/<pid>/comm) is in names: the broker (beam.smp) and the database
// (postgres) run as many threads or processes. A process that exits
// between two readings drops out of the sum, so short-lived database
// backends are missed; the pools keep theirs for the whole run.
func cpuByCommand(names ...string) (map[string]float64, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	sums := make(map[string]float64, len(names))
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + d.Name() + "/comm")
		if err != nil {
			continue // exited meanwhile
		}
		name := strings.TrimSpace(string(comm))
		if !slices.Contains(names, name) {
			continue
		}
		if c, err := procCPUSeconds("/proc/" + d.Name() + "/stat"); err == nil {
			sums[name] += c
		}
	}
	return sums, nil
}
