package mailouts

import (
	"context"
	"time"

	"mailing/shared/domain"
)

// Preview tells what a draft mailout would do now, without storing
// anything: its audience, how many of it the send window lets through at
// the draft's moment, and its text rendered for the first customers.
func (s *Service) Preview(ctx context.Context, in domain.PreviewInput, errs domain.FieldErrors) (domain.Preview, error) {
	d, err := in.Draft(s.now(), errs)
	if err != nil {
		return domain.Preview{}, err
	}
	a, err := s.store.Audience(ctx, domain.AudienceQuery{Filter: d.Filter, ByZone: d.SendWindow != nil, Samples: d.Samples})
	if err != nil {
		return domain.Preview{}, err
	}
	return d.Preview(a, s.location), nil
}

// location returns the named time zone, loaded once. A name that does not
// load (zones are validated on input) is taken as UTC, as the sender takes
// it.
func (s *Service) location(name string) *time.Location {
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	s.zones.Store(name, loc)
	return loc
}
