package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// CreatedKey is a new API key with its secret, which is shown only here.
type CreatedKey struct {
	domain.APIKey
	// Secret is sent as Authorization: Bearer <secret>. It is not stored
	// and cannot be shown again.
	Secret string `json:"secret" example:"mk_live_3f9a1c2b7d4e_..."`
}

// createKey godoc
//
//	@Summary		Create an API key
//	@Description	For integrators: send the answer's secret as Authorization: Bearer mk_live_…. The secret is in this answer only — it is stored as a hash and cannot be shown again. role: viewer, operator or admin. expires_at (optional) must be in the future; after it the key is refused.
//	@Tags			keys
//	@Accept			json
//	@Produce		json
//	@Param			key	body		domain.APIKeyInput	true	"the key"
//	@Success		201	{object}	CreatedKey
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the admin role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/keys [post]
func (s *Server) createKey(c *gin.Context) {
	var in domain.APIKeyInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	k, secret, err := s.accounts.CreateKey(c.Request.Context(), in)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.KeyID, k.ID)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, CreatedKey{APIKey: k, Secret: secret})
}

// listKeys godoc
//
//	@Summary		List API keys
//	@Description	Revoked and expired keys included; never their secrets. last_used_at is recorded at most once a minute.
//	@Tags			keys
//	@Produce		json
//	@Param			limit	query		int		false	"page size, 1–1000"	default(50)
//	@Param			after	query		string	false	"cursor: the next value of the previous page"
//	@Success		200		{object}	List[domain.APIKey]
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the admin role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/keys [get]
func (s *Server) listKeys(c *gin.Context) {
	p, err := pageParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.accounts.Keys(c.Request.Context(), p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(k domain.APIKey) int64 { return k.ID }))
}

// revokeKey godoc
//
//	@Summary		Revoke an API key
//	@Description	The key is refused at once, on every API replica. It stays in the list, with revoked_at; revoking it again changes nothing.
//	@Tags			keys
//	@Param			id	path	int	true	"key id"
//	@Success		204
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the admin role"
//	@Failure		404	{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/keys/{id} [delete]
func (s *Server) revokeKey(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.KeyID, id)
	if _, err := s.accounts.RevokeKey(c.Request.Context(), id); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
