package postgres_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// zoneCountsVersion is the migration that keeps the counters per zone.
const zoneCountsVersion = 15

// latest is every migration, for migrateTo.
const latest = -1

// migrateTo moves db's schema to version, down or up.
func migrateTo(tb testing.TB, db *postgres.DB, version int64) {
	tb.Helper()
	p, err := goose.NewProvider(goose.DialectPostgres, db.SQL(), postgres.Migrations())
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	switch {
	case version == latest:
		_, err = p.Up(ctx)
	case version < cur:
		_, err = p.DownTo(ctx, version)
	default:
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		tb.Fatalf("migrate to %d: %v", version, err)
	}
}

// importRows makes n import rows from line first on: 20 codes, 5 zones,
// 0–3 of 10 tags, the shape of the benchmarks' population; zoneShift moves
// every customer to another zone.
func importRows(first, n, zoneShift int) []domain.ImportRow {
	codes := []string{"900", "901", "902", "903", "904", "905", "906", "908", "909", "910",
		"911", "912", "913", "914", "915", "916", "917", "918", "919", "920"}
	zones := []string{"Europe/Moscow", "Europe/Kaliningrad", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"}
	rows := make([]domain.ImportRow, n)
	for i := range rows {
		line := first + i
		h := uint64(line)*0x9e3779b97f4a7c15 ^ uint64(line)>>7
		h ^= h >> 29
		tags := []string{}
		for k := range int(h>>40) % 4 {
			tags = append(tags, "t"+strconv.Itoa(int((h>>(8*k))%10)))
		}
		slices.Sort(tags)
		phone := strconv.FormatInt(79_000_000_000+int64(line), 10)
		rows[i] = domain.ImportRow{Line: int64(line), Customer: domain.Customer{
			Phone: phone, PhoneCode: codes[h%20], Timezone: zones[(int(h>>5)+zoneShift)%5], Tags: slices.Compact(tags),
		}}
	}
	return rows
}

// importAll writes rows in batches of 10,000, as the import engine does, on
// one connection, and returns how long it took and the CPU time the
// database's server processes spent meanwhile (see serverCPU).
func importAll(tb testing.TB, db *postgres.DB, mode domain.ImportConflict, rows []domain.ImportRow) (wall, cpu time.Duration) {
	tb.Helper()
	ctx := context.Background()
	im, err := postgres.NewCustomers(db).StartImport(ctx, mode)
	if err != nil {
		tb.Fatal(err)
	}
	defer im.Close()
	cpu0 := serverCPU(tb, db)
	start := time.Now()
	for len(rows) > 0 {
		batch := rows[:min(10000, len(rows))]
		rows = rows[len(batch):]
		if _, err := im.Write(ctx, batch); err != nil {
			tb.Fatal(err)
		}
	}
	wall = time.Since(start)
	return wall, serverCPU(tb, db) - cpu0
}

// serverCPU is the CPU time (user and system) the server processes of
// db's clients have used, read from /proc: on a shared machine a
// wall-clock time measures the neighbours too. Autovacuum's workers are
// left out: when one runs is luck. Zero when the server's processes cannot
// be read (another host, not Linux).
func serverCPU(tb testing.TB, db *postgres.DB) time.Duration {
	tb.Helper()
	rows, err := db.SQL().Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var ticks int64
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0
		}
		// Fields after the parenthesised command: state is the 3rd field,
		// utime and stime the 14th and 15th.
		fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		for _, f := range fields[11:13] {
			n, _ := strconv.ParseInt(f, 10, 64)
			ticks += n
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// The counters survive migrating down to the counters without zones and
// up again: each direction recounts them from the directory.
func TestZoneCountersMigrateDownAndUp(t *testing.T) {
	db := pgtest.Open(t)
	importAll(t, db, domain.ImportSkip, importRows(0, 3000, 0))
	checkZoneCounts(t, db, "the import")
	migrateTo(t, db, zoneCountsVersion-1)
	// The old counters are exact, and their triggers keep them so.
	importAll(t, db, domain.ImportUpdate, importRows(2000, 2000, 1))
	for _, pair := range [][2]string{
		{`SELECT phone_code, '', n FROM customer_code_counts`, `SELECT phone_code, '', count(*) FROM customers GROUP BY 1`},
		{`SELECT tag_id::text, '', n FROM tag_counts`, `SELECT tag_id::text, '', count(*) FROM customer_tags GROUP BY 1`},
	} {
		if got, want := zoneCounts(t, db, pair[0]), zoneCounts(t, db, pair[1]); fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
			t.Fatalf("down: %s\n got  %v\n want %v", pair[0], sorted(got), sorted(want))
		}
	}
	migrateTo(t, db, latest)
	checkZoneCounts(t, db, "migrating up again")
	importAll(t, db, domain.ImportUpdate, importRows(1000, 3000, 2))
	checkZoneCounts(t, db, "an import after migrating up")
}

// BenchmarkImportCounters measures what keeping the counters per zone adds
// to an import: 200,000 new customers in batches of 10,000 on one
// connection, into a database with the zone counters and into one migrated
// down to the counters per code and per tag alone; then the same 200,000
// again in update mode, every customer moved to another zone (the costliest
// case of the zone triggers: each one's tags move). The two databases take
// turns, b.N imports each; it reports the median wall-clock seconds of
// each and the median CPU seconds the database server spent on it.
//
//	go test -run '^$' -bench ImportCounters -benchtime 3x -timeout 30m ./shared/postgres/
func BenchmarkImportCounters(b *testing.B) {
	const n = 200_000
	zoned, plain := pgtest.Open(b), pgtest.Open(b)
	migrateTo(b, plain, zoneCountsVersion-1)
	wall, cpu := map[string][]time.Duration{}, map[string][]time.Duration{}
	for i := range b.N {
		rows := importRows(i*n, n, 0)
		moved := importRows(i*n, n, 1)
		for _, db := range []struct {
			name string
			db   *postgres.DB
		}{{"zone", zoned}, {"plain", plain}} {
			for _, run := range []struct {
				name string
				mode domain.ImportConflict
				rows []domain.ImportRow
			}{{"insert", domain.ImportSkip, rows}, {"move", domain.ImportUpdate, moved}} {
				w, c := importAll(b, db.db, run.mode, run.rows)
				wall[db.name+"-"+run.name] = append(wall[db.name+"-"+run.name], w)
				cpu[db.name+"-"+run.name] = append(cpu[db.name+"-"+run.name], c)
			}
		}
	}
	checkZoneCounts(b, zoned, "the benchmark")
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return d[len(d)/2].Seconds()
	}
	for _, run := range []string{"insert", "move"} {
		for _, db := range []string{"zone", "plain"} {
			b.ReportMetric(median(wall[db+"-"+run]), db+"-"+run+"-s")
			b.ReportMetric(median(cpu[db+"-"+run]), db+"-"+run+"-db-cpu-s")
		}
		b.ReportMetric(100*(median(wall["zone-"+run])/median(wall["plain-"+run])-1), run+"-overhead-%")
		if p := median(cpu["plain-"+run]); p > 0 {
			b.ReportMetric(100*(median(cpu["zone-"+run])/p-1), run+"-db-cpu-overhead-%")
		}
	}
}
