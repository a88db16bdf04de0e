package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/bench/internal/proc"
	"mailing/shared/broker"
)

// startWorkers execs the worker binary n times and waits until each one
// consumes both of its queues, so a measured run does not include process
// start-up. Every run starts its own workers, so each run's peak RSS is
// its own.
func (e *env) startWorkers(ctx context.Context, n int) error {
	for i := range n {
		vars := []string{
			"DATABASE_URL=" + e.o.databaseURL, "AMQP_URL=" + e.o.amqpURL, "AMQP_PREFIX=" + e.o.prefix,
			"PROBE_URL=" + e.simURL, "PROBE_TOKEN=" + e.token,
			"LOG_LEVEL=warn", "WORKER_HTTP_ADDR=127.0.0.1:0",
			"SENDER_CONCURRENCY=" + strconv.Itoa(e.o.concurrency), "SENDER_PREFETCH=" + strconv.Itoa(e.o.prefetch),
		}
		if e.o.pprofPort > 0 {
			vars = append(vars, "PPROF_ADDR=127.0.0.1:"+strconv.Itoa(e.o.pprofPort+i))
		}
		w, err := proc.Start(fmt.Sprintf("worker %d", i), e.o.workerBin, nil, append(vars, e.o.workerEnv...), e.stderr)
		if err != nil {
			return err
		}
		e.workers = append(e.workers, w)
	}
	return e.waitConsumers(ctx, n, 30*time.Second)
}

// stopWorkers stops the run's workers, reporting failures on stderr.
func (e *env) stopWorkers() {
	for _, w := range e.workers {
		if err := w.Stop(20 * time.Second); err != nil {
			fmt.Fprintf(e.stderr, "stop %s: %v\n", w.Name, err)
		}
	}
	e.workers = nil
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
		if err := e.workerExited(); err != nil {
			return fmt.Errorf("during start-up: %w", err)
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

// workerExited reports a worker (or the API) that is no longer running.
func (e *env) workerExited() error {
	for _, p := range append([]*proc.Process{e.api.Process}, e.workers...) {
		if p.Exited() {
			return fmt.Errorf("%s exited", p.Name)
		}
	}
	return nil
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
