// Package customers runs changes to the customer directory for every
// transport (the JSON API, an admin UI's backend): it applies domain's
// rules, stores, counts and logs, so each exists once. Bulk imports have
// their own engine; reads pass straight through.
package customers

import (
	"context"
	"log/slog"

	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/metrics"
)

// Store is what the service needs of the directory.
type Store interface {
	Create(ctx context.Context, c domain.Customer) (domain.Customer, error)
	Get(ctx context.Context, id int64) (domain.Customer, error)
	// Update changes customer id to what change makes of it, under the
	// row's lock.
	Update(ctx context.Context, id int64, replaceTags bool, change func(cur domain.Customer) (domain.Customer, error)) (domain.Customer, error)
	Delete(ctx context.Context, id int64) error
	AddTag(ctx context.Context, id int64, tag string) (domain.Customer, error)
	RemoveTag(ctx context.Context, id, tagID int64) (domain.Customer, error)
	List(ctx context.Context, f domain.CustomerFilter, p domain.Page) ([]domain.Customer, error)
}

// Config holds the service's settings.
type Config struct {
	// DefaultTimezone is given to customers created without one.
	DefaultTimezone string
	// Metrics counts customer events; nil counts nothing.
	Metrics *metrics.Customers
	// Log is used when the context carries no logger (see logging.NewContext).
	Log *slog.Logger
}

// Service runs customer changes.
type Service struct {
	store Store
	cfg   Config
}

// New returns the service over store.
func New(store Store, cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{store: store, cfg: cfg}
}

// Create validates in as a new customer and stores it.
func (s *Service) Create(ctx context.Context, in domain.CustomerInput) (domain.Customer, error) {
	if in.Phone == nil {
		return domain.Customer{}, domain.Invalid(map[string]string{"phone": "is required"})
	}
	c, err := in.Apply(domain.Customer{}, s.cfg.DefaultTimezone)
	if err != nil {
		return domain.Customer{}, err
	}
	return s.done(ctx, metrics.CustomerCreated, "customer created")(s.store.Create(ctx, c))
}

// Get returns one customer.
func (s *Service) Get(ctx context.Context, id int64) (domain.Customer, error) {
	return s.store.Get(ctx, id)
}

// List returns one keyset page of the customers matching f.
func (s *Service) List(ctx context.Context, f domain.CustomerFilter, p domain.Page) ([]domain.Customer, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return s.store.List(ctx, f, p)
}

// Update changes customer id. With replace (PUT) in describes the whole
// customer: the phone is required and absent tags and attributes mean
// none. Otherwise (PATCH) only the given fields change, attributes are
// merged key by key, and a phone code that was derived from the old phone
// is derived again from a new one. The input is applied to the customer
// as it is under the store's row lock, so concurrent patches compose.
func (s *Service) Update(ctx context.Context, id int64, in domain.CustomerInput, replace bool) (domain.Customer, error) {
	if replace && in.Tags == nil {
		in.Tags = &[]string{}
	}
	next, err := s.store.Update(ctx, id, in.Tags != nil, func(cur domain.Customer) (domain.Customer, error) {
		in := in
		base := cur
		if replace {
			if in.Phone == nil {
				return domain.Customer{}, domain.Invalid(map[string]string{"phone": "is required"})
			}
			base = domain.Customer{ID: cur.ID}
		} else if in.Phone != nil && in.PhoneCode == nil && domain.PhoneCodeOf(*in.Phone) != domain.PhoneCodeOf(cur.Phone) && cur.PhoneCode == domain.PhoneCodeOf(cur.Phone) {
			code := domain.PhoneCodeOf(*in.Phone)
			in.PhoneCode = &code
		}
		return in.Apply(base, s.cfg.DefaultTimezone)
	})
	return s.done(ctx, metrics.CustomerUpdated, "customer updated")(next, err)
}

// Delete removes a customer; its unsent messages are cancelled with it.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := s.store.Delete(ctx, id); err != nil {
		return err
	}
	s.cfg.Metrics.Event(metrics.CustomerDeleted)
	logging.FromContext(ctx, s.cfg.Log).Info("customer deleted", logging.CustomerID, id)
	return nil
}

// AddTag links tag to customer id.
func (s *Service) AddTag(ctx context.Context, id int64, tag string) (domain.Customer, error) {
	return s.done(ctx, metrics.CustomerTagged, "customer tag added", "tag", tag)(s.store.AddTag(ctx, id, tag))
}

// RemoveTag unlinks tag tagID from customer id.
func (s *Service) RemoveTag(ctx context.Context, id, tagID int64) (domain.Customer, error) {
	return s.done(ctx, metrics.CustomerUntagged, "customer tag removed", "tag_id", tagID)(s.store.RemoveTag(ctx, id, tagID))
}

// done returns what finishes a change: unless the store failed, it counts
// event and logs msg with the customer after the change.
func (s *Service) done(ctx context.Context, event, msg string, extra ...any) func(domain.Customer, error) (domain.Customer, error) {
	return func(c domain.Customer, err error) (domain.Customer, error) {
		if err != nil {
			return domain.Customer{}, err
		}
		s.cfg.Metrics.Event(event)
		// Attributes stay out of the log: they are free-form and may hold
		// personal data that no LOG_PII masking knows of.
		args := append([]any{logging.CustomerID, c.ID, logging.Phone, c.Phone, "phone_code", c.PhoneCode,
			"timezone", c.Timezone, "tags", c.Tags}, extra...)
		logging.FromContext(ctx, s.cfg.Log).Info(msg, args...)
		return c, nil
	}
}
