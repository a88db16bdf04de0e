// Package planner handles the mailout events of the start queue, each
// topic by its own handler: a start event starts a due mailout in the
// database (one set-based insert of its messages) and streams one
// message.send job per pending message.
package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// Store is what the planner needs of the database.
type Store interface {
	Start(ctx context.Context, id, version int64, now time.Time) (domain.StartResult, error)
	NextJobPage(ctx context.Context, mailoutID int64, limit int) ([]int64, error)
	ReturnJobPage(ctx context.Context, mailoutID, firstID int64) error
	UnparkJobs(ctx context.Context, mailoutID int64, limit int) ([]int64, error)
	Repark(ctx context.Context, ids []int64) error
}

// Publisher sends messages to the broker with confirms.
type Publisher interface {
	Publish(ctx context.Context, msgs []broker.Outgoing) error
}

// Planner handles the start queue.
type Planner struct {
	Store Store
	Pub   Publisher
	Log   *slog.Logger
	Now   func() time.Time
	// PageSize is how many jobs are read and published per round trip.
	PageSize int
	// Metrics counts starts and fan-outs; nil counts nothing.
	Metrics *Metrics
}

func (p *Planner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// handlers maps each topic of the start queue to what the planner does
// with its events. A topic that needs the planner to act gets an entry
// here; an event of a topic without one is dead-lettered for inspection.
var handlers = map[string]func(*Planner, context.Context, broker.Delivery){
	domain.TopicMailoutStart:    (*Planner).handleStart,
	domain.TopicMailoutDispatch: (*Planner).handleDispatch,
	domain.TopicMessageTest:     (*Planner).handleTest,
}

// Handle dispatches one delivery of the start queue on its topic.
func (p *Planner) Handle(ctx context.Context, d broker.Delivery) {
	topic, _ := d.Headers[broker.HeaderTopic].(string)
	handle, ok := handlers[topic]
	if !ok {
		p.Metrics.start(startOtherTopic)
		p.Log.Warn("mailout event of an unknown topic dead-lettered", "topic", topic,
			logging.MailoutID, d.Headers[broker.HeaderMailoutID], "body", logging.Excerpt(string(d.Body), 256))
		_ = d.Nack(false)
		return
	}
	handle(p, ctx, d)
}

// handleStart starts the event's mailout and acks the event once its
// effects are committed and published; on a failure it is requeued after
// a pause, so a database outage does not spin.
func (p *Planner) handleStart(ctx context.Context, d broker.Delivery) {
	var ev domain.MailoutStartEvent
	if err := json.Unmarshal(d.Body, &ev); err != nil || ev.MailoutID == 0 {
		p.Metrics.start(startMalformed)
		p.Log.Error("malformed start event dropped", "body", logging.Excerpt(string(d.Body), 256))
		_ = d.Nack(false) // dead-lettered for inspection
		return
	}
	p.Log.Info("start event received", logging.MailoutID, ev.MailoutID, "version", ev.Version, "redelivered", d.Redelivered)
	if err := p.Start(ctx, ev.MailoutID, ev.Version, d.Body); err != nil {
		p.Metrics.start(startFailed)
		p.Log.Error("start event failed; requeueing", logging.MailoutID, ev.MailoutID, "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		_ = d.Nack(true)
		return
	}
	_ = d.Ack()
}

// handleDispatch publishes the jobs of the event's mailout's parked
// messages (after a resume or a retry) and acks the event once they are
// published; on a failure it is requeued after a pause.
func (p *Planner) handleDispatch(ctx context.Context, d broker.Delivery) {
	var ev domain.MailoutDispatchEvent
	if err := json.Unmarshal(d.Body, &ev); err != nil || ev.MailoutID == 0 {
		p.Metrics.start(startMalformed)
		p.Log.Error("malformed dispatch event dropped", "body", logging.Excerpt(string(d.Body), 256))
		_ = d.Nack(false)
		return
	}
	n, err := p.Dispatch(ctx, ev.MailoutID)
	if err != nil {
		p.Log.Error("dispatch event failed; requeueing", logging.MailoutID, ev.MailoutID, "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		_ = d.Nack(true)
		return
	}
	p.Metrics.start(startDispatched)
	p.Log.Info("parked jobs published", logging.MailoutID, ev.MailoutID, "version", ev.Version, "jobs", n)
	_ = d.Ack()
}

// handleTest publishes the send job of a test message.
func (p *Planner) handleTest(ctx context.Context, d broker.Delivery) {
	var ev domain.MessageTestEvent
	if err := json.Unmarshal(d.Body, &ev); err != nil || ev.TestMessageID == 0 {
		p.Metrics.start(startMalformed)
		p.Log.Error("malformed test event dropped", "body", logging.Excerpt(string(d.Body), 256))
		_ = d.Nack(false)
		return
	}
	job := broker.SendJobs(ev.MailoutID, []int64{ev.TestMessageID}, 0)
	job[0].Body, _ = json.Marshal(domain.SendJob{MessageID: ev.TestMessageID, MailoutID: ev.MailoutID, Test: true})
	if err := p.Pub.Publish(ctx, job); err != nil {
		p.Log.Error("test job not published; requeueing", logging.MailoutID, ev.MailoutID, "test_message_id", ev.TestMessageID, "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		_ = d.Nack(true)
		return
	}
	p.Log.Info("test job published", logging.MailoutID, ev.MailoutID, "test_message_id", ev.TestMessageID)
	_ = d.Ack()
}

// Dispatch publishes one job per parked message of a running mailout, a
// page at a time, unparking each page as it goes; a paused mailout's
// messages stay parked. Each parked message is unparked once, so however
// often a mailout is paused and resumed its messages get one job each.
func (p *Planner) Dispatch(ctx context.Context, mailoutID int64) (int, error) {
	size := p.PageSize
	if size == 0 {
		size = 2000
	}
	total := 0
	for {
		ids, err := p.Store.UnparkJobs(ctx, mailoutID, size)
		if err != nil {
			return total, fmt.Errorf("unpark jobs of mailout %d: %w", mailoutID, err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		// Unparked and not yet published, a message's job is missing until
		// the reconciler's lost-job pass if this publish fails.
		if err := p.Pub.Publish(ctx, broker.SendJobs(mailoutID, ids, 0)); err != nil {
			// Given back, the page is taken again when the start event is
			// redelivered (jobs published after it are published twice,
			// which the claim absorbs).
			if rerr := p.Store.ReturnJobPage(context.WithoutCancel(ctx), mailoutID, ids[0]); rerr != nil {
				p.Log.Warn("a page of jobs not published could not be given back; the reconciler will publish them",
					logging.MailoutID, mailoutID, "error", rerr.Error())
			}
			return total, fmt.Errorf("publish jobs of mailout %d: %w", mailoutID, err)
		}
		total += len(ids)
	}
}

// Start starts mailout id at version if it is due and publishes its jobs.
// event is the start event's body, re-published with a delay when the
// mailout is not due yet (nil: nothing is re-published; the reconciler
// uses that).
func (p *Planner) Start(ctx context.Context, id, version int64, event []byte) error {
	log := p.Log.With(logging.MailoutID, id, "version", version)
	began := time.Now()
	res, err := p.Store.Start(ctx, id, version, p.now())
	if err != nil {
		return fmt.Errorf("start mailout %d: %w", id, err)
	}
	switch res.Outcome {
	case domain.StartStale:
		p.Metrics.start(startStale)
		log.Info("start event ignored", "reason", res.Reason)
		return nil
	case domain.StartExpired:
		p.Metrics.start(startExpired)
		log.Warn("mailout ended before it could start; finished without messages", "end_at", res.EndAt)
		return nil
	case domain.StartTooEarly:
		p.Metrics.start(startEarly)
		if event == nil {
			return nil
		}
		delay := broker.DelayUntil(res.StartAt, p.now())
		log.Info("start event early; delayed again", "start_at", res.StartAt, "delay_s", delay.Seconds())
		return p.Pub.Publish(ctx, []broker.Outgoing{{
			Queue: broker.StartQueue, Body: event, Delay: delay,
			Headers: amqp.Table{broker.HeaderTopic: domain.TopicMailoutStart, broker.HeaderMailoutID: id},
		}})
	}
	if res.Existing {
		log.Info("start event for a running mailout; publishing the jobs its fan-out has not")
	} else {
		log.Info("mailout started", "messages", res.Created)
	}
	n, err := p.PublishJobs(ctx, id)
	if err != nil {
		return err
	}
	result := startStarted
	if res.Existing {
		result = startResumed
	}
	p.Metrics.start(result)
	p.Metrics.fanout(n, time.Since(began))
	log.Info("fan-out published", "jobs", n, logging.LatencyMS, time.Since(began).Milliseconds())
	return nil
}

// PublishJobs streams one job per pending message of a mailout whose job
// the fan-out has not published yet, a page at a time, so memory stays
// flat whatever the audience. Pages are claimed in the database, so a
// redelivered start event, or the reconciler starting the same mailout,
// publishes only what is left, never the same jobs again.
func (p *Planner) PublishJobs(ctx context.Context, mailoutID int64) (int, error) {
	size := p.PageSize
	if size == 0 {
		size = 2000
	}
	total := 0
	for {
		ids, err := p.Store.NextJobPage(ctx, mailoutID, size)
		if err != nil {
			return total, fmt.Errorf("read jobs of mailout %d: %w", mailoutID, err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		if err := p.Pub.Publish(ctx, broker.SendJobs(mailoutID, ids, 0)); err != nil {
			return total, fmt.Errorf("publish jobs of mailout %d: %w", mailoutID, err)
		}
		total += len(ids)
	}
}
