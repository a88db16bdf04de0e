package msgtemplate

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse parses a template's source. A problem is reported as a
// *SyntaxError.
func Parse(src string) (*Template, error) {
	p := parser{src: src}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return &Template{parts: p.parts, vars: p.vars}, nil
}

type parser struct {
	src      string
	pos      int
	parts    []part
	vars     []string
	tags     int
	trimNext bool // the last placeholder ended with "-}}"
}

// errorAt is a *SyntaxError at byte offset off.
func (p *parser) errorAt(off int, format string, args ...any) error {
	before := p.src[:off]
	line := 1 + strings.Count(before, "\n")
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return &SyntaxError{
		Msg:    fmt.Sprintf(format, args...),
		Offset: off,
		Line:   line,
		Column: 1 + utf8.RuneCountInString(before[lineStart:]),
	}
}

func (p *parser) parse() error {
	for p.pos < len(p.src) {
		// Literal text runs to the next "{{" or "{%".
		start, open := p.pos, len(p.src)
		for i := p.pos; ; {
			k := strings.IndexByte(p.src[i:], '{')
			if k < 0 {
				break
			}
			i += k
			if i+1 < len(p.src) && (p.src[i+1] == '{' || p.src[i+1] == '%') {
				open = i
				break
			}
			i++
		}
		text := p.src[start:open]
		if p.trimNext {
			text = strings.TrimLeftFunc(text, unicode.IsSpace)
			p.trimNext = false
		}
		if open+2 < len(p.src) && p.src[open+1] == '{' && p.src[open+2] == '-' {
			text = strings.TrimRightFunc(text, unicode.IsSpace)
		}
		p.addText(text)
		p.pos = open
		if open == len(p.src) {
			break
		}
		if err := p.placeholder(); err != nil {
			return err
		}
	}
	return nil
}

// addText appends literal text, joining it to literal text before it.
func (p *parser) addText(text string) {
	if text == "" {
		return
	}
	if n := len(p.parts); n > 0 && p.parts[n-1].name == "" {
		p.parts[n-1].text += text
		return
	}
	p.parts = append(p.parts, part{text: text})
}

// placeholder parses the "{{ ... }}" or refuses the "{% ... %}" at p.pos.
func (p *parser) placeholder() error {
	open := p.pos
	if p.src[open+1] == '%' {
		return p.errorAt(open, `tags ("{%% ... %%}") are not supported, only {{ placeholders }}`)
	}
	p.tags++
	if p.tags > MaxPlaceholders {
		return p.errorAt(open, "more than %d placeholders", MaxPlaceholders)
	}
	p.pos += 2
	if p.pos < len(p.src) && p.src[p.pos] == '-' {
		p.pos++
	}
	if !strings.Contains(p.src[p.pos:], "}}") {
		return p.errorAt(open, `unclosed "{{"`)
	}
	p.skipSpace()
	if p.closing() {
		return p.errorAt(open, "empty placeholder")
	}

	var pt part
	var literal string
	isLiteral := false
	switch c := p.peek(); {
	case isIdentStart(c):
		pt.name = p.ident()
		if c := p.peek(); c == '.' || c == '[' || c == '-' && !strings.HasPrefix(p.src[p.pos:], "-}}") {
			return p.errorAt(p.pos, `unexpected %q after variable %q: names hold only letters, digits and "_"`, c, pt.name)
		}
	case c == '"' || c == '\'' || c == '-' || isDigit(c):
		v, err := p.literal()
		if err != nil {
			return err
		}
		literal, isLiteral = v, true
	default:
		return p.unexpected("a variable name")
	}

	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return p.errorAt(open, `unclosed "{{"`)
		}
		if strings.HasPrefix(p.src[p.pos:], "-}}") {
			p.pos += 3
			p.trimNext = true
			break
		}
		if strings.HasPrefix(p.src[p.pos:], "}}") {
			p.pos += 2
			break
		}
		if p.src[p.pos] != '|' {
			return p.unexpected(`"|" or "}}"`)
		}
		bar := p.pos
		p.pos++
		if len(pt.filters) == MaxFilters {
			return p.errorAt(bar, "more than %d filters in one placeholder", MaxFilters)
		}
		f, err := p.filter()
		if err != nil {
			return err
		}
		if f.kind == fDefault {
			pt.hasDefault = true
		}
		pt.filters = append(pt.filters, f)
	}

	if isLiteral {
		// A literal's text is known now: it becomes literal text.
		p.addText(string(pt.render(nil, literal)))
		return nil
	}
	if len(pt.filters) == 0 {
		pt.filters = nil
	}
	p.parts = append(p.parts, pt)
	for _, v := range p.vars {
		if v == pt.name {
			return nil
		}
	}
	p.vars = append(p.vars, pt.name)
	return nil
}

// filter parses a filter's name and arguments after the "|".
func (p *parser) filter() (filter, error) {
	p.skipSpace()
	at := p.pos
	if !isIdentStart(p.peek()) {
		return filter{}, p.unexpected(`a filter name after "|"`)
	}
	name := p.ident()
	spec, ok := filterSpecs[name]
	if !ok {
		return filter{}, p.errorAt(at, "unknown filter %q", name)
	}
	var args []string
	var argAt, argEnd []int
	p.skipSpace()
	if p.peek() == ':' {
		p.pos++
		for {
			p.skipSpace()
			argAt = append(argAt, p.pos)
			switch c := p.peek(); {
			case c == '"' || c == '\'' || c == '-' || isDigit(c):
			case isIdentStart(c):
				return filter{}, p.errorAt(p.pos, "the argument of filter %q must be a quoted string or a number, not a variable", name)
			default:
				return filter{}, p.unexpected(fmt.Sprintf("an argument of filter %q", name))
			}
			arg, err := p.literal()
			if err != nil {
				return filter{}, err
			}
			args = append(args, arg)
			argEnd = append(argEnd, p.pos)
			p.skipSpace()
			if p.peek() != ',' {
				break
			}
			p.pos++
		}
	}
	switch {
	case len(args) < spec.minArgs && spec.minArgs == spec.maxArgs:
		return filter{}, p.errorAt(at, "filter %q takes %s", name, plural(spec.minArgs, "argument"))
	case len(args) < spec.minArgs:
		return filter{}, p.errorAt(at, "filter %q takes %d to %d arguments", name, spec.minArgs, spec.maxArgs)
	case len(args) > spec.maxArgs && spec.maxArgs == 0:
		return filter{}, p.errorAt(at, "filter %q takes no arguments", name)
	case len(args) > spec.maxArgs:
		return filter{}, p.errorAt(argAt[spec.maxArgs], "filter %q takes at most %s", name, plural(spec.maxArgs, "argument"))
	}
	f := filter{kind: spec.kind}
	switch spec.kind {
	case fTruncate:
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 || n > 1<<20 || !isDigit(p.src[argAt[0]]) {
			return filter{}, p.errorAt(argAt[0], "filter %q takes a whole number of characters from 0 to %d, not %s",
				name, 1<<20, p.src[argAt[0]:argEnd[0]])
		}
		f.n, f.arg = n, "..."
		if len(args) == 2 {
			f.arg = args[1]
		}
	case fDefault, fAppend, fPrepend:
		f.arg = args[0]
	}
	return f, nil
}

// literal parses a quoted string or a number and returns its text.
func (p *parser) literal() (string, error) {
	start := p.pos
	if q := p.src[p.pos]; q == '"' || q == '\'' {
		end := strings.IndexByte(p.src[p.pos+1:], q)
		if end < 0 {
			return "", p.errorAt(start, "unterminated string")
		}
		p.pos += end + 2
		return p.src[start+1 : p.pos-1], nil
	}
	if p.peek() == '-' {
		p.pos++
	}
	if !isDigit(p.peek()) {
		return "", p.unexpected("a number")
	}
	for isDigit(p.peek()) {
		p.pos++
	}
	isInt := true
	if p.peek() == '.' {
		isInt = false
		p.pos++
		if !isDigit(p.peek()) {
			return "", p.unexpected("a digit after the decimal point")
		}
		for isDigit(p.peek()) {
			p.pos++
		}
	}
	if isIdentStart(p.peek()) {
		return "", p.unexpected("the end of the number")
	}
	text := p.src[start:p.pos]
	if isInt {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return "", p.errorAt(start, "number %s is out of range", text)
		}
		return strconv.FormatInt(n, 10), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return "", p.errorAt(start, "number %s is out of range", text)
	}
	return string(appendFloat(nil, f, 64)), nil
}

// unexpected is an error at p.pos for what is there instead of want.
func (p *parser) unexpected(want string) error {
	if p.pos >= len(p.src) {
		return p.errorAt(p.pos, "unexpected end of text, want %s", want)
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return p.errorAt(p.pos, "unexpected %q, want %s", r, want)
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// closing reports whether the placeholder ends at p.pos.
func (p *parser) closing() bool {
	rest := p.src[p.pos:]
	return strings.HasPrefix(rest, "}}") || strings.HasPrefix(rest, "-}}")
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && (isIdentStart(p.src[p.pos]) || isDigit(p.src[p.pos])) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
