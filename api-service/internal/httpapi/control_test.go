package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailing/shared/domain"
)

// Pause, resume and retry through the API: the transitions, their
// refusals, the events they leave for the planner, and their audit trail.
func TestMailoutPauseResumeRetry(t *testing.T) {
	b := setup(t)
	mid, ids := b.runningMailout(4)
	path := fmt.Sprintf("/api/mailouts/%d", mid)

	wantError(t, b.must(http.StatusConflict, "POST", path+"/resume", nil), "conflict")
	paused := b.must(http.StatusOK, "POST", path+"/pause", nil)
	if paused["status"] != "paused" {
		t.Fatalf("pause: %v", paused)
	}
	wantError(t, b.must(http.StatusConflict, "POST", path+"/pause", nil), "conflict")
	// The end may still move while paused; nothing else.
	b.must(http.StatusOK, "PATCH", path, map[string]any{"end_at": at(72 * time.Hour)})
	wantError(t, b.must(http.StatusConflict, "PATCH", path, map[string]any{"text": "changed"}), "conflict")

	// Two failed messages, one sent, one still pending.
	b.exec(`UPDATE messages SET status = 'failed', reason = 'http_5xx', attempts = 3, last_error = 'http_5xx (HTTP 500)' WHERE id = ANY($1)`, ids[:2])
	b.exec(`UPDATE messages SET status = 'sent', attempts = 1 WHERE id = $1`, ids[2])
	wantError(t, b.must(http.StatusBadRequest, "POST", path+"/retry", map[string]any{"statuses": []string{"sent"}}), "invalid")
	wantError(t, b.must(http.StatusBadRequest, "POST", path+"/retry", map[string]any{"statuses": "failed"}), "invalid")
	res := b.must(http.StatusOK, "POST", path+"/retry", map[string]any{"reasons": []string{"http_5xx"}})
	if res["requeued"] != float64(2) || res["mailout"].(map[string]any)["status"] != "paused" {
		t.Fatalf("retry while paused: %v", res)
	}
	msg := b.must(http.StatusOK, "GET", fmt.Sprintf("/api/messages/%d", ids[0]), nil)
	if msg["status"] != "pending" || msg["attempts"] != float64(3) || msg["last_error"] != "http_5xx (HTTP 500)" {
		t.Fatalf("a retried message keeps its history: %v", msg)
	}
	if res := b.must(http.StatusOK, "POST", path+"/retry", nil); res["requeued"] != float64(0) {
		t.Fatalf("a second retry: %v", res)
	}

	resumed := b.must(http.StatusOK, "POST", path+"/resume", nil)
	if resumed["status"] != "running" {
		t.Fatalf("resume: %v", resumed)
	}
	var topics []string
	for _, e := range b.mailoutEvents(mid) {
		topics = append(topics, e.Topic)
	}
	if got := fmt.Sprint(topics); got != "[mailout.start mailout.dispatch mailout.dispatch]" {
		t.Errorf("outbox events %s: want the create's start, then a dispatch for the retry and the resume", got)
	}
	var parked int
	if err := b.db.SQL().QueryRow(`SELECT count(*) FROM messages WHERE mailout_id = $1 AND parked`, mid).Scan(&parked); err != nil || parked != 2 {
		t.Errorf("parked messages: %d %v, want the 2 retried", parked, err)
	}

	// Cancel works from paused; a cancelled mailout neither resumes nor
	// retries.
	b.must(http.StatusOK, "POST", path+"/pause", nil)
	b.must(http.StatusOK, "POST", path+"/cancel", nil)
	wantError(t, b.must(http.StatusConflict, "POST", path+"/resume", nil), "conflict")
	wantError(t, b.must(http.StatusConflict, "POST", path+"/retry", nil), "conflict")
	b.must(http.StatusNotFound, "POST", "/api/mailouts/999999/pause", nil)

	var actions []string
	for _, e := range items(t, b.must(http.StatusOK, "GET", fmt.Sprintf("/api/audit?object_type=mailout&object_id=%d", mid), nil)) {
		actions = append(actions, e["action"].(string))
	}
	want := []string{domain.AuditMailoutCreated, domain.AuditMailoutPaused, domain.AuditMailoutUpdated, domain.AuditMailoutRetried,
		domain.AuditMailoutResumed, domain.AuditMailoutPaused, domain.AuditMailoutCancelled}
	if fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
}

// A scheduled mailout paused and resumed is scheduled again, with a new
// start event; the one queued before is stale.
func TestPausedScheduledMailoutResumesScheduled(t *testing.T) {
	b := setup(t)
	m := b.newMailout(nil)
	path := fmt.Sprintf("/api/mailouts/%d", id(t, m))
	b.must(http.StatusOK, "POST", path+"/pause", nil)
	if res := b.must(http.StatusOK, "POST", path+"/retry", nil); res["requeued"] != float64(0) {
		t.Fatalf("retry of a mailout without messages: %v", res)
	}
	got := b.must(http.StatusOK, "POST", path+"/resume", nil)
	if got["status"] != "scheduled" || version(t, got) != version(t, m)+2 {
		t.Fatalf("resumed: %v", got)
	}
	evs := b.mailoutEvents(id(t, m))
	if len(evs) != 2 || evs[1].Topic != domain.TopicMailoutStart || evs[1].Payload["version"] != float64(version(t, got)) {
		t.Fatalf("events %+v: want a start event of the new version", evs)
	}
}

// A mailout's text is a template, checked on create and edit with the
// position of the mistake; the mailout reports its SMS encoding and
// segments.
func TestMailoutTextTemplate(t *testing.T) {
	b := setup(t)
	for text, want := range map[string]string{
		"Hello, {{name | shout}}!":             `unknown filter "shout" at line 1, column 17`,
		"Hello, {{name":                        "line 1, column 8",
		"{% for x in list %}{{x}}{% endfor %}": "line 1, column 1",
	} {
		out := b.must(http.StatusBadRequest, "POST", "/api/mailouts", validMailout(map[string]any{"text": text}))
		got, _ := out["error"].(map[string]any)["fields"].(map[string]any)["text"].(string)
		if !strings.Contains(got, want) {
			t.Errorf("%q: %q, want it to say %q", text, got, want)
		}
	}
	m := b.newMailout(map[string]any{"text": `Здравствуйте, {{name | default: "клиент"}}!`})
	sms, _ := m["sms"].(map[string]any)
	if sms["encoding"] != "UCS-2" || sms["segments"] != float64(1) {
		t.Errorf("sms of a Cyrillic text: %v", sms)
	}
	out := b.must(http.StatusBadRequest, "PATCH", fmt.Sprintf("/api/mailouts/%d", id(t, m)), map[string]any{"text": "{{ }}"})
	wantError(t, out, "invalid")
}

// A test send is validated, rendered for the customer, queued for the
// planner, audited and listed; with no worker running it answers 202
// pending, and it never becomes one of the mailout's messages.
func TestMailoutTestSend(t *testing.T) {
	b := setup(t)
	cust := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161230000", "attributes": map[string]any{"name": "Anna"}})
	m := b.newMailout(map[string]any{"text": `Hi {{name | default: "friend"}}`})
	path := fmt.Sprintf("/api/mailouts/%d", id(t, m))
	for _, body := range []map[string]any{{}, {"phone": "8916"}, {"phone": "79161230000", "customer_id": 1}} {
		wantError(t, b.must(http.StatusBadRequest, "POST", path+"/test", body), "invalid")
	}
	b.must(http.StatusNotFound, "POST", path+"/test", map[string]any{"customer_id": 999999})
	b.must(http.StatusNotFound, "POST", "/api/mailouts/999999/test", map[string]any{"phone": "79161230000"})

	byID := b.must(http.StatusAccepted, "POST", path+"/test", map[string]any{"customer_id": id(t, cust)})
	if byID["status"] != "pending" || byID["text"] != "Hi Anna" || byID["phone"] != "79161230000" || byID["id"].(float64) < 1e15 {
		t.Fatalf("test for a customer: %v", byID)
	}
	stranger := b.must(http.StatusAccepted, "POST", path+"/test", map[string]any{"phone": "79990000000"})
	if stranger["text"] != "Hi friend" || stranger["customer_id"] != nil {
		t.Fatalf("test for a phone that is nobody's: %v", stranger)
	}
	list := items(t, b.must(http.StatusOK, "GET", path+"/tests", nil))
	if len(list) != 2 || list[0]["id"] != byID["id"] {
		t.Fatalf("tests: %v", list)
	}
	var events, messages int
	_ = b.db.SQL().QueryRow(`SELECT count(*) FROM outbox WHERE topic = 'message.test'`).Scan(&events)
	_ = b.db.SQL().QueryRow(`SELECT count(*) FROM messages`).Scan(&messages)
	if events != 2 || messages != 0 {
		t.Errorf("%d test events, %d messages; want 2 and none", events, messages)
	}
	audited := items(t, b.must(http.StatusOK, "GET", "/api/audit?action="+domain.AuditMailoutTestSent, nil))
	if len(audited) != 2 {
		t.Errorf("audit: %v", audited)
	}
}
