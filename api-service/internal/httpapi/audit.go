package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
)

// listAudit godoc
//
//	@Summary		List the audit trail
//	@Description	Every change made through the API, recorded in the change's own transaction: who (actor "user:3" or "key:7", with the name and role they had), what (action, object type and id, and a compact diff of the changed fields as {"field": {"from": ..., "to": ...}}), when, and through which request (request id, client address). Administrators only.
//	@Tags			audit
//	@Produce		json
//	@Param			actor		query		string	false	"only this actor's changes, e.g. user:3 or key:7"
//	@Param			object_type	query		string	false	"only changes to this type of object: customer, mailout, import, phone_code, timezone, tag, ..."
//	@Param			object_id	query		string	false	"only changes to this object (with object_type)"
//	@Param			action		query		string	false	"only this action, e.g. mailout.cancelled"
//	@Param			from		query		string	false	"changes at or after this time (RFC 3339)"
//	@Param			to			query		string	false	"changes before this time (RFC 3339)"
//	@Param			limit		query		int		false	"page size, 1–1000"	default(50)
//	@Param			after		query		string	false	"cursor: the next value of the previous page"
//	@Success		200			{object}	List[domain.AuditEvent]
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the admin role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/audit [get]
func (s *Server) listAudit(c *gin.Context) {
	f, p, ok := filteredPage(c, auditFilter)
	if !ok {
		return
	}
	list, err := s.audit.List(c.Request.Context(), f, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(e domain.AuditEvent) int64 { return e.ID }))
}

// auditFilter reads the audit trail's query parameters.
func auditFilter(c *gin.Context) (domain.AuditFilter, error) {
	errs := domain.FieldErrors{}
	f := domain.AuditFilter{
		Actor: c.Query("actor"), ObjectType: c.Query("object_type"), ObjectID: c.Query("object_id"), Action: c.Query("action"),
		From: queryTime(c, "from", errs), To: queryTime(c, "to", errs),
	}
	if f.Actor != "" {
		if _, _, ok := domain.ParseActorID(f.Actor); !ok {
			errs.Add("actor", `must be "user:<id>" or "key:<id>"`)
		}
	}
	if f.ObjectID != "" && f.ObjectType == "" {
		errs.Add("object_id", "needs object_type")
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		errs.Add("to", "must be after from")
	}
	return f, errs.Err()
}
