package importer

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"mailing/shared/domain"
)

// Columns other than the known ones are attributes: their cells are
// strings as written, empty cells left out.
func TestCSVAttributeColumns(t *testing.T) {
	rr, err := newRecordReader(CSV, strings.NewReader("\uFEFF city ,PHONE,age,Tags,Note\n"+
		"Kazan,79160000001,30,vip,\n"+
		",79160000002,,,\n"+
		"Omsk,79160000003,1e3,,\" two words \"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Attributes{
		{"city": "Kazan", "age": "30"},
		nil,
		{"city": "Omsk", "age": "1e3", "Note": " two words "},
	}
	var rec record
	for i, w := range want {
		if err := rr.next(&rec); err != nil {
			t.Fatal(err)
		}
		if !rec.input.Attributes.Set || !reflect.DeepEqual(rec.input.Attributes.Values, w) && !(w == nil && len(rec.input.Attributes.Values) == 0) {
			t.Errorf("record %d: attributes %+v, want %v", i+1, rec.input.Attributes, w)
		}
	}
	if err := rr.next(&rec); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last record: %v", err)
	}

	// Without attribute columns a row says nothing about attributes.
	rr, err = newRecordReader(CSV, strings.NewReader("phone\n79160000001\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rr.next(&rec); err != nil || rec.input.Attributes.Set {
		t.Fatalf("attributes %+v (%v), want none given", rec.input.Attributes, err)
	}
}

func TestCSVHeaderAttributeNames(t *testing.T) {
	for header, want := range map[string]string{
		"phone,first name":  `column "first name" is neither a known column nor an attribute name`,
		"phone,city,city":   `column "city" appears twice`,
		"phone,city, city ": `column "city" appears twice`,
		"phone,TAGS,tags":   `column "tags" appears twice`,
		"phone,":            `column "" is neither`,
		"phone,_private":    `column "_private" is neither`,
		"city,age":          `no phone column`,
	} {
		_, err := parseCSVHeader(strings.Split(header, ","))
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || !strings.Contains(de.Message, want) || !strings.Contains(de.Message, "attributes") {
			t.Errorf("%q: %v, want a message with %q", header, err, want)
		}
	}
	cols, err := parseCSVHeader([]string{"phone", "City", "city", "x" + strings.Repeat("_", 63)})
	if err != nil || len(cols.attributes) != 3 || cols.attributes[0] != (csvAttribute{index: 1, key: "City"}) {
		t.Fatalf("columns %+v (%v)", cols, err)
	}
}
