// Package msgtemplate parses and renders personalised message texts such as
//
//	Hello, {{ name | default: "friend" }}! Your code is {{ code }}.
//
// The syntax is a small, logic-free subset of Liquid's output tags, parsed
// once per mailout and rendered once per message into a reused buffer.
//
// # Syntax
//
//   - Text outside placeholders is copied unchanged, whatever its script:
//     Cyrillic, emoji and lone "{" or "}" characters are plain text.
//   - A placeholder is "{{ expression }}" or "{{ expression | filter |
//     filter: argument, argument }}". Spaces, tabs and line breaks around
//     the parts are ignored.
//   - An expression is a variable name (ASCII letters, digits and "_", not
//     starting with a digit, matched case-sensitively against the keys of
//     the attributes) or a literal: a string in double or single quotes (no
//     escapes inside) or a number. Attributes are one flat object, so there
//     are no dotted names or indexes.
//   - "{{" always opens a placeholder. To write "{{" as text, output it as a
//     string literal: {{ "{{" }}. The same goes for "{%".
//   - "{{-" and "-}}" strip the white space before and after the
//     placeholder, as in Liquid.
//   - Tags ("{% ... %}": loops, conditions, assignments, includes) are not
//     part of the language: each is a syntax error.
//
// # Filters
//
// Filter arguments are literals only. The filters are Liquid's:
//
//   - default: "text" — the argument when the value is missing, null, false
//     or the empty string.
//   - upcase, downcase — Unicode upper or lower case.
//   - capitalize — the first character in title case, the rest lower case.
//   - strip — white space removed from both ends.
//   - truncate: n — at most n characters (code points), the last three of
//     them "..." when the value is cut; truncate: n, "…" ends a cut value
//     with the given text instead ("" for none).
//   - append: "text", prepend: "text" — text added after or before.
//
// Any other filter name is a syntax error.
//
// # Values
//
// Strings render as they are; numbers as JSON writes them (15, not 15.0;
// float64 and json.Number alike); booleans as true or false. A variable that
// is absent or null renders as the empty string and, unless a default filter
// follows it, counts as missing. Nested objects and arrays, which flat
// attributes should not hold, render as their JSON text.
//
// # Errors
//
// Parse reports the first problem as a *SyntaxError carrying its position,
// so that a caller can point at it. Parsing is linear in the source; the
// caller bounds the source's size, and Parse refuses more than
// MaxPlaceholders placeholders or MaxFilters filters in one placeholder.
// Neither Parse nor Render panics on any input.
//
// # Why hand-written
//
// github.com/osteele/liquid, a maintained Go Liquid engine, was weighed
// first. It parses an unknown filter and "{% for %}" without complaint
// (the filter fails only when rendered, with no position), so every tag
// and filter outside the subset would have to be refused on top of it, and
// it took about 3.5 µs and 33 allocations to render the typical text below.
// The subset is small enough that a direct parser into a compiled list of
// literal runs and placeholders is simpler than wrapping an engine, exact
// about positions, free of dependencies, and renders the typical text in a
// few hundred nanoseconds without allocating:
//
//	Здравствуйте, {{name | default: "клиент"}}! Скидка {{discount}}% в {{city}}.
package msgtemplate

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits Parse enforces.
const (
	MaxPlaceholders = 1024 // placeholders in one template
	MaxFilters      = 16   // filters in one placeholder
)

// SyntaxError is a problem in a template's source and where it is.
type SyntaxError struct {
	Msg    string // what is wrong, without the position
	Offset int    // byte offset in the source, from 0
	Line   int    // line, from 1
	Column int    // character (code point) within the line, from 1
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at line %d, column %d", e.Msg, e.Line, e.Column)
}

// Template is a parsed message template. It is safe for concurrent use.
type Template struct {
	parts []part
	vars  []string
}

// part is a run of literal text (name == "") or a placeholder.
type part struct {
	text       string
	name       string
	filters    []filter
	hasDefault bool
}

type filterKind uint8

const (
	fDefault filterKind = iota
	fUpcase
	fDowncase
	fCapitalize
	fStrip
	fTruncate
	fAppend
	fPrepend
)

// filterSpecs are the filters by name: their kind and how many arguments
// they take.
var filterSpecs = map[string]struct {
	kind             filterKind
	minArgs, maxArgs int
}{
	"default":    {fDefault, 1, 1},
	"upcase":     {fUpcase, 0, 0},
	"downcase":   {fDowncase, 0, 0},
	"capitalize": {fCapitalize, 0, 0},
	"strip":      {fStrip, 0, 0},
	"truncate":   {fTruncate, 1, 2},
	"append":     {fAppend, 1, 1},
	"prepend":    {fPrepend, 1, 1},
}

type filter struct {
	kind filterKind
	arg  string // default, append, prepend: the text; truncate: the ellipsis
	n    int    // truncate: the length in characters
}

// Variables returns the names of the variables the template uses, each
// once, in the order they first appear.
func (t *Template) Variables() []string {
	return append([]string(nil), t.vars...)
}

// Plain reports whether the template uses no variable: every rendering then
// gives PlainText, and a sender can skip rendering.
func (t *Template) Plain() bool { return len(t.vars) == 0 }

// PlainText is what every rendering of a plain template gives. For a
// template that uses variables it is "".
func (t *Template) PlainText() string {
	if !t.Plain() || len(t.parts) == 0 {
		return ""
	}
	return t.parts[0].text
}

// Render appends the text for attrs to buf and returns the extended buffer,
// and how many placeholders had their variable absent or null with no
// default filter to stand in. Rendering into a buffer reused from message to
// message does not allocate once the buffer has grown to fit.
func (t *Template) Render(attrs map[string]any, buf []byte) (out []byte, missing int) {
	for i := range t.parts {
		p := &t.parts[i]
		if p.name == "" {
			buf = append(buf, p.text...)
			continue
		}
		v := attrs[p.name]
		if v == nil && !p.hasDefault {
			missing++
		}
		buf = p.render(buf, v)
	}
	return buf, missing
}

// RenderString is Render into a new string.
func (t *Template) RenderString(attrs map[string]any) (text string, missing int) {
	out, missing := t.Render(attrs, nil)
	return string(out), missing
}

// render appends the placeholder's value v, through its filters, to buf.
func (p *part) render(buf []byte, v any) []byte {
	start := len(buf)
	// blank is Liquid's "falsy or empty" as default sees it: nil and false
	// here; an empty text is seen from the buffer.
	blank := v == nil || v == false
	if v != nil {
		buf = appendValue(buf, v)
	}
	for _, f := range p.filters {
		switch f.kind {
		case fDefault:
			if blank || len(buf) == start {
				buf = append(buf[:start], f.arg...)
			}
		case fUpcase:
			buf = mapTail(buf, start, unicode.ToUpper, upperASCII)
		case fDowncase:
			buf = mapTail(buf, start, unicode.ToLower, lowerASCII)
		case fCapitalize:
			buf = capitalizeTail(buf, start)
		case fStrip:
			buf = stripTail(buf, start)
		case fTruncate:
			buf = truncateTail(buf, start, f.n, f.arg)
		case fAppend:
			buf = append(buf, f.arg...)
		case fPrepend:
			end := len(buf)
			buf = append(buf, f.arg...)
			copy(buf[start+len(f.arg):], buf[start:end])
			copy(buf[start:], f.arg)
		}
		blank = false
	}
	return buf
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c - 'A' + 'a'
	}
	return c
}

// mapTail maps every character of buf[start:] through f, ASCII in place
// through ascii. Bytes that are not UTF-8 are kept as they are.
func mapTail(buf []byte, start int, f func(rune) rune, ascii func(byte) byte) []byte {
	i := start
	for ; i < len(buf) && buf[i] < utf8.RuneSelf; i++ {
		buf[i] = ascii(buf[i])
	}
	if i == len(buf) {
		return buf
	}
	// The mapped rest is built after the end, then moved into place.
	end := len(buf)
	for j := i; j < end; {
		r, size := utf8.DecodeRune(buf[j:end])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, buf[j])
		} else {
			buf = utf8.AppendRune(buf, f(r))
		}
		j += size
	}
	n := copy(buf[i:], buf[end:])
	return buf[:i+n]
}

// capitalizeTail puts the first character of buf[start:] in title case and
// the rest in lower case.
func capitalizeTail(buf []byte, start int) []byte {
	if start == len(buf) {
		return buf
	}
	r, size := utf8.DecodeRune(buf[start:])
	buf = mapTail(buf, start+size, unicode.ToLower, lowerASCII)
	if r == utf8.RuneError && size == 1 {
		return buf
	}
	t := unicode.ToTitle(r)
	if t == r {
		return buf
	}
	if utf8.RuneLen(t) == size {
		utf8.EncodeRune(buf[start:], t)
		return buf
	}
	end := len(buf)
	buf = utf8.AppendRune(buf, t)
	buf = append(buf, buf[start+size:end]...)
	n := copy(buf[start:], buf[end:])
	return buf[:start+n]
}

// stripTail removes white space from both ends of buf[start:].
func stripTail(buf []byte, start int) []byte {
	s := buf[start:]
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRune(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	j := len(s)
	for j > i {
		r, size := utf8.DecodeLastRune(s[i:j])
		if !unicode.IsSpace(r) {
			break
		}
		j -= size
	}
	n := copy(s, s[i:j])
	return buf[:start+n]
}

// truncateTail cuts buf[start:] to n characters, ellipsis included, when it
// is longer.
func truncateTail(buf []byte, start, n int, ellipsis string) []byte {
	if utf8.RuneCount(buf[start:]) <= n {
		return buf
	}
	keep := max(n-utf8.RuneCountInString(ellipsis), 0)
	i := start
	for ; keep > 0; keep-- {
		_, size := utf8.DecodeRune(buf[i:])
		i += size
	}
	return append(buf[:i], ellipsis...)
}

// appendValue appends v as text: strings as they are, numbers as JSON
// writes them, booleans as true or false.
func appendValue(buf []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return append(buf, v...)
	case float64:
		return appendFloat(buf, v, 64)
	case bool:
		return strconv.AppendBool(buf, v)
	case json.Number:
		return appendJSONNumber(buf, string(v))
	case int:
		return strconv.AppendInt(buf, int64(v), 10)
	case int64:
		return strconv.AppendInt(buf, v, 10)
	case int32:
		return strconv.AppendInt(buf, int64(v), 10)
	case uint:
		return strconv.AppendUint(buf, uint64(v), 10)
	case uint64:
		return strconv.AppendUint(buf, v, 10)
	case uint32:
		return strconv.AppendUint(buf, uint64(v), 10)
	case float32:
		return appendFloat(buf, float64(v), 32)
	}
	return appendOther(buf, v)
}

// appendFloat appends f the way encoding/json writes it: no exponent for
// magnitudes from 1e-6 up to 1e21, the shortest digits that read back as f.
func appendFloat(buf []byte, f float64, bits int) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 && (f != 0 || !math.Signbit(f)) {
		// A whole number: the common case, and quicker as an integer.
		return strconv.AppendInt(buf, int64(f), 10)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendFloat(buf, f, 'g', -1, bits)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
		bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, format, -1, bits)
	if format == 'e' {
		// 1e-07 becomes 1e-7.
		if n := len(buf) - start; n >= 4 && buf[len(buf)-4] == 'e' && buf[len(buf)-3] == '-' && buf[len(buf)-2] == '0' {
			buf[len(buf)-2] = buf[len(buf)-1]
			buf = buf[:len(buf)-1]
		}
	}
	return buf
}

// appendJSONNumber appends a number kept as its JSON text: an integer as it
// is written (it may not fit a float64), any other number as appendFloat
// writes it, so that 15.0 and 15 both become 15. Text that is not a number
// is appended as it is.
func appendJSONNumber(buf []byte, s string) []byte {
	digits := strings.TrimPrefix(s, "-")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		return append(buf, s...)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return append(buf, s...)
	}
	return appendFloat(buf, f, 64)
}

// appendOther appends a value flat attributes should not hold: objects and
// arrays as JSON, anything else as fmt prints it.
func appendOther(buf []byte, v any) []byte {
	switch v.(type) {
	case map[string]any, []any:
		if b, err := json.Marshal(v); err == nil {
			return append(buf, b...)
		}
	}
	return fmt.Append(buf, v)
}

// RenderJSON is Render with the attributes given as a JSON object (as the
// database keeps them); empty, {} or undecodable JSON renders as no
// attributes.
func (t *Template) RenderJSON(attrs []byte, buf []byte) (out []byte, missing int) {
	var m map[string]any
	if len(attrs) > 2 {
		_ = json.Unmarshal(attrs, &m)
	}
	return t.Render(m, buf)
}
