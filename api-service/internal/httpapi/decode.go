package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/jsoninput"
	"mailing/shared/domain"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

// decodeJSON reads one JSON object into dst, rejecting unknown and
// server-owned fields, trailing data and oversized bodies.
func decodeJSON(c *gin.Context, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return domain.Errorf(domain.CodeTooLarge, "request body exceeds %d bytes", maxJSONBody)
		}
		return domain.Errorf(domain.CodeInvalid, "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return domain.Errorf(domain.CodeInvalid, "request body must be a JSON object")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return domain.Errorf(domain.CodeInvalid, "request body must be a JSON object: %s", jsoninput.Detail(err))
	}
	var owned []string
	for k := range keys {
		if jsoninput.ServerOwned(k) {
			owned = append(owned, k)
		}
	}
	if len(owned) > 0 {
		sort.Strings(owned)
		fields := domain.FieldErrors{}
		for _, k := range owned {
			fields.Add(k, "is set by the server and cannot be given")
		}
		return &domain.Error{Code: domain.CodeInvalid, Message: "request sets server-owned fields: " + strings.Join(owned, ", "), Fields: fields}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsoninput.Problem(err)
	}
	if dec.More() {
		return domain.Errorf(domain.CodeInvalid, "request body must hold exactly one JSON object")
	}
	return nil
}

// pathID reads a positive integer path parameter.
func pathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, &domain.Error{Code: domain.CodeInvalid, Message: name + " must be a positive integer", Fields: map[string]string{name: "must be a positive integer"}}
	}
	return id, nil
}

// filteredPage reads a list's filter with filter, then its page; on a
// failure it writes the error and reports false.
func filteredPage[F any](c *gin.Context, filter func(*gin.Context) (F, error)) (F, domain.Page, bool) {
	f, err := filter(c)
	if err != nil {
		writeError(c, err)
		return f, domain.Page{}, false
	}
	p, err := pageParams(c)
	if err != nil {
		writeError(c, err)
		return f, domain.Page{}, false
	}
	return f, p, true
}

// queryMailoutStatuses reads the repeatable ?status= of mailouts; an
// unknown status goes to errs.
func queryMailoutStatuses(c *gin.Context, errs domain.FieldErrors) []domain.MailoutStatus {
	var out []domain.MailoutStatus
	for _, v := range c.QueryArray("status") {
		st := domain.MailoutStatus(v)
		if !st.Valid() {
			errs.Add("status", "must be "+domain.StatusList(domain.MailoutStatuses))
			continue
		}
		out = append(out, st)
	}
	return out
}

// queryMessageStatus reads the optional ?status= of messages; an unknown
// status goes to errs.
func queryMessageStatus(c *gin.Context, errs domain.FieldErrors) domain.MessageStatus {
	v, ok := c.GetQuery("status")
	if !ok {
		return ""
	}
	st := domain.MessageStatus(v)
	if !st.Valid() {
		errs.Add("status", "must be "+domain.StatusList(domain.MessageStatuses))
	}
	return st
}

// pageParams reads ?limit= and ?after=.
func pageParams(c *gin.Context) (domain.Page, error) {
	p := domain.Page{Limit: domain.DefaultPageLimit}
	errs := domain.FieldErrors{}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > domain.MaxPageLimit {
			errs.Add("limit", fmt.Sprintf("must be an integer from 1 to %d", domain.MaxPageLimit))
		}
		p.Limit = n
	}
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs.Add("after", "must be the next cursor of a previous page")
		}
		p.After = n
	}
	return p, errs.Err()
}

// List is one keyset page: Next is the cursor for ?after=, null on the last page.
type List[T any] struct {
	Items []T     `json:"items"`
	Next  *string `json:"next"`
}

// newList builds a page from up to limit+1 items (handlers ask the store
// for one extra row): the extra row only proves there is a next page.
func newList[T any](items []T, limit int, idOf func(T) int64) List[T] {
	if items == nil {
		items = []T{}
	}
	l := List[T]{Items: items}
	if len(items) > limit {
		l.Items = items[:limit]
		next := strconv.FormatInt(idOf(l.Items[limit-1]), 10)
		l.Next = &next
	}
	return l
}
