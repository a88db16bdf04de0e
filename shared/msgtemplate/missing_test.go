package msgtemplate

import (
	"slices"
	"testing"
)

func TestMissing(t *testing.T) {
	attrs := map[string]any{"name": "Анна", "null": nil, "empty": "", "off": false}
	tests := []struct {
		src  string
		want []string
	}{
		{"Hello!", nil},
		{"Hello, {{name}}!", nil},
		{"{{ empty }}{{ off }}", nil}, // present, so not missing
		{"{{ city }}, {{ null }}", []string{"city", "null"}},
		{"{{ city | default: \"Moscow\" }}", nil},
		{"{{ city | upcase | default: \"Moscow\" }}", nil},
		{"{{ city }} {{ city }} {{ code }} {{ city }}", []string{"city", "code"}},
		{"{{ city | default: \"Moscow\" }} {{ city }}", []string{"city"}},
		{"{{ \"literal\" }}", nil},
	}
	for _, tt := range tests {
		tpl, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		got := tpl.Missing(attrs)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Missing(%q) = %q, want %q", tt.src, got, tt.want)
		}
		// Render counts placeholders, Missing names variables: both agree
		// on whether anything is missing.
		if _, n := tpl.Render(attrs, nil); (n > 0) != (len(got) > 0) {
			t.Errorf("%q: Render counts %d missing, Missing names %q", tt.src, n, got)
		}
	}
}
