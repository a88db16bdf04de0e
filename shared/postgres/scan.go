package postgres

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// jsonList scans a json array (from json_agg) into a string slice; it avoids
// driver-specific array types.
type jsonList []string

func (l *jsonList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = jsonList{}
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("scan json list from %T", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("scan json list: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	*l = out
	return nil
}

func (l jsonList) Value() (driver.Value, error) { return json.Marshal([]string(l)) }

// eachRow scans every row of rows into dest and calls fn after each, then
// closes rows.
func eachRow(rows *sql.Rows, dest []any, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}
