package smstext

import (
	"strings"
	"testing"
	"unicode/utf16"
)

func TestCount(t *testing.T) {
	r := strings.Repeat
	tests := []struct {
		name string
		text string
		want Segments
	}{
		{"empty", "", Segments{GSM7, 0, 0, 160}},
		{"one letter", "a", Segments{GSM7, 1, 1, 160}},
		{"latin 160", r("a", 160), Segments{GSM7, 160, 1, 160}},
		{"latin 161", r("a", 161), Segments{GSM7, 161, 2, 153}},
		{"latin 306", r("a", 306), Segments{GSM7, 306, 2, 153}},
		{"latin 307", r("a", 307), Segments{GSM7, 307, 3, 153}},
		{"latin 459", r("a", 459), Segments{GSM7, 459, 3, 153}},
		{"latin 460", r("a", 460), Segments{GSM7, 460, 4, 153}},
		{"euro", "€", Segments{GSM7, 2, 1, 160}},
		{"price", "Price: 5€ [sale] {today} ~50% off | a^b \\o/", Segments{GSM7, 52, 1, 160}},
		{"form feed", "a\fb", Segments{GSM7, 4, 1, 160}},
		{"newlines", "a\nb\r\n", Segments{GSM7, 5, 1, 160}},
		{"80 euros", r("€", 80), Segments{GSM7, 160, 1, 160}},
		{"159 latin and a euro", r("a", 159) + "€", Segments{GSM7, 161, 2, 153}},
		// 76 euros fill 152 septets of a part; the 77th does not fit the
		// one septet left and opens the second part.
		{"81 euros", r("€", 81), Segments{GSM7, 162, 2, 153}},
		{"153 euros", r("€", 153), Segments{GSM7, 306, 3, 153}},
		// 306 septets would divide into two parts, but the euro cannot
		// straddle the boundary after septet 153.
		{"extension straddles the boundary", r("a", 152) + "€" + r("a", 152), Segments{GSM7, 306, 3, 153}},
		{"extension ends the part", r("a", 151) + "€" + r("a", 153), Segments{GSM7, 306, 2, 153}},
		{"extension opens the part", r("a", 153) + "€" + r("a", 151), Segments{GSM7, 306, 2, 153}},
		{"default alphabet accents", "Ça va? Øre, Åse, Æble, ßeta, Élan, ¿¡ñÑüÜäÄöÖà§¤£¥èéùìòøåæ", Segments{GSM7, 58, 1, 160}},
		{"greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", Segments{GSM7, 10, 1, 160}},
		{"backtick", "`", Segments{UCS2, 1, 1, 70}},
		{"lowercase c cedilla", "ç", Segments{UCS2, 1, 1, 70}},
		{"greek lowercase", "α", Segments{UCS2, 1, 1, 70}},
		{"escape control", "a\x1bb", Segments{UCS2, 3, 1, 70}},
		{"tab", "a\tb", Segments{UCS2, 3, 1, 70}},
		{"invalid utf-8", "a\xffb", Segments{UCS2, 3, 1, 70}},
		{"cyrillic", "Привет", Segments{UCS2, 6, 1, 70}},
		{"cyrillic 70", r("я", 70), Segments{UCS2, 70, 1, 70}},
		{"cyrillic 71", r("я", 71), Segments{UCS2, 71, 2, 67}},
		{"cyrillic 134", r("я", 134), Segments{UCS2, 134, 2, 67}},
		{"cyrillic 135", r("я", 135), Segments{UCS2, 135, 3, 67}},
		{"latin with one cyrillic letter", "Hello Ж", Segments{UCS2, 7, 1, 70}},
		{"latin 100 with one cyrillic letter", r("a", 99) + "Ж", Segments{UCS2, 100, 2, 67}},
		{"euro in ucs-2 is one unit", "€Ж", Segments{UCS2, 2, 1, 70}},
		{"emoji", "😀", Segments{UCS2, 2, 1, 70}},
		{"emoji in latin", "Hi 😀", Segments{UCS2, 5, 1, 70}},
		{"35 emoji", r("😀", 35), Segments{UCS2, 70, 1, 70}},
		// 33 emoji fill 66 units of a part; the 34th does not fit the one
		// unit left.
		{"36 emoji", r("😀", 36), Segments{UCS2, 72, 2, 67}},
		{"67 emoji", r("😀", 67), Segments{UCS2, 134, 3, 67}},
		{"surrogate pair straddles the boundary", r("я", 66) + "😀" + r("я", 66), Segments{UCS2, 134, 3, 67}},
		{"surrogate pair ends the part", r("я", 65) + "😀" + r("я", 67), Segments{UCS2, 134, 2, 67}},
		{"bmp symbol", "☺", Segments{UCS2, 1, 1, 70}},
		{"flag", "🇷🇺", Segments{UCS2, 4, 1, 70}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Count(tt.text); got != tt.want {
				t.Errorf("Count = %+v, want %+v", got, tt.want)
			}
			if got := referenceCount(tt.text); got != tt.want {
				t.Errorf("referenceCount = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// gsmDefault is the GSM 03.38 default alphabet in code order; the escape at
// 0x1B stands for no character.
var gsmDefault = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExtension is the GSM 03.38 extension table: character to its code
// after the escape.
var gsmExtension = map[rune]byte{
	'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F,
	'[': 0x3C, '~': 0x3D, ']': 0x3E, '|': 0x40, '€': 0x65,
}

// encodeGSM7 encodes text into septets, or reports that it cannot.
func encodeGSM7(text string) ([]byte, bool) {
	codes := make(map[rune]byte, len(gsmDefault))
	for code, r := range gsmDefault {
		if code != 0x1B {
			codes[r] = byte(code)
		}
	}
	var septets []byte
	for _, r := range text {
		if code, ok := codes[r]; ok {
			septets = append(septets, code)
		} else if code, ok := gsmExtension[r]; ok {
			septets = append(septets, 0x1B, code)
		} else {
			return nil, false
		}
	}
	return septets, true
}

// split cuts units into parts of at most per, shortening a part by one
// where its last unit would start a character that ends in the next part.
func split[T any](units []T, per int, opens func(T) bool) int {
	parts := 0
	for len(units) > 0 {
		n := min(per, len(units))
		if n < len(units) && opens(units[n-1]) {
			n--
		}
		units = units[n:]
		parts++
	}
	return parts
}

// referenceCount is a slow Count that really encodes the text and cuts the
// encoded units into parts.
func referenceCount(text string) Segments {
	if septets, ok := encodeGSM7(text); ok {
		s := Segments{Encoding: GSM7, Units: len(septets), PerSegment: 160}
		if len(septets) > 160 {
			s.PerSegment = 153
		}
		s.Segments = split(septets, s.PerSegment, func(b byte) bool { return b == 0x1B })
		return s
	}
	units := utf16.Encode([]rune(text))
	s := Segments{Encoding: UCS2, Units: len(units), PerSegment: 70}
	if len(units) > 70 {
		s.PerSegment = 67
	}
	s.Segments = split(units, s.PerSegment, func(u uint16) bool { return 0xD800 <= u && u < 0xDC00 })
	return s
}

func FuzzCount(f *testing.F) {
	for _, seed := range []string{
		"", "a", "€", "Привет", "😀", "a\x1b", "\xff\xfe",
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("я", 66) + "😀" + strings.Repeat("я", 66),
		strings.Repeat("[]", 100),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, want := Count(text), referenceCount(text)
		if got != want {
			t.Fatalf("Count(%q) = %+v, reference %+v", text, got, want)
		}
	})
}

// TestAlphabet checks every character of the tables, one at a time.
func TestAlphabet(t *testing.T) {
	for code, r := range gsmDefault {
		if code == 0x1B {
			continue
		}
		if got := Count(string(r)); got != (Segments{GSM7, 1, 1, 160}) {
			t.Errorf("Count(%q) = %+v, want one septet", r, got)
		}
	}
	for r := range gsmExtension {
		if got := Count(string(r)); got != (Segments{GSM7, 2, 1, 160}) {
			t.Errorf("Count(%q) = %+v, want two septets", r, got)
		}
	}
	// Nothing else below U+0400 is GSM-7.
	for r := rune(0); r < 0x400; r++ {
		_, ext := gsmExtension[r]
		if ext || (r != 0x1B && strings.ContainsRune(string(gsmDefault[:]), r)) {
			continue
		}
		if got := Count(string(r)); got.Encoding != UCS2 {
			t.Errorf("Count(%q) = %+v, want UCS-2", r, got)
		}
	}
}

func BenchmarkCount(b *testing.B) {
	for _, bm := range []struct{ name, text string }{
		{"gsm7-short", "Your code is 4821. Do not share it."},
		{"gsm7-160", strings.Repeat("Sale -20% {today} ", 9)[:160]},
		{"gsm7-400", strings.Repeat("Hello, world! ", 29)[:400]},
		{"ucs2-short", "Здравствуйте, Анна! Скидка 15% в Москве."},
		{"ucs2-300", strings.Repeat("Скидка 15% 😀 ", 25)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.text)))
			for b.Loop() {
				Count(bm.text)
			}
		})
	}
}
