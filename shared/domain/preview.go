package domain

import (
	"cmp"
	"fmt"
	"time"
	"unicode/utf8"

	"mailing/shared/msgtemplate"
	"mailing/shared/smstext"
)

// Samples of a mailout preview.
const (
	DefaultPreviewSamples = 10
	MaxPreviewSamples     = 50
)

// PreviewInput is a draft mailout to preview, as a client gives it: the
// fields of a mailout that decide who gets what, how many customers to
// render it for, and the moment of the send-window count. Nil means not
// given.
type PreviewInput struct {
	Text       *string
	SendWindow *SendWindow
	Tags       *[]string
	PhoneCodes *[]string
	Samples    *int
	At         *time.Time
}

// PreviewDraft is a validated PreviewInput, its text parsed once.
type PreviewDraft struct {
	Template   *msgtemplate.Template
	Text       string
	Filter     Filter
	SendWindow *SendWindow
	Samples    int
	At         time.Time
}

// Draft validates in: text and filter as a mailout's (MailoutInput), samples
// from 1 to MaxPreviewSamples (DefaultPreviewSamples when not given), at
// now when not given. Problems go to errs, which may already hold the
// caller's own (a window or a time that did not parse), and come back as
// one error.
func (in PreviewInput) Draft(now time.Time, errs FieldErrors) (PreviewDraft, error) {
	d := PreviewDraft{SendWindow: in.SendWindow, Samples: DefaultPreviewSamples, At: now.UTC()}
	if in.Text == nil {
		errs.Add("text", "is required")
	} else {
		d.Text = *in.Text
		d.Template = checkText(d.Text, errs)
	}
	// The filter normalises as a mailout's does; an absent list does not
	// restrict.
	d.Filter = Filter{
		Tags:       NormalizeTags("filter.tags", derefList(in.Tags), errs),
		PhoneCodes: normalizeCodes("filter.phone_codes", derefList(in.PhoneCodes), errs),
	}
	if in.Samples != nil {
		if *in.Samples < 1 || *in.Samples > MaxPreviewSamples {
			errs.Add("samples", fmt.Sprintf("must be an integer from 1 to %d", MaxPreviewSamples))
		}
		d.Samples = *in.Samples
	}
	if in.At != nil {
		d.At = in.At.UTC()
	}
	if err := errs.Err(); err != nil {
		return PreviewDraft{}, err
	}
	return d, nil
}

func derefList(p *[]string) []string {
	if p == nil {
		return nil
	}
	return *p
}

// AudienceQuery asks the store about a filter's audience as it is now.
type AudienceQuery struct {
	Filter Filter
	// ByZone asks for the audience counted per time zone as well.
	ByZone bool
	// Samples is how many of the audience to return, lowest ids first.
	Samples int
}

// Audience is what the store tells of an AudienceQuery's audience.
type Audience struct {
	Count int64
	// ByZone counts the audience per IANA zone, zones without any left
	// out; nil unless asked for.
	ByZone map[string]int64
	// Samples are the first customers by id, with ID, Phone, Timezone and
	// Attributes set.
	Samples []Customer
}

// Preview is what a draft mailout would do now: whom it reaches, how many
// of them the send window lets through at At, and what its text becomes
// for some of them.
type Preview struct {
	// The moment of in_window_now.
	At time.Time `json:"at"`
	// Customers matching the filter now.
	Audience int64 `json:"audience" example:"1250"`
	// Of the audience, customers inside the send window at that moment in
	// their own time zone; null without a window.
	InWindowNow *int64          `json:"in_window_now" example:"800"`
	Template    PreviewTemplate `json:"template"`
	// The first matching customers by id, the text rendered for each.
	Samples []PreviewSample `json:"samples"`
	// The sample whose text takes the most segments (of those, the most
	// characters); null without samples.
	Longest *PreviewLongest `json:"longest"`
	// How many samples had a placeholder with no value and no default.
	MissingAttributes int `json:"missing_attributes" example:"1"`
}

// PreviewTemplate describes the text as written.
type PreviewTemplate struct {
	// The encoding and segments of the text as written, placeholders
	// included.
	SMS smstext.Segments `json:"sms"`
	// The variables the placeholders use, each once, in order.
	Variables []string `json:"variables" example:"name"`
	// No placeholders: every customer gets the text as written.
	Plain bool `json:"plain" example:"false"`
}

// PreviewSample is the text one customer would get.
type PreviewSample struct {
	CustomerID int64      `json:"customer_id" example:"42"`
	Phone      string     `json:"phone" example:"79161234567"`
	Timezone   string     `json:"timezone" example:"Europe/Moscow"`
	Attributes Attributes `json:"attributes" swaggertype:"object"`
	// The text rendered with the customer's attributes.
	Text string           `json:"text" example:"Hello, Anna!"`
	SMS  smstext.Segments `json:"sms"`
	// Variables used without a default that the customer has no value
	// for: they rendered empty.
	MissingAttributes []string `json:"missing_attributes" example:"city"`
}

// PreviewLongest is the costliest sample's SMS figures.
type PreviewLongest struct {
	CustomerID int64            `json:"customer_id" example:"42"`
	SMS        smstext.Segments `json:"sms"`
}

// Preview builds the answer from the store's view of the audience: the
// window count from the counts per zone (zone gives each zone's location),
// and the samples rendered with the template parsed once.
func (d PreviewDraft) Preview(a Audience, zone func(name string) *time.Location) Preview {
	p := Preview{
		At: d.At, Audience: a.Count, Samples: make([]PreviewSample, 0, len(a.Samples)),
		Template: PreviewTemplate{SMS: smstext.Count(d.Text), Variables: d.Template.Variables(), Plain: d.Template.Plain()},
	}
	if p.Template.Variables == nil {
		p.Template.Variables = []string{}
	}
	if d.SendWindow != nil {
		var in int64
		for name, n := range a.ByZone {
			if d.SendWindow.OpenAt(d.At, zone(name)) {
				in += n
			}
		}
		p.InWindowNow = &in
	}
	var buf []byte
	longest, longestLen := -1, 0
	for _, c := range a.Samples {
		attrs := c.Attributes
		if attrs == nil {
			attrs = Attributes{}
		}
		buf, _ = d.Template.Render(attrs, buf[:0])
		s := PreviewSample{
			CustomerID: c.ID, Phone: c.Phone, Timezone: c.Timezone, Attributes: attrs,
			Text: string(buf), SMS: smstext.Count(string(buf)), MissingAttributes: d.Template.Missing(attrs),
		}
		if s.MissingAttributes == nil {
			s.MissingAttributes = []string{}
		} else {
			p.MissingAttributes++
		}
		n := utf8.RuneCount(buf)
		if longest < 0 || cmp.Or(cmp.Compare(s.SMS.Segments, p.Samples[longest].SMS.Segments), cmp.Compare(n, longestLen)) > 0 {
			longest, longestLen = len(p.Samples), n
		}
		p.Samples = append(p.Samples, s)
	}
	if longest >= 0 {
		p.Longest = &PreviewLongest{CustomerID: p.Samples[longest].CustomerID, SMS: p.Samples[longest].SMS}
	}
	return p
}
