package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// firstPhone is customer 0's phone; customer i has firstPhone+i.
const firstPhone = 79_000_000_000

// maxCustomers keeps every generated phone within 7XXXXXXXXXX.
const maxCustomers = 100_000_000

// population is the deterministic customer directory of a run, the same
// shape apibench imports: one of 20 operator codes, one of 5 time zones
// and 0–3 of 10 tags of skewed popularity. Everything is a pure function
// of i, so the run knows the answer to any filter without asking.
type population struct {
	n       int
	codes   []string
	zones   []string
	tags    []string
	weights []uint64
}

func newPopulation(n int) population {
	return population{
		n: n,
		codes: []string{"900", "901", "902", "903", "904", "905", "906", "908", "909", "910",
			"911", "912", "913", "914", "915", "916", "917", "918", "919", "920"},
		zones:   []string{"Europe/Moscow", "Europe/Kaliningrad", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"},
		tags:    []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"},
		weights: []uint64{30, 20, 15, 12, 8, 6, 4, 2, 2, 1},
	}
}

// customer is one generated row.
type customer struct {
	phone int64
	code  int // index into population.codes
	zone  int
	tags  [3]int // indexes into population.tags; only the first ntags count
	ntags int
}

// splitmix64 is a tiny, well-mixed hash: the seed of every customer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (p population) customer(i int) customer {
	h := splitmix64(uint64(i))
	c := customer{
		phone: firstPhone + int64(i),
		code:  int(h % uint64(len(p.codes))),
		zone:  int((h >> 8) % uint64(len(p.zones))),
		ntags: int((h >> 16) % 4),
	}
	// Weighted draws without replacement.
	var taken [16]bool
	seed := h >> 20
	for k := range c.ntags {
		seed = splitmix64(seed)
		c.tags[k] = p.drawTag(seed, &taken)
	}
	return c
}

func (p population) drawTag(r uint64, taken *[16]bool) int {
	var total uint64
	for j, w := range p.weights {
		if !taken[j] {
			total += w
		}
	}
	pick := r % total
	for j, w := range p.weights {
		if taken[j] {
			continue
		}
		if pick < w {
			taken[j] = true
			return j
		}
		pick -= w
	}
	return 0 // not reached: pick < total
}

// appendCSV appends customer c as a CSV record.
func (p population) appendCSV(b []byte, c customer) []byte {
	b = strconv.AppendInt(b, c.phone, 10)
	b = append(b, ',')
	b = append(b, p.codes[c.code]...)
	b = append(b, ',')
	b = append(b, p.zones[c.zone]...)
	b = append(b, ',')
	for k := range c.ntags {
		if k > 0 {
			b = append(b, ';')
		}
		b = append(b, p.tags[c.tags[k]]...)
	}
	return append(b, '\n')
}

// writeCSV streams the whole directory as CSV to w.
func (p population) writeCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.WriteString("phone,phone_code,timezone,tags\n"); err != nil {
		return err
	}
	line := make([]byte, 0, 128)
	for i := range p.n {
		line = p.appendCSV(line[:0], p.customer(i))
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// subset picks the fewest operator codes whose customers number at least
// about want, and counts them exactly: the audience of a mailout filtered
// on those codes.
func (p population) subset(want int) (codes []string, audience int) {
	k := min(max((want*len(p.codes)+p.n-1)/p.n, 1), len(p.codes))
	for i := range p.n {
		if p.customer(i).code < k {
			audience++
		}
	}
	return p.codes[:k], audience
}

// importResult is the outcome of the import.
type importResult struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	Inserted   int     `json:"inserted"`
	Rejected   int     `json:"rejected"`
	APIPeakRSS float64 `json:"api_peak_rss_mb"` // VmHWM of the API right after
}

// importCustomers streams the directory to POST /api/customers/import
// through a pipe: the file never exists in memory or on disk.
func (e *env) importCustomers(ctx context.Context, p population) (importResult, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.writeCSV(pw)) }()
	req, err := e.client.NewRequest(ctx, http.MethodPost, "/api/customers/import?on_conflict=skip", pr, "text/csv")
	if err != nil {
		return importResult{}, err
	}
	var ans struct {
		Inserted, Rejected int
	}
	start := time.Now()
	err = e.client.DoJSON(req, http.StatusOK, &ans)
	elapsed := time.Since(start)
	_ = pr.Close() // stops the writer if the server answered early
	if err != nil {
		return importResult{}, fmt.Errorf("import: %w", err)
	}
	if ans.Inserted != p.n {
		return importResult{}, fmt.Errorf("import: %d inserted, %d rejected; want %d inserted", ans.Inserted, ans.Rejected, p.n)
	}
	res := importResult{Rows: p.n, Seconds: elapsed.Seconds(), RowsPerSec: float64(p.n) / elapsed.Seconds(),
		Inserted: ans.Inserted, Rejected: ans.Rejected}
	rss, err := e.api.peakRSSMiB()
	res.APIPeakRSS = mib2mb(rss)
	return res, err
}
