package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// machine is what the run ran on: results mean little without it.
type machine struct {
	Cores      int     `json:"cores"`
	CPUModel   string  `json:"cpu_model"`
	MemoryGiB  float64 `json:"memory_gib"`
	Kernel     string  `json:"kernel"`
	GoVersion  string  `json:"go_version"`
	PostgreSQL string  `json:"postgresql"`
	RabbitMQ   string  `json:"rabbitmq"`
	// LoadAverage is /proc/loadavg's 1, 5 and 15 minute figures when the
	// run began: other work on a shared machine shows there.
	LoadAverage string `json:"load_average"`
}

func (m *machine) read(ctx context.Context, e *env) error {
	m.Cores, m.GoVersion = runtime.NumCPU(), runtime.Version()
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		m.MemoryGiB = kb / (1 << 20)
	}
	m.LoadAverage = loadAverage()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if err := e.db.SQL().QueryRowContext(ctx, `SHOW server_version`).Scan(&m.PostgreSQL); err != nil {
		return fmt.Errorf("PostgreSQL version: %w", err)
	}
	conn, err := amqp.Dial(e.o.amqpURL)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer conn.Close()
	m.RabbitMQ, _ = conn.Properties["version"].(string)
	return nil
}

func (m machine) String() string {
	return fmt.Sprintf("%d cores (%s), %.0f GiB, Linux %s; PostgreSQL %s, RabbitMQ %s, %s; everything on this one host",
		m.Cores, m.CPUModel, m.MemoryGiB, m.Kernel, m.PostgreSQL, m.RabbitMQ, m.GoVersion)
}

// procField is the value of the first "key: value" line of a /proc file
// whose key is key, or "" when there is none.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the first three fields of /proc/loadavg, "" when it
// cannot be read.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}
