package sender

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// callAll submits n items at once and returns each caller's result.
func callAll(t *testing.T, g *group[int, int], n int) ([]int, []error) {
	t.Helper()
	outs, errs := make([]int, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outs[i], errs[i] = g.do(context.Background(), i) })
	}
	wg.Wait()
	return outs, errs
}

func TestGroupAnswersEveryCallerWithItsOwnResult(t *testing.T) {
	var batches atomic.Int64
	g := newGroup(10, 5*time.Millisecond, 2, func(_ context.Context, in []int) ([]int, error) {
		batches.Add(1)
		out := make([]int, len(in))
		for i, v := range in {
			out[i] = v * v
		}
		return out, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.run(ctx) }()
	outs, errs := callAll(t, g, 95)
	cancel()
	<-done
	for i := range outs {
		if errs[i] != nil || outs[i] != i*i {
			t.Fatalf("caller %d got %d, %v; want %d", i, outs[i], errs[i], i*i)
		}
	}
	if n := batches.Load(); n < 10 || n >= 95 {
		t.Fatalf("%d batches for 95 calls of at most 10: want at least 10 and some batching", n)
	}
}

func TestGroupRunsAtMostInFlightBatchesAtOnce(t *testing.T) {
	var running, peak atomic.Int64
	g := newGroup(3, time.Millisecond, 2, func(_ context.Context, in []int) ([]int, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return make([]int, len(in)), nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.run(ctx) }()
	callAll(t, g, 30)
	cancel()
	<-done
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak of %d batches at once, want 2", p)
	}
}

func TestGroupGivesTheBatchErrorToEveryCaller(t *testing.T) {
	boom := errors.New("database down")
	g := newGroup(100, 5*time.Millisecond, 1, func(context.Context, []int) ([]int, error) { return nil, boom })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.run(ctx) }()
	_, errs := callAll(t, g, 20)
	cancel()
	<-done
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Fatalf("caller %d got %v, want the batch's error", i, err)
		}
	}
}

// A batch taken before shutdown is still run and answered, and run
// returns only after it, so committed outcomes are never abandoned.
func TestGroupFinishesRunningBatchesBeforeReturning(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	g := newGroup(1, time.Millisecond, 1, func(ctx context.Context, in []int) ([]int, error) {
		close(started)
		<-release
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		finished.Store(true)
		return []int{7}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.run(ctx) }()
	got := make(chan int, 1)
	go func() { v, _ := g.do(context.Background(), 1); got <- v }()
	<-started
	cancel()
	select {
	case <-done:
		t.Fatal("run returned while a batch was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-done
	if !finished.Load() || <-got != 7 {
		t.Fatal("the batch taken before shutdown was not completed under a live context")
	}
}
