package postgres

import (
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

// pageLimit clamps a requested limit; callers may ask for one row past
// the largest page to learn whether another page follows.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1001:
		return 1001
	}
	return n
}
