package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// withPgx runs fn on a pooled connection as a native pgx connection, for
// queries that need COPY or pgx's own scanning.
func (db *DB) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return rawPgx(conn, fn)
}

// rawPgx runs fn on conn's driver connection.
func rawPgx(conn interface {
	Raw(func(any) error) error
}, fn func(*pgx.Conn) error) error {
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the store needs the pgx driver, got %T", dc)
		}
		return fn(sc.Conn())
	})
}
