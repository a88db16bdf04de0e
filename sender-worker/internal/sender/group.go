package sender

import (
	"context"
	"sync"
	"time"
)

// group batches concurrent calls into one: callers hand in an item and
// wait; a loop collects items for up to wait or until max are queued, runs
// fn once on the batch and hands each caller its result. It turns one
// database round trip per message into one per batch without changing the
// simple call-and-wait shape of the handler.
//
// Up to inFlight batches run at once: while one batch's statement is in
// the database the next one is already being collected and sent, so a
// caller waits for about one round trip instead of queueing behind the
// previous batch. When every batch is busy, callers pile up and the next
// batch takes them all (up to max): batches grow with the load.
type group[In, Out any] struct {
	reqs     chan groupReq[In, Out]
	max      int
	wait     time.Duration
	inFlight int
	fn       func(context.Context, []In) ([]Out, error)
}

type groupReq[In, Out any] struct {
	in    In
	reply chan groupReply[Out]
}

type groupReply[Out any] struct {
	out Out
	err error
}

func newGroup[In, Out any](size int, wait time.Duration, inFlight int, fn func(context.Context, []In) ([]Out, error)) *group[In, Out] {
	return &group[In, Out]{reqs: make(chan groupReq[In, Out]), max: size, wait: wait, inFlight: max(inFlight, 1), fn: fn}
}

// do submits in and waits for its result.
func (g *group[In, Out]) do(ctx context.Context, in In) (Out, error) {
	req := groupReq[In, Out]{in: in, reply: make(chan groupReply[Out], 1)}
	var zero Out
	select {
	case g.reqs <- req:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	r := <-req.reply // the loop always answers a request it took
	return r.out, r.err
}

// run serves batches until ctx ends, then waits for the batches still
// running. fn runs under a context that outlives ctx, so a batch taken
// during shutdown is still committed.
func (g *group[In, Out]) run(ctx context.Context) {
	var running sync.WaitGroup
	defer running.Wait()
	busy := make(chan struct{}, g.inFlight)
	for {
		var batch []groupReq[In, Out]
		select {
		case <-ctx.Done():
			return
		case r := <-g.reqs:
			batch = append(batch, r)
		}
		batch = g.fill(batch)
		// Wait for a free batch slot, taking in whoever arrives meanwhile.
	acquire:
		for {
			var more chan groupReq[In, Out]
			if len(batch) < g.max {
				more = g.reqs
			}
			select {
			case busy <- struct{}{}:
				break acquire
			case r := <-more:
				batch = append(batch, r)
			}
		}
		running.Go(func() {
			defer func() { <-busy }()
			g.exec(context.WithoutCancel(ctx), batch)
		})
	}
}

// fill adds requests to batch for up to g.wait or until it holds g.max.
func (g *group[In, Out]) fill(batch []groupReq[In, Out]) []groupReq[In, Out] {
	if len(batch) >= g.max {
		return batch
	}
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	for len(batch) < g.max {
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// exec runs fn on the batch and answers every caller in it.
func (g *group[In, Out]) exec(ctx context.Context, batch []groupReq[In, Out]) {
	ins := make([]In, len(batch))
	for i, r := range batch {
		ins[i] = r.in
	}
	outs, err := g.fn(ctx, ins)
	for i, r := range batch {
		var out Out
		if err == nil && i < len(outs) {
			out = outs[i]
		}
		r.reply <- groupReply[Out]{out: out, err: err}
	}
}
