package postgres

import (
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// storedFilter is a mailout's filter as stored: tag ids and phone codes,
// with the tag names for display.
type storedFilter struct {
	tagIDs []int64
	tags   []string
	codes  []string
}

// audience is THE definition of a mailout's audience, as a query
// selecting the matching customers' ids (column id): (no tags OR the
// customer has any of them) AND (no codes OR its code is one of them). The
// API counts it (SELECT count(*) FROM (<audience>) a); the fan-out inserts
// it (INSERT INTO messages (mailout_id, customer_id) SELECT ?, a.id FROM
// (<audience>) a); whoever needs customer columns joins customers on a.id
// or selects from customers c WHERE <matches>.
//
// Each filter shape gets the query whose cost follows the number of matching
// customers, not the size of the table, which is what keeps create and get
// fast with a million customers:
//   - codes: an index-only range scan of customers(phone_code, id);
//   - tags only: an index-only scan of customer_tags(tag_id, customer_id),
//     de-duplicated, without touching customers at all (a customer_tags
//     row always names an existing customer: it cascades with it). As a
//     semi-join on customers the planner prefers a scan of the whole table;
//   - both: the planner joins the two index scans.
//
// Ids and codes are literal parameters rather than a subquery on the
// mailout's link tables, so the planner sees the values and their
// statistics, and an empty part of the filter disappears instead of
// becoming an OR that no index serves.
func (f storedFilter) audience() (string, []any) {
	if len(f.tagIDs) > 0 && len(f.codes) == 0 {
		return `SELECT DISTINCT ct.customer_id AS id FROM customer_tags ct WHERE ct.tag_id IN ?`, []any{f.tagIDs}
	}
	where, args := f.matches()
	return `SELECT c.id FROM customers c WHERE ` + where, args
}

// matches is the same definition as a condition on customers c, for
// queries that read customers' columns anyway. Grouping a tags-only
// audience by a column, it is a semi-join: two to three times quicker than
// joining the de-duplicated ids back to customers.
func (f storedFilter) matches() (string, []any) {
	const hasTag = `EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = c.id AND ct.tag_id IN ?)`
	switch {
	case len(f.tagIDs) == 0 && len(f.codes) == 0:
		return `TRUE`, nil
	case len(f.tagIDs) == 0:
		return `c.phone_code IN ?`, []any{f.codes}
	case len(f.codes) == 0:
		return hasTag, []any{f.tagIDs}
	default:
		return `c.phone_code IN ? AND ` + hasTag, []any{f.codes, f.tagIDs}
	}
}

// countQuery is a scalar query counting the audience. Filters without tags
// and single-tag filters read trigger-maintained counters (exact, updated in
// the transactions that change customers and their tags); other shapes
// count the audience itself.
func (f storedFilter) countQuery() (string, []any) {
	switch {
	case len(f.tagIDs) == 0 && len(f.codes) == 0:
		return `SELECT COALESCE(sum(n), 0)::bigint FROM customer_code_counts`, nil
	case len(f.tagIDs) == 0:
		return `SELECT COALESCE(sum(n), 0)::bigint FROM customer_code_counts WHERE phone_code IN ?`, []any{f.codes}
	case len(f.tagIDs) == 1 && len(f.codes) == 0:
		return `SELECT COALESCE(sum(n), 0)::bigint FROM tag_counts WHERE tag_id = ?`, []any{f.tagIDs[0]}
	}
	query, args := f.audience()
	return `SELECT count(*) FROM (` + query + `) a`, args
}

// zoneCountQuery counts the audience per time zone, as rows (timezone, n)
// with n > 0. Filters without tags and single-tag filters read the
// counters, which are kept per zone: a row per zone of the code or tag
// (customers have one code, so codes add up; a customer with two of the
// tags would count twice, so several tags do not). Other shapes group the
// audience itself, a cost that follows the number of matching customers.
func (f storedFilter) zoneCountQuery() (string, []any) {
	switch {
	case len(f.tagIDs) == 0 && len(f.codes) == 0:
		return `SELECT timezone, sum(n)::bigint AS n FROM customer_code_counts GROUP BY timezone HAVING sum(n) > 0`, nil
	case len(f.tagIDs) == 0:
		return `SELECT timezone, sum(n)::bigint AS n FROM customer_code_counts WHERE phone_code IN ?
			GROUP BY timezone HAVING sum(n) > 0`, []any{f.codes}
	case len(f.tagIDs) == 1 && len(f.codes) == 0:
		return `SELECT timezone, n FROM tag_counts WHERE tag_id = ? AND n > 0`, []any{f.tagIDs[0]}
	}
	where, args := f.matches()
	return `SELECT c.timezone, count(*) AS n FROM customers c WHERE ` + where + ` GROUP BY c.timezone`, args
}

// key identifies filters that select the same customers.
func (f storedFilter) key() string {
	ids := slices.Clone(f.tagIDs)
	slices.Sort(ids)
	codes := slices.Clone(f.codes)
	slices.Sort(codes)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",") + "|" + strings.Join(codes, ",")
}

// audienceOf returns the query selecting the ids of mailout id's audience
// (see storedFilter.audience) from its filter as stored now. Called in a
// transaction that has locked the mailout row, the filter cannot change
// before the query runs: that is how the fan-out must call it.
func audienceOf(tx *gorm.DB, id int64) (string, []any, error) {
	filters, err := loadFilters(tx, []int64{id})
	if err != nil {
		return "", nil, err
	}
	query, args := filters[id].audience()
	return query, args, nil
}

// loadFilters reads the stored filters of the given mailouts in one query;
// every id gets an entry, empty when it has no filter.
func loadFilters(q *gorm.DB, ids []int64) (map[int64]storedFilter, error) {
	var refs []struct {
		MailoutID int64
		Kind      string
		RefID     int64
		Name      string
	}
	err := q.Raw(`SELECT mt.mailout_id, 'tag' AS kind, t.id AS ref_id, t.name
			FROM mailout_tags mt JOIN tags t ON t.id = mt.tag_id WHERE mt.mailout_id IN ?
		UNION ALL
		SELECT mp.mailout_id, 'code', p.id, p.code
			FROM mailout_phone_codes mp JOIN phone_codes p ON p.id = mp.phone_code_id WHERE mp.mailout_id IN ?
		ORDER BY mailout_id, kind, name`, ids, ids).Scan(&refs).Error
	if err != nil {
		return nil, translate(err, "mailout filters")
	}
	out := make(map[int64]storedFilter, len(ids))
	for _, id := range ids {
		out[id] = storedFilter{tagIDs: []int64{}, tags: []string{}, codes: []string{}}
	}
	for _, r := range refs {
		f := out[r.MailoutID]
		if r.Kind == "tag" {
			f.tagIDs = append(f.tagIDs, r.RefID)
			f.tags = append(f.tags, r.Name)
		} else {
			f.codes = append(f.codes, r.Name)
		}
		out[r.MailoutID] = f
	}
	return out, nil
}

// countAudiences counts the audience of each mailout in one statement,
// counting each distinct filter once.
func countAudiences(q *gorm.DB, filters map[int64]storedFilter) (map[int64]int64, error) {
	byKey := map[string]storedFilter{}
	for _, f := range filters {
		byKey[f.key()] = f
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	var args []any
	for i, k := range keys {
		query, queryArgs := byKey[k].countQuery()
		parts[i] = `SELECT ?::text AS key, (` + query + `) AS n`
		args = append(append(args, k), queryArgs...)
	}
	var counts []struct {
		Key string
		N   int64
	}
	if err := q.Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&counts).Error; err != nil {
		return nil, translate(err, "mailout audience")
	}
	byCount := make(map[string]int64, len(counts))
	for _, c := range counts {
		byCount[c.Key] = c.N
	}
	out := make(map[int64]int64, len(filters))
	for id, f := range filters {
		out[id] = byCount[f.key()]
	}
	return out, nil
}
