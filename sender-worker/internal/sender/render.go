package sender

import (
	"sync"

	"mailing/shared/domain"
	"mailing/shared/msgtemplate"
)

// texts renders mailout texts: each mailout's template is parsed once and
// kept, so a message costs a render, not a parse. A running mailout's text
// cannot change, but the cache compares it anyway, so a reused id or a
// text edited before the start never renders a stale template.
type texts struct {
	byMailout sync.Map // int64 → *parsedText
}

type parsedText struct {
	src  string
	tmpl *msgtemplate.Template // nil: send src as it is
}

// render returns the text to send to the message's customer and how many
// placeholders had no value and no default.
func (t *texts) render(job *domain.ClaimedMessage) (string, int) {
	p := t.parsed(job.MailoutID, job.Text)
	if p.tmpl == nil || p.tmpl.Plain() {
		return p.src, 0
	}
	out, missing := p.tmpl.RenderJSON(job.Attributes, nil)
	return string(out), missing
}

func (t *texts) parsed(mailoutID int64, src string) *parsedText {
	if v, ok := t.byMailout.Load(mailoutID); ok {
		if p := v.(*parsedText); p.src == src {
			return p
		}
	}
	p := &parsedText{src: src}
	// Texts are validated as templates when written; one that is not (it
	// predates templates) is sent as it is.
	if tmpl, err := msgtemplate.Parse(src); err == nil {
		p.tmpl = tmpl
	}
	t.byMailout.Store(mailoutID, p)
	return p
}

// forget drops the templates of mailouts that are over.
func (t *texts) forget(mailoutIDs []int64) {
	for _, id := range mailoutIDs {
		t.byMailout.Delete(id)
	}
}
