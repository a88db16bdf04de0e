package broker

import (
	"errors"
	"math/bits"
	"strings"
	"testing"
	"time"
)

// key spells a routing key from a binary string, padded on the left: an
// implementation independent of delayKey's bit shifting.
func key(binary, queue string) string {
	padded := strings.Repeat("0", Levels-len(binary)) + binary
	return strings.Join(strings.Split(padded, ""), ".") + "." + queue
}

func TestRoute(t *testing.T) {
	cases := []struct {
		name     string
		prefix   string
		queue    string
		delay    time.Duration
		exchange string
		key      string
		err      error
	}{
		{"no delay goes straight to the queue", "", SendQueue, 0, "", "message.send", nil},
		{"negative delay is no delay", "", StartQueue, -time.Hour, "", "mailout.start", nil},
		{"prefix on the direct key", "t1", SendQueue, 0, "", "t1.message.send", nil},
		{"one nanosecond rounds up to 1 s", "", SendQueue, time.Nanosecond, "delay.level.00", key("1", "message.send"), nil},
		{"1 s", "", SendQueue, time.Second, "delay.level.00", key("1", "message.send"), nil},
		{"1.5 s rounds up to 2 s", "", SendQueue, 1500 * time.Millisecond, "delay.level.01", key("10", "message.send"), nil},
		{"2.001 s rounds up to 3 s", "", SendQueue, 2001 * time.Millisecond, "delay.level.01", key("11", "message.send"), nil},
		{"5 s, the package comment's example", "", SendQueue, 5 * time.Second, "delay.level.02",
			"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.1.message.send", nil},
		{"13 s", "", StartQueue, 13 * time.Second, "delay.level.03", key("1101", "mailout.start"), nil},
		{"one week", "", StartQueue, 7 * 24 * time.Hour, "delay.level.19", key("10010011101010000000", "mailout.start"), nil},
		{"prefix on exchange and key", "t-9.x", SendQueue, 6 * time.Second, "t-9.x.delay.level.02", key("110", "t-9.x.message.send"), nil},
		{"max delay sets every bit", "", StartQueue, MaxDelay, "delay.level.27", key(strings.Repeat("1", Levels), "mailout.start"), nil},
		{"just under max delay rounds up to it", "", StartQueue, MaxDelay - 300*time.Millisecond, "delay.level.27", key(strings.Repeat("1", Levels), "mailout.start"), nil},
		{"above max delay", "", StartQueue, MaxDelay + time.Nanosecond, "", "", ErrDelayTooLong},
		{"far above max delay", "", StartQueue, 1<<63 - 1, "", "", ErrDelayTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := names{c.prefix}.route(c.queue, c.delay)
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if r.exchange != c.exchange || r.key != c.key {
				t.Fatalf("route (%q, %q), want (%q, %q)", r.exchange, r.key, c.exchange, c.key)
			}
		})
	}
}

func TestMaxDelayIsAboutEightAndAHalfYears(t *testing.T) {
	years := MaxDelay.Hours() / 24 / 365.25
	if years < 8.4 || years > 8.6 {
		t.Fatalf("MaxDelay = %s = %.2f years", MaxDelay, years)
	}
}

// TestTopologyDelaysByExactlyTheKey routes messages through the declared
// topology with a model of topic matching and dead-lettering, checking the
// wildcard arithmetic for every bit without a broker.
func TestTopologyDelaysByExactlyTheKey(t *testing.T) {
	n := names{"pfx"}
	top := n.topology()
	delays := []uint64{1, 2, 3, 4, 5, 7, 8, 13, 255, 256, 604800, 1 << 27, 1<<27 + 1, 1<<Levels - 1}
	for s := uint64(1); s <= 70; s++ {
		delays = append(delays, s)
	}
	for _, q := range destinations() {
		for _, secs := range delays {
			r, err := n.route(q, time.Duration(secs)*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got, waited, levels := simulate(t, top, r)
			if got != n.of(q) || waited != time.Duration(secs)*time.Second || levels != bits.OnesCount64(secs) {
				t.Fatalf("%d s for %s: reached %s after %s through %d level queues", secs, q, got, waited, levels)
			}
		}
	}
}

func TestTopologyNoDelayReachesQueueDirectly(t *testing.T) {
	n := names{""}
	r, err := n.route(DeadQueue, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, waited, levels := simulate(t, n.topology(), r)
	if got != DeadQueue || waited != 0 || levels != 0 {
		t.Fatalf("reached %s after %s through %d levels", got, waited, levels)
	}
}

// simulate follows a message from its route to a queue without a TTL,
// failing if any step reaches other than exactly one queue.
func simulate(t *testing.T, top topology, r route) (queue string, waited time.Duration, levels int) {
	t.Helper()
	specs := map[string]queueSpec{}
	for _, q := range top.queues {
		specs[q.name] = q
	}
	exchange, key := r.exchange, r.key
	for hop := 0; hop <= Levels; hop++ {
		var reached []string
		if exchange == "" {
			reached = []string{key}
		} else {
			reached = routeThrough(top, exchange, key)
		}
		if len(reached) != 1 {
			t.Fatalf("key %s at %q reached %v", key, exchange, reached)
		}
		spec, ok := specs[reached[0]]
		if !ok {
			t.Fatalf("key %s reached undeclared queue %s", key, reached[0])
		}
		ttl, delayed := spec.args["x-message-ttl"].(int64)
		if !delayed {
			return spec.name, waited, levels
		}
		waited += time.Duration(ttl) * time.Millisecond
		levels++
		exchange = spec.args["x-dead-letter-exchange"].(string)
	}
	t.Fatalf("key %s still delayed after %d hops", key, Levels+1)
	return "", 0, 0
}

func routeThrough(top topology, exchange, key string) []string {
	var reached []string
	for _, b := range top.bindings {
		if b.source != exchange || !topicMatch(b.pattern, key) {
			continue
		}
		if b.toExchange {
			reached = append(reached, routeThrough(top, b.dest, key)...)
		} else {
			reached = append(reached, b.dest)
		}
	}
	return reached
}

// topicMatch is AMQP topic matching: "*" is one word, "#" zero or more.
func topicMatch(pattern, key string) bool {
	return matchWords(strings.Split(pattern, "."), strings.Split(key, "."))
}

func matchWords(p, k []string) bool {
	if len(p) == 0 {
		return len(k) == 0
	}
	switch p[0] {
	case "#":
		for i := 0; i <= len(k); i++ {
			if matchWords(p[1:], k[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(k) > 0 && matchWords(p[1:], k[1:])
	default:
		return len(k) > 0 && p[0] == k[0] && matchWords(p[1:], k[1:])
	}
}

func TestTopicMatchModel(t *testing.T) {
	cases := []struct {
		pattern, key string
		want         bool
	}{
		{"*.1.#", "0.1.q", true},
		{"*.1.#", "1.0.q", false},
		{"*.*", "a.b", true},
		{"*.*", "a.b.c", false},
		{"#.q", "q", true},
		{"a.#", "a", true},
	}
	for _, c := range cases {
		if got := topicMatch(c.pattern, c.key); got != c.want {
			t.Errorf("topicMatch(%q, %q) = %v", c.pattern, c.key, got)
		}
	}
}

func TestDeliveryPatternIsExact(t *testing.T) {
	n := names{""}
	p := deliveryPattern("send")
	if topicMatch(p, key("1", "message.send")) {
		t.Fatal("queue send would catch message.send's messages")
	}
	if !topicMatch(p, key("1", "send")) {
		t.Fatal("queue send misses its own messages")
	}
	if !topicMatch(deliveryPattern(n.of(SendQueue)), key("101", "message.send")) {
		t.Fatal("message.send misses its own messages")
	}
}

func TestConfigCheck(t *testing.T) {
	good := Config{URL: "amqp://guest:guest@127.0.0.1:5672/", Prefix: "test-AB_1.x"}
	if err := good.check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Config{
		{URL: ""},
		{URL: "http://nope"},
		{URL: good.URL, Prefix: "a.#"},
		{URL: good.URL, Prefix: "a..b"},
		{URL: good.URL, Prefix: "a*"},
		{URL: good.URL, Prefix: "."},
	} {
		if err := bad.check(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
