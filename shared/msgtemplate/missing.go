package msgtemplate

// Missing returns the variables that Render counts as missing for attrs —
// used in a placeholder without a default filter while absent or null —
// each once, in the order they first appear; nil when there are none. A
// variable with a default in one placeholder and none in another is
// missing through the other.
func (t *Template) Missing(attrs map[string]any) []string {
	var out []string
	for i := range t.parts {
		p := &t.parts[i]
		if p.name == "" || p.hasDefault || attrs[p.name] != nil {
			continue
		}
		seen := false
		for _, name := range out {
			if name == p.name {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, p.name)
		}
	}
	return out
}
