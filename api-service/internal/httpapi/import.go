package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/importer"
	"mailing/shared/domain"
)

// defaultImportMaxBytes bounds an import body unless the server is
// configured otherwise.
const defaultImportMaxBytes = 512 << 20

// importCustomers godoc
//
//	@Summary		Import customers in bulk
//	@Description	Streams a large upload of customers; the format follows Content-Type. Each row has the fields of POST /api/customers: phone (required), phone_code (default: digits 2–4 of the phone), timezone (default: the service's DEFAULT_TIMEZONE), tags.
//	@Description	**NDJSON** (`application/x-ndjson` or `application/jsonl`): one JSON object per line; unknown and server-owned fields reject that line; blank lines are ignored. Example:
//	@Description	```
//	@Description	{"phone": "79161234567", "tags": ["vip", "new"]}
//	@Description	{"phone": "79031234567", "phone_code": "903", "timezone": "Asia/Yekaterinburg"}
//	@Description	```
//	@Description	**CSV** (`text/csv`): a header row naming the columns (phone required; phone_code, timezone, tags optional, any order), then one customer per record; empty phone_code/timezone take the defaults; tags are `;`-separated (empty items are ignored). Example:
//	@Description	```
//	@Description	phone,phone_code,timezone,tags
//	@Description	79161234567,,,vip;new
//	@Description	79031234567,903,Asia/Yekaterinburg,
//	@Description	```
//	@Description	Rows are validated like single customers; a bad row is rejected with its line (1-based physical line; the CSV header is line 1) and reason, and the rest goes on. Only the first 1000 rejected rows are listed (errors_truncated tells), all are counted.
//	@Description	A phone that appears again later in the same upload is rejected on its later lines as "duplicate phone in upload"; the first valid occurrence counts.
//	@Description	on_conflict decides about phones already stored: skip (default) leaves those customers untouched; update sets their phone_code and timezone and replaces their tags with the row's (no tags when the row has none). New phone codes, time zones and tags are registered.
//	@Description	Rows are written in batches of 10000 records, each batch in one transaction, two batches side by side. If the import stops (body over the limit, server or connection failure), each batch is stored whole or not at all: every line before the batches in progress is stored, those batches may or may not be, and the error answer says up to which line rows were stored. Sending the rest again with on_conflict=skip is safe.
//	@Description	An NDJSON line over 1 MiB is rejected; a CSV record over 1 MiB stops the import (400). The body may be up to 512 MiB (413 beyond, with the rows before the limit already stored). An empty upload and a CSV without a valid header are refused with 400; other content types with 415. After an import that wrote 50000 rows or more, the planner statistics of the customer tables are refreshed before the answer.
//	@Tags			customers
//	@Accept			text/csv,application/x-ndjson,application/jsonl
//	@Produce		json
//	@Param			on_conflict		query		string	false	"what to do with phones already stored"	Enums(skip, update)	default(skip)
//	@Param			customers		body		string	true	"CSV or NDJSON rows"
//	@Param			Idempotency-Key	header		string	false	"1–255 printable ASCII characters, the caller's own for 24 h. A retry with the same key, method, path, query and body is answered with the first answer (status, body, Content-Type, Location; header Idempotent-Replayed: true) and changes nothing; the key with another request is a 422, and while the first request runs a 409. A 5xx, or a request cut off, is not kept: its retry runs again. The upload is hashed as it streams: a retry while the import runs is a 409 whatever its body; a later retry is read to its end before it is answered. An upload over the limit is not kept."
//	@Success		200				{object}	importer.Result
//	@Header			200				{string}	Idempotent-Replayed	"true when the answer is an earlier request's, replayed"
//	@Failure		400				{object}	ErrorBody	"empty upload, bad CSV header, bad on_conflict"
//	@Failure		401				{object}	ErrorBody
//	@Failure		403				{object}	ErrorBody	"needs the operator role"
//	@Failure		409				{object}	ErrorBody	"a request with this Idempotency-Key is in progress (see Retry-After)"
//	@Failure		413				{object}	ErrorBody	"body over the limit; the message says which lines were stored"
//	@Failure		415				{object}	ErrorBody	"unsupported Content-Type"
//	@Failure		422				{object}	ErrorBody	"the Idempotency-Key was used for another request"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/customers/import [post]
func (s *Server) importCustomers(c *gin.Context) {
	format, ok := importFormat(strings.ToLower(c.ContentType()))
	if !ok {
		c.AbortWithStatusJSON(http.StatusUnsupportedMediaType, ErrorBody{Error: ErrorDetail{
			Code:    "unsupported_media_type",
			Message: "Content-Type must be text/csv, application/x-ndjson or application/jsonl",
		}})
		return
	}
	opts := importer.Options{
		Format:     format,
		OnConflict: domain.ImportConflict(c.DefaultQuery("on_conflict", string(domain.ImportSkip))),
		Log:        logger(c),
	}
	body := limitedBody{http.MaxBytesReader(c.Writer, c.Request.Body, s.importMaxBytes)}
	res, err := s.imports.Run(c.Request.Context(), opts, body)
	if err != nil {
		writeError(c, err)
		return
	}
	s.metrics.importRows(res)
	c.JSON(http.StatusOK, res)
}

// importFormat is the upload format of a media type.
func importFormat(mediaType string) (importer.Format, bool) {
	switch mediaType {
	case "text/csv":
		return importer.CSV, true
	case "application/x-ndjson", "application/jsonl":
		return importer.NDJSON, true
	}
	return "", false
}

// limitedBody reports a body over its limit as a domain error, which stops
// an import with 413 and says what was stored.
type limitedBody struct{ r io.Reader }

func (b limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var tooBig *http.MaxBytesError
	if err != nil && errors.As(err, &tooBig) {
		err = domain.Errorf(domain.CodeTooLarge, "request body exceeds %d bytes", tooBig.Limit)
	}
	return n, err
}
