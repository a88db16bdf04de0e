// Package broker is the RabbitMQ plumbing of the mailing service: the
// topology, a confirming publisher with delayed delivery, and a consumer
// that survives connection loss. RabbitMQ is only the transport; PostgreSQL
// stays the source of truth, so every consumer re-checks the database on
// arrival and a lost or duplicated message is harmless.
//
// # Queues
//
// Three durable queues, named with Config.Prefix in front ("" in
// production, a unique one per test):
//
//   - mailout.start: start events, consumed by the planner;
//   - message.send: one job per message, consumed by the senders;
//   - message.dead: dead letters for the management UI; nobody consumes it.
//     Jobs rejected with Nack(false) land here too, and it keeps at most
//     DeadLetterLimit messages (the oldest are dropped first).
//
// They are classic queues, not quorum queues: the broker runs as a single
// node, where a quorum queue's replication buys nothing but costs a Raft log
// per queue. The one thing quorum queues would add, at-least-once
// dead-lettering between delay levels, is not needed for correctness: the
// reconciler re-publishes from the database whatever a broker crash loses.
//
// # Delays without a plugin
//
// A single queue with per-message TTL only expires the message at its head,
// so a short delay would wait behind a long one. Instead, as in NServiceBus's
// RabbitMQ transport, there are Levels (28) delay levels. Level k is a topic
// exchange "delay.level.kk" and a queue of the same name whose every message
// has the same TTL, 2^k seconds (x-message-ttl), and whose dead-letter
// exchange is level k-1's exchange (level 0 dead-letters into the topic
// exchange "delay.delivery"). Because all messages of a level queue share
// one TTL, its head is always the next to expire: no head-of-line blocking.
//
// The delay, rounded up to whole seconds, is written into the routing key
// as 28 binary digits, most significant (bit 27) first, followed by the
// destination queue's full name. Bit k therefore sits at word 27-k, after
// 27-k other words, and level k's exchange has two bindings:
//
//	<27-k times "*.">1.#  -> queue  delay.level.kk    (bit k is 1: wait 2^k s)
//	<27-k times "*.">0.#  -> exchange delay.level.k-1 (bit k is 0: pass on)
//
// (level 0's "0" binding goes to delay.delivery). Dead-lettering keeps the
// routing key, so after waiting in level k the message re-enters routing at
// level k-1 and visits exactly the levels of its set bits. delay.delivery
// binds each queue with 28 single-word wildcards and the queue's name
// ("*.*. ... .*.message.send"), an exact-length match, so a queue named
// "send" could never catch "message.send"'s messages. A message is published
// straight into the level of its highest set bit; a zero delay goes to the
// queue through the default exchange.
//
// Worked example: a 5 s delay (binary 101) for message.send is published to
// exchange delay.level.02 with routing key
//
//	0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.1.message.send
//	                                                  ^ ^ ^
//	                                   word 25 = bit 2, word 26 = bit 1, word 27 = bit 0
//
// Level 2's "<25 times *.>1.#" binding matches, so it waits 4 s in queue
// delay.level.02; expired, it is dead-lettered to exchange delay.level.01,
// where word 26 is 0, so "<26 times *.>0.#" passes it to delay.level.00;
// there word 27 is 1, so it waits 1 s in queue delay.level.00 and is
// dead-lettered to delay.delivery, which routes it to message.send: 4+1 = 5 s.
//
// The longest delay is MaxDelay, 2^28-1 s (about 8.5 years); longer delays
// are refused with ErrDelayTooLong. Each hop may add a few milliseconds, so
// a delay is precise to about a second and never early. The delay only
// decides WHEN a message arrives: correctness never rests on TTL, because
// consumers re-check the database (status, version, end time) on arrival.
//
// # Connections and recovery
//
// The Publisher keeps one connection and one channel in confirm mode,
// opened on first use. Publish sends a whole batch with mandatory and
// persistent delivery, then waits for every confirm (no round trip per
// message), and fails if any message was nacked or returned unroutable; the
// caller then retries the whole batch (consumers are idempotent). Calls are
// serialised, so several goroutines may share one Publisher. Any connection
// or channel failure discards the connection; the next Publish or Ping dials
// again, bounded by its context, and re-declares the topology.
//
// Each Consume call owns a connection of its own. When it drops, Consume
// waits for its running handlers to return, then dials again with capped,
// jittered exponential backoff, re-declares the topology, applies Qos and
// resumes consuming, until its context ends.
//
// amqp091-go (v1.12 and later) can recover connections by itself
// (Config.Recovery). It is deliberately not used: the recovered channel is
// the same *amqp.Channel object with broker delivery tags starting again at
// 1, so a handler that was running across the drop would Ack a stale tag,
// acknowledging some other message on the new channel or closing it with
// PRECONDITION_FAILED; recovery also gives up after MaxRetryCount, and calls
// made while it runs must be held back by the caller. A fresh connection per
// attempt makes a stale Ack fail harmlessly instead (the broker redelivers
// the message anyway).
package broker
