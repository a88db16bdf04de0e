package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Refs holds the reference data: phone codes, time zones and tags.
type Refs struct{ db *DB }

// NewRefs returns the store on db.
func NewRefs(db *DB) *Refs { return &Refs{db: db} }

// refTable describes one reference table: an id and one unique text value
// that customers and mailouts point at.
type refTable struct {
	table  string // SQL table name
	column string // the text column holding the value
	noun   string // how messages name one row: "phone code"
	object string // the audit trail's object type: "phone_code"
	uses   []refUse
}

// refUse is one kind of row that points at a reference value. A use by
// value (a foreign key on the text) forbids renaming as well as deleting; a
// use by id only forbids deleting.
type refUse struct {
	what    string // plural noun for messages: "customers"
	exists  string // SELECT EXISTS (...) with one placeholder
	byValue bool   // the placeholder takes the value, not the id
}

func phoneCodeTable() refTable {
	return refTable{table: "phone_codes", column: "code", noun: "phone code", object: domain.AuditObjectPhoneCode, uses: []refUse{
		{what: "customers", byValue: true, exists: `SELECT EXISTS (SELECT 1 FROM customers WHERE phone_code = ?)`},
		{what: "mailouts", exists: `SELECT EXISTS (SELECT 1 FROM mailout_phone_codes WHERE phone_code_id = ?)`},
	}}
}

func timezoneTable() refTable {
	return refTable{table: "timezones", column: "name", noun: "time zone", object: domain.AuditObjectTimezone, uses: []refUse{
		{what: "customers", byValue: true, exists: `SELECT EXISTS (SELECT 1 FROM customers WHERE timezone = ?)`},
	}}
}

func tagTable() refTable {
	return refTable{table: "tags", column: "name", noun: "tag", object: domain.AuditObjectTag, uses: []refUse{
		{what: "customers", exists: `SELECT EXISTS (SELECT 1 FROM customer_tags WHERE tag_id = ?)`},
		{what: "mailouts", exists: `SELECT EXISTS (SELECT 1 FROM mailout_tags WHERE tag_id = ?)`},
	}}
}

// refRow is one row of any reference table.
type refRow struct {
	ID    int64
	Value string
}

// PhoneCodes lists operator codes starting with prefix ("" for all) in id
// order, one keyset page.
func (s *Refs) PhoneCodes(ctx context.Context, prefix string, p domain.Page) ([]domain.PhoneCode, error) {
	rows, err := s.listRefs(ctx, phoneCodeTable(), prefix, p)
	if err != nil {
		return nil, err
	}
	out := make([]domain.PhoneCode, len(rows))
	for i, r := range rows {
		out[i] = domain.PhoneCode{ID: r.ID, Code: r.Value}
	}
	return out, nil
}

// PhoneCode returns one operator code.
func (s *Refs) PhoneCode(ctx context.Context, id int64) (domain.PhoneCode, error) {
	r, err := s.getRef(ctx, phoneCodeTable(), id)
	return domain.PhoneCode{ID: r.ID, Code: r.Value}, err
}

// CreatePhoneCode stores a new (validated) operator code.
func (s *Refs) CreatePhoneCode(ctx context.Context, code string) (domain.PhoneCode, error) {
	r, err := s.createRef(ctx, phoneCodeTable(), code)
	return domain.PhoneCode{ID: r.ID, Code: r.Value}, err
}

// UpdatePhoneCode renames an operator code; a code customers still carry
// cannot change.
func (s *Refs) UpdatePhoneCode(ctx context.Context, id int64, code string) (domain.PhoneCode, error) {
	r, err := s.renameRef(ctx, phoneCodeTable(), id, code)
	return domain.PhoneCode{ID: r.ID, Code: r.Value}, err
}

// DeletePhoneCode removes an operator code no customer or mailout uses.
func (s *Refs) DeletePhoneCode(ctx context.Context, id int64) error {
	return s.deleteRef(ctx, phoneCodeTable(), id)
}

// Timezones lists time zones whose name starts with prefix in id order.
func (s *Refs) Timezones(ctx context.Context, prefix string, p domain.Page) ([]domain.Timezone, error) {
	rows, err := s.listRefs(ctx, timezoneTable(), prefix, p)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Timezone, len(rows))
	for i, r := range rows {
		out[i] = domain.Timezone{ID: r.ID, Name: r.Value}
	}
	return out, nil
}

// Timezone returns one time zone.
func (s *Refs) Timezone(ctx context.Context, id int64) (domain.Timezone, error) {
	r, err := s.getRef(ctx, timezoneTable(), id)
	return domain.Timezone{ID: r.ID, Name: r.Value}, err
}

// CreateTimezone stores a new (validated) time zone.
func (s *Refs) CreateTimezone(ctx context.Context, name string) (domain.Timezone, error) {
	r, err := s.createRef(ctx, timezoneTable(), name)
	return domain.Timezone{ID: r.ID, Name: r.Value}, err
}

// UpdateTimezone renames a time zone; a zone customers live in cannot
// change.
func (s *Refs) UpdateTimezone(ctx context.Context, id int64, name string) (domain.Timezone, error) {
	r, err := s.renameRef(ctx, timezoneTable(), id, name)
	return domain.Timezone{ID: r.ID, Name: r.Value}, err
}

// DeleteTimezone removes a time zone no customer lives in.
func (s *Refs) DeleteTimezone(ctx context.Context, id int64) error {
	return s.deleteRef(ctx, timezoneTable(), id)
}

// Tags lists tags whose name starts with prefix in id order.
func (s *Refs) Tags(ctx context.Context, prefix string, p domain.Page) ([]domain.Tag, error) {
	rows, err := s.listRefs(ctx, tagTable(), prefix, p)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Tag, len(rows))
	for i, r := range rows {
		out[i] = domain.Tag{ID: r.ID, Name: r.Value}
	}
	return out, nil
}

// Tag returns one tag.
func (s *Refs) Tag(ctx context.Context, id int64) (domain.Tag, error) {
	r, err := s.getRef(ctx, tagTable(), id)
	return domain.Tag{ID: r.ID, Name: r.Value}, err
}

// UpdateTag renames a tag. Links are by id, so customers and mailouts
// follow the new name.
func (s *Refs) UpdateTag(ctx context.Context, id int64, name string) (domain.Tag, error) {
	r, err := s.renameRef(ctx, tagTable(), id, name)
	return domain.Tag{ID: r.ID, Name: r.Value}, err
}

// DeleteTag removes a tag no customer or mailout carries.
func (s *Refs) DeleteTag(ctx context.Context, id int64) error {
	return s.deleteRef(ctx, tagTable(), id)
}

func (s *Refs) listRefs(ctx context.Context, t refTable, prefix string, p domain.Page) ([]refRow, error) {
	// starts_with needs no LIKE escaping, so any prefix is safe.
	q := fmt.Sprintf(`SELECT id, %[2]s AS value FROM %[1]s WHERE id > ? AND starts_with(%[2]s, ?) ORDER BY id LIMIT %[3]d`,
		t.table, t.column, p.Rows())
	var rows []refRow
	if err := s.db.q(ctx).Raw(q, p.After, prefix).Scan(&rows).Error; err != nil {
		return nil, translate(err, t.noun+"s")
	}
	return rows, nil
}

func (s *Refs) getRef(ctx context.Context, t refTable, id int64) (refRow, error) {
	var rows []refRow
	q := fmt.Sprintf(`SELECT id, %s AS value FROM %s WHERE id = ?`, t.column, t.table)
	if err := s.db.q(ctx).Raw(q, id).Scan(&rows).Error; err != nil {
		return refRow{}, translate(err, t.noun)
	}
	if len(rows) == 0 {
		return refRow{}, domain.NotFound(t.noun, id)
	}
	return rows[0], nil
}

func (s *Refs) createRef(ctx context.Context, t refTable, value string) (refRow, error) {
	row := refRow{Value: value}
	q := fmt.Sprintf(`INSERT INTO %s (%s) VALUES (?) RETURNING id`, t.table, t.column)
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		if err := tx.Raw(q, value).Scan(&row.ID).Error; err != nil {
			return translate(err, t.noun+" "+value)
		}
		return audit(ctx, tx, domain.AuditAction(t.object, "created"), t.object, row.ID,
			map[string]domain.Change{t.column: {To: value}})
	})
	if err != nil {
		return refRow{}, err
	}
	return row, nil
}

// renameRef changes the value of row id. The row is locked first, so the
// usage check and the update see the same state.
func (s *Refs) renameRef(ctx context.Context, t refTable, id int64, value string) (refRow, error) {
	row := refRow{ID: id, Value: value}
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		cur, err := lockRef(tx, t, id)
		if err != nil || cur == value {
			return err
		}
		users, err := refUsers(tx, t, id, cur, true)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return domain.Errorf(domain.CodeConflict, "%s %s is in use by %s and cannot be renamed; add %s as a new %s instead",
				t.noun, cur, strings.Join(users, " and "), value, t.noun)
		}
		q := fmt.Sprintf(`UPDATE %s SET %s = ? WHERE id = ?`, t.table, t.column)
		if err := tx.Exec(q, value, id).Error; err != nil {
			return translate(err, t.noun+" "+value)
		}
		return audit(ctx, tx, domain.AuditAction(t.object, "renamed"), t.object, id,
			map[string]domain.Change{t.column: {From: cur, To: value}})
	})
	if err != nil {
		return refRow{}, err
	}
	return row, nil
}

// deleteRef removes row id unless something still points at it.
func (s *Refs) deleteRef(ctx context.Context, t refTable, id int64) error {
	return s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		cur, err := lockRef(tx, t, id)
		if err != nil {
			return err
		}
		users, err := refUsers(tx, t, id, cur, false)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return domain.Errorf(domain.CodeConflict, "%s %s is still in use by %s and cannot be deleted",
				t.noun, cur, strings.Join(users, " and "))
		}
		q := fmt.Sprintf(`DELETE FROM %s WHERE id = ?`, t.table)
		err = translate(tx.Exec(q, id).Error, t.noun+" "+cur)
		if domain.ErrorCode(err) == domain.CodeConflict {
			// A use the checks above cannot see (a row added since) still
			// trips the foreign key; say so plainly.
			return &domain.Error{Code: domain.CodeConflict, Message: fmt.Sprintf("%s %s is still in use and cannot be deleted", t.noun, cur), Err: err}
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditAction(t.object, "deleted"), t.object, id,
			map[string]domain.Change{t.column: {From: cur}})
	})
}

// lockRef reads and locks the value of row id. The lock conflicts with the
// key-share lock a referencing insert takes, so no new use can appear until
// the transaction ends.
func lockRef(tx *gorm.DB, t refTable, id int64) (string, error) {
	var vals []string
	q := fmt.Sprintf(`SELECT %s FROM %s WHERE id = ? FOR UPDATE`, t.column, t.table)
	if err := tx.Raw(q, id).Scan(&vals).Error; err != nil {
		return "", translate(err, t.noun)
	}
	if len(vals) == 0 {
		return "", domain.NotFound(t.noun, id)
	}
	return vals[0], nil
}

// refUsers names the kinds of rows that use the value; onlyByValue limits
// the check to uses that forbid renaming.
func refUsers(tx *gorm.DB, t refTable, id int64, value string, onlyByValue bool) ([]string, error) {
	var users []string
	for _, u := range t.uses {
		if onlyByValue && !u.byValue {
			continue
		}
		var arg any = id
		if u.byValue {
			arg = value
		}
		var used bool
		if err := tx.Raw(u.exists, arg).Scan(&used).Error; err != nil {
			return nil, translate(err, t.noun+" uses")
		}
		if used {
			users = append(users, u.what)
		}
	}
	return users, nil
}

// registerTags adds tags to their reference table.
func registerTags(tx *gorm.DB, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	err := tx.Exec(`INSERT INTO tags (name) SELECT v FROM jsonb_array_elements_text(?::jsonb) AS v ORDER BY 1 ON CONFLICT (name) DO NOTHING`, jsonText(tags)).Error
	return translate(err, "tags")
}

// registerRefs adds phone codes and time zones to their reference tables.
func registerRefs(tx *gorm.DB, codes, zones []string) error {
	if len(codes) > 0 {
		err := tx.Exec(`INSERT INTO phone_codes (code) SELECT v FROM jsonb_array_elements_text(?::jsonb) AS v ORDER BY 1 ON CONFLICT (code) DO NOTHING`, jsonText(codes)).Error
		if err != nil {
			return translate(err, "phone codes")
		}
	}
	if len(zones) > 0 {
		err := tx.Exec(`INSERT INTO timezones (name) SELECT v FROM jsonb_array_elements_text(?::jsonb) AS v ORDER BY 1 ON CONFLICT (name) DO NOTHING`, jsonText(zones)).Error
		if err != nil {
			return translate(err, "time zones")
		}
	}
	return nil
}

// jsonText encodes values as a JSON array, the form in which a GORM query
// passes a list as one parameter (GORM expands a slice into a list of
// parameters).
func jsonText(vals []string) string {
	b, _ := json.Marshal(vals) // strings always encode
	return string(b)
}
