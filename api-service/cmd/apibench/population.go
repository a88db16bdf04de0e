package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"
)

const firstPhone = 79000000000

// population is the deterministic customer directory of a run: customer i
// has phone 79000000000+i, one of 20 operator codes, one of 5 time zones
// and 0–3 of 10 tags. Everything is a pure function of i, so two runs
// produce the same data and the tool knows the answer to any filter
// without asking the server.
type population struct {
	n     int
	codes []string
	zones []string
	tags  []string
	// weights skew tag popularity so filters of different selectivity
	// can be measured: t0 is common, t9 rare.
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

// maxTags bounds the tag table so draws can use a fixed-size array.
const maxTags = 16

// customer is one generated row.
type customer struct {
	phone int64
	code  string
	zone  string
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
		code:  p.codes[h%uint64(len(p.codes))],
		zone:  p.zones[(h>>8)%uint64(len(p.zones))],
		ntags: int((h >> 16) % 4),
	}
	// Weighted draws without replacement.
	var taken [maxTags]bool
	seed := h >> 20
	for k := 0; k < c.ntags; k++ {
		seed = splitmix64(seed)
		c.tags[k] = p.drawTag(seed, &taken)
	}
	return c
}

func (p population) drawTag(r uint64, taken *[maxTags]bool) int {
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
	panic("unreachable: weights exhausted")
}

// appendCSV appends customer c as a CSV record.
func (p population) appendCSV(b []byte, c customer) []byte {
	b = strconv.AppendInt(b, c.phone, 10)
	b = append(b, ',')
	b = append(b, c.code...)
	b = append(b, ',')
	b = append(b, c.zone...)
	b = append(b, ',')
	for k := 0; k < c.ntags; k++ {
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
	for i := 0; i < p.n; i++ {
		line = p.appendCSV(line[:0], p.customer(i))
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// tagFrequency is how many generated customers carry a tag.
type tagFrequency struct {
	Tag       string  `json:"tag"`
	Customers int     `json:"customers"`
	Share     float64 `json:"share"`
}

func (p population) tagFrequencies() []tagFrequency {
	counts := make([]int, len(p.tags))
	for i := 0; i < p.n; i++ {
		c := p.customer(i)
		for k := 0; k < c.ntags; k++ {
			counts[c.tags[k]]++
		}
	}
	out := make([]tagFrequency, len(p.tags))
	for j, n := range counts {
		out[j] = tagFrequency{Tag: p.tags[j], Customers: n, Share: float64(n) / float64(p.n)}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Customers > out[b].Customers })
	return out
}

// importReport is the outcome of the import.
type importReport struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	Inserted   int     `json:"inserted"`
	Updated    int     `json:"updated"`
	Skipped    int     `json:"skipped"`
	Rejected   int     `json:"rejected"`
}

// importPopulation streams the directory to the import endpoint through a
// pipe: the file never exists in memory or on disk.
func importPopulation(ctx context.Context, c *client, p population, onConflict string) (importReport, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.writeCSV(pw)) }()
	req, err := c.NewRequest(ctx, http.MethodPost, "/api/customers/import?on_conflict="+onConflict, pr, "text/csv")
	if err != nil {
		return importReport{}, err
	}
	var ans struct {
		Inserted, Updated, Skipped, Rejected int
	}
	start := time.Now()
	err = c.DoJSON(req, http.StatusOK, &ans)
	elapsed := time.Since(start)
	_ = pr.Close() // stops the writer if the server answered early
	if err != nil {
		return importReport{}, fmt.Errorf("import: %w", err)
	}
	return importReport{
		Rows: p.n, Seconds: elapsed.Seconds(), RowsPerSec: float64(p.n) / elapsed.Seconds(),
		Inserted: ans.Inserted, Updated: ans.Updated, Skipped: ans.Skipped, Rejected: ans.Rejected,
	}, nil
}
