// Package population generates the deterministic customer directory the
// measuring tools import: customer i has phone FirstPhone+i, one of 20
// operator codes, one of 5 time zones and 0–3 of 10 tags of skewed
// popularity, and, when the directory has Attributes, a name (3% have
// none) and a city (0.5% have none). Everything is a pure function of i,
// so two runs produce the same data and a tool knows the answer to any
// filter, or any customer's rendered text, without asking the server.
package population

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
)

// FirstPhone is customer 0's phone.
const FirstPhone = 79_000_000_000

// MaxCustomers keeps every generated phone within 7XXXXXXXXXX.
const MaxCustomers = 100_000_000

// maxTags bounds the tag table so draws can use a fixed-size array.
const maxTags = 16

// Population is a directory of N generated customers.
type Population struct {
	N     int
	Codes []string
	Zones []string
	Tags  []string
	// Weights skew tag popularity so filters of different selectivity can
	// be measured: t0 is common, t9 rare.
	Weights []uint64
	// Attributes adds the columns name and city to the CSV: string
	// attributes of every customer that has them (see Customer).
	Attributes bool
	Names      []string
	Cities     []string
}

// New returns the directory of n customers.
func New(n int) Population {
	return Population{
		N: n,
		Codes: []string{"900", "901", "902", "903", "904", "905", "906", "908", "909", "910",
			"911", "912", "913", "914", "915", "916", "917", "918", "919", "920"},
		Zones:   []string{"Europe/Moscow", "Europe/Kaliningrad", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"},
		Tags:    []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"},
		Weights: []uint64{30, 20, 15, 12, 8, 6, 4, 2, 2, 1},
		Names: []string{"Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Татьяна", "Светлана",
			"Алексей", "Дмитрий", "Сергей", "Андрей", "Иван", "Михаил", "Николай", "Павел"},
		Cities: []string{"Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург",
			"Нижний Новгород", "Самара", "Омск", "Калининград", "Владивосток"},
	}
}

// Shares of customers without a name and without a city, per mille.
const (
	NoNamePerMille = 30
	NoCityPerMille = 5
)

// Customer is one generated row; Code, Zone and Tags index the
// population's tables, and only the first NTags tags count.
type Customer struct {
	Phone int64
	Code  int
	Zone  int
	Tags  [3]int
	NTags int
	// Name and City index the population's Names and Cities, -1 when the
	// customer has none; they are drawn whether or not the directory has
	// Attributes.
	Name, City int
}

// splitmix64 is a tiny, well-mixed hash: the seed of every customer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Customer returns customer i.
func (p Population) Customer(i int) Customer {
	h := splitmix64(uint64(i))
	c := Customer{
		Phone: FirstPhone + int64(i),
		Code:  int(h % uint64(len(p.Codes))),
		Zone:  int((h >> 8) % uint64(len(p.Zones))),
		NTags: int((h >> 16) % 4),
		Name:  -1,
		City:  -1,
	}
	// The attributes come from a hash of their own, so adding them
	// changed none of the other draws.
	a := splitmix64(h ^ 0x5bd1e9955bd1e995)
	if a%1000 >= NoNamePerMille {
		c.Name = int((a >> 10) % uint64(len(p.Names)))
	}
	if (a>>20)%1000 >= NoCityPerMille {
		c.City = int((a >> 30) % uint64(len(p.Cities)))
	}
	// Weighted draws without replacement.
	var taken [maxTags]bool
	seed := h >> 20
	for k := range c.NTags {
		seed = splitmix64(seed)
		c.Tags[k] = p.drawTag(seed, &taken)
	}
	return c
}

func (p Population) drawTag(r uint64, taken *[maxTags]bool) int {
	var total uint64
	for j, w := range p.Weights {
		if !taken[j] {
			total += w
		}
	}
	pick := r % total
	for j, w := range p.Weights {
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

// AppendCSV appends customer c as a CSV record.
func (p Population) AppendCSV(b []byte, c Customer) []byte {
	b = strconv.AppendInt(b, c.Phone, 10)
	b = append(b, ',')
	b = append(b, p.Codes[c.Code]...)
	b = append(b, ',')
	b = append(b, p.Zones[c.Zone]...)
	b = append(b, ',')
	for k := range c.NTags {
		if k > 0 {
			b = append(b, ';')
		}
		b = append(b, p.Tags[c.Tags[k]]...)
	}
	if p.Attributes {
		// Empty cells are left out of the customer's attributes; no name
		// or city holds a comma or a quote.
		b = append(b, ',')
		if c.Name >= 0 {
			b = append(b, p.Names[c.Name]...)
		}
		b = append(b, ',')
		if c.City >= 0 {
			b = append(b, p.Cities[c.City]...)
		}
	}
	return append(b, '\n')
}

// AttributeColumns are the CSV's attribute columns, none without
// Attributes.
func (p Population) AttributeColumns() []string {
	if p.Attributes {
		return []string{"name", "city"}
	}
	return nil
}

// Header is the CSV header line of the directory, newline included.
func (p Population) Header() string {
	return strings.Join(append([]string{"phone", "phone_code", "timezone", "tags"}, p.AttributeColumns()...), ",") + "\n"
}

// NameOf and CityOf are customer c's attributes as imported, "" when it
// has none (or the directory has no Attributes).
func (p Population) NameOf(c Customer) string { return p.pick(p.Names, c.Name) }

func (p Population) CityOf(c Customer) string { return p.pick(p.Cities, c.City) }

func (p Population) pick(xs []string, i int) string {
	if !p.Attributes || i < 0 {
		return ""
	}
	return xs[i]
}

// Index is the customer number of a generated phone, and whether the
// phone is one of the directory's.
func (p Population) Index(phone int64) (int, bool) {
	i := phone - FirstPhone
	return int(i), i >= 0 && i < int64(p.N)
}

// WriteCSV streams the whole directory as CSV to w, in the import's
// format.
func (p Population) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.WriteString(p.Header()); err != nil {
		return err
	}
	line := make([]byte, 0, 128)
	for i := range p.N {
		line = p.AppendCSV(line[:0], p.Customer(i))
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Subset picks the fewest operator codes whose customers number at least
// about want, and counts them exactly: the audience of a mailout filtered
// on those codes.
func (p Population) Subset(want int) (codes []string, audience int) {
	k := min(max((want*len(p.Codes)+p.N-1)/p.N, 1), len(p.Codes))
	for i := range p.N {
		if p.Customer(i).Code < k {
			audience++
		}
	}
	return p.Codes[:k], audience
}

// TagFrequency is how many generated customers carry a tag.
type TagFrequency struct {
	Tag       string  `json:"tag"`
	Customers int     `json:"customers"`
	Share     float64 `json:"share"`
}

// TagFrequencies counts every tag's customers, most common first.
func (p Population) TagFrequencies() []TagFrequency {
	counts := make([]int, len(p.Tags))
	for i := range p.N {
		c := p.Customer(i)
		for k := range c.NTags {
			counts[c.Tags[k]]++
		}
	}
	out := make([]TagFrequency, len(p.Tags))
	for j, n := range counts {
		out[j] = TagFrequency{Tag: p.Tags[j], Customers: n, Share: float64(n) / float64(p.N)}
	}
	slices.SortStableFunc(out, func(a, b TagFrequency) int { return b.Customers - a.Customers })
	return out
}
