package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// pauseMailout godoc
//
//	@Summary		Pause a mailout
//	@Description	A scheduled or running mailout becomes paused: no delivery attempt starts after the pause is committed, on any worker; attempts already in flight finish and are recorded; pending messages stay pending. A paused mailout that had not started does not start at start_at until it is resumed. The end time stays absolute: messages still pending at end_at expire, and a mailout paused past its end finishes. end_at may still be changed, and a paused mailout can be cancelled.
//	@Tags			mailouts
//	@Produce		json
//	@Param			id	path		int	true	"mailout id"
//	@Success		200	{object}	domain.Mailout
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"not scheduled or running"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/pause [post]
func (s *Server) pauseMailout(c *gin.Context) {
	s.mailoutCommand(c, s.mailouts.Pause)
}

// resumeMailout godoc
//
//	@Summary		Resume a paused mailout
//	@Description	Sending continues where it stopped: every pending message is sent once, and each gets one job in the broker however often the mailout was paused and resumed. A mailout paused before it started is scheduled again (and starts at once when start_at has passed).
//	@Tags			mailouts
//	@Produce		json
//	@Param			id	path		int	true	"mailout id"
//	@Success		200	{object}	domain.Mailout
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"not paused"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/resume [post]
func (s *Server) resumeMailout(c *gin.Context) {
	s.mailoutCommand(c, s.mailouts.Resume)
}

// mailoutCommand runs a command on the mailout of the path's id.
func (s *Server) mailoutCommand(c *gin.Context, cmd func(ctx context.Context, id int64) (domain.Mailout, error)) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	m, err := cmd(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// retryMailout godoc
//
//	@Summary		Send a mailout's failed messages again
//	@Description	On a running, paused or finished mailout whose end_at is still ahead: the chosen messages (default: every failed one; statuses may also name expired, which only an extended end_at makes retriable; reasons narrows by reason code) go back to pending with a fresh attempt budget and are sent again — once resumed, if the mailout is paused. A finished mailout runs again. Each message keeps its history: attempts and last_error stay readable. Sent and cancelled messages are never sent again, nor messages of customers deleted since. The answer says how many went back to pending (0 changes nothing).
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int						true	"mailout id"
//	@Param			selection	body		domain.RetrySelection	false	"which messages; empty: every failed one"
//	@Success		200			{object}	domain.RetryResult
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		404			{object}	ErrorBody
//	@Failure		409			{object}	ErrorBody	"scheduled or cancelled, or its end time has passed"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/retry [post]
func (s *Server) retryMailout(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	var sel domain.RetrySelection
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &sel); err != nil {
			writeError(c, err)
			return
		}
	}
	res, err := s.mailouts.Retry(c.Request.Context(), id, sel)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}
