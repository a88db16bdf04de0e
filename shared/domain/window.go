package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// Clock is a time of day in minutes since midnight, written "HH:MM".
type Clock int

// ParseClock parses "HH:MM" (24-hour, two digits each).
func ParseClock(s string) (Clock, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time of day %q must be HH:MM", s)
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("time of day %q must be HH:MM", s)
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("time of day %q is out of range 00:00–23:59", s)
	}
	return Clock(h*60 + m), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// SendWindow is the time of day, in each customer's local time, during which
// messages may be sent. End before Start means the window crosses midnight.
type SendWindow struct {
	Start Clock `json:"-"`
	End   Clock `json:"-"`
}

type sendWindowJSON struct {
	Start string `json:"start" example:"09:00"`
	End   string `json:"end" example:"21:00"`
}

// MarshalJSON writes {"start":"HH:MM","end":"HH:MM"}.
func (w SendWindow) MarshalJSON() ([]byte, error) {
	return json.Marshal(sendWindowJSON{Start: w.Start.String(), End: w.End.String()})
}

// UnmarshalJSON reads and validates {"start":"HH:MM","end":"HH:MM"}.
func (w *SendWindow) UnmarshalJSON(b []byte) error {
	var raw sendWindowJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf(`send_window must be {"start": "HH:MM", "end": "HH:MM"}`)
	}
	parsed, err := ParseSendWindow(raw.Start, raw.End)
	if err != nil {
		return err
	}
	*w = parsed
	return nil
}

// ParseSendWindow builds a window from two "HH:MM" strings; start ≠ end.
func ParseSendWindow(start, end string) (SendWindow, error) {
	s, err := ParseClock(start)
	if err != nil {
		return SendWindow{}, fmt.Errorf("send_window.start: %w", err)
	}
	e, err := ParseClock(end)
	if err != nil {
		return SendWindow{}, fmt.Errorf("send_window.end: %w", err)
	}
	if s == e {
		return SendWindow{}, fmt.Errorf("send_window start and end must differ")
	}
	return SendWindow{Start: s, End: e}, nil
}

// NextSendTime returns the earliest instant at or after now when a message
// may be sent to a customer in loc, and false when that instant is not before
// endAt. A nil window is always open. Openings are computed on local
// calendar days, so DST shifts move them with the wall clock; a start that
// falls in a DST gap opens when the clock jumps past it.
func NextSendTime(now, endAt time.Time, w *SendWindow, loc *time.Location) (time.Time, bool) {
	if !now.Before(endAt) {
		return time.Time{}, false
	}
	if w == nil {
		return now, true
	}
	local := now.In(loc)
	y, m, d := local.Date()
	// A window that opened yesterday may still be open today if it crosses
	// midnight, so start one day back; three days always find an opening.
	for day := -1; day <= 2; day++ {
		open := time.Date(y, m, d+day, int(w.Start)/60, int(w.Start)%60, 0, 0, loc)
		closeDay := d + day
		if w.End <= w.Start {
			closeDay++
		}
		closeAt := time.Date(y, m, closeDay, int(w.End)/60, int(w.End)%60, 0, 0, loc)
		if !closeAt.After(now) || !closeAt.After(open) {
			continue
		}
		at := open
		if now.After(open) {
			at = now
		}
		if !at.Before(endAt) {
			return time.Time{}, false
		}
		return at, true
	}
	return time.Time{}, false
}
