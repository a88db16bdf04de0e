// Package mailouts is the one owner of a mailout's life as clients see it:
// create, edit, filter changes, cancel and delete, and the place where
// pause, resume and retry belong. Every transport (the JSON API, an admin
// UI's backend) calls it, so each rule, metric and log line exists once.
// The rules themselves are domain's (MailoutInput.Apply, the state machine
// of domain.MailoutStatus); the pipeline's own transitions (start, finish,
// expire) are the store's set-based statements, driven by the same table.
package mailouts

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/metrics"
)

// Store is what the service needs of the database. Each change runs under
// the mailout's row lock; Update passes the current state to change and
// stores what it returns.
type Store interface {
	Create(ctx context.Context, m domain.Mailout) (domain.Mailout, error)
	Get(ctx context.Context, id int64) (domain.Mailout, error)
	List(ctx context.Context, f domain.MailoutFilter, p domain.Page) ([]domain.Mailout, error)
	Update(ctx context.Context, id int64, change func(cur domain.Mailout) (domain.Mailout, error)) (domain.Mailout, error)
	AddTag(ctx context.Context, id int64, tag string) (domain.Mailout, error)
	RemoveTag(ctx context.Context, id, tagID int64) (domain.Mailout, error)
	AddPhoneCode(ctx context.Context, id int64, code string) (domain.Mailout, error)
	RemovePhoneCode(ctx context.Context, id, codeID int64) (domain.Mailout, error)
	Cancel(ctx context.Context, id int64) (domain.Mailout, error)
	Delete(ctx context.Context, id int64) error
	Pause(ctx context.Context, id int64) (domain.Mailout, error)
	Resume(ctx context.Context, id int64) (domain.Mailout, error)
	Retry(ctx context.Context, id int64, sel domain.RetrySelection, now time.Time) (domain.RetryResult, error)
	// Audience tells of a draft filter's audience now, writing nothing.
	Audience(ctx context.Context, q domain.AudienceQuery) (domain.Audience, error)
}

// Service runs mailout changes: it validates, stores, counts and logs.
type Service struct {
	store   Store
	now     func() time.Time
	metrics *metrics.Mailouts
	log     *slog.Logger
	// zones caches time zones by name for previews: time.LoadLocation
	// reads and parses the zone file on every call. Names come from the
	// reference table of zones, so the cache stays small.
	zones sync.Map
}

// Config holds the service's optional parts.
type Config struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics counts mailout events; nil counts nothing.
	Metrics *metrics.Mailouts
	// Log is used when the context carries no logger (see logging.NewContext).
	Log *slog.Logger
}

// New returns the service over store.
func New(store Store, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{store: store, now: cfg.Now, metrics: cfg.Metrics, log: cfg.Log}
}

// Create validates in as a new mailout and stores it as scheduled; its
// start event is queued in the same transaction.
func (s *Service) Create(ctx context.Context, in domain.MailoutInput) (domain.Mailout, error) {
	m, err := in.Apply(domain.Mailout{}, s.now())
	if err != nil {
		return domain.Mailout{}, err
	}
	return s.done(ctx, metrics.MailoutCreated, "mailout created")(s.store.Create(ctx, m))
}

// Get returns one mailout with its filter and audience.
func (s *Service) Get(ctx context.Context, id int64) (domain.Mailout, error) {
	return s.store.Get(ctx, id)
}

// List returns one keyset page of mailouts matching f.
func (s *Service) List(ctx context.Context, f domain.MailoutFilter, p domain.Page) ([]domain.Mailout, error) {
	return s.store.List(ctx, f, p)
}

// Update applies in to mailout id under the edit rules of its status.
func (s *Service) Update(ctx context.Context, id int64, in domain.MailoutInput) (domain.Mailout, error) {
	now := s.now()
	return s.done(ctx, metrics.MailoutUpdated, "mailout updated")(s.store.Update(ctx, id, func(cur domain.Mailout) (domain.Mailout, error) {
		return in.Apply(cur, now)
	}))
}

// AddTag adds tag to a scheduled mailout's filter.
func (s *Service) AddTag(ctx context.Context, id int64, tag string) (domain.Mailout, error) {
	return s.done(ctx, metrics.MailoutUpdated, "mailout tag added")(s.store.AddTag(ctx, id, tag))
}

// RemoveTag removes tag tagID from a scheduled mailout's filter.
func (s *Service) RemoveTag(ctx context.Context, id, tagID int64) (domain.Mailout, error) {
	return s.done(ctx, metrics.MailoutUpdated, "mailout tag removed", "tag_id", tagID)(s.store.RemoveTag(ctx, id, tagID))
}

// AddPhoneCode adds code to a scheduled mailout's filter.
func (s *Service) AddPhoneCode(ctx context.Context, id int64, code string) (domain.Mailout, error) {
	return s.done(ctx, metrics.MailoutUpdated, "mailout phone code added")(s.store.AddPhoneCode(ctx, id, code))
}

// RemovePhoneCode removes phone code codeID from a scheduled mailout's
// filter.
func (s *Service) RemovePhoneCode(ctx context.Context, id, codeID int64) (domain.Mailout, error) {
	return s.done(ctx, metrics.MailoutUpdated, "mailout phone code removed", "phone_code_id", codeID)(s.store.RemovePhoneCode(ctx, id, codeID))
}

// Cancel stops a mailout; its unsent messages are cancelled with it.
func (s *Service) Cancel(ctx context.Context, id int64) (domain.Mailout, error) {
	return s.done(ctx, metrics.MailoutCancelled, "mailout cancelled")(s.store.Cancel(ctx, id))
}

// Pause stops new delivery attempts of a scheduled or running mailout.
func (s *Service) Pause(ctx context.Context, id int64) (domain.Mailout, error) {
	return s.done(ctx, metrics.MailoutPaused, "mailout paused")(s.store.Pause(ctx, id))
}

// Resume continues a paused mailout where it stopped.
func (s *Service) Resume(ctx context.Context, id int64) (domain.Mailout, error) {
	return s.done(ctx, metrics.MailoutResumed, "mailout resumed")(s.store.Resume(ctx, id))
}

// Retry sends a mailout's failed (or expired) messages that sel chooses
// again.
func (s *Service) Retry(ctx context.Context, id int64, sel domain.RetrySelection) (domain.RetryResult, error) {
	if err := sel.Validate(); err != nil {
		return domain.RetryResult{}, err
	}
	res, err := s.store.Retry(ctx, id, sel, s.now())
	if err != nil {
		return domain.RetryResult{}, err
	}
	if res.Requeued == 0 {
		logging.FromContext(ctx, s.log).Info("mailout retry found nothing to send again", logging.MailoutID, id)
		return res, nil
	}
	_, err = s.done(ctx, metrics.MailoutRetried, "mailout messages retried", "requeued", res.Requeued,
		"statuses", sel.Statuses, "reasons", sel.Reasons)(res.Mailout, nil)
	return res, err
}

// Delete removes a mailout that has no messages.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := s.store.Delete(ctx, id); err != nil {
		return err
	}
	s.metrics.Event(metrics.MailoutDeleted)
	logging.FromContext(ctx, s.log).Info("mailout deleted", logging.MailoutID, id)
	return nil
}

// textExcerptRunes bounds the mailout text in logs: enough to recognise
// the mailout, never the whole message.
const textExcerptRunes = 32

// done returns what finishes a change: unless the store failed, it counts
// event and logs msg with the mailout's state after the change.
func (s *Service) done(ctx context.Context, event, msg string, extra ...any) func(domain.Mailout, error) (domain.Mailout, error) {
	return func(m domain.Mailout, err error) (domain.Mailout, error) {
		if err != nil {
			return domain.Mailout{}, err
		}
		s.metrics.Event(event)
		args := append([]any{logging.MailoutID, m.ID, "status", m.Status, "version", m.Version,
			"start_at", m.StartAt, "end_at", m.EndAt, "tags", m.Filter.Tags, "phone_codes", m.Filter.PhoneCodes,
			"audience", m.Audience, "text_excerpt", logging.Excerpt(m.Text, textExcerptRunes)}, extra...)
		logging.FromContext(ctx, s.log).Info(msg, args...)
		return m, nil
	}
}
