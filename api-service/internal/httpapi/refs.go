package httpapi

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
)

// Log keys for the reference entities, alongside the shared id keys.
const (
	logPhoneCodeID = "phone_code_id"
	logTimezoneID  = "timezone_id"
	logTagID       = "tag_id"
)

// PhoneCodeInput is the body of phone code create and rename.
type PhoneCodeInput struct {
	Code string `json:"code" example:"916"`
}

// TimezoneInput is the body of time zone create and rename.
type TimezoneInput struct {
	Name string `json:"name" example:"Europe/Moscow"`
}

// TagInput is the body of a tag rename.
type TagInput struct {
	Name string `json:"name" example:"vip"`
}

// listPhoneCodes godoc
//
//	@Summary		List mobile operator codes
//	@Description	Codes are registered automatically when customers use them, or added here.
//	@Tags			phone codes
//	@Produce		json
//	@Param			q		query		string	false	"code starts with"
//	@Param			limit	query		int		false	"page size, 1–1000"	default(50)
//	@Param			after	query		string	false	"cursor: the next value of the previous page"
//	@Success		200		{object}	List[domain.PhoneCode]
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the viewer role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/phone_codes [get]
func (s *Server) listPhoneCodes(c *gin.Context) {
	p, prefix, err := refListParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.refs.PhoneCodes(c.Request.Context(), prefix, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(v domain.PhoneCode) int64 { return v.ID }))
}

// createPhoneCode godoc
//
//	@Summary		Add a mobile operator code
//	@Description	code is exactly 3 digits and unique.
//	@Tags			phone codes
//	@Accept			json
//	@Produce		json
//	@Param			phone_code	body		PhoneCodeInput	true	"the code"
//	@Success		201			{object}	domain.PhoneCode
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		409			{object}	ErrorBody	"code already exists"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/phone_codes [post]
func (s *Server) createPhoneCode(c *gin.Context) {
	code, err := readPhoneCode(c)
	if err != nil {
		writeError(c, err)
		return
	}
	pc, err := s.refs.CreatePhoneCode(c.Request.Context(), code)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logPhoneCodeID, pc.ID)
	logger(c).Info("phone code created", logPhoneCodeID, pc.ID, "code", pc.Code)
	c.JSON(http.StatusCreated, pc)
}

// getPhoneCode godoc
//
//	@Summary	Get a mobile operator code
//	@Tags		phone codes
//	@Produce	json
//	@Param		id	path		int	true	"phone code id"
//	@Success	200	{object}	domain.PhoneCode
//	@Failure	400	{object}	ErrorBody
//	@Failure	401	{object}	ErrorBody
//	@Failure	403	{object}	ErrorBody	"needs the viewer role"
//	@Failure	404	{object}	ErrorBody
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api/phone_codes/{id} [get]
func (s *Server) getPhoneCode(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logPhoneCodeID, id)
	pc, err := s.refs.PhoneCode(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, pc)
}

// updatePhoneCode godoc
//
//	@Summary		Rename a mobile operator code
//	@Description	A code that customers carry cannot be renamed (409); mailout filters refer to it by id and follow the new code.
//	@Tags			phone codes
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int				true	"phone code id"
//	@Param			phone_code	body		PhoneCodeInput	true	"the new code"
//	@Success		200			{object}	domain.PhoneCode
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		404			{object}	ErrorBody
//	@Failure		409			{object}	ErrorBody	"code already exists or is in use by customers"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/phone_codes/{id} [put]
func (s *Server) updatePhoneCode(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logPhoneCodeID, id)
	code, err := readPhoneCode(c)
	if err != nil {
		writeError(c, err)
		return
	}
	pc, err := s.refs.UpdatePhoneCode(c.Request.Context(), id, code)
	if err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("phone code updated", logPhoneCodeID, id, "code", pc.Code)
	c.JSON(http.StatusOK, pc)
}

// deletePhoneCode godoc
//
//	@Summary		Delete a mobile operator code
//	@Description	A code still used by customers or mailout filters cannot be deleted (409).
//	@Tags			phone codes
//	@Param			id	path	int	true	"phone code id"
//	@Success		204
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"still in use"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/phone_codes/{id} [delete]
func (s *Server) deletePhoneCode(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logPhoneCodeID, id)
	if err := s.refs.DeletePhoneCode(c.Request.Context(), id); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("phone code deleted", logPhoneCodeID, id)
	c.Status(http.StatusNoContent)
}

// refListParams reads ?limit=, ?after= and the ?q= prefix. The prefix
// goes to PostgreSQL as text, which holds neither NUL nor invalid UTF-8.
func refListParams(c *gin.Context) (domain.Page, string, error) {
	p, err := pageParams(c)
	if err != nil {
		return p, "", err
	}
	q := c.Query("q")
	if !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		return p, "", domain.Invalid(map[string]string{"q": "must be UTF-8 text without NUL"})
	}
	return p, q, nil
}

// readPhoneCode reads and checks {"code": "..."}.
func readPhoneCode(c *gin.Context) (string, error) {
	var in PhoneCodeInput
	if err := decodeJSON(c, &in); err != nil {
		return "", err
	}
	if in.Code == "" {
		return "", domain.Invalid(map[string]string{"code": "is required"})
	}
	if problem := domain.ValidatePhoneCode(in.Code); problem != "" {
		return "", domain.Invalid(map[string]string{"code": problem})
	}
	return in.Code, nil
}

// listTimezones godoc
//
//	@Summary		List time zones
//	@Description	Zones are registered automatically when customers use them, or added here.
//	@Tags			time zones
//	@Produce		json
//	@Param			q		query		string	false	"name starts with"
//	@Param			limit	query		int		false	"page size, 1–1000"	default(50)
//	@Param			after	query		string	false	"cursor: the next value of the previous page"
//	@Success		200		{object}	List[domain.Timezone]
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the viewer role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/timezones [get]
func (s *Server) listTimezones(c *gin.Context) {
	p, prefix, err := refListParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.refs.Timezones(c.Request.Context(), prefix, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(v domain.Timezone) int64 { return v.ID }))
}

// createTimezone godoc
//
//	@Summary		Add a time zone
//	@Description	name is an IANA time zone such as Europe/Moscow, unique.
//	@Tags			time zones
//	@Accept			json
//	@Produce		json
//	@Param			timezone	body		TimezoneInput	true	"the zone"
//	@Success		201			{object}	domain.Timezone
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		409			{object}	ErrorBody	"zone already exists"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/timezones [post]
func (s *Server) createTimezone(c *gin.Context) {
	name, err := readTimezone(c)
	if err != nil {
		writeError(c, err)
		return
	}
	tz, err := s.refs.CreateTimezone(c.Request.Context(), name)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logTimezoneID, tz.ID)
	logger(c).Info("time zone created", logTimezoneID, tz.ID, "name", tz.Name)
	c.JSON(http.StatusCreated, tz)
}

// getTimezone godoc
//
//	@Summary	Get a time zone
//	@Tags		time zones
//	@Produce	json
//	@Param		id	path		int	true	"time zone id"
//	@Success	200	{object}	domain.Timezone
//	@Failure	400	{object}	ErrorBody
//	@Failure	401	{object}	ErrorBody
//	@Failure	403	{object}	ErrorBody	"needs the viewer role"
//	@Failure	404	{object}	ErrorBody
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api/timezones/{id} [get]
func (s *Server) getTimezone(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logTimezoneID, id)
	tz, err := s.refs.Timezone(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, tz)
}

// updateTimezone godoc
//
//	@Summary		Rename a time zone
//	@Description	A zone that customers live in cannot be renamed (409).
//	@Tags			time zones
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int				true	"time zone id"
//	@Param			timezone	body		TimezoneInput	true	"the new name"
//	@Success		200			{object}	domain.Timezone
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		404			{object}	ErrorBody
//	@Failure		409			{object}	ErrorBody	"zone already exists or is in use by customers"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/timezones/{id} [put]
func (s *Server) updateTimezone(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logTimezoneID, id)
	name, err := readTimezone(c)
	if err != nil {
		writeError(c, err)
		return
	}
	tz, err := s.refs.UpdateTimezone(c.Request.Context(), id, name)
	if err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("time zone updated", logTimezoneID, id, "name", tz.Name)
	c.JSON(http.StatusOK, tz)
}

// deleteTimezone godoc
//
//	@Summary		Delete a time zone
//	@Description	A zone customers still live in cannot be deleted (409).
//	@Tags			time zones
//	@Param			id	path	int	true	"time zone id"
//	@Success		204
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"still in use"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/timezones/{id} [delete]
func (s *Server) deleteTimezone(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logTimezoneID, id)
	if err := s.refs.DeleteTimezone(c.Request.Context(), id); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("time zone deleted", logTimezoneID, id)
	c.Status(http.StatusNoContent)
}

// readTimezone reads and checks {"name": "..."}.
func readTimezone(c *gin.Context) (string, error) {
	var in TimezoneInput
	if err := decodeJSON(c, &in); err != nil {
		return "", err
	}
	if in.Name == "" {
		return "", domain.Invalid(map[string]string{"name": "is required"})
	}
	if problem := domain.ValidateTimezone(in.Name); problem != "" {
		return "", domain.Invalid(map[string]string{"name": problem})
	}
	return in.Name, nil
}

// listTags godoc
//
//	@Summary		List tags
//	@Description	Tags are created by tagging customers or mailouts.
//	@Tags			tags
//	@Produce		json
//	@Param			q		query		string	false	"name starts with"
//	@Param			limit	query		int		false	"page size, 1–1000"	default(50)
//	@Param			after	query		string	false	"cursor: the next value of the previous page"
//	@Success		200		{object}	List[domain.Tag]
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the viewer role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/tags [get]
func (s *Server) listTags(c *gin.Context) {
	p, prefix, err := refListParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.refs.Tags(c.Request.Context(), prefix, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(v domain.Tag) int64 { return v.ID }))
}

// updateTag godoc
//
//	@Summary		Rename a tag
//	@Description	Customers and mailouts are linked to the tag by id and carry the new name. Names are trimmed, unique, at most 64 bytes, without ; , / or control characters.
//	@Tags			tags
//	@Accept			json
//	@Produce		json
//	@Param			id	path		int			true	"tag id"
//	@Param			tag	body		TagInput	true	"the new name"
//	@Success		200	{object}	domain.Tag
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"name already exists"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/tags/{id} [put]
func (s *Server) updateTag(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logTagID, id)
	var in TagInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	name, problem := domain.NormalizeTag(in.Name)
	if problem != "" {
		writeError(c, domain.Invalid(map[string]string{"name": problem}))
		return
	}
	tag, err := s.refs.UpdateTag(c.Request.Context(), id, name)
	if err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("tag updated", logTagID, id, "name", tag.Name)
	c.JSON(http.StatusOK, tag)
}

// deleteTag godoc
//
//	@Summary		Delete a tag
//	@Description	A tag still linked to customers or mailouts cannot be deleted (409): unlink it first.
//	@Tags			tags
//	@Param			id	path	int	true	"tag id"
//	@Success		204
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"still in use"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/tags/{id} [delete]
func (s *Server) deleteTag(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logTagID, id)
	if err := s.refs.DeleteTag(c.Request.Context(), id); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("tag deleted", logTagID, id)
	c.Status(http.StatusNoContent)
}
