package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Subscriber hears one channel's notifications through Listen. Its methods
// are called from Listen's goroutine, one at a time.
type Subscriber interface {
	// Connected is called once the channel is listened to, first and after
	// every reconnection. Notifications sent while nobody listened are
	// lost, so whatever they might have invalidated must be dropped now.
	Connected()
	// Disconnected is called when the connection is lost; nothing is heard
	// until the next Connected.
	Disconnected()
	// Notified is called with each notification's payload.
	Notified(payload string)
}

// How Listen watches its connection: an idle connection is pinged every
// listenPing, so a dead server or network is noticed within about
// listenPing + listenPingTimeout; reconnections back off from
// listenRetryMin to listenRetryMax.
const (
	listenPing        = 15 * time.Second
	listenPingTimeout = 5 * time.Second
	listenRetryMin    = 100 * time.Millisecond
	listenRetryMax    = 5 * time.Second
)

// ListenerApplicationName is the application_name of Listen's connections.
const ListenerApplicationName = "mailing-listener"

// Listen listens to channel on a connection of its own, outside the pool,
// until ctx ends, telling sub what it hears. A lost connection is
// reconnected with backoff; sub hears Disconnected, then Connected once
// listening again.
func (db *DB) Listen(ctx context.Context, channel string, sub Subscriber) {
	wait := listenRetryMin
	for {
		start := time.Now()
		listened, err := db.listenOnce(ctx, channel, sub)
		if ctx.Err() != nil {
			return
		}
		if listened && time.Since(start) > listenRetryMax {
			wait = listenRetryMin
		}
		msg := "connection closed"
		if err != nil {
			msg = err.Error()
		}
		db.log.Warn("notification listener disconnected; reconnecting", "channel", channel, "error", msg, "retry_in_ms", wait.Milliseconds())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listenOnce connects, listens and passes notifications on until the
// connection fails or ctx ends; listened reports whether it got as far as
// listening.
func (db *DB) listenOnce(ctx context.Context, channel string, sub Subscriber) (listened bool, err error) {
	cfg, err := pgx.ParseConfig(db.dsn)
	if err != nil {
		return false, err
	}
	// Named, so pg_stat_activity tells it from the pool's connections.
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, err
	}
	sub.Connected()
	defer sub.Disconnected()
	db.log.Info("notification listener listening", "channel", channel)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			sub.Notified(n.Payload)
		case ctx.Err() != nil:
			return true, nil
		case pgconn.Timeout(err) && !conn.IsClosed():
			// Quiet for a while: make sure the server is still there. A
			// timeout leaves a pgx connection usable.
			pingCtx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil && ctx.Err() == nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
