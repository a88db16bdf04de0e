package postgres

import (
	"encoding/json"
	"fmt"

	"gorm.io/gorm"
)

// enqueue writes one event to the outbox inside tx, the transaction of the
// change that caused it: the event exists if and only if the change
// commits, and the relay publishes it later even if the broker is down now.
func enqueue(tx *gorm.DB, topic string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", topic, err)
	}
	err = tx.Exec(`INSERT INTO outbox (topic, payload) VALUES (?, ?::jsonb)`, topic, string(body)).Error
	return translate(err, topic+" event")
}
