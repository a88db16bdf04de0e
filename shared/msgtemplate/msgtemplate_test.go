package msgtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRender(t *testing.T) {
	attrs := map[string]any{
		"name":     "Анна",
		"city":     "Moscow",
		"discount": 15.0,
		"price":    1234.5,
		"big":      json.Number("12345678901234567890"),
		"ratio":    json.Number("0.250"),
		"whole":    json.Number("15.0"),
		"tiny":     1e-7,
		"huge":     1e21,
		"count":    3,
		"vip":      true,
		"optout":   false,
		"empty":    "",
		"null":     nil,
		"padded":   "  hello world \n",
		"shout":    "hELLO wORLD",
		"emoji":    "😀 party",
		"straße":   "x", // not a valid variable name: never looked up
		"long":     "Здравствуйте, дорогой друг",
		"ı":        "x",
		"dotless":  "ılık",
		"nested":   map[string]any{"a": 1.0},
		"list":     []any{"a", 2.0},
		"invalid":  "a\xffb",
	}
	tests := []struct {
		src     string
		want    string
		missing int
	}{
		{"", "", 0},
		{"Hello!", "Hello!", 0},
		{"Hello, {{name}}!", "Hello, Анна!", 0},
		{"Hello, {{ name }}!", "Hello, Анна!", 0},
		{"Hello, {{\tname\n}}!", "Hello, Анна!", 0},
		{"Hello, {{   name   |   upcase   }}!", "Hello, АННА!", 0},
		{"{{name}}{{city}}", "АннаMoscow", 0},
		{"{{ name }} и {{ name }}", "Анна и Анна", 0},

		// Missing values and defaults.
		{"Hello, {{ nobody }}!", "Hello, !", 1},
		{"Hello, {{ null }}!", "Hello, !", 1},
		{"Hello, {{ nobody | default: \"friend\" }}!", "Hello, friend!", 0},
		{"Hello, {{ nobody | default: 'friend' }}!", "Hello, friend!", 0},
		{"Hello, {{ null | default: \"friend\" }}!", "Hello, friend!", 0},
		{"Hello, {{ name | default: \"friend\" }}!", "Hello, Анна!", 0},
		{"{{ empty | default: \"none\" }}", "none", 0},
		{"{{ empty }}", "", 0}, // present, so not missing
		{"{{ optout | default: \"no\" }}", "no", 0},
		{"{{ optout }}", "false", 0},
		{"{{ discount | default: 0 }}", "15", 0},
		{"{{ nobody | default: 0 }}", "0", 0},
		{"{{ nobody | default: -2.50 }}", "-2.5", 0},
		{"{{ nobody | upcase | default: \"x\" }}", "x", 0},
		{"{{ nobody | append: \"!\" }}", "!", 1},
		{"{{ a }} {{ b }} {{ a }}", "  ", 3},

		// Values.
		{"{{ discount }}%", "15%", 0},
		{"{{ price }}", "1234.5", 0},
		{"{{ big }}", "12345678901234567890", 0},
		{"{{ ratio }}", "0.25", 0},
		{"{{ whole }}", "15", 0},
		{"{{ tiny }}", "1e-7", 0},
		{"{{ huge }}", "1e+21", 0},
		{"{{ count }}", "3", 0},
		{"{{ vip }}", "true", 0},
		{"{{ nested }}", `{"a":1}`, 0},
		{"{{ list }}", `["a",2]`, 0},
		{"{{ invalid | upcase }}", "A\xffB", 0},

		// Filters.
		{"{{ name | upcase }}", "АННА", 0},
		{"{{ name | downcase }}", "анна", 0},
		{"{{ city | upcase }}", "MOSCOW", 0},
		{"{{ city | downcase }}", "moscow", 0},
		{"{{ shout | capitalize }}", "Hello world", 0},
		{"{{ long | upcase | capitalize }}", "Здравствуйте, дорогой друг", 0},
		{"{{ dotless | upcase }}", "ILIK", 0},
		{"{{ dotless | capitalize }}", "Ilık", 0},
		{"{{ empty | capitalize }}", "", 0},
		{"[{{ padded | strip }}]", "[hello world]", 0},
		{"[{{ empty | strip }}]", "[]", 0},
		{"{{ long | truncate: 12 }}", "Здравству...", 0},
		{"{{ long | truncate: 13 }}", "Здравствуй...", 0},
		{"{{ long | truncate: 13, \"…\" }}", "Здравствуйте…", 0},
		{"{{ long | truncate: 12, \"\" }}", "Здравствуйте", 0},
		{"{{ long | truncate: 2 }}", "...", 0},
		{"{{ long | truncate: 0, \"\" }}", "", 0},
		{"{{ long | truncate: 100 }}", "Здравствуйте, дорогой друг", 0},
		{"{{ city | append: \"!\" }}", "Moscow!", 0},
		{"{{ city | prepend: \"in \" }}", "in Moscow", 0},
		{"{{ city | prepend: 'г. ' | append: \".\" | upcase }}", "Г. MOSCOW.", 0},
		{"{{ discount | append: \"%\" }}", "15%", 0},
		{"{{ discount | append: 5 }}", "155", 0},
		{"{{ emoji | upcase }}", "😀 PARTY", 0},
		{"{{ emoji | truncate: 4, \"\" }}", "😀 pa", 0},
		{"{{name|upcase|append:\"!\"}}", "АННА!", 0},

		// Literals, braces and white-space control.
		{`{{ "{{" }} name }}`, "{{ name }}", 0},
		{`{{ '{%' }} raw %}`, "{% raw %}", 0},
		{`{{ "x" | upcase }}`, "X", 0},
		{`{{ 42 }}`, "42", 0},
		{`{{ 007 }}`, "7", 0},
		{`{{ 1.50 }}`, "1.5", 0},
		{"a { b } c }} d {", "a { b } c }} d {", 0},
		{"{name}", "{name}", 0},
		{"Hello,   {{- name -}}  !", "Hello,Анна!", 0},
		{"a\n  {{- \"b\" -}}\n  c", "abc", 0},
		{"{{ name -}} {{- city }}", "АннаMoscow", 0},

		// Other scripts pass through.
		{"Привет, {{ name }}! 😀🇷🇺", "Привет, Анна! 😀🇷🇺", 0},
		{"日本語 {{ city }} עברית", "日本語 Moscow עברית", 0},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tpl, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, missing := tpl.Render(attrs, nil)
			if string(got) != tt.want || missing != tt.missing {
				t.Errorf("Render = %q, %d missing; want %q, %d", got, missing, tt.want, tt.missing)
			}
			// Render appends.
			got, _ = tpl.Render(attrs, []byte("prefix:"))
			if string(got) != "prefix:"+tt.want {
				t.Errorf("Render after a prefix = %q", got)
			}
		})
	}
}

func TestTypicalText(t *testing.T) {
	tpl, err := Parse(typical)
	if err != nil {
		t.Fatal(err)
	}
	got, missing := tpl.RenderString(map[string]any{"name": "Анна", "discount": 15.0, "city": "Казани"})
	if want := "Здравствуйте, Анна! Скидка 15% в Казани."; got != want || missing != 0 {
		t.Errorf("got %q, %d missing; want %q", got, missing, want)
	}
	got, missing = tpl.RenderString(map[string]any{"discount": json.Number("20")})
	if want := "Здравствуйте, клиент! Скидка 20% в ."; got != want || missing != 1 {
		t.Errorf("got %q, %d missing; want %q, 1 missing", got, missing, want)
	}
	if got, want := tpl.Variables(), []string{"name", "discount", "city"}; !slices.Equal(got, want) {
		t.Errorf("Variables = %q, want %q", got, want)
	}
	if tpl.Plain() || tpl.PlainText() != "" {
		t.Errorf("Plain = %v, PlainText = %q", tpl.Plain(), tpl.PlainText())
	}
}

func TestVariablesAndPlain(t *testing.T) {
	tests := []struct {
		src   string
		vars  []string
		plain string // PlainText of a plain template
	}{
		{"", nil, ""},
		{"Hello!", nil, "Hello!"},
		{`Use {{ "{{" }}code}} {{ "now" | upcase }}`, nil, "Use {{code}} NOW"},
		{"{{ a }}{{ b | default: 'x' }}{{ a | upcase }}", []string{"a", "b"}, ""},
	}
	for _, tt := range tests {
		tpl, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		if got := tpl.Variables(); !slices.Equal(got, tt.vars) {
			t.Errorf("Parse(%q).Variables() = %q, want %q", tt.src, got, tt.vars)
		}
		if got, want := tpl.Plain(), tt.vars == nil; got != want {
			t.Errorf("Parse(%q).Plain() = %v, want %v", tt.src, got, want)
		}
		if got := tpl.PlainText(); got != tt.plain {
			t.Errorf("Parse(%q).PlainText() = %q, want %q", tt.src, got, tt.plain)
		}
	}
	// The caller's copy is its own.
	tpl, _ := Parse("{{ a }}")
	tpl.Variables()[0] = "changed"
	if got := tpl.Variables()[0]; got != "a" {
		t.Errorf("Variables()[0] = %q after changing a copy", got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		src  string
		want string // Error()
		off  int
	}{
		{"Hello {{ name", `unclosed "{{" at line 1, column 7`, 6},
		{"Hello {{ name }", `unclosed "{{" at line 1, column 7`, 6},
		{"Hello {{", `unclosed "{{" at line 1, column 7`, 6},
		{"Hello {{ }}", "empty placeholder at line 1, column 7", 6},
		{"Hello {{}}", "empty placeholder at line 1, column 7", 6},
		{"Hello {{- -}}", "empty placeholder at line 1, column 7", 6},
		{"Hello, {{ x | foo }}", `unknown filter "foo" at line 1, column 15`, 14},
		{"Привет, {{ x | foo }}", `unknown filter "foo" at line 1, column 16`, 21},
		{"line one\nline two {{ x | Upcase }}", `unknown filter "Upcase" at line 2, column 17`, 25},
		{"a\r\nb {{ x | escape }}", `unknown filter "escape" at line 2, column 10`, 12},
		{"{% for c in customers %}{{ c }}{% endfor %}", `tags ("{% ... %}") are not supported, only {{ placeholders }} at line 1, column 1`, 0},
		{"Hi {%if vip%}VIP{%endif%}", `tags ("{% ... %}") are not supported, only {{ placeholders }} at line 1, column 4`, 3},
		{"{% assign x = 1 %}", `tags ("{% ... %}") are not supported, only {{ placeholders }} at line 1, column 1`, 0},
		{"{{ x | truncate }}", `filter "truncate" takes 1 to 2 arguments at line 1, column 8`, 7},
		{"{{ x | truncate: \"5\" }}", `filter "truncate" takes a whole number of characters from 0 to 1048576, not "5" at line 1, column 18`, 17},
		{"{{ x | truncate: 1.5 }}", `filter "truncate" takes a whole number of characters from 0 to 1048576, not 1.5 at line 1, column 18`, 17},
		{"{{ x | truncate: -1 }}", `filter "truncate" takes a whole number of characters from 0 to 1048576, not -1 at line 1, column 18`, 17},
		{"{{ x | truncate: 99999999 }}", `filter "truncate" takes a whole number of characters from 0 to 1048576, not 99999999 at line 1, column 18`, 17},
		{"{{ x | truncate: 5, '..', 'x' }}", `filter "truncate" takes at most 2 arguments at line 1, column 27`, 26},
		{"{{ x | truncate: }}", `unexpected '}', want an argument of filter "truncate" at line 1, column 18`, 17},
		{"{{ x | default }}", `filter "default" takes 1 argument at line 1, column 8`, 7},
		{"{{ x | default: y }}", `the argument of filter "default" must be a quoted string or a number, not a variable at line 1, column 17`, 16},
		{"{{ x | append: \"a\", \"b\" }}", `filter "append" takes at most 1 argument at line 1, column 21`, 20},
		{"{{ x | upcase: 1 }}", `filter "upcase" takes no arguments at line 1, column 8`, 7},
		{"{{ x | }}", `unexpected '}', want a filter name after "|" at line 1, column 8`, 7},
		{"{{ x || upcase }}", `unexpected '|', want a filter name after "|" at line 1, column 7`, 6},
		{"{{ x | default: \"a }}", `unterminated string at line 1, column 17`, 16},
		{"{{ x y }}", `unexpected 'y', want "|" or "}}" at line 1, column 6`, 5},
		{"{{ x, y }}", `unexpected ',', want "|" or "}}" at line 1, column 5`, 4},
		{"{{ user.name }}", `unexpected '.' after variable "user": names hold only letters, digits and "_" at line 1, column 8`, 7},
		{"{{ first-name }}", `unexpected '-' after variable "first": names hold only letters, digits and "_" at line 1, column 9`, 8},
		{"{{ items[0] }}", `unexpected '[' after variable "items": names hold only letters, digits and "_" at line 1, column 9`, 8},
		{"{{ имя }}", `unexpected 'и', want a variable name at line 1, column 4`, 3},
		{"{{ 1abc }}", `unexpected 'a', want the end of the number at line 1, column 5`, 4},
		{"{{ 1. }}", `unexpected ' ', want a digit after the decimal point at line 1, column 6`, 5},
		{"{{ 99999999999999999999 }}", `number 99999999999999999999 is out of range at line 1, column 4`, 3},
		{"{{{ name }}}", `unexpected '{', want a variable name at line 1, column 3`, 2},
		{"{{ a {{ b }} }}", `unexpected '{', want "|" or "}}" at line 1, column 6`, 5},
		{"ok {{ a }}\n\n  {{ b | nope }}", `unknown filter "nope" at line 3, column 10`, 21},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tpl, err := Parse(tt.src)
			if err == nil {
				t.Fatalf("Parse = %v, want an error", tpl)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is no *SyntaxError", err, err)
			}
			if err.Error() != tt.want || se.Offset != tt.off {
				t.Errorf("error %q at offset %d, want %q at %d", err, se.Offset, tt.want, tt.off)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	src := strings.Repeat("{{ a }}", MaxPlaceholders)
	if _, err := Parse(src); err != nil {
		t.Fatalf("%d placeholders: %v", MaxPlaceholders, err)
	}
	var se *SyntaxError
	if _, err := Parse(src + "{{ a }}"); !errors.As(err, &se) || se.Offset != len(src) {
		t.Errorf("%d placeholders: %v, want an error at offset %d", MaxPlaceholders+1, err, len(src))
	}
	chain := "{{ a" + strings.Repeat(" | upcase", MaxFilters) + " }}"
	if _, err := Parse(chain); err != nil {
		t.Fatalf("%d filters: %v", MaxFilters, err)
	}
	chain = "{{ a" + strings.Repeat(" | upcase", MaxFilters+1) + " }}"
	if _, err := Parse(chain); !errors.As(err, &se) || !strings.Contains(se.Msg, "filters") {
		t.Errorf("%d filters: %v, want an error", MaxFilters+1, err)
	}
	// Deep or long input is linear work, not an error.
	for _, src := range []string{
		strings.Repeat("{", 1<<16),
		strings.Repeat("}", 1<<16),
		strings.Repeat("{{", 1<<15),
		"{{ a | default: \"" + strings.Repeat("x", 1<<16) + "\" }}",
	} {
		_, _ = Parse(src)
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{0.0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1.0, "1"},
		{-15.0, "-15"},
		{0.1, "0.1"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{1.5e-7, "1.5e-7"},
		{0.000001, "0.000001"},
		{123456789.125, "123456789.125"},
		{float32(0.1), "0.1"},
		{json.Number("42"), "42"},
		{json.Number("-42"), "-42"},
		{json.Number("1.0"), "1"},
		{json.Number("1e3"), "1000"},
		{json.Number("1E-9"), "1e-9"},
		{int64(-7), "-7"},
		{uint8(7), "7"},
		{math.Inf(1), "+Inf"},
		{math.NaN(), "NaN"},
	}
	tpl, _ := Parse("{{ v }}")
	for _, tt := range tests {
		got, _ := tpl.RenderString(map[string]any{"v": tt.v})
		if got != tt.want {
			t.Errorf("%T %v renders as %q, want %q", tt.v, tt.v, got, tt.want)
		}
		// Where encoding/json can write the value, it writes the same.
		if f, ok := tt.v.(float64); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
			if j, _ := json.Marshal(f); string(j) != got {
				t.Errorf("%v: json writes %s, template %s", f, j, got)
			}
		}
	}
}

func TestRenderReusedBufferAllocs(t *testing.T) {
	tpl, err := Parse(`{{ name | default: "x" | upcase | capitalize | truncate: 8 | prepend: "» " | append: "!" | strip }} {{ discount }} {{ n }}`)
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]any{"name": "анна-мария", "discount": 15.5, "n": json.Number("3.0")}
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = tpl.Render(attrs, buf[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations a render into a reused buffer", allocs)
	}
	if want := "» Анна-...! 15.5 3"; string(buf) != want {
		t.Errorf("rendered %q, want %q", buf, want)
	}
}

func FuzzParseRender(f *testing.F) {
	for _, seed := range []string{
		typical, "", "plain", "{{", "}}", "{%", "{{ a }}", "{{- a -}}", "{{ a | truncate: 3, '' }}",
		`{{ "{{" }}`, "{{ a | default: 'x' | upcase | capitalize | strip | append: 1 | prepend: -2.5 }}",
		"{{ a | foo }}", "{% for %}", "{{ a.b }}", "\xff{{ a }}\xfe", "{{ 1e5 }}",
	} {
		f.Add(seed, "Анна 😀 \xff ", 15.5)
	}
	f.Fuzz(func(t *testing.T, src, s string, n float64) {
		tpl, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is no *SyntaxError", err, err)
			}
			if se.Offset < 0 || se.Offset > len(src) || se.Line < 1 || se.Column < 1 || se.Msg == "" {
				t.Fatalf("error %+v out of the source", se)
			}
			if want := 1 + strings.Count(src[:se.Offset], "\n"); se.Line != want {
				t.Fatalf("error line %d, want %d", se.Line, want)
			}
			return
		}
		vars := tpl.Variables()
		attrs := make(map[string]any, len(vars))
		for i, v := range vars {
			switch i % 4 {
			case 0:
				attrs[v] = s
			case 1:
				attrs[v] = n
			case 2:
				attrs[v] = i%8 == 2
			}
		}
		out, missing := tpl.Render(attrs, []byte("x"))
		if out[0] != 'x' {
			t.Fatalf("Render lost the buffer's start")
		}
		if missing < 0 || missing > len(src) {
			t.Fatalf("missing = %d", missing)
		}
		again, _ := tpl.Render(attrs, nil)
		if !bytes.Equal(out[1:], again) {
			t.Fatalf("renders differ: %q, %q", out[1:], again)
		}
		if tpl.Plain() {
			if string(again) != tpl.PlainText() {
				t.Fatalf("plain template renders %q, PlainText %q", again, tpl.PlainText())
			}
			if missing != 0 {
				t.Fatalf("plain template has %d missing", missing)
			}
		}
		// Valid UTF-8 in, valid UTF-8 out.
		if utf8.ValidString(src) && utf8.ValidString(s) && !utf8.Valid(again) {
			t.Fatalf("render of valid text is not UTF-8: %q", again)
		}
	})
}

const typical = `Здравствуйте, {{name | default: "клиент"}}! Скидка {{discount}}% в {{city}}.`

func BenchmarkRender(b *testing.B) {
	for _, bm := range []struct {
		name, src string
		attrs     map[string]any
	}{
		{"typical", typical, map[string]any{"name": "Анна", "discount": 15.0, "city": "Казани"}},
		{"typical-json-number", typical, map[string]any{"name": "Анна", "discount": json.Number("15"), "city": "Казани"}},
		{"typical-default", typical, map[string]any{"discount": 15.0, "city": "Казани"}},
		{"filters", `{{ name | upcase }}, {{ city | default: "?" | truncate: 5 }} {{ code | prepend: "#" }}`,
			map[string]any{"name": "Анна", "city": "Санкт-Петербург", "code": "A1"}},
		{"plain", "Здравствуйте! Скидка 15% на всё до воскресенья.", nil},
	} {
		tpl, err := Parse(bm.src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bm.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = tpl.Render(bm.attrs, buf[:0])
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(typical); err != nil {
			b.Fatal(err)
		}
	}
}
