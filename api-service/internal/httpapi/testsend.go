package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// sendTest godoc
//
//	@Summary		Send a mailout's text to one phone now, as a test
//	@Description	Renders the mailout's text for the phone (with the customer's attributes when it is a customer's, or for customer_id) and has a worker send it once, at once, through the same client, circuit breaker and classification as the mailout's messages — whatever the mailout's status, start or send window. It is recorded as a test message: never counted in the mailout's statistics, listed at GET /api/mailouts/{id}/tests. The answer waits up to 10 s for the outcome: 200 with the test sent or failed, or 202 with it still pending (look it up later).
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int						true	"mailout id"
//	@Param			recipient	body		domain.TestSendInput	true	"a phone or a customer_id"
//	@Success		200			{object}	domain.TestMessage		"sent or failed"
//	@Success		202			{object}	domain.TestMessage		"still pending"
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		404			{object}	ErrorBody	"no such mailout or customer"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/test [post]
func (s *Server) sendTest(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	var in domain.TestSendInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	tm, err := s.tests.Send(ctx, id, in)
	if err != nil {
		writeError(c, err)
		return
	}
	deadline := time.NewTimer(s.testWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !tm.Status.Final() {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			c.JSON(http.StatusAccepted, tm)
			return
		case <-tick.C:
		}
		if tm, err = s.tests.Get(ctx, id, tm.ID); err != nil {
			writeError(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, tm)
}

// listTests godoc
//
//	@Summary		A mailout's test messages
//	@Description	Test sends of the mailout, oldest first, with their outcomes.
//	@Tags			mailouts
//	@Produce		json
//	@Param			id		path		int		true	"mailout id"
//	@Param			limit	query		int		false	"page size, 1–1000"	default(50)
//	@Param			after	query		string	false	"cursor: the next value of the previous page"
//	@Success		200		{object}	List[domain.TestMessage]
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the viewer role"
//	@Failure		404		{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/tests [get]
func (s *Server) listTests(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	p, err := pageParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.tests.List(c.Request.Context(), id, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(m domain.TestMessage) int64 { return m.ID }))
}
