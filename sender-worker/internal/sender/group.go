package sender

import (
	"context"
	"time"
)

// group batches concurrent calls into one: callers hand in an item and
// wait; a loop collects items for up to wait or until max are queued, runs
// fn once on the batch and hands each caller its result. It turns one
// database round trip per message into one per batch without changing the
// simple call-and-wait shape of the handler.
type group[In, Out any] struct {
	reqs chan groupReq[In, Out]
	max  int
	wait time.Duration
	fn   func(context.Context, []In) ([]Out, error)
}

type groupReq[In, Out any] struct {
	in    In
	reply chan groupReply[Out]
}

type groupReply[Out any] struct {
	out Out
	err error
}

func newGroup[In, Out any](max int, wait time.Duration, fn func(context.Context, []In) ([]Out, error)) *group[In, Out] {
	return &group[In, Out]{reqs: make(chan groupReq[In, Out]), max: max, wait: wait, fn: fn}
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

// run serves batches until ctx ends. fn runs under a context that outlives
// ctx, so a batch taken during shutdown is still committed.
func (g *group[In, Out]) run(ctx context.Context) {
	for {
		var batch []groupReq[In, Out]
		select {
		case <-ctx.Done():
			return
		case r := <-g.reqs:
			batch = append(batch, r)
		}
		timer := time.NewTimer(g.wait)
	fill:
		for len(batch) < g.max {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		ins := make([]In, len(batch))
		for i, r := range batch {
			ins[i] = r.in
		}
		outs, err := g.fn(context.WithoutCancel(ctx), ins)
		for i, r := range batch {
			var out Out
			if err == nil && i < len(outs) {
				out = outs[i]
			}
			r.reply <- groupReply[Out]{out: out, err: err}
		}
	}
}
