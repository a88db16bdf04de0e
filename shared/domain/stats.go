package domain

import "time"

// StatusCounts counts messages by status.
type StatusCounts struct {
	Total     int64 `json:"total" example:"1000"`
	Pending   int64 `json:"pending" example:"100"`
	Sending   int64 `json:"sending" example:"10"`
	Sent      int64 `json:"sent" example:"850"`
	Failed    int64 `json:"failed" example:"20"`
	Expired   int64 `json:"expired" example:"15"`
	Cancelled int64 `json:"cancelled" example:"5"`
}

// Add counts n messages in status s.
func (c *StatusCounts) Add(s MessageStatus, n int64) {
	switch s {
	case MessagePending:
		c.Pending += n
	case MessageSending:
		c.Sending += n
	case MessageSent:
		c.Sent += n
	case MessageFailed:
		c.Failed += n
	case MessageExpired:
		c.Expired += n
	case MessageCancelled:
		c.Cancelled += n
	default:
		return
	}
	c.Total += n
}

// Final counts messages that will not change any more.
func (c StatusCounts) Final() int64 { return c.Sent + c.Failed + c.Expired + c.Cancelled }

// MailoutStatusCounts counts mailouts by status.
type MailoutStatusCounts struct {
	Total     int64 `json:"total" example:"12"`
	Scheduled int64 `json:"scheduled" example:"3"`
	Running   int64 `json:"running" example:"1"`
	Paused    int64 `json:"paused" example:"0"`
	Finished  int64 `json:"finished" example:"7"`
	Cancelled int64 `json:"cancelled" example:"1"`
}

// Add counts n mailouts in status s.
func (c *MailoutStatusCounts) Add(s MailoutStatus, n int64) {
	switch s {
	case MailoutScheduled:
		c.Scheduled += n
	case MailoutRunning:
		c.Running += n
	case MailoutPaused:
		c.Paused += n
	case MailoutFinished:
		c.Finished += n
	case MailoutCancelled:
		c.Cancelled += n
	default:
		return
	}
	c.Total += n
}

// ReasonCounts counts messages by reason group.
type ReasonCounts struct {
	Total         int64 `json:"total" example:"35"`
	Timeout       int64 `json:"timeout" example:"4"`
	Connection    int64 `json:"connection" example:"0"`
	HTTP5xx       int64 `json:"http_5xx" example:"6"`
	RateLimited   int64 `json:"rate_limited" example:"0"`
	BadResponse   int64 `json:"bad_response" example:"1"`
	Rejected4xx   int64 `json:"rejected_4xx" example:"9"`
	Auth          int64 `json:"auth" example:"0"`
	Expired       int64 `json:"expired" example:"12"`
	OutsideWindow int64 `json:"outside_window" example:"3"`
	Other         int64 `json:"other" example:"0"`
}

// Add counts n messages under the group of (status, reason).
func (c *ReasonCounts) Add(s MessageStatus, reason Reason, n int64) {
	*c.field(StatsGroup(s, reason)) += n
	c.Total += n
}

func (c *ReasonCounts) field(group ReasonGroup) *int64 {
	switch group {
	case GroupTimeout:
		return &c.Timeout
	case GroupConnection:
		return &c.Connection
	case GroupHTTP5xx:
		return &c.HTTP5xx
	case GroupRateLimited:
		return &c.RateLimited
	case GroupBadResponse:
		return &c.BadResponse
	case GroupRejected4xx:
		return &c.Rejected4xx
	case GroupAuth:
		return &c.Auth
	case GroupExpired:
		return &c.Expired
	case GroupOutsideWindow:
		return &c.OutsideWindow
	}
	return &c.Other
}

// StatsFilter selects the mailouts of the overall statistics: no statuses
// means all; CreatedFrom is inclusive, CreatedTo exclusive.
type StatsFilter struct {
	Statuses    []MailoutStatus
	CreatedFrom *time.Time
	CreatedTo   *time.Time
}

// MailoutSummary is one mailout in the overall statistics.
type MailoutSummary struct {
	ID         int64         `json:"id" example:"7"`
	Status     MailoutStatus `json:"status" example:"running"`
	StartAt    time.Time     `json:"start_at"`
	EndAt      time.Time     `json:"end_at"`
	StartedAt  *time.Time    `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at"`
	CreatedAt  time.Time     `json:"created_at"`
	// Audience is the number of messages the mailout created when it
	// started (0 before).
	Audience int64        `json:"audience" example:"1000"`
	Messages StatusCounts `json:"messages"`
}

// OverallStats are the totals of the overall statistics.
type OverallStats struct {
	Mailouts MailoutStatusCounts `json:"mailouts"`
	Messages StatusCounts        `json:"messages"`
}

// MailoutStats is the detailed statistics of one mailout.
type MailoutStats struct {
	MailoutID  int64         `json:"mailout_id" example:"7"`
	Status     MailoutStatus `json:"status" example:"running"`
	StartAt    time.Time     `json:"start_at"`
	EndAt      time.Time     `json:"end_at"`
	StartedAt  *time.Time    `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at"`
	// Messages counts the mailout's messages by status; Total is its
	// audience.
	Messages StatusCounts `json:"messages"`
	Progress Progress     `json:"progress"`
	Rate     Rate         `json:"rate"`
	// FirstDeliveryAt and LastDeliveryAt are the earliest and latest
	// sent_at; null before the first delivery.
	FirstDeliveryAt *time.Time `json:"first_delivery_at"`
	LastDeliveryAt  *time.Time `json:"last_delivery_at"`
	// Attempts is the distribution of attempts over final messages.
	Attempts []AttemptCount `json:"attempts"`
	// Failures groups failed and expired messages by reason.
	Failures ReasonCounts `json:"failures"`
	// Retrying groups pending messages waiting for another attempt by the
	// reason of the last one.
	Retrying ReasonCounts `json:"retrying"`
	// Warnings counts sent messages with a problem that did not stop them.
	Warnings Warnings `json:"warnings"`
	// Deliveries is the number of messages sent in each minute that had
	// any, in time order.
	Deliveries []MinuteCount `json:"deliveries"`
	// At is the time the statistics were taken; the current rate is
	// relative to it.
	At time.Time `json:"at"`
}

// Warnings count sent messages by what was wrong with them.
type Warnings struct {
	// MissingAttribute: a placeholder had no value and no default, and
	// rendered empty.
	MissingAttribute int64 `json:"missing_attribute" example:"3"`
}

// Progress is how much of a mailout is done.
type Progress struct {
	Final int64   `json:"final" example:"885"`
	Total int64   `json:"total" example:"1000"`
	Ratio float64 `json:"ratio" example:"0.885"`
}

// Rate is a mailout's delivery rate in messages per second.
type Rate struct {
	// Current counts deliveries in the last 60 whole seconds (the current
	// one included), divided by 60.
	Current float64 `json:"current" example:"3412.5"`
	// Average is deliveries divided by the seconds from the start to now
	// while running, to the last delivery afterwards.
	Average float64 `json:"average" example:"3120.4"`
}

// AttemptCount is how many final messages took a number of attempts.
type AttemptCount struct {
	Attempts int   `json:"attempts" example:"1"`
	Messages int64 `json:"messages" example:"870"`
}

// MinuteCount is the number of deliveries in one minute.
type MinuteCount struct {
	Minute    time.Time `json:"minute"`
	Delivered int64     `json:"delivered" example:"204000"`
}
