package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// PasswordInput is the body of a password reset.
type PasswordInput struct {
	Password string `json:"password" example:"a long new pass phrase"`
}

// createUser godoc
//
//	@Summary		Create a local user
//	@Description	username: 1–128 characters without spaces, unique. password: at least 12 characters and at most 72 bytes. role: viewer (reads), operator (also changes customers, mailouts and reference data) or admin (also users and keys).
//	@Tags			users
//	@Accept			json
//	@Produce		json
//	@Param			user	body		domain.UserInput	true	"the user"
//	@Success		201		{object}	domain.User
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the admin role"
//	@Failure		409		{object}	ErrorBody	"username taken"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/users [post]
func (s *Server) createUser(c *gin.Context) {
	var in domain.UserInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	u, err := s.accounts.CreateUser(c.Request.Context(), in)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.UserID, u.ID)
	c.JSON(http.StatusCreated, u)
}

// listUsers godoc
//
//	@Summary	List local users
//	@Tags		users
//	@Produce	json
//	@Param		limit	query		int		false	"page size, 1–1000"	default(50)
//	@Param		after	query		string	false	"cursor: the next value of the previous page"
//	@Success	200		{object}	List[domain.User]
//	@Failure	400		{object}	ErrorBody
//	@Failure	401		{object}	ErrorBody
//	@Failure	403		{object}	ErrorBody	"needs the admin role"
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api/users [get]
func (s *Server) listUsers(c *gin.Context) {
	p, err := pageParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.accounts.Users(c.Request.Context(), p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(u domain.User) int64 { return u.ID }))
}

// getUser godoc
//
//	@Summary	Get a local user
//	@Tags		users
//	@Produce	json
//	@Param		id	path		int	true	"user id"
//	@Success	200	{object}	domain.User
//	@Failure	400	{object}	ErrorBody
//	@Failure	401	{object}	ErrorBody
//	@Failure	403	{object}	ErrorBody	"needs the admin role"
//	@Failure	404	{object}	ErrorBody
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api/users/{id} [get]
func (s *Server) getUser(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.UserID, id)
	u, err := s.accounts.User(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

// patchUser godoc
//
//	@Summary		Change a user's role, display name or disabling
//	@Description	Only the given fields change. A new role or "disabled": true refuses the user's existing tokens at once, on every API replica; the user logs in again (and cannot while disabled). The last enabled admin can be neither demoted nor disabled (409).
//	@Tags			users
//	@Accept			json
//	@Produce		json
//	@Param			id		path		int					true	"user id"
//	@Param			change	body		domain.UserChange	true	"fields to change"
//	@Success		200		{object}	domain.User
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the admin role"
//	@Failure		404		{object}	ErrorBody
//	@Failure		409		{object}	ErrorBody	"the last enabled admin"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/users/{id} [patch]
func (s *Server) patchUser(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.UserID, id)
	var ch domain.UserChange
	if err := decodeJSON(c, &ch); err != nil {
		writeError(c, err)
		return
	}
	u, err := s.accounts.UpdateUser(c.Request.Context(), id, ch)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

// resetPassword godoc
//
//	@Summary		Reset a user's password
//	@Description	password: at least 12 characters and at most 72 bytes. The user's existing tokens are refused at once.
//	@Tags			users
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int				true	"user id"
//	@Param			password	body		PasswordInput	true	"the new password"
//	@Success		200			{object}	domain.User
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the admin role"
//	@Failure		404			{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/users/{id}/password [post]
func (s *Server) resetPassword(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.UserID, id)
	var in PasswordInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	u, err := s.accounts.ResetPassword(c.Request.Context(), id, in.Password)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}
