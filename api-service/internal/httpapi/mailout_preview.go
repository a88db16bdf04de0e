package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
)

// MailoutPreviewRequest is the body of POST /api/mailouts/preview: a draft
// mailout's text, filter and send window, as POST /api/mailouts takes them,
// with how many customers to render the text for and the moment at which
// to count who is inside the window.
type MailoutPreviewRequest struct {
	// A template, as a mailout's text is: its placeholders take each
	// customer's attributes.
	Text       *string               `json:"text" example:"Black Friday: 30% off until Sunday"`
	Filter     *MailoutFilterRequest `json:"filter"`
	SendWindow presentJSON           `json:"send_window" swaggertype:"object,string" example:"start:09:00,end:21:00"`
	// Customers to render the text for, lowest ids first: 1–50, default 10.
	Samples *int `json:"samples" minimum:"1" maximum:"50" example:"10"`
	// The moment of in_window_now (RFC 3339, any offset); default now.
	At presentJSON `json:"at" swaggertype:"string" format:"date-time" example:"2026-11-27T09:00:00+03:00"`
}

// previewMailout godoc
//
//	@Summary		Preview a draft mailout
//	@Description	Tells what a mailout with this text, filter and send window would do, storing nothing: audience is how many customers match the filter now; in_window_now how many of them are inside the send window at `at` (default now) in their own time zone (null without a window); template the SMS encoding and segments of the text as written, its variables and whether it has none; samples the text rendered for the first `samples` matching customers by id (1–50, default 10) with each one's SMS figures and the variables it had no value for (no default either: they render empty); longest the SMS figures of the sample taking the most segments; missing_attributes how many samples lacked a value. text, filter and send_window are validated as POST /api/mailouts validates them: a template error is a 400 naming its line and column in the text field's message. Tags that do not exist match nobody and are not created. One tag or one or more phone codes (or no filter) are counted from counters kept per time zone, in milliseconds at any size; several tags, or tags and codes together, count the matching customers themselves.
//	@Tags			mailouts
//	@Accept			json
//	@Produce		json
//	@Param			draft	body		MailoutPreviewRequest	true	"the draft mailout"
//	@Success		200		{object}	domain.Preview
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the viewer role"
//	@Failure		413		{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/mailouts/preview [post]
func (s *Server) previewMailout(c *gin.Context) {
	var req MailoutPreviewRequest
	if err := decodeJSON(c, &req); err != nil {
		writeError(c, err)
		return
	}
	errs := domain.FieldErrors{}
	in := domain.PreviewInput{
		Text:       req.Text,
		SendWindow: parseWindowField(req.SendWindow, errs),
		Samples:    req.Samples,
		At:         parseTimeField("at", req.At, errs),
	}
	if req.Filter != nil {
		in.Tags, in.PhoneCodes = req.Filter.Tags, req.Filter.PhoneCodes
	}
	p, err := s.mailouts.Preview(c.Request.Context(), in, errs)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}
