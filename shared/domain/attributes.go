package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a customer's attributes. Keys are shaped so that each can be
// a placeholder of a message template ({{city}}); the size is of the
// compact JSON encoding (no spaces, no HTML escaping), as CompactSize
// counts it.
const (
	MaxAttributes      = 32
	MaxAttributesBytes = 2048
	MaxAttributeKeyLen = 64
	// maxAttributeValues bounds the values one key of a filter may match.
	maxAttributeValues = 100
	// maxAttributeProblems bounds the per-key messages of one error, so
	// that an object of thousands of bad keys does not make a huge answer.
	maxAttributeProblems = 10
)

// Attributes are a customer's free-form values by key. A value is a
// string, a number (json.Number, as decoded and as read back from the
// store) or a bool; Apply normalises other Go numbers to json.Number. A
// nil map reads and encodes as {}.
type Attributes map[string]any

// MarshalJSON encodes a nil map as {}, never null, with the keys sorted
// and without spaces or HTML escaping (a caller's encoder adds that): the
// compact encoding CompactSize counts. Written by hand, as an import
// encodes every row's attributes: a fifth of encoding/json's time.
func (a Attributes) MarshalJSON() ([]byte, error) {
	if len(a) == 0 {
		return []byte("{}"), nil
	}
	var keys [MaxAttributes]string
	sorted := keys[:0]
	if len(a) > MaxAttributes {
		sorted = make([]string, 0, len(a))
	}
	for k := range a {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	b := make([]byte, 0, 64*len(a))
	for i, k := range sorted {
		if i == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendQuoted(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, a[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendValue appends one value's JSON.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendQuoted(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case json.Number:
		if !isJSONNumber(string(x)) {
			return nil, fmt.Errorf("attribute value %q is no JSON number", string(x))
		}
		return append(b, x...), nil
	case nil:
		return append(b, "null"...), nil
	}
	raw, err := json.Marshal(v)
	return append(b, raw...), err
}

// appendQuoted appends s as a JSON string the way encoding/json writes it
// without HTML escaping; quotedLen counts the same.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			case '\u2028':
				b = append(b, `\u2028`...)
			default:
				b = append(b, `\u2029`...)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// UnmarshalJSON reads a JSON object, keeping numbers exact (json.Number);
// null reads as nil. The values are checked by Apply, not here, so that
// each bad value is reported under its own key.
func (a *Attributes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*a = nil
		return nil
	case string(b) == "{}":
		*a = Attributes{}
		return nil
	case len(b) == 0 || b[0] != '{':
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Attributes]()}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return err
	}
	*a = m
	return nil
}

// jsonKind names the kind of a JSON value for a type error.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// AttributesInput is the attributes member of a customer's input: absent
// (Set false), null (Set, Values nil) or an object, whose null values name
// keys to remove. Apply merges it onto the customer's attributes, which
// are empty on create and replace: so on create and PUT it is the whole
// object (null values and null itself leave keys out), and on PATCH a
// merge patch (RFC 7396) one level deep.
type AttributesInput struct {
	Set    bool
	Values Attributes
}

// UnmarshalJSON records that the member was sent, as null or an object.
func (in *AttributesInput) UnmarshalJSON(b []byte) error {
	in.Set = true
	return in.Values.UnmarshalJSON(b)
}

// MarshalJSON encodes null as null and null values as null.
func (in AttributesInput) MarshalJSON() ([]byte, error) {
	if in.Values == nil {
		return []byte("null"), nil
	}
	return json.Marshal(map[string]any(in.Values))
}

// IsZero reports an absent member, which omitzero leaves out.
func (in AttributesInput) IsZero() bool { return !in.Set }

// SetAttributes is the input that makes the attributes exactly values
// on create and replace, and merges them in on patch.
func SetAttributes(values Attributes) AttributesInput {
	if values == nil {
		values = Attributes{}
	}
	return AttributesInput{Set: true, Values: values}
}

// merge applies in onto cur and validates the result; problems go to errs
// under field ("attributes") and field.<key>. Neither cur nor in.Values is
// changed; the result is in.Values itself when it needs no change (a
// create with nothing to remove or normalize: every row of an import).
func (in AttributesInput) merge(cur Attributes, field string, errs FieldErrors) Attributes {
	if !in.Set {
		if cur == nil {
			return Attributes{}
		}
		return cur
	}
	problems := attributeProblems{field: field, errs: errs}
	edits := 0 // removals and normalized values
	check := func(k string) {
		if p := ValidateAttributeKey(k); p != "" {
			problems.add(k, p)
			return
		}
		v := in.Values[k]
		if v == nil {
			edits++
			return
		}
		switch v.(type) {
		case string, bool, json.Number:
		default:
			edits++
		}
		if _, p := NormalizeAttributeValue(v); p != "" {
			problems.add(k, p)
		}
	}
	if len(in.Values) > maxAttributeProblems {
		// Sorted, so that the same object lists the same problems.
		for _, k := range sortedKeys(in.Values) {
			check(k)
		}
	} else {
		for k := range in.Values {
			check(k)
		}
	}
	var out Attributes
	switch {
	case problems.n > 0:
		return cur
	case in.Values == nil:
		out = Attributes{}
	case len(cur) == 0 && edits == 0:
		out = in.Values
	default:
		out = make(Attributes, len(cur)+len(in.Values))
		maps.Copy(out, cur)
		for k, v := range in.Values {
			if v == nil {
				delete(out, k)
			} else {
				out[k], _ = NormalizeAttributeValue(v)
			}
		}
	}
	switch {
	case len(out) > MaxAttributes:
		errs.Add(field, "must have at most "+strconv.Itoa(MaxAttributes)+" keys")
	case CompactSize(out) > MaxAttributesBytes:
		errs.Add(field, "must take at most "+strconv.Itoa(MaxAttributesBytes)+" bytes as compact JSON")
	}
	return out
}

// attributeProblems reports problems of single keys, up to a bound.
type attributeProblems struct {
	field string
	errs  FieldErrors
	n     int
}

func (p *attributeProblems) add(key, problem string) {
	p.n++
	if p.n > maxAttributeProblems {
		p.errs.Add(p.field, "has more bad keys than listed")
		return
	}
	p.errs.Add(AttributeField(p.field, key), problem)
}

// AttributeField names one key's field in errors: "attributes.city". A
// key too long to be valid is cut.
func AttributeField(field, key string) string {
	if len(key) > MaxAttributeKeyLen {
		cut := MaxAttributeKeyLen
		for cut > 0 && !utf8.RuneStart(key[cut]) {
			cut--
		}
		key = key[:cut] + "…"
	}
	return field + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// badAttributeKey is the rule of attribute keys, for messages.
const badAttributeKey = "must be 1 to 64 ASCII letters, digits or underscores, starting with a letter"

// ValidateAttributeKey checks an attribute key: 1–64 ASCII letters, digits
// and underscores, starting with a letter.
func ValidateAttributeKey(k string) string {
	if len(k) == 0 || len(k) > MaxAttributeKeyLen || !isASCIILetter(k[0]) {
		return badAttributeKey
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !isASCIILetter(c) && (c < '0' || c > '9') && c != '_' {
			return badAttributeKey
		}
	}
	return ""
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// badAttributeValue is the rule of attribute values, for messages.
const badAttributeValue = "must be a string, a number or a boolean"

// NormalizeAttributeValue checks an attribute value and returns it in its
// stored form: a string, a bool or a json.Number. Go numbers become
// json.Number; a number must be finite in float64, the precision readers
// of the values have.
func NormalizeAttributeValue(v any) (any, string) {
	switch x := v.(type) {
	case string:
		return x, checkAttributeString(x)
	case bool:
		return x, ""
	case json.Number:
		if !isJSONNumber(string(x)) {
			return nil, badAttributeValue
		}
		if f, err := strconv.ParseFloat(string(x), 64); err != nil || math.IsInf(f, 0) {
			return nil, "must be a number within the range of a 64-bit float"
		}
		return x, ""
	case float64:
		return floatNumber(x)
	case float32:
		return floatNumber(float64(x))
	case int:
		return json.Number(strconv.FormatInt(int64(x), 10)), ""
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10)), ""
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), ""
	case uint32:
		return json.Number(strconv.FormatUint(uint64(x), 10)), ""
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), ""
	}
	return nil, badAttributeValue
}

func floatNumber(f float64) (any, string) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, "must be a finite number"
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), ""
}

// checkAttributeString refuses what PostgreSQL's jsonb cannot hold (NUL)
// and bytes that are not text, which JSON would silently replace.
func checkAttributeString(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL characters"
	}
	return ""
}

// isJSONNumber reports whether s is a number in JSON's grammar (what
// strconv also accepts, such as "Inf", "0x10" or "1_0", is not).
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// CompactSize is the length in bytes of a's JSON encoding without spaces
// or HTML escaping — encoding/json's with SetEscapeHTML(false) — counted
// without encoding. a holds normalized values.
func CompactSize(a Attributes) int {
	n := 2 // {}
	for k, v := range a {
		n += quotedLen(k) + 1 // :
		switch x := v.(type) {
		case string:
			n += quotedLen(x)
		case bool:
			n += 4
			if !x {
				n++
			}
		case json.Number:
			n += len(x)
		default:
			b, _ := json.Marshal(x)
			n += len(b)
		}
	}
	if len(a) > 1 {
		n += len(a) - 1 // commas
	}
	return n
}

// quotedLen is the length of s as a JSON string, quotes included, as
// encoding/json writes it without HTML escaping.
func quotedLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20:
				n += 6 // \u00XX
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6 // \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// AttributeFilter selects customers by attributes: each key must hold one
// of its values (compared as JSON values: the string "30" is not the
// number 30). In JSON a key maps to one value or an array of them.
type AttributeFilter map[string][]any

// UnmarshalJSON reads {"city": "Kazan", "age": [30, 31]}, keeping numbers
// exact.
func (f *AttributeFilter) UnmarshalJSON(b []byte) error {
	var raw Attributes
	if err := raw.UnmarshalJSON(b); err != nil {
		return err
	}
	if raw == nil {
		*f = nil
		return nil
	}
	out := make(AttributeFilter, len(raw))
	for k, v := range raw {
		if list, ok := v.([]any); ok {
			out[k] = list
		} else {
			out[k] = []any{v}
		}
	}
	*f = out
	return nil
}

// MarshalJSON writes a key of one value as that value.
func (f AttributeFilter) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(f))
	for k, vs := range f {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	return json.Marshal(m)
}

// Validate checks the filter and normalizes its values in place; problems
// go to errs under field and field.<key>.
func (f AttributeFilter) Validate(field string, errs FieldErrors) {
	if len(f) > MaxAttributes {
		errs.Add(field, "must name at most "+strconv.Itoa(MaxAttributes)+" attributes")
		return
	}
	problems := attributeProblems{field: field, errs: errs}
	for _, k := range sortedKeys(f) {
		if p := ValidateAttributeKey(k); p != "" {
			problems.add(k, p)
			continue
		}
		vs := f[k]
		switch {
		case len(vs) == 0:
			problems.add(k, "must hold at least one value")
			continue
		case len(vs) > maxAttributeValues:
			problems.add(k, "must hold at most "+strconv.Itoa(maxAttributeValues)+" values")
			continue
		}
		for i, v := range vs {
			if v == nil {
				problems.add(k, badAttributeValue+", or a list of them")
				break
			}
			nv, p := NormalizeAttributeValue(v)
			if p != "" {
				if p == badAttributeValue {
					p += ", or a list of them"
				}
				problems.add(k, p)
				break
			}
			vs[i] = nv
		}
	}
}

// LooseAttributeValues are the values a filter written as text, such as a
// query parameter, matches: the string itself, and the number or boolean
// it reads as ("30" also matches 30, "true" also true), since text cannot
// tell them apart.
func LooseAttributeValues(s string) []any {
	switch {
	case s == "true":
		return []any{s, true}
	case s == "false":
		return []any{s, false}
	case isJSONNumber(s):
		if _, p := NormalizeAttributeValue(json.Number(s)); p == "" {
			return []any{s, json.Number(s)}
		}
	}
	return []any{s}
}
