package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"mailing/shared/domain"
)

type customerRow struct {
	ID        int64
	Phone     string
	PhoneCode string
	Timezone  string
	Tags      jsonList
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r customerRow) domain() domain.Customer {
	return domain.Customer{
		ID: r.ID, Phone: r.Phone, PhoneCode: r.PhoneCode, Timezone: r.Timezone,
		Tags: []string(r.Tags), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// customerSelect reads customers with their tag names in one query.
const customerSelect = `SELECT c.id, c.phone, c.phone_code, c.timezone, c.created_at, c.updated_at,
	COALESCE((SELECT json_agg(t.name ORDER BY t.name) FROM customer_tags ct
	          JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id), '[]') AS tags
	FROM customers c`

// CreateCustomer stores c (already validated), registering its phone code,
// time zone and tags.
func (db *DB) CreateCustomer(ctx context.Context, c domain.Customer) (domain.Customer, error) {
	var id int64
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := registerRefs(tx, []string{c.PhoneCode}, []string{c.Timezone}); err != nil {
			return err
		}
		err := tx.Raw(`INSERT INTO customers (phone, phone_code, timezone) VALUES (?, ?, ?) RETURNING id`,
			c.Phone, c.PhoneCode, c.Timezone).Scan(&id).Error
		if err != nil {
			return translate(err, "customer with phone "+c.Phone)
		}
		return setCustomerTags(tx, id, c.Tags)
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return db.Customer(ctx, id)
}

// Customer returns one customer.
func (db *DB) Customer(ctx context.Context, id int64) (domain.Customer, error) {
	var rows []customerRow
	if err := db.q(ctx).Raw(customerSelect+` WHERE c.id = ?`, id).Scan(&rows).Error; err != nil {
		return domain.Customer{}, translate(err, "customer")
	}
	if len(rows) == 0 {
		return domain.Customer{}, domain.NotFound("customer", id)
	}
	return rows[0].domain(), nil
}

// UpdateCustomer replaces the stored fields of c.ID with c's. Tags are
// replaced only when replaceTags is set.
func (db *DB) UpdateCustomer(ctx context.Context, c domain.Customer, replaceTags bool) (domain.Customer, error) {
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := registerRefs(tx, []string{c.PhoneCode}, []string{c.Timezone}); err != nil {
			return err
		}
		res := tx.Exec(`UPDATE customers SET phone = ?, phone_code = ?, timezone = ?, updated_at = now() WHERE id = ?`,
			c.Phone, c.PhoneCode, c.Timezone, c.ID)
		if res.Error != nil {
			return translate(res.Error, "customer with phone "+c.Phone)
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("customer", c.ID)
		}
		if replaceTags {
			if err := tx.Exec(`DELETE FROM customer_tags WHERE customer_id = ?`, c.ID).Error; err != nil {
				return translate(err, "customer tags")
			}
			return setCustomerTags(tx, c.ID, c.Tags)
		}
		return nil
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return db.Customer(ctx, c.ID)
}

// DeleteCustomer removes a customer. Its messages stay as history; the ones
// not yet sent are cancelled in the same transaction.
func (db *DB) DeleteCustomer(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM customers WHERE id = ?`, id)
		if res.Error != nil {
			return translate(res.Error, "customer")
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("customer", id)
		}
		err := tx.Exec(`UPDATE messages SET status = 'cancelled', last_error = 'customer deleted', reason = 'cancelled', updated_at = now()
			WHERE customer_id = ? AND status = 'pending'`, id).Error
		return translate(err, "customer messages")
	})
}

// AddCustomerTag links tag (created if new) to a customer.
func (db *DB) AddCustomerTag(ctx context.Context, customerID int64, tag string) (domain.Customer, error) {
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := lockCustomer(tx, customerID); err != nil {
			return err
		}
		if err := setCustomerTags(tx, customerID, []string{tag}); err != nil {
			return err
		}
		return touchCustomer(tx, customerID)
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return db.Customer(ctx, customerID)
}

// RemoveCustomerTag unlinks a tag from a customer; 404 when not linked.
func (db *DB) RemoveCustomerTag(ctx context.Context, customerID, tagID int64) (domain.Customer, error) {
	err := db.tx(ctx, func(tx *gorm.DB) error {
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
		return touchCustomer(tx, customerID)
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return db.Customer(ctx, customerID)
}

// Customers lists customers matching f in id order, one keyset page. It is
// the hottest read of the service, so it runs on pgx directly: tags come as
// a text array and rows are scanned without reflection, which took a third
// off the API's CPU time per page.
func (db *DB) Customers(ctx context.Context, f domain.CustomerFilter, p domain.Page) ([]domain.Customer, error) {
	q, args := customerPage(f, p.After, pageLimit(p.Limit))
	var out []domain.Customer
	err := db.withPgx(ctx, func(pc *pgx.Conn) error {
		rows, err := pc.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanListedCustomer)
		return err
	})
	if err != nil {
		return nil, translate(err, "customers")
	}
	return out, nil
}

// customerListSelect is customerSelect with the tags as a text array.
const customerListSelect = `SELECT c.id, c.phone, c.phone_code, c.timezone, c.created_at, c.updated_at,
	COALESCE((SELECT array_agg(t.name ORDER BY t.name) FROM customer_tags ct
	          JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id), '{}') AS tags
	FROM customers c`

// scanListedCustomer reads one row of customerListSelect.
func scanListedCustomer(row pgx.CollectableRow) (domain.Customer, error) {
	var c domain.Customer
	err := row.Scan(&c.ID, &c.Phone, &c.PhoneCode, &c.Timezone, &c.CreatedAt, &c.UpdatedAt, &c.Tags)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if c.Tags == nil {
		c.Tags = []string{}
	}
	return c, err
}

// customerPage builds the query of one page of customers matching f.
//
// With a tag filter the page is assembled per tag: each tag's customers are
// walked in id order through customer_tags (tag_id, customer_id) from the
// cursor on, keeping the first limit that pass the other conditions. A
// customer of the page is among the first limit of one of its tags, so the
// page is exact, and its cost follows the page size rather than how common
// the tag is or how deep the cursor is. (Checking the tags of each customer
// instead walked the link table from its start up to the cursor: 0.7 s for
// a page 90% into a million customers.)
func customerPage(f domain.CustomerFilter, after int64, limit int) (string, []any) {
	var args pgArgs
	conds := customerConds(f, &args) // on alias c
	afterArg := args.add(after)
	conds = append(conds, "c.id > "+afterArg)
	// The limit is part of the text: a generic plan for LIMIT $n assumes a
	// tenth of the table and walks the tag index no more.
	lim := strconv.Itoa(limit)
	if len(f.Tags) == 0 {
		return customerListSelect + " WHERE " + strings.Join(conds, " AND ") + " ORDER BY c.id LIMIT " + lim, args
	}
	return customerListSelect + ` WHERE c.id IN (
	SELECT m.id FROM tags t CROSS JOIN LATERAL (
		SELECT c.id FROM customer_tags ct JOIN customers c ON c.id = ct.customer_id
		WHERE ct.tag_id = t.id AND ct.customer_id > ` + afterArg + ` AND ` + strings.Join(conds, " AND ") + `
		ORDER BY ct.customer_id LIMIT ` + lim + `) m
	WHERE t.name = ANY (` + args.add(f.Tags) + `::text[]))
	ORDER BY c.id LIMIT ` + lim, args
}

// customerConds turns a filter's conditions other than tags into SQL on
// alias c, adding their values to args.
func customerConds(f domain.CustomerFilter, args *pgArgs) []string {
	conds := []string{"TRUE"}
	if len(f.PhoneCodes) > 0 {
		conds = append(conds, "c.phone_code = ANY ("+args.add(f.PhoneCodes)+"::text[])")
	}
	if f.Timezone != "" {
		conds = append(conds, "c.timezone = "+args.add(f.Timezone))
	}
	if f.PhonePrefix != "" {
		// The prefix is validated as digits, so it holds no LIKE wildcards.
		conds = append(conds, "c.phone LIKE "+args.add(f.PhonePrefix+"%"))
	}
	return conds
}

// pgArgs collects the values of a query with $n placeholders.
type pgArgs []any

// add appends v and returns its placeholder.
func (a *pgArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
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

func registerTags(tx *gorm.DB, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	err := tx.Exec(`INSERT INTO tags (name) SELECT unnest(?::text[]) ORDER BY 1 ON CONFLICT (name) DO NOTHING`, pgTextArray(tags)).Error
	return translate(err, "tags")
}

// registerRefs adds phone codes and time zones to their reference tables.
func registerRefs(tx *gorm.DB, codes, zones []string) error {
	if len(codes) > 0 {
		err := tx.Exec(`INSERT INTO phone_codes (code) SELECT unnest(?::text[]) ORDER BY 1 ON CONFLICT (code) DO NOTHING`, pgTextArray(codes)).Error
		if err != nil {
			return translate(err, "phone codes")
		}
	}
	if len(zones) > 0 {
		err := tx.Exec(`INSERT INTO timezones (name) SELECT unnest(?::text[]) ORDER BY 1 ON CONFLICT (name) DO NOTHING`, pgTextArray(zones)).Error
		if err != nil {
			return translate(err, "time zones")
		}
	}
	return nil
}

// pgTextArray renders a PostgreSQL text[] literal; values are quoted so any
// character is safe.
func pgTextArray(vals []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
