package postgres

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"

	"mailing/shared/domain"
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

// jsonAttributes scans a jsonb object of customer attributes, keeping
// numbers exact.
type jsonAttributes domain.Attributes

func (a *jsonAttributes) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*a = jsonAttributes{}
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("scan attributes from %T", src)
	}
	out, err := decodeAttributes(b)
	*a = jsonAttributes(out)
	return err
}

// Value makes the type one GORM accepts as a field, as jsonList is.
func (a jsonAttributes) Value() (driver.Value, error) { return domain.Attributes(a).MarshalJSON() }

// decodeAttributes reads a stored attributes object; {} (most customers')
// costs no decoding.
func decodeAttributes(b []byte) (domain.Attributes, error) {
	var out domain.Attributes
	if err := out.UnmarshalJSON(b); err != nil {
		return domain.Attributes{}, fmt.Errorf("scan attributes: %w", err)
	}
	if out == nil {
		out = domain.Attributes{}
	}
	return out, nil
}

// attributesJSON is the stored form of attributes, for a jsonb parameter.
// Validated attributes always encode; others may not (a json.Number that
// is no number).
func attributesJSON(a domain.Attributes) (string, error) {
	b, err := a.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("encode attributes: %w", err)
	}
	return string(b), nil
}

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
