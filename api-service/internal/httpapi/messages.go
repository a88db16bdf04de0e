package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// listMessages godoc
//
//	@Summary		List messages
//	@Description	Messages are read-only: they cannot be created, edited or deleted through the API, because they are the delivery records written by the sender, and editing them would falsify the statistics. To stop the messages not yet sent, cancel their mailout.
//	@Tags			messages
//	@Produce		json
//	@Param			mailout_id	query		int		false	"only this mailout's messages"
//	@Param			customer_id	query		int		false	"only this customer's messages"
//	@Param			status		query		string	false	"only messages in this status"	Enums(pending,sending,sent,failed,expired,cancelled)
//	@Param			limit		query		int		false	"page size, 1–1000"				default(50)
//	@Param			after		query		string	false	"cursor: the next value of the previous page"
//	@Success		200			{object}	List[domain.Message]
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the viewer role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/messages [get]
func (s *Server) listMessages(c *gin.Context) {
	f, p, ok := filteredPage(c, messageFilter)
	if !ok {
		return
	}
	if f.MailoutID != 0 {
		logID(c, logging.MailoutID, f.MailoutID)
	}
	if f.CustomerID != 0 {
		logID(c, logging.CustomerID, f.CustomerID)
	}
	list, err := s.stats.Messages(c.Request.Context(), f, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(m domain.Message) int64 { return m.ID }))
}

// getMessage godoc
//
//	@Summary		Get a message
//	@Description	Read-only: messages are the delivery records written by the sender; they cannot be created, edited or deleted through the API, as that would falsify the statistics.
//	@Tags			messages
//	@Produce		json
//	@Param			id	path		int	true	"message id"
//	@Success		200	{object}	domain.Message
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the viewer role"
//	@Failure		404	{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/messages/{id} [get]
func (s *Server) getMessage(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MessageID, id)
	m, err := s.stats.Message(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, m.MailoutID)
	logID(c, logging.CustomerID, m.CustomerID)
	c.JSON(http.StatusOK, m)
}

// messageFilter reads ?mailout_id=, ?customer_id= and ?status=.
func messageFilter(c *gin.Context) (domain.MessageFilter, error) {
	var f domain.MessageFilter
	errs := domain.FieldErrors{}
	f.MailoutID = queryID(c, "mailout_id", errs)
	f.CustomerID = queryID(c, "customer_id", errs)
	f.Status = queryMessageStatus(c, errs)
	return f, errs.Err()
}

// queryID reads an optional positive integer query parameter; 0 when absent.
func queryID(c *gin.Context, name string, errs domain.FieldErrors) int64 {
	v, ok := c.GetQuery(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		errs.Add(name, "must be a positive integer")
		return 0
	}
	return n
}
