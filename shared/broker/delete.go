package broker

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DeleteTopology removes every queue and exchange of cfg's prefix, with the
// messages they hold. Tests use it to clean up their isolated topology.
func DeleteTopology(ctx context.Context, cfg Config) error {
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("channel: %w", err)
	}
	top := names{cfg.Prefix}.topology()
	for _, q := range top.queues {
		if _, err := ch.QueueDelete(q.name, false, false, false); err != nil {
			return fmt.Errorf("delete queue %s: %w", q.name, err)
		}
	}
	for _, e := range top.exchanges {
		if err := ch.ExchangeDelete(e, false, false); err != nil {
			return fmt.Errorf("delete exchange %s: %w", e, err)
		}
	}
	return ctx.Err()
}
