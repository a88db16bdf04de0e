package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// MessageStats is the answer of GET /api/messages/stats: totals over the
// selected mailouts and one page of them with their own counts.
type MessageStats struct {
	// Mailouts counts the selected mailouts by status.
	Mailouts domain.MailoutStatusCounts `json:"mailouts"`
	// Messages counts the messages of the selected mailouts by status.
	Messages domain.StatusCounts     `json:"messages"`
	Items    []domain.MailoutSummary `json:"items"`
	Next     *string                 `json:"next"`
}

// messageStats godoc
//
//	@Summary		Overall statistics
//	@Description	Mailouts by status and their messages by status, over every mailout matching the filter, and one page of those mailouts (id order) with their status, times, audience (messages created at start) and messages by status. Exact: counters are kept in the same transactions as the messages they count, and one answer is one consistent snapshot.
//	@Tags			statistics
//	@Produce		json
//	@Param			status			query		[]string	false	"mailout status is one of these (repeatable)"	collectionFormat(multi)	Enums(scheduled,running,paused,finished,cancelled)
//	@Param			created_from	query		string		false	"mailouts created at or after this time (RFC 3339)"
//	@Param			created_to		query		string		false	"mailouts created before this time (RFC 3339)"
//	@Param			limit			query		int			false	"page size, 1–1000"	default(50)
//	@Param			after			query		string		false	"cursor: the next value of the previous page"
//	@Success		200				{object}	MessageStats
//	@Failure		400				{object}	ErrorBody
//	@Failure		401				{object}	ErrorBody
//	@Failure		403				{object}	ErrorBody	"needs the viewer role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/messages/stats [get]
func (s *Server) messageStats(c *gin.Context) {
	f, p, ok := filteredPage(c, statsFilter)
	if !ok {
		return
	}
	total, page, err := s.stats.MessageStats(c.Request.Context(), f, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	list := newList(page, p.Limit, func(m domain.MailoutSummary) int64 { return m.ID })
	c.JSON(http.StatusOK, MessageStats{Mailouts: total.Mailouts, Messages: total.Messages, Items: list.Items, Next: list.Next})
}

// mailoutStats godoc
//
//	@Summary		Statistics of one mailout
//	@Description	Messages by status, progress (final ÷ total), current rate (deliveries in the last 60 s ÷ 60) and average rate (since the start), start and finish times, first and last delivery times, the distribution of attempts over final messages, failed and expired messages by reason (timeout, connection, http_5xx, rate_limited, bad_response, rejected_4xx, auth, expired, outside_window, other), pending messages waiting for a retry by the reason of their last attempt, and deliveries per minute (minutes without deliveries are left out). Exact, from one consistent snapshot, also while the mailout is being sent.
//	@Tags			statistics
//	@Produce		json
//	@Param			id	path		int	true	"mailout id"
//	@Success		200	{object}	domain.MailoutStats
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the viewer role"
//	@Failure		404	{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/stats [get]
func (s *Server) mailoutStats(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	st, err := s.stats.MailoutStats(c.Request.Context(), id, s.now())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// statsFilter reads ?status= (repeatable), ?created_from= and
// ?created_to=.
func statsFilter(c *gin.Context) (domain.StatsFilter, error) {
	var f domain.StatsFilter
	errs := domain.FieldErrors{}
	f.Statuses = queryMailoutStatuses(c, errs)
	f.CreatedFrom = queryTime(c, "created_from", errs)
	f.CreatedTo = queryTime(c, "created_to", errs)
	if f.CreatedFrom != nil && f.CreatedTo != nil && !f.CreatedTo.After(*f.CreatedFrom) {
		errs.Add("created_to", "must be after created_from")
	}
	return f, errs.Err()
}

// queryTime reads an optional RFC 3339 query parameter.
func queryTime(c *gin.Context, name string, errs domain.FieldErrors) *time.Time {
	v, ok := c.GetQuery(name)
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		errs.Add(name, "must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z")
		return nil
	}
	return &t
}
