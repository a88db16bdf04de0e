package main

import (
	"encoding/json"
	"time"

	"mailing/bench/internal/apiclient"
)

// client is the API client of the run.
type client = apiclient.Client

// mailoutAnswer is the part of a mailout the run reads.
type mailoutAnswer struct {
	ID       int64     `json:"id"`
	StartAt  time.Time `json:"start_at"`
	Audience int64     `json:"audience"`
}

// mailoutBody is a POST /api/mailouts body: start as given, an hour long,
// for the customers of codes (all customers when codes is empty).
func mailoutBody(text string, start time.Time, codes []string) ([]byte, error) {
	filter := map[string]any{}
	if len(codes) > 0 {
		filter["phone_codes"] = codes
	}
	return json.Marshal(map[string]any{
		"text":     text,
		"start_at": start.UTC().Format(time.RFC3339Nano),
		"end_at":   start.Add(time.Hour).UTC().Format(time.RFC3339Nano),
		"filter":   filter,
	})
}
