package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// MailoutRequest is the body of POST, PUT and PATCH /api/mailouts. Times
// are RFC 3339 with any offset (answers are in UTC); send_window is
// {"start": "HH:MM", "end": "HH:MM"} in each customer's local time (end
// before start crosses midnight) or null for no window.
type MailoutRequest struct {
	Text       *string               `json:"text" example:"Black Friday: 30% off until Sunday"`
	StartAt    presentJSON           `json:"start_at" swaggertype:"string" format:"date-time" example:"2026-11-27T09:00:00+03:00"`
	EndAt      presentJSON           `json:"end_at" swaggertype:"string" format:"date-time" example:"2026-11-29T21:00:00+03:00"`
	SendWindow presentJSON           `json:"send_window" swaggertype:"object,string" example:"start:09:00,end:21:00"`
	Filter     *MailoutFilterRequest `json:"filter"`
}

// MailoutFilterRequest selects the audience: customers having any of the
// tags (if any are given) and whose phone code is one of phone_codes (if
// any are given). On PATCH a given list replaces the stored one.
type MailoutFilterRequest struct {
	Tags       *[]string `json:"tags" example:"vip"`
	PhoneCodes *[]string `json:"phone_codes" example:"916"`
}

// MailoutPhoneCodeRequest links a phone code by value.
type MailoutPhoneCodeRequest struct {
	PhoneCode string `json:"phone_code" example:"916"`
}

// presentJSON keeps a field's raw JSON and whether its key was present:
// encoding/json calls UnmarshalJSON even for null on a non-pointer field,
// so an explicit null (remove) is told apart from absence (keep). Parsing
// happens afterwards, so a bad value is reported under its field name.
type presentJSON struct {
	set bool
	raw json.RawMessage
}

// UnmarshalJSON records the value without interpreting it.
func (p *presentJSON) UnmarshalJSON(b []byte) error {
	p.set = true
	p.raw = append(p.raw[:0], b...)
	return nil
}

func (p presentJSON) isNull() bool { return !p.set || string(p.raw) == "null" }

// input turns the request into a domain input. full (POST, PUT) means the
// request describes the whole mailout: text and times are required, an
// omitted send_window means none and an omitted filter means everyone.
func (r MailoutRequest) input(full bool) (domain.MailoutInput, error) {
	errs := domain.FieldErrors{}
	in := domain.MailoutInput{
		Text:    r.Text,
		StartAt: parseTimeField("start_at", r.StartAt, errs),
		EndAt:   parseTimeField("end_at", r.EndAt, errs),
	}
	if r.SendWindow.set {
		in.SendWindowSet = true
		in.SendWindow = parseWindowField(r.SendWindow, errs)
	}
	if r.Filter != nil {
		in.Tags, in.PhoneCodes = r.Filter.Tags, r.Filter.PhoneCodes
	}
	if full {
		in = in.Replacing(errs)
	}
	return in, errs.Err()
}

const timeFormatHint = "must be an RFC 3339 time such as 2026-12-01T09:00:00Z or 2026-12-01T12:00:00+03:00"

// parseTimeField parses an RFC 3339 string; null and absence give nil.
func parseTimeField(field string, p presentJSON, errs domain.FieldErrors) *time.Time {
	if p.isNull() {
		return nil
	}
	var s string
	if err := json.Unmarshal(p.raw, &s); err != nil {
		errs.Add(field, timeFormatHint)
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		errs.Add(field, timeFormatHint)
		return nil
	}
	return &t
}

// parseWindowField reads {"start": "HH:MM", "end": "HH:MM"}; null gives nil.
func parseWindowField(p presentJSON, errs domain.FieldErrors) *domain.SendWindow {
	if p.isNull() {
		return nil
	}
	var raw struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	dec := json.NewDecoder(bytes.NewReader(p.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		errs.Add("send_window", `must be null or {"start": "HH:MM", "end": "HH:MM"}`)
		return nil
	}
	w, err := domain.ParseSendWindow(raw.Start, raw.End)
	if err != nil {
		// ParseSendWindow names the sub-field ("send_window.start: ...").
		field, msg := "send_window", err.Error()
		if sub, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(sub, "send_window.") {
			field, msg = sub, rest
		}
		errs.Add(field, msg)
		return nil
	}
	return &w
}

// createMailout godoc
//
//	@Summary		Create a mailout
//	@Description	text (1–1600 characters), start_at and end_at are required; end_at must be after start_at and in the future. send_window (optional) limits sending to a time of day in each customer's local time and may cross midnight (21:00–09:00). filter.tags and filter.phone_codes (optional) select the audience: customers with any of the tags AND one of the codes; an empty list does not restrict. New tags and codes are registered. The answer's audience is the number of customers matching the filter now. The mailout starts as scheduled.
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			mailout			body		MailoutRequest	true	"the mailout"
//	@Param			Idempotency-Key	header		string			false	"1–255 printable ASCII characters, the caller's own for 24 h. A retry with the same key, method, path, query and body is answered with the first answer (status, body, Content-Type, Location; header Idempotent-Replayed: true) and changes nothing; the key with another request is a 422, and while the first request runs a 409. A 5xx, or a request cut off, is not kept: its retry runs again."
//	@Success		201				{object}	domain.Mailout
//	@Header			201				{string}	Idempotent-Replayed	"true when the answer is an earlier request's, replayed"
//	@Failure		400				{object}	ErrorBody
//	@Failure		401				{object}	ErrorBody
//	@Failure		403				{object}	ErrorBody	"needs the operator role"
//	@Failure		409				{object}	ErrorBody	"a request with this Idempotency-Key is in progress (see Retry-After)"
//	@Failure		413				{object}	ErrorBody
//	@Failure		422				{object}	ErrorBody	"the Idempotency-Key was used for another request"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts [post]
func (s *Server) createMailout(c *gin.Context) {
	in, err := readMailout(c, true)
	if err != nil {
		writeError(c, err)
		return
	}
	m, err := s.mailouts.Create(c.Request.Context(), in)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, m.ID)
	c.JSON(http.StatusCreated, m)
}

// listMailouts godoc
//
//	@Summary	List mailouts
//	@Tags		mailouts
//	@Produce	json
//	@Param		status	query		[]string	false	"status is one of these (repeatable)"	collectionFormat(multi)	Enums(scheduled,running,paused,finished,cancelled)
//	@Param		limit	query		int			false	"page size, 1–1000"						default(50)
//	@Param		after	query		string		false	"cursor: the next value of the previous page"
//	@Success	200		{object}	List[domain.Mailout]
//	@Failure	400		{object}	ErrorBody
//	@Failure	401		{object}	ErrorBody
//	@Failure	403		{object}	ErrorBody	"needs the viewer role"
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api/mailouts [get]
func (s *Server) listMailouts(c *gin.Context) {
	f, p, ok := filteredPage(c, mailoutFilter)
	if !ok {
		return
	}
	list, err := s.mailouts.List(c.Request.Context(), f, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(m domain.Mailout) int64 { return m.ID }))
}

// mailoutFilter reads the filter of GET /api/mailouts.
func mailoutFilter(c *gin.Context) (domain.MailoutFilter, error) {
	errs := domain.FieldErrors{}
	f := domain.MailoutFilter{Statuses: queryMailoutStatuses(c, errs)}
	return f, errs.Err()
}

// getMailout godoc
//
//	@Summary		Get a mailout
//	@Description	audience is the number of customers matching the filter now.
//	@Tags			mailouts
//	@Produce		json
//	@Param			id	path		int	true	"mailout id"
//	@Success		200	{object}	domain.Mailout
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the viewer role"
//	@Failure		404	{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id} [get]
func (s *Server) getMailout(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	m, err := s.mailouts.Get(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// replaceMailout godoc
//
//	@Summary		Replace a mailout
//	@Description	Every field is set: text, start_at and end_at are required, an omitted send_window means none, an omitted filter means every customer. A scheduled mailout is fully editable; a running one only lets end_at change (repeating the other values unchanged is fine); finished and cancelled ones are read-only (409). A change increments version.
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			id		path		int				true	"mailout id"
//	@Param			mailout	body		MailoutRequest	true	"the mailout"
//	@Success		200		{object}	domain.Mailout
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the operator role"
//	@Failure		404		{object}	ErrorBody
//	@Failure		409		{object}	ErrorBody	"the mailout's status forbids this change"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id} [put]
func (s *Server) replaceMailout(c *gin.Context) { s.updateMailout(c, true) }

// patchMailout godoc
//
//	@Summary		Update some fields of a mailout
//	@Description	Only the given fields change. "send_window": null removes the window; filter.tags or filter.phone_codes, when given, replace that list. The status rules of PUT apply: a running mailout only lets end_at change; finished and cancelled ones are read-only (409).
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			id		path		int				true	"mailout id"
//	@Param			mailout	body		MailoutRequest	true	"fields to change"
//	@Success		200		{object}	domain.Mailout
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the operator role"
//	@Failure		404		{object}	ErrorBody
//	@Failure		409		{object}	ErrorBody	"the mailout's status forbids this change"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id} [patch]
func (s *Server) patchMailout(c *gin.Context) { s.updateMailout(c, false) }

func (s *Server) updateMailout(c *gin.Context, full bool) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	in, err := readMailout(c, full)
	if err != nil {
		writeError(c, err)
		return
	}
	m, err := s.mailouts.Update(c.Request.Context(), id, in)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// deleteMailout godoc
//
//	@Summary		Delete a mailout
//	@Description	Only a mailout without messages can be deleted. Messages are delivery history: once a mailout has any, cancel it instead (409 otherwise).
//	@Tags			mailouts
//	@Param			id	path	int	true	"mailout id"
//	@Success		204
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"the mailout has messages: cancel it instead"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id} [delete]
func (s *Server) deleteMailout(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	if err := s.mailouts.Delete(c.Request.Context(), id); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// cancelMailout godoc
//
//	@Summary		Cancel a mailout
//	@Description	A scheduled or running mailout becomes cancelled and its messages not yet sent are cancelled with it; sent messages stay in the statistics. Cancelling a finished or cancelled mailout is a conflict.
//	@Tags			mailouts
//	@Produce		json
//	@Param			id	path		int	true	"mailout id"
//	@Success		200	{object}	domain.Mailout
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"already finished or cancelled"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/cancel [post]
func (s *Server) cancelMailout(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	m, err := s.mailouts.Cancel(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// addMailoutTag godoc
//
//	@Summary		Add a tag to a mailout's filter
//	@Description	Creates the tag if it is new and links it. The filter can change only while the mailout is scheduled (409 otherwise).
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			id	path		int			true	"mailout id"
//	@Param			tag	body		TagRequest	true	"tag name"
//	@Success		200	{object}	domain.Mailout
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Failure		409	{object}	ErrorBody	"the mailout is no longer scheduled"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/tags [post]
func (s *Server) addMailoutTag(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	tag, err := readTag(c)
	if err != nil {
		writeError(c, err)
		return
	}
	m, err := s.mailouts.AddTag(c.Request.Context(), id, tag)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// removeMailoutTag godoc
//
//	@Summary		Remove a tag from a mailout's filter
//	@Description	The filter can change only while the mailout is scheduled (409 otherwise).
//	@Tags			mailouts
//	@Produce		json
//	@Param			id		path		int	true	"mailout id"
//	@Param			tag_id	path		int	true	"tag id"
//	@Success		200		{object}	domain.Mailout
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the operator role"
//	@Failure		404		{object}	ErrorBody	"no such mailout, or the tag is not linked"
//	@Failure		409		{object}	ErrorBody	"the mailout is no longer scheduled"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/tags/{tag_id} [delete]
func (s *Server) removeMailoutTag(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	tagID, err := pathID(c, "tag_id")
	if err != nil {
		writeError(c, err)
		return
	}
	m, err := s.mailouts.RemoveTag(c.Request.Context(), id, tagID)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// addMailoutPhoneCode godoc
//
//	@Summary		Add a phone code to a mailout's filter
//	@Description	Registers the code if it is new and links it. The filter can change only while the mailout is scheduled (409 otherwise).
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int						true	"mailout id"
//	@Param			phone_code	body		MailoutPhoneCodeRequest	true	"operator code, 3 digits"
//	@Success		200			{object}	domain.Mailout
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		404			{object}	ErrorBody
//	@Failure		409			{object}	ErrorBody	"the mailout is no longer scheduled"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/phone_codes [post]
func (s *Server) addMailoutPhoneCode(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	var req MailoutPhoneCodeRequest
	if err := decodeJSON(c, &req); err != nil {
		writeError(c, err)
		return
	}
	if p := domain.ValidatePhoneCode(req.PhoneCode); p != "" {
		writeError(c, domain.Invalid(map[string]string{"phone_code": p}))
		return
	}
	m, err := s.mailouts.AddPhoneCode(c.Request.Context(), id, req.PhoneCode)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// removeMailoutPhoneCode godoc
//
//	@Summary		Remove a phone code from a mailout's filter
//	@Description	The filter can change only while the mailout is scheduled (409 otherwise).
//	@Tags			mailouts
//	@Produce		json
//	@Param			id				path		int	true	"mailout id"
//	@Param			phone_code_id	path		int	true	"phone code id"
//	@Success		200				{object}	domain.Mailout
//	@Failure		400				{object}	ErrorBody
//	@Failure		401				{object}	ErrorBody
//	@Failure		403				{object}	ErrorBody	"needs the operator role"
//	@Failure		404				{object}	ErrorBody	"no such mailout, or the code is not linked"
//	@Failure		409				{object}	ErrorBody	"the mailout is no longer scheduled"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/{id}/phone_codes/{phone_code_id} [delete]
func (s *Server) removeMailoutPhoneCode(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.MailoutID, id)
	codeID, err := pathID(c, "phone_code_id")
	if err != nil {
		writeError(c, err)
		return
	}
	m, err := s.mailouts.RemovePhoneCode(c.Request.Context(), id, codeID)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// readMailout decodes and checks a mailout request body.
func readMailout(c *gin.Context, full bool) (domain.MailoutInput, error) {
	var req MailoutRequest
	if err := decodeJSON(c, &req); err != nil {
		return domain.MailoutInput{}, err
	}
	return req.input(full)
}
