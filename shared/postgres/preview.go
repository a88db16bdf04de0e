package postgres

import (
	"context"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Audience tells of a draft filter's audience as it is now: its size, per
// time zone too when asked (see storedFilter.zoneCountQuery for the cost of
// each filter shape), and its first customers by id, all from one
// snapshot. It writes nothing: tags that do not exist match nobody rather
// than being registered.
func (s *Mailouts) Audience(ctx context.Context, q domain.AudienceQuery) (domain.Audience, error) {
	out := domain.Audience{Samples: []domain.Customer{}}
	if q.ByZone {
		out.ByZone = map[string]int64{}
	}
	err := s.db.tx(ctx, snapshot, func(tx *gorm.DB) error {
		f, ok, err := draftFilter(tx, q.Filter)
		if err != nil || !ok {
			return err
		}
		if q.ByZone {
			// The sum of the zones is the audience: one count, not two.
			query, args := f.zoneCountQuery()
			var zones []struct {
				Timezone string
				N        int64
			}
			if err := tx.Raw(query, args...).Scan(&zones).Error; err != nil {
				return translate(err, "audience by time zone")
			}
			for _, z := range zones {
				out.ByZone[z.Timezone] = z.N
				out.Count += z.N
			}
		} else {
			query, args := f.countQuery()
			if err := tx.Raw(query, args...).Row().Scan(&out.Count); err != nil {
				return translate(err, "audience")
			}
		}
		if q.Samples <= 0 {
			return nil
		}
		query, args := f.audience()
		var rows []struct {
			ID         int64
			Phone      string
			Timezone   string
			Attributes jsonAttributes
		}
		err = tx.Raw(`SELECT c.id, c.phone, c.timezone, c.attributes FROM (`+query+`) a JOIN customers c ON c.id = a.id
			ORDER BY a.id LIMIT ?`, append(args, q.Samples)...).Scan(&rows).Error
		if err != nil {
			return translate(err, "audience samples")
		}
		for _, r := range rows {
			out.Samples = append(out.Samples, domain.Customer{ID: r.ID, Phone: r.Phone, Timezone: r.Timezone, Attributes: domain.Attributes(r.Attributes)})
		}
		return nil
	})
	if err != nil {
		return domain.Audience{}, err
	}
	return out, nil
}

// draftFilter is a draft filter as stored filters are, with the ids of its
// tags; ok is false when it has tags and none of them exists, so that it
// matches nobody (an empty tag list would match everyone).
func draftFilter(tx *gorm.DB, f domain.Filter) (storedFilter, bool, error) {
	sf := storedFilter{tagIDs: []int64{}, tags: f.Tags, codes: f.PhoneCodes}
	if len(f.Tags) == 0 {
		return sf, true, nil
	}
	if err := tx.Raw(`SELECT id FROM tags WHERE name IN ? ORDER BY id`, f.Tags).Scan(&sf.tagIDs).Error; err != nil {
		return storedFilter{}, false, translate(err, "tags")
	}
	return sf, len(sf.tagIDs) > 0, nil
}
