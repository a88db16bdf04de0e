package postgres

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Customers is the customer directory: customers, their tags, and the bulk
// import writer.
type Customers struct{ db *DB }

// NewCustomers returns the store on db.
func NewCustomers(db *DB) *Customers { return &Customers{db: db} }

type customerRow struct {
	ID         int64
	Phone      string
	PhoneCode  string
	Timezone   string
	Tags       jsonList
	Attributes jsonAttributes
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (r customerRow) domain() domain.Customer {
	return domain.Customer{
		ID: r.ID, Phone: r.Phone, PhoneCode: r.PhoneCode, Timezone: r.Timezone,
		Tags: []string(r.Tags), Attributes: domain.Attributes(r.Attributes),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// customerSelect reads customers with their tag names in one query.
const customerSelect = `SELECT c.id, c.phone, c.phone_code, c.timezone, c.attributes, c.created_at, c.updated_at,
	COALESCE((SELECT json_agg(t.name ORDER BY t.name) FROM customer_tags ct
	          JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id), '[]') AS tags
	FROM customers c`

// CreateCustomer stores c (already validated), registering its phone code,
// time zone and tags.
func (s *Customers) Create(ctx context.Context, c domain.Customer) (domain.Customer, error) {
	var id int64
	attrs, err := attributesJSON(c.Attributes)
	if err != nil {
		return domain.Customer{}, err
	}
	err = s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		if err := registerRefs(tx, []string{c.PhoneCode}, []string{c.Timezone}); err != nil {
			return err
		}
		// The attributes as stored (jsonb writes numbers its own way) go
		// to the audit trail.
		var stored jsonAttributes
		err := tx.Raw(`INSERT INTO customers (phone, phone_code, timezone, attributes) VALUES (?, ?, ?, ?::jsonb) RETURNING id, attributes`,
			c.Phone, c.PhoneCode, c.Timezone, attrs).Row().Scan(&id, &stored)
		if err != nil {
			return translate(err, "customer with phone "+c.Phone)
		}
		c.Attributes = domain.Attributes(stored)
		if err := setCustomerTags(tx, id, c.Tags); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditCustomerCreated, domain.AuditObjectCustomer, id, domain.DiffCustomers(nil, c))
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return s.Get(ctx, id)
}

// Get returns one customer.
func (s *Customers) Get(ctx context.Context, id int64) (domain.Customer, error) {
	return readCustomer(s.db.q(ctx), id, "")
}

// readCustomer reads one customer; lock is "" or a locking clause.
func readCustomer(q *gorm.DB, id int64, lock string) (domain.Customer, error) {
	var rows []customerRow
	if err := q.Raw(customerSelect+` WHERE c.id = ? `+lock, id).Scan(&rows).Error; err != nil {
		return domain.Customer{}, translate(err, "customer")
	}
	if len(rows) == 0 {
		return domain.Customer{}, domain.NotFound("customer", id)
	}
	return rows[0].domain(), nil
}

// UpdateCustomer changes customer id: under the row's lock it reads the
// customer, has change make the new state (the stored fields, attributes
// included, become its) and writes it, so concurrent changes — two
// patches of different attributes — are applied one after the other and
// none is lost. Tags are replaced only when replaceTags is set. An error
// of change is returned as is, and nothing is written.
func (s *Customers) Update(ctx context.Context, id int64, replaceTags bool, change func(cur domain.Customer) (domain.Customer, error)) (domain.Customer, error) {
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		before, err := readCustomer(tx, id, "FOR UPDATE OF c")
		if err != nil {
			return err
		}
		c, err := change(before)
		if err != nil {
			return err
		}
		c.ID = id
		attrs, err := attributesJSON(c.Attributes)
		if err != nil {
			return err
		}
		if err := registerRefs(tx, []string{c.PhoneCode}, []string{c.Timezone}); err != nil {
			return err
		}
		var stored jsonAttributes
		err = tx.Raw(`UPDATE customers SET phone = ?, phone_code = ?, timezone = ?, attributes = ?::jsonb, updated_at = now()
			WHERE id = ? RETURNING attributes`, c.Phone, c.PhoneCode, c.Timezone, attrs, c.ID).Row().Scan(&stored)
		if err != nil {
			return translate(err, "customer with phone "+c.Phone)
		}
		after := c
		after.Attributes = domain.Attributes(stored)
		after.Tags = before.Tags
		if replaceTags {
			if err := tx.Exec(`DELETE FROM customer_tags WHERE customer_id = ?`, c.ID).Error; err != nil {
				return translate(err, "customer tags")
			}
			if err := setCustomerTags(tx, c.ID, c.Tags); err != nil {
				return err
			}
			after.Tags = slices.Sorted(slices.Values(c.Tags)) // as read: by name
		}
		return audit(ctx, tx, domain.AuditCustomerUpdated, domain.AuditObjectCustomer, c.ID, domain.DiffCustomers(&before, after))
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return s.Get(ctx, id)
}

// DeleteCustomer removes a customer. Its messages stay as history; the ones
// not yet sent are cancelled in the same transaction.
func (s *Customers) Delete(ctx context.Context, id int64) error {
	return s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM customers WHERE id = ?`, id)
		if res.Error != nil {
			return translate(res.Error, "customer")
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("customer", id)
		}
		if err := cancelMessages(tx, "customer_id", id, "customer deleted"); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditCustomerDeleted, domain.AuditObjectCustomer, id, nil)
	})
}

// AddCustomerTag links tag (created if new) to a customer.
func (s *Customers) AddTag(ctx context.Context, customerID int64, tag string) (domain.Customer, error) {
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		if err := lockCustomer(tx, customerID); err != nil {
			return err
		}
		if err := setCustomerTags(tx, customerID, []string{tag}); err != nil {
			return err
		}
		if err := touchCustomer(tx, customerID); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditCustomerTagged, domain.AuditObjectCustomer, customerID, map[string]string{"tag": tag})
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return s.Get(ctx, customerID)
}

// RemoveCustomerTag unlinks a tag from a customer; 404 when not linked.
func (s *Customers) RemoveTag(ctx context.Context, customerID, tagID int64) (domain.Customer, error) {
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		if err := lockCustomer(tx, customerID); err != nil {
			return err
		}
		res := tx.Exec(`DELETE FROM customer_tags WHERE customer_id = ? AND tag_id = ?`, customerID, tagID)
		if res.Error != nil {
			return translate(res.Error, "customer tag")
		}
		if res.RowsAffected == 0 {
			return domain.Errorf(domain.CodeNotFound, "tag %d is not linked to customer %d", tagID, customerID)
		}
		if err := touchCustomer(tx, customerID); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditCustomerUntagged, domain.AuditObjectCustomer, customerID, map[string]int64{"tag_id": tagID})
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return s.Get(ctx, customerID)
}

func lockCustomer(tx *gorm.DB, id int64) error {
	var got []int64
	if err := tx.Raw(`SELECT id FROM customers WHERE id = ? FOR UPDATE`, id).Scan(&got).Error; err != nil {
		return translate(err, "customer")
	}
	if len(got) == 0 {
		return domain.NotFound("customer", id)
	}
	return nil
}

func touchCustomer(tx *gorm.DB, id int64) error {
	return translate(tx.Exec(`UPDATE customers SET updated_at = now() WHERE id = ?`, id).Error, "customer")
}

// setCustomerTags links the named tags (creating missing ones) to a customer.
func setCustomerTags(tx *gorm.DB, customerID int64, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	if err := registerTags(tx, tags); err != nil {
		return err
	}
	err := tx.Exec(`INSERT INTO customer_tags (customer_id, tag_id)
		SELECT ?, id FROM tags WHERE name IN ? ON CONFLICT DO NOTHING`, customerID, tags).Error
	return translate(err, "customer tags")
}
