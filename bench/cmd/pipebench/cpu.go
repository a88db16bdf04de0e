package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"mailing/bench/internal/proc"
)

// cpuUse is the CPU time each part of the system used during a run, so a
// result can be explained: on a shared 2-core machine whoever uses the CPU
// takes it from the others.
type cpuUse struct {
	WorkersSeconds  float64 `json:"workers_seconds"`
	APISeconds      float64 `json:"api_seconds"`
	DatabaseSeconds float64 `json:"database_seconds"` // the run database's backends and the server's own processes
	// OtherDatabasesSeconds is what backends of the server's other
	// databases used: other work on a shared server, part of OthersShare.
	OtherDatabasesSeconds float64 `json:"other_databases_seconds"`
	BrokerSeconds         float64 `json:"broker_seconds"` // every beam.smp process
	BenchSeconds          float64 `json:"bench_seconds"`  // this process: probe-sim and the clients
	MachineBusy           float64 `json:"machine_busy"`   // share of all cores, 0–1
	// OthersShare is the share of all cores busy with processes that are
	// not the run's (nor PostgreSQL or RabbitMQ): other work on a shared
	// machine, which the figures do not show otherwise.
	OthersShare float64 `json:"others_share"`
}

// total is the CPU time of every part.
func (u cpuUse) total() float64 {
	return u.WorkersSeconds + u.APISeconds + u.BenchSeconds + u.BrokerSeconds + u.DatabaseSeconds
}

// cpuSnapshot is the CPU time used so far.
type cpuSnapshot struct {
	workers, api, self  float64
	others              map[string]map[int]float64 // command → pid → seconds
	machBusy, machTotal int64
}

// Command names of the broker's and the database's processes, and the
// key under which cpuByCommand files backends of other databases.
const (
	brokerCommand   = "beam.smp"
	databaseCommand = "postgres"
	otherDatabases  = "postgres: other databases"
)

func (e *env) cpuSnapshot() (cpuSnapshot, error) {
	var s cpuSnapshot
	for _, w := range e.workers {
		c, err := w.CPUSeconds()
		if err != nil {
			return s, fmt.Errorf("%s CPU: %w", w.Name, err)
		}
		s.workers += c
	}
	c, err := e.api.CPUSeconds()
	if err != nil {
		return s, fmt.Errorf("api CPU: %w", err)
	}
	s.api = c
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, fmt.Errorf("own CPU: %w", err)
	}
	s.self = tv(ru.Utime) + tv(ru.Stime)
	if s.others, err = cpuByCommand(databaseName(e.o.databaseURL), brokerCommand, databaseCommand); err != nil {
		return s, err
	}
	s.machBusy, s.machTotal, err = machineCPU()
	return s, err
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// cpuSince is the CPU used since before by the processes alive now.
func (e *env) cpuSince(before cpuSnapshot) (cpuUse, error) {
	now, err := e.cpuSnapshot()
	if err != nil {
		return cpuUse{}, err
	}
	u := cpuUse{
		WorkersSeconds:        now.workers - before.workers,
		APISeconds:            now.api - before.api,
		BenchSeconds:          now.self - before.self,
		BrokerSeconds:         grown(before.others[brokerCommand], now.others[brokerCommand]),
		DatabaseSeconds:       grown(before.others[databaseCommand], now.others[databaseCommand]),
		OtherDatabasesSeconds: grown(before.others[otherDatabases], now.others[otherDatabases]),
	}
	if dt := now.machTotal - before.machTotal; dt > 0 {
		busy := float64(now.machBusy - before.machBusy)
		u.MachineBusy = busy / float64(dt)
		ours := u.total() * proc.ClockTicks
		u.OthersShare = max(busy-ours, 0) / float64(dt)
	}
	return u, nil
}

// grown sums how much each process alive now used since before (all of
// it for a process started since). Comparing per process matters: a
// database backend that exited in between would otherwise take its whole
// lifetime's CPU out of the total.
func grown(before, now map[int]float64) float64 {
	var sum float64
	for pid, c := range now {
		sum += max(c-before[pid], 0)
	}
	return sum
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

// cpuByCommand reads the CPU seconds of every process whose command name
// (/proc/<pid>/comm) is in names, by name and pid: the broker (beam.smp)
// and the database (postgres) run as many threads or processes. A postgres
// backend of a database other than db is filed under otherDatabases: on a
// shared server it is someone else's work. What a process used between its
// last reading and its exit is missed, so short-lived database backends
// are undercounted; the pools keep theirs for the whole run.
func cpuByCommand(db string, names ...string) (map[string]map[int]float64, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	byName := make(map[string]map[int]float64, len(names)+1)
	for _, n := range append(names, otherDatabases) {
		byName[n] = map[int]float64{}
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
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
		if name == databaseCommand {
			if other := postgresProcessDatabase(d.Name()); other != "" && other != db {
				name = otherDatabases
			}
		}
		if c, err := proc.StatCPUSeconds("/proc/" + d.Name() + "/stat"); err == nil {
			byName[name][pid] = c
		}
	}
	return byName, nil
}

// postgresProcessDatabase is the database postgres process pid serves,
// "" when it cannot tell; a parallel worker serves its leader's.
func postgresProcessDatabase(pid string) string {
	title, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return ""
	}
	db, leader := postgresDatabase(string(title))
	if leader != "" {
		if title, err = os.ReadFile("/proc/" + leader + "/cmdline"); err == nil {
			db, _ = postgresDatabase(string(title))
		}
	}
	return db
}

// postgresDatabase is the database a postgres process serves, read from
// the title it sets ("postgres: 15/main: user db 127.0.0.1(5000) idle",
// "postgres: 15/main: autovacuum worker db"); "" for the server's own
// processes (checkpointer, walwriter, ...) and untitled ones. A parallel
// worker names instead the pid of its leader.
func postgresDatabase(cmdline string) (db, leader string) {
	rest, ok := strings.CutPrefix(strings.TrimRight(cmdline, "\x00 "), "postgres: ")
	if !ok {
		return "", ""
	}
	f := strings.Fields(rest)
	if len(f) > 0 && strings.HasSuffix(f[0], ":") { // the cluster name
		f = f[1:]
	}
	switch {
	case len(f) == 5 && f[0] == "parallel" && f[1] == "worker" && f[3] == "PID":
		return "", f[4]
	case len(f) >= 3 && f[0] == "autovacuum" && f[1] == "worker":
		return f[2], ""
	case len(f) >= 3 && (strings.HasSuffix(f[2], ")") || f[2] == "[local]"):
		return f[1], "" // user, database, client address
	}
	return "", ""
}
