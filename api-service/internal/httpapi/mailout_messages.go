package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// listMailoutMessages godoc
//
//	@Summary		List a mailout's messages
//	@Description	The mailout's messages in id order with their status, attempts, last error and times; ?status= keeps one status (e.g. failed, to see why). A page costs the same at any depth and whatever the mailout's size.
//	@Tags			statistics
//	@Produce		json
//	@Param			id		path		int		true	"mailout id"
//	@Param			status	query		string	false	"only messages in this status"	Enums(pending,sending,sent,failed,expired,cancelled)
//	@Param			limit	query		int		false	"page size, 1–1000"				default(50)
//	@Param			after	query		string	false	"cursor: the next value of the previous page"
//	@Success		200		{object}	List[domain.Message]
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the viewer role"
//	@Failure		404		{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/messages [get]
func (s *Server) listMailoutMessages(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	errs := domain.FieldErrors{}
	status := queryMessageStatus(c, errs)
	p, err := pageParams(c)
	if err == nil {
		err = errs.Err()
	}
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.stats.MailoutMessages(c.Request.Context(), id, status, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(m domain.Message) int64 { return m.ID }))
}
