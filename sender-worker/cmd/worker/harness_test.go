package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/sender-worker/probesim"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/testkit"
)

// entries returns the decoded log lines of the pipeline's in-process
// workers whose message is msg and whose mailout_id is mailoutID.
func (p *pipeline) entries(msg string, mailoutID int64) []map[string]any {
	p.t.Helper()
	var out []map[string]any
	for _, e := range p.logs.Lines(p.t) {
		if e["msg"] != msg {
			continue
		}
		if id, _ := e["mailout_id"].(float64); int64(id) == mailoutID {
			out = append(out, e)
		}
	}
	return out
}

// customersIn creates n customers in time zone tz with the given tags.
func (p *pipeline) customersIn(n int, tz string, tags ...string) map[int64]int64 {
	p.t.Helper()
	byPhone := map[int64]int64{}
	for range n {
		p.next++
		phone := "7916" + pad(p.next, 7)
		c, err := postgres.NewCustomers(p.db).Create(context.Background(), domain.Customer{Phone: phone, PhoneCode: "916", Timezone: tz, Tags: tags})
		if err != nil {
			p.t.Fatal(err)
		}
		ph, _ := strconv.ParseInt(phone, 10, 64)
		byPhone[ph] = c.ID
	}
	return byPhone
}

// message is a message row with its customer's phone.
type message struct {
	ID            int64
	Status        string
	Attempts      int
	LastError     string
	NextAttemptAt *time.Time
	Phone         int64
}

func (p *pipeline) messages(mailoutID int64) []message {
	p.t.Helper()
	rows, err := p.db.SQL().Query(`SELECT m.id, m.status, m.attempts, m.last_error, m.next_attempt_at, c.phone
		FROM messages m JOIN customers c ON c.id = m.customer_id WHERE m.mailout_id = $1 ORDER BY m.id`, mailoutID)
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	var out []message
	for rows.Next() {
		var m message
		var phone string
		if err := rows.Scan(&m.ID, &m.Status, &m.Attempts, &m.LastError, &m.NextAttemptAt, &phone); err != nil {
			p.t.Fatal(err)
		}
		m.Phone, _ = strconv.ParseInt(phone, 10, 64)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	return out
}

// counts returns the mailout's messages by status.
func (p *pipeline) counts(mailoutID int64) map[string]int {
	p.t.Helper()
	c := map[string]int{}
	for _, m := range p.messages(mailoutID) {
		c[m.Status]++
	}
	return c
}

// settled waits until the mailout has left scheduled and none of its
// messages is pending or sending, whatever its status (a cancelled mailout
// never finishes, nor does any while the reconciler is held back).
func (p *pipeline) settled(mailoutID int64, within time.Duration) map[string]int {
	p.t.Helper()
	var c map[string]int
	testkit.Eventually(p.t, "messages of mailout "+strconv.FormatInt(mailoutID, 10)+" final", within, func() bool {
		m, err := postgres.NewMailouts(p.db).Get(context.Background(), mailoutID)
		if err != nil {
			p.t.Fatal(err)
		}
		c = p.counts(mailoutID)
		return m.Status != domain.MailoutScheduled && c["pending"] == 0 && c["sending"] == 0
	})
	return c
}

// deliveriesOf returns the deliveries recorded for the mailout's messages.
func (p *pipeline) deliveriesOf(mailoutID int64) []probesim.Delivery {
	p.t.Helper()
	ids := map[int64]bool{}
	for _, m := range p.messages(mailoutID) {
		ids[m.ID] = true
	}
	var out []probesim.Delivery
	for _, d := range p.sim.Deliveries() {
		if ids[d.ID] {
			out = append(out, d)
		}
	}
	return out
}

// verify asserts the invariants for a mailout whose messages are all
// final: its messages are exactly one per matching customer (phone →
// customer id), each in one final status; every delivery of them arrived
// before end_at, to the message's customer; a sent message was delivered
// and any other was not; and at most dupAllowed messages were delivered
// more than once (the crash window). It returns the counts by status.
func (p *pipeline) verify(m domain.Mailout, matching map[int64]int64, dupAllowed int) map[string]int {
	p.t.Helper()
	msgs := p.messages(m.ID)
	counts := map[string]int{}
	byID := map[int64]message{}
	seen := map[int64]bool{}
	for _, msg := range msgs {
		counts[msg.Status]++
		byID[msg.ID] = msg
		switch domain.MessageStatus(msg.Status) {
		case domain.MessageSent, domain.MessageFailed, domain.MessageExpired, domain.MessageCancelled:
		default:
			p.t.Errorf("message %d is %s, not final", msg.ID, msg.Status)
		}
		if _, ok := matching[msg.Phone]; !ok {
			p.t.Errorf("message %d for %d, who does not match the filter", msg.ID, msg.Phone)
		}
		if seen[msg.Phone] {
			p.t.Errorf("customer %d has two messages", msg.Phone)
		}
		seen[msg.Phone] = true
	}
	if len(seen) != len(matching) {
		p.t.Errorf("%d customers got a message, %d match the filter", len(seen), len(matching))
	}
	delivered := map[int64]int{}
	for _, d := range p.sim.Deliveries() {
		msg, ok := byID[d.ID]
		if !ok {
			continue
		}
		delivered[d.ID] = d.Count
		if !d.At.Before(m.EndAt) {
			p.t.Errorf("message %d delivered at %s, at or after end_at %s", d.ID, d.At, m.EndAt)
		}
		if d.Phone != msg.Phone || d.Text != m.Text {
			p.t.Errorf("delivery %+v: not message %d's phone %d and text %q", d, d.ID, msg.Phone, m.Text)
		}
	}
	dups := 0
	for id, n := range delivered {
		if n > 1 {
			dups++
		}
		if byID[id].Status != string(domain.MessageSent) && n > 0 {
			p.t.Errorf("message %d is %s but was delivered", id, byID[id].Status)
		}
	}
	if dups > dupAllowed {
		p.t.Errorf("%d messages delivered more than once, at most %d allowed", dups, dupAllowed)
	}
	for _, msg := range msgs {
		if msg.Status == string(domain.MessageSent) && delivered[msg.ID] == 0 {
			p.t.Errorf("message %d is sent but the external API never accepted it", msg.ID)
		}
	}
	return counts
}

// front is another address of the pipeline's external API that counts
// the send requests made through it, telling apart workers that share
// the stand-in.
func (p *pipeline) front() (url string, requests *atomic.Int64) {
	p.t.Helper()
	requests = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/send/") {
			requests.Add(1)
		}
		p.sim.ServeHTTP(w, r)
	}))
	p.t.Cleanup(srv.Close)
	return srv.URL + "/v1", requests
}

// waitConsumers waits until queue (named without the prefix) has n
// consumers, so that work published afterwards is shared by all of them.
func (p *pipeline) waitConsumers(queue string, n int) {
	p.t.Helper()
	conn, err := amqp.Dial(p.bcfg.URL)
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close()
	var got int
	testkit.Eventually(p.t, "consumers on "+queue, 30*time.Second, func() bool {
		ch, err := conn.Channel()
		if err != nil {
			p.t.Fatal(err)
		}
		defer ch.Close()
		q, err := ch.QueueDeclarePassive(p.bcfg.Prefix+"."+queue, true, false, false, false, nil)
		if err != nil {
			p.t.Fatal(err)
		}
		got = q.Consumers
		return got >= n
	})
}
