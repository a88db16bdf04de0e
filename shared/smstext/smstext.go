// Package smstext tells how an SMS text is encoded and how many segments
// (billable message parts) it takes.
//
// Rules:
//
//   - A text is GSM-7 when every character is in the GSM 03.38 default
//     alphabet or its extension table; otherwise it is UCS-2. One character
//     outside both, such as a single Cyrillic letter or an emoji, makes the
//     whole text UCS-2.
//   - GSM-7 units are septets: a default-alphabet character takes one, an
//     extension-table character (form feed ^ { } \ [ ~ ] | €) takes two, an
//     escape and the character itself.
//   - UCS-2 units are UTF-16 code units: a character outside the Basic
//     Multilingual Plane (most emoji) takes two, a surrogate pair.
//   - A text that fits one part (160 septets, or 70 UCS-2 units) is one
//     segment. A longer one is sent in parts of at most 153 septets or 67
//     units each, the rest of each part being taken by the concatenation
//     header.
//   - A character is never split across two parts: a two-septet extension
//     character or a surrogate pair that would straddle the end of a part
//     moves whole to the next one, so segments are counted by walking the
//     characters, not by dividing.
//   - The empty text is 0 units and 0 segments: there is nothing to send.
//     It is reported as GSM-7.
//   - The escape control character U+001B is not a character of the
//     alphabet (it only introduces the extension table), so a text holding
//     one is UCS-2. Bytes that are not valid UTF-8 count as U+FFFD each,
//     which makes the text UCS-2 too.
package smstext

import "unicode/utf8"

// Encodings reported in Segments.Encoding.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Part sizes, in units of the encoding.
const (
	GSM7Single = 160 // septets in a one-part GSM-7 message
	GSM7Multi  = 153 // septets in each part of a multipart GSM-7 message
	UCS2Single = 70  // UTF-16 code units in a one-part UCS-2 message
	UCS2Multi  = 67  // UTF-16 code units in each part of a multipart UCS-2 message
)

// Segments is what Count finds for one text.
type Segments struct {
	Encoding   string `json:"encoding"`    // GSM7 or UCS2
	Units      int    `json:"units"`       // septets for GSM-7, UTF-16 code units for UCS-2
	Segments   int    `json:"segments"`    // parts the text is sent in; 0 for the empty text
	PerSegment int    `json:"per_segment"` // units one part of this text can hold
}

// asciiWidth is the septet width of each ASCII character: 1 for the default
// alphabet, 2 for the extension table, 0 for one outside both.
var asciiWidth = func() (w [utf8.RuneSelf]uint8) {
	for c := ' '; c <= '~'; c++ {
		w[c] = 1
	}
	w['`'] = 0
	for _, c := range "\f^{}\\[~]|" {
		w[c] = 2
	}
	w['\n'], w['\r'] = 1, 1
	return w
}()

// gsmWidth is the septet width of r in GSM-7: 1 for the default alphabet, 2
// for the extension table, 0 for a character outside both.
func gsmWidth(r rune) int {
	if r < utf8.RuneSelf {
		return int(asciiWidth[r])
	}
	switch r {
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å',
		'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 'Æ', 'æ', 'ß', 'É',
		'¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§', '¿', 'ä', 'ö', 'ñ', 'ü', 'à':
		return 1
	case '€':
		return 2
	}
	return 0
}

// Count tells how text is encoded and how many segments it takes.
func Count(text string) Segments {
	// One pass finds the encoding and both unit counts. Only a multipart
	// text that holds a two-unit character needs a second, walking pass:
	// otherwise the parts are full and dividing is exact.
	gsm := true
	var septets, units, wide, pairs int
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			w := asciiWidth[c]
			if w == 0 {
				gsm = false
			}
			septets += int(w)
			wide += int(w >> 1)
			units++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		units++
		if r > 0xFFFF {
			units++
			pairs++
		}
		if gsm {
			switch gsmWidth(r) {
			case 0:
				gsm = false
			case 1:
				septets++
			case 2:
				septets += 2
				wide++
			}
		}
	}
	if gsm {
		s := Segments{Encoding: GSM7, Units: septets, PerSegment: GSM7Single}
		switch {
		case septets == 0:
		case septets <= GSM7Single:
			s.Segments = 1
		case wide == 0:
			s.Segments, s.PerSegment = ceilDiv(septets, GSM7Multi), GSM7Multi
		default:
			s.Segments, s.PerSegment = walkGSM7(text), GSM7Multi
		}
		return s
	}
	s := Segments{Encoding: UCS2, Units: units, PerSegment: UCS2Single}
	switch {
	case units <= UCS2Single:
		s.Segments = 1 // a UCS-2 text has at least one character
	case pairs == 0:
		s.Segments, s.PerSegment = ceilDiv(units, UCS2Multi), UCS2Multi
	default:
		s.Segments, s.PerSegment = walkUCS2(text), UCS2Multi
	}
	return s
}

func ceilDiv(n, d int) int { return (n + d - 1) / d }

// walkGSM7 counts the parts of at most GSM7Multi septets that a GSM-7 text
// fills when no extension character may be split across two parts.
func walkGSM7(text string) int {
	parts, used := 1, 0
	for _, r := range text {
		w := gsmWidth(r)
		if used+w > GSM7Multi {
			parts++
			used = 0
		}
		used += w
	}
	return parts
}

// walkUCS2 counts the parts of at most UCS2Multi code units that a text
// fills when no surrogate pair may be split across two parts.
func walkUCS2(text string) int {
	parts, used := 1, 0
	for _, r := range text {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if used+w > UCS2Multi {
			parts++
			used = 0
		}
		used += w
	}
	return parts
}
