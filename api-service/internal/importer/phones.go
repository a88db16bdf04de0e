package importer

import "slices"

// phoneSet is a compact set of valid phones (7 and ten digits), used to
// find phones repeated anywhere in an upload of millions of rows. Each
// phone's ten digits form a number that is split roaring-style: the high
// bits pick a container, which holds the low 16 bits in a sorted array
// while it is small and in a bitmap once the array would be larger. A set
// costs at most about four bytes a phone, much less for runs of numbers.
type phoneSet struct {
	containers map[uint32]*phoneContainer
}

type phoneContainer struct {
	sorted []uint16      // used while bits is nil
	bits   *[1024]uint64 // 65536 bits
}

// maxSorted is where an array container turns into a bitmap: 4096 values
// take as many bytes as the bitmap.
const maxSorted = 4096

func newPhoneSet() *phoneSet {
	return &phoneSet{containers: map[uint32]*phoneContainer{}}
}

// add inserts phone, which must be valid, and reports whether it was new.
func (s *phoneSet) add(phone string) bool {
	var v uint64
	for i := 1; i < len(phone); i++ {
		v = v*10 + uint64(phone[i]-'0')
	}
	hi, lo := uint32(v>>16), uint16(v)
	c := s.containers[hi]
	if c == nil {
		c = &phoneContainer{}
		s.containers[hi] = c
	}
	return c.add(lo)
}

func (c *phoneContainer) add(x uint16) bool {
	if c.bits != nil {
		word, bit := x>>6, uint64(1)<<(x&63)
		if c.bits[word]&bit != 0 {
			return false
		}
		c.bits[word] |= bit
		return true
	}
	i, found := slices.BinarySearch(c.sorted, x)
	if found {
		return false
	}
	if len(c.sorted) < maxSorted {
		c.sorted = slices.Insert(c.sorted, i, x)
		return true
	}
	c.bits = new([1024]uint64)
	for _, y := range c.sorted {
		c.bits[y>>6] |= 1 << (y & 63)
	}
	c.sorted = nil
	return c.add(x)
}
