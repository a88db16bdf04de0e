package probesim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The control API (tests and local use only; no authentication):
//
//	GET  /control/faults                 current faults
//	PUT  /control/faults                 replace them all (unknown fields → 400)
//	POST /control/reset                  forget deliveries and counters, clear faults
//	GET  /control/deliveries[?since=T]   accepted deliveries (at or after T, RFC 3339)
//	GET  /control/stats                  requests by outcome
//
// Errors use the service's shape: {"error": {"code", "message", "fields"}}.

const maxControlBody = 64 << 10

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decodeStrict(w, r, &f); err != nil {
		writeError(w, err.Error(), nil)
		return
	}
	if err := s.SetFaults(f); err != nil {
		var fe *FaultsError
		if errors.As(err, &fe) {
			writeError(w, "invalid faults", fe.Fields)
			return
		}
		writeError(w, err.Error(), nil)
		return
	}
	s.log.Info("faults set", "faults", f)
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	s.log.Info("reset")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// listDeliveries streams the list as a JSON array, so a million
// deliveries are never held as one encoded document.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, "invalid query", map[string]string{"since": "must be an RFC 3339 time such as 2026-07-01T12:00:00.123456789Z"})
			return
		}
		since = t
	}
	w.Header().Set("Content-Type", jsonType)
	bw := bufio.NewWriterSize(w, 32<<10)
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	sep := "[\n"
	for d := range s.deliveriesSince(since) {
		item.Reset()
		_ = enc.Encode(d) // a Delivery always encodes
		_, _ = bw.WriteString(sep)
		if _, err := bw.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n"))); err != nil {
			return // the client went away; nothing more to say
		}
		sep = ",\n"
	}
	if sep == "[\n" {
		_, _ = bw.WriteString("[")
	}
	_, _ = bw.WriteString("\n]\n")
	_ = bw.Flush()
}

// decodeStrict reads one JSON object, refusing unknown fields and
// trailing data.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return errors.New("invalid JSON body: want a single object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, msg string, fields map[string]string) {
	type body struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	}
	writeJSON(w, http.StatusBadRequest, map[string]body{"error": {Code: "invalid", Message: msg, Fields: fields}})
}
