package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Subscriber hears one channel's notifications through a Listener. Its
// methods are called from the Listener's goroutine, one at a time, in the
// order the notifications were committed.
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

// ListenerApplicationName is the application_name of listeners'
// connections: Sync counts them in pg_stat_activity.
const ListenerApplicationName = "mailing-listener"

// How a Listener watches its connection: an idle connection is pinged
// every listenPing, so a dead server or network is noticed within about
// listenPing + listenPingTimeout; reconnections back off from
// listenRetryMin to listenRetryMax. Sync waits at most syncTimeout.
const (
	listenPing        = 15 * time.Second
	listenPingTimeout = 5 * time.Second
	listenRetryMin    = 100 * time.Millisecond
	listenRetryMax    = 5 * time.Second
	syncTimeout       = 2 * time.Second
)

// Payloads of Sync's round, which travel on the listened channel and never
// reach the Subscriber: a request, and each listener's answer.
const (
	syncRequest = "sync "
	syncAnswer  = "synced "
)

// Listener listens to one channel on a connection of its own, outside the
// pool, and reconnects it when it is lost.
//
// NOTIFY alone tells every listening process about a change soon after it
// commits, but not by the time the change is answered: another process
// may not have read its copy yet. Sync closes that gap. It sends a request
// on the channel, after the change's own notification; each listener
// answers it once it has handed the Subscriber everything before it (the
// channel's notifications reach every listener in commit order), and Sync
// returns when every listener connected to the database has answered.
type Listener struct {
	db      *DB
	channel string

	mu    sync.Mutex
	waits map[string]*syncWait
}

type syncWait struct {
	need, got int
	done      chan struct{}
}

// Listener returns a listener to channel; Listen runs it.
func (db *DB) Listener(channel string) *Listener {
	return &Listener{db: db, channel: channel, waits: map[string]*syncWait{}}
}

// Listen listens until ctx ends, telling sub what it hears. A lost
// connection is reconnected with backoff; sub hears Disconnected, then
// Connected once listening again.
func (l *Listener) Listen(ctx context.Context, sub Subscriber) {
	wait := listenRetryMin
	for {
		start := time.Now()
		listened, err := l.listenOnce(ctx, sub)
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
		l.db.log.Warn("notification listener disconnected; reconnecting", "channel", l.channel, "error", msg, "retry_in_ms", wait.Milliseconds())
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
func (l *Listener) listenOnce(ctx context.Context, sub Subscriber) (listened bool, err error) {
	cfg, err := pgx.ParseConfig(l.db.dsn)
	if err != nil {
		return false, err
	}
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
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false, err
	}
	sub.Connected()
	defer sub.Disconnected()
	l.db.log.Info("notification listener listening", "channel", l.channel)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			if err := l.handle(ctx, conn, sub, n.Payload); err != nil {
				return true, err
			}
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

// handle passes a notification to sub, or plays its part in a Sync round.
func (l *Listener) handle(ctx context.Context, conn *pgx.Conn, sub Subscriber, payload string) error {
	switch {
	case strings.HasPrefix(payload, syncRequest):
		// Everything committed before the request has been handed to sub.
		_, err := conn.Exec(ctx, `SELECT pg_notify($1, $2)`, l.channel, syncAnswer+strings.TrimPrefix(payload, syncRequest))
		return err
	case strings.HasPrefix(payload, syncAnswer):
		l.answered(strings.TrimPrefix(payload, syncAnswer))
	default:
		sub.Notified(payload)
	}
	return nil
}

func (l *Listener) answered(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.waits[id]
	if !ok {
		return
	}
	w.got++
	if w.got == w.need {
		close(w.done)
	}
}

// ErrSyncTimeout is returned by Sync when some listener did not answer in
// time: a process stuck, or one whose connection died unnoticed.
var ErrSyncTimeout = errors.New("not every listener answered in time")

// Sync returns once every listener connected to the database — in every
// process, this one included — has handed its Subscriber every
// notification committed before the call, or after a bound of a few
// seconds with ErrSyncTimeout. This process's own Listen must be running:
// it hears the answers.
func (l *Listener) Sync(ctx context.Context) error {
	id := strings.ToLower(rand.Text())
	w := &syncWait{done: make(chan struct{})}
	err := l.db.withPgx(ctx, func(pc *pgx.Conn) error {
		// A listener that connects after the count answers too, and one
		// that was never counted has dropped what it knew on connecting.
		if err := pc.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
			ListenerApplicationName).Scan(&w.need); err != nil {
			return err
		}
		if w.need == 0 {
			return nil
		}
		l.mu.Lock()
		l.waits[id] = w
		l.mu.Unlock()
		_, err := pc.Exec(ctx, `SELECT pg_notify($1, $2)`, l.channel, syncRequest+id)
		return err
	})
	defer func() {
		l.mu.Lock()
		delete(l.waits, id)
		l.mu.Unlock()
	}()
	if err != nil {
		return fmt.Errorf("sync listeners of %s: %w", l.channel, err)
	}
	if w.need == 0 {
		return nil
	}
	timer := time.NewTimer(syncTimeout)
	defer timer.Stop()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		l.mu.Lock()
		got := w.got
		l.mu.Unlock()
		return fmt.Errorf("sync listeners of %s: %w (%d of %d)", l.channel, ErrSyncTimeout, got, w.need)
	}
}
