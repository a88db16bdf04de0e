package broker

import (
	"encoding/json"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/shared/domain"
)

// SendJobs builds the message.send jobs of the given messages of one
// mailout, each delivered after delay. It is the one place a send job is
// made: the planner's fan-out, the sender's retries and the reconciler's
// re-publishing all call it.
func SendJobs(mailoutID int64, messageIDs []int64, delay time.Duration) []Outgoing {
	out := make([]Outgoing, len(messageIDs))
	for i, id := range messageIDs {
		out[i] = Outgoing{
			Queue: SendQueue, Body: sendJobBody(domain.SendJob{MessageID: id, MailoutID: mailoutID}), Delay: delay,
			MessageID: strconv.FormatInt(id, 10),
			Headers:   amqp.Table{HeaderMailoutID: mailoutID, HeaderMessageID: id},
		}
	}
	return out
}

// DeadSendJob is the message.dead copy of the job of a message that ended
// failed or expired, with why.
func DeadSendJob(job domain.SendJob, reason string) Outgoing {
	return DeadLetter(reason, job.MailoutID, job.MessageID, sendJobBody(job))
}

func sendJobBody(job domain.SendJob) []byte {
	body, _ := json.Marshal(job) // two integers: cannot fail
	return body
}

// DelayUntil is the delay that delivers a message at t: none when t has
// come, at most MaxDelay (a consumer receiving a message early delays it
// again).
func DelayUntil(t, now time.Time) time.Duration {
	return min(max(t.Sub(now), 0), MaxDelay)
}
