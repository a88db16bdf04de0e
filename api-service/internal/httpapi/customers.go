package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// TagRequest links a tag by name.
type TagRequest struct {
	Tag string `json:"tag" example:"vip"`
}

// createCustomer godoc
//
//	@Summary		Create a customer
//	@Description	phone must match 7XXXXXXXXXX and be unique; phone_code defaults to digits 2–4 of the phone; timezone defaults to the service's DEFAULT_TIMEZONE. New tags, codes and zones are registered.
//	@Description	attributes: free-form values, e.g. {"name": "Anna", "city": "Kazan", "age": 30, "vip": true} — strings, numbers and booleans (no objects or arrays); at most 32 keys and 2048 bytes of compact JSON; keys are 1–64 ASCII letters, digits and underscores, starting with a letter (so that each can be a placeholder of a message template). A key set to null is left out. Each bad key or value is reported as its own field, e.g. "attributes.city".
//	@Tags			customers
//	@Accept			json
//	@Produce		json
//	@Param			customer		body		domain.CustomerInput	true	"the customer"
//	@Param			Idempotency-Key	header		string					false	"1–255 printable ASCII characters, the caller's own for 24 h. A retry with the same key, method, path, query and body is answered with the first answer (status, body, Content-Type, Location; header Idempotent-Replayed: true) and changes nothing; the key with another request is a 422, and while the first request runs a 409. A 5xx, or a request cut off, is not kept: its retry runs again."
//	@Success		201				{object}	domain.Customer
//	@Header			201				{string}	Idempotent-Replayed	"true when the answer is an earlier request's, replayed"
//	@Failure		400				{object}	ErrorBody
//	@Failure		401				{object}	ErrorBody
//	@Failure		403				{object}	ErrorBody	"needs the operator role"
//	@Failure		409				{object}	ErrorBody	"phone already exists, or a request with this Idempotency-Key is in progress (see Retry-After)"
//	@Failure		413				{object}	ErrorBody
//	@Failure		422				{object}	ErrorBody	"the Idempotency-Key was used for another request"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/customers [post]
func (s *Server) createCustomer(c *gin.Context) {
	var in domain.CustomerInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	cust, err := s.customers.Create(c.Request.Context(), in)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.CustomerID, cust.ID)
	c.JSON(http.StatusCreated, cust)
}

// listCustomers godoc
//
//	@Summary		List customers
//	@Description	The filters combine with AND. attr.<key>=<value> (e.g. ?attr.city=Kazan) keeps the customers whose attribute <key> has that value; repeat a parameter for any of several values (?attr.city=Kazan&attr.city=Omsk), use several keys for all of them. A query string has no types, so a value that reads as a JSON number or as true/false also matches that number or boolean: attr.age=30 matches "30" and 30. POST /api/search compares typed values exactly.
//	@Tags			customers
//	@Produce		json
//	@Param			tag				query		[]string	false	"has any of these tags (repeatable)"			collectionFormat(multi)
//	@Param			phone_code		query		[]string	false	"operator code is one of these (repeatable)"	collectionFormat(multi)
//	@Param			timezone		query		string		false	"IANA time zone"
//	@Param			phone_prefix	query		string		false	"phone starts with these digits"
//	@Param			limit			query		int			false	"page size, 1–1000"	default(50)
//	@Param			after			query		string		false	"cursor: the next value of the previous page"
//	@Success		200				{object}	List[domain.Customer]
//	@Failure		400				{object}	ErrorBody
//	@Failure		401				{object}	ErrorBody
//	@Failure		403				{object}	ErrorBody	"needs the viewer role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/customers [get]
func (s *Server) listCustomers(c *gin.Context) {
	attrs, err := queryAttributes(c)
	if err != nil {
		writeError(c, err)
		return
	}
	f := domain.CustomerFilter{
		Tags: c.QueryArray("tag"), PhoneCodes: c.QueryArray("phone_code"),
		Timezone: c.Query("timezone"), PhonePrefix: c.Query("phone_prefix"), Attributes: attrs,
	}
	s.respondCustomers(c, f)
}

// attrParam prefixes the query parameters that filter on attributes.
const attrParam = "attr."

// queryAttributes reads the ?attr.<key>=<value> filters, each value with
// the number or boolean it reads as; problems are named after the
// parameters ("attr.city").
func queryAttributes(c *gin.Context) (domain.AttributeFilter, error) {
	var f domain.AttributeFilter
	for name, values := range c.Request.URL.Query() {
		key, ok := strings.CutPrefix(name, attrParam)
		if !ok {
			continue
		}
		if f == nil {
			f = domain.AttributeFilter{}
		}
		for _, v := range values {
			f[key] = append(f[key], domain.LooseAttributeValues(v)...)
		}
	}
	errs := domain.FieldErrors{}
	f.Validate(strings.TrimSuffix(attrParam, "."), errs)
	return f, errs.Err()
}

// searchCustomers godoc
//
//	@Summary		Search customers
//	@Description	The same filter as the list, in a JSON body: tags (any of), phone_codes (any of), timezone, phone_prefix, and attributes: {"city": "Kazan", "age": [30, 31]} keeps the customers whose city is "Kazan" and whose age is 30 or 31 — each key a value or an array of values (any of them), compared as JSON values, so the string "30" does not match the number 30. Paginated with ?limit= and ?after=.
//	@Tags			customers
//	@Accept			json
//	@Produce		json
//	@Param			filter	body		domain.CustomerFilter	true	"filter"
//	@Param			limit	query		int						false	"page size, 1–1000"	default(50)
//	@Param			after	query		string					false	"cursor"
//	@Success		200		{object}	List[domain.Customer]
//	@Failure		400		{object}	ErrorBody
//	@Failure		401		{object}	ErrorBody
//	@Failure		403		{object}	ErrorBody	"needs the viewer role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/search [post]
func (s *Server) searchCustomers(c *gin.Context) {
	var f domain.CustomerFilter
	if err := decodeJSON(c, &f); err != nil {
		writeError(c, err)
		return
	}
	s.respondCustomers(c, f)
}

func (s *Server) respondCustomers(c *gin.Context, f domain.CustomerFilter) {
	p, err := pageParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.customers.List(c.Request.Context(), f, p.Lookahead())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(list, p.Limit, func(c domain.Customer) int64 { return c.ID }))
}

// getCustomer godoc
//
//	@Summary	Get a customer
//	@Tags		customers
//	@Produce	json
//	@Param		id	path		int	true	"customer id"
//	@Success	200	{object}	domain.Customer
//	@Failure	400	{object}	ErrorBody
//	@Failure	401	{object}	ErrorBody
//	@Failure	403	{object}	ErrorBody	"needs the viewer role"
//	@Failure	404	{object}	ErrorBody
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api/customers/{id} [get]
func (s *Server) getCustomer(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.CustomerID, id)
	cust, err := s.customers.Get(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, cust)
}

// replaceCustomer godoc
//
//	@Summary		Replace a customer
//	@Description	Every field is set: phone is required, omitted phone_code/timezone take their defaults, omitted tags means no tags, omitted attributes means none (the given object becomes the customer's attributes; a key set to null is left out).
//	@Tags			customers
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int						true	"customer id"
//	@Param			customer	body		domain.CustomerInput	true	"the customer"
//	@Success		200			{object}	domain.Customer
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		404			{object}	ErrorBody
//	@Failure		409			{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/customers/{id} [put]
func (s *Server) replaceCustomer(c *gin.Context) { s.updateCustomer(c, true) }

// patchCustomer godoc
//
//	@Summary		Update some fields of a customer
//	@Description	Only the given fields change; tags, when given, replace the customer's tags.
//	@Description	attributes, when given, are merged key by key (a JSON merge patch, RFC 7396, one level deep): {"city": "Omsk", "age": null} sets city, removes age and keeps every other attribute; "attributes": null removes them all; {} changes nothing. The limits (32 keys, 2048 bytes) apply to the result.
//	@Tags			customers
//	@Accept			json
//	@Produce		json
//	@Param			id			path		int						true	"customer id"
//	@Param			customer	body		domain.CustomerInput	true	"fields to change"
//	@Success		200			{object}	domain.Customer
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the operator role"
//	@Failure		404			{object}	ErrorBody
//	@Failure		409			{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/customers/{id} [patch]
func (s *Server) patchCustomer(c *gin.Context) { s.updateCustomer(c, false) }

func (s *Server) updateCustomer(c *gin.Context, replace bool) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.CustomerID, id)
	var in domain.CustomerInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	updated, err := s.customers.Update(c.Request.Context(), id, in, replace)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, updated)
}

// deleteCustomer godoc
//
//	@Summary		Delete a customer
//	@Description	Its delivered messages stay in the statistics; messages not yet sent are cancelled.
//	@Tags			customers
//	@Param			id	path	int	true	"customer id"
//	@Success		204
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/customers/{id} [delete]
func (s *Server) deleteCustomer(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.CustomerID, id)
	if err := s.customers.Delete(c.Request.Context(), id); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// addCustomerTag godoc
//
//	@Summary		Tag a customer
//	@Description	Creates the tag if it is new and links it to the customer.
//	@Tags			customers
//	@Accept			json
//	@Produce		json
//	@Param			id	path		int			true	"customer id"
//	@Param			tag	body		TagRequest	true	"tag name"
//	@Success		200	{object}	domain.Customer
//	@Failure		400	{object}	ErrorBody
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the operator role"
//	@Failure		404	{object}	ErrorBody
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/customers/{id}/tags [post]
func (s *Server) addCustomerTag(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.CustomerID, id)
	tag, err := readTag(c)
	if err != nil {
		writeError(c, err)
		return
	}
	cust, err := s.customers.AddTag(c.Request.Context(), id, tag)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, cust)
}

// removeCustomerTag godoc
//
//	@Summary	Untag a customer
//	@Tags		customers
//	@Produce	json
//	@Param		id		path		int	true	"customer id"
//	@Param		tag_id	path		int	true	"tag id"
//	@Success	200		{object}	domain.Customer
//	@Failure	400		{object}	ErrorBody
//	@Failure	401		{object}	ErrorBody
//	@Failure	403		{object}	ErrorBody	"needs the operator role"
//	@Failure	404		{object}	ErrorBody	"no such customer, or the tag is not linked"
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api/customers/{id}/tags/{tag_id} [delete]
func (s *Server) removeCustomerTag(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.CustomerID, id)
	tagID, err := pathID(c, "tag_id")
	if err != nil {
		writeError(c, err)
		return
	}
	cust, err := s.customers.RemoveTag(c.Request.Context(), id, tagID)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, cust)
}

// readTag reads and checks {"tag": "..."}.
func readTag(c *gin.Context) (string, error) {
	var req TagRequest
	if err := decodeJSON(c, &req); err != nil {
		return "", err
	}
	tag, problem := domain.NormalizeTag(req.Tag)
	if problem != "" {
		return "", domain.Invalid(map[string]string{"tag": problem})
	}
	return tag, nil
}
