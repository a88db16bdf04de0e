package broker

import (
	"context"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// dialTimeout bounds connecting and the AMQP handshake when the
	// caller's context has no earlier deadline.
	dialTimeout = 10 * time.Second
	heartbeat   = 10 * time.Second
)

// dial opens a connection named "<cfg.Name> <role>", giving up when ctx
// ends or after dialTimeout, whichever comes first.
func dial(ctx context.Context, cfg Config, role string) (*amqp.Connection, error) {
	deadline := time.Now().Add(dialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(connectionName(cfg.Name, role))
	conn, err := amqp.DialConfig(cfg.URL, amqp.Config{
		Heartbeat:  heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Deadline: deadline}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake has no context; this deadline bounds it and
			// the library clears it once the connection is open.
			if err := c.SetDeadline(deadline); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("broker: connect: %w", err)
	}
	return conn, nil
}

func connectionName(name, role string) string {
	if name == "" {
		return role
	}
	return name + " " + role
}
