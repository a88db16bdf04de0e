package domain

import (
	"bytes"
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
	// An outer decoder's DisallowUnknownFields does not reach into custom
	// unmarshalers, so the window rejects unknown fields itself.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
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
// endAt. A nil window is always open.
//
// An instant is inside the window when the customer's wall clock shows a
// time of day in [Start, End) (wrapping past midnight when End ≤ Start), so
// DST shifts move openings with the wall clock. A start that falls in a DST
// gap opens when the clock jumps past it (02:30 on a 02:00→03:00 day opens
// at 03:00), and when the clock falls back into the window the window is
// open again. Constructing openings with time.Date instead would pick an
// arbitrary side of a gap: in zones west of UTC that lands before the gap,
// outside the window.
func NextSendTime(now, endAt time.Time, w *SendWindow, loc *time.Location) (time.Time, bool) {
	if !now.Before(endAt) {
		return time.Time{}, false
	}
	if w == nil {
		return now, true
	}
	at := now
	// Between zone transitions the wall clock advances with real time, so
	// each step either lands on the next opening or stops at a transition.
	// Transitions are months apart, so a few steps always suffice.
	for step := 0; step < 8 && at.Before(endAt); step++ {
		local := at.In(loc)
		clock := sinceMidnight(local)
		if w.contains(clock) {
			return at, true
		}
		next := at.Add(mod24h(w.Start.duration() - clock))
		if _, zoneEnd := local.ZoneBounds(); !zoneEnd.IsZero() && !next.Before(zoneEnd) {
			next = zoneEnd.In(now.Location())
		}
		at = next
	}
	return time.Time{}, false
}

// OpenAt reports whether the window is open at instant t for a customer in
// loc: whether NextSendTime would send at t itself.
func (w SendWindow) OpenAt(t time.Time, loc *time.Location) bool {
	return w.contains(sinceMidnight(t.In(loc)))
}

// contains reports whether a wall-clock time of day lies in the window.
func (w SendWindow) contains(clock time.Duration) bool {
	start, end := w.Start.duration(), w.End.duration()
	if start < end {
		return clock >= start && clock < end
	}
	return clock >= start || clock < end
}

func (c Clock) duration() time.Duration { return time.Duration(c) * time.Minute }

// sinceMidnight is the wall-clock time of day of t in its location.
func sinceMidnight(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

func mod24h(d time.Duration) time.Duration {
	const day = 24 * time.Hour
	return ((d % day) + day) % day
}
