package checks

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeSection returns the text under the heading whose title starts with
// title, up to the next heading of the same or a higher level.
func readmeSection(t testing.TB, title string) string {
	t.Helper()
	return docSection(t, "README.md", title)
}

// docSection is readmeSection for another Markdown file of the repository.
func docSection(t testing.TB, file, title string) string {
	t.Helper()
	doc := string(readRepoFile(t, file))
	re := regexp.MustCompile(`(?m)^(#+) ` + regexp.QuoteMeta(title) + `.*$`)
	loc := re.FindStringSubmatchIndex(doc)
	if loc == nil {
		t.Fatalf("%s has no section %q", file, title)
	}
	level := doc[loc[2]:loc[3]]
	rest := doc[loc[1]:]
	next := regexp.MustCompile(`(?m)^#{1,` + strconv.Itoa(len(level)) + `} `).FindStringIndex(rest)
	if next != nil {
		rest = rest[:next[0]]
	}
	return rest
}

// configVars lists the variables of the README's Configuration table.
func configVars(t testing.TB) map[string]bool {
	t.Helper()
	vars := tableVars(readmeSection(t, "Configuration"))
	if len(vars) < 10 {
		t.Fatalf("the README's Configuration table lists only %d variables", len(vars))
	}
	return vars
}

// devOIDCVars lists the variables of the Settings table of
// docs/dev-oidc.md: what the development provider reads.
func devOIDCVars(t testing.TB) map[string]bool {
	t.Helper()
	vars := tableVars(docSection(t, "docs/dev-oidc.md", "Settings"))
	if !vars["DEV_OIDC_ISSUER"] || !vars["DEV_OIDC_ADDR"] {
		t.Fatalf("the Settings table of docs/dev-oidc.md lists no DEV_OIDC_ISSUER or DEV_OIDC_ADDR (%v)", vars)
	}
	return vars
}

// tableVars lists the variables named in the first column of the
// Markdown tables of text.
func tableVars(text string) map[string]bool {
	vars := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9_]*)`").FindAllStringSubmatch(cells[1], -1) {
			vars[m[1]] = true
		}
	}
	return vars
}

func TestReadmeTellsHowToRunAndDeploy(t *testing.T) {
	checks := []struct {
		section string
		want    []string
	}{
		{"Quick start with Docker", []string{"docker compose up -d --build", "PROBE_URL", "PROBE_TOKEN", ".env.example", "--scale worker="}},
		{"Quick start without Docker", []string{"make run", "PostgreSQL", "RabbitMQ"}},
	}
	for _, c := range checks {
		text := readmeSection(t, c.section)
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("README section %q does not mention %q", c.section, w)
			}
		}
	}
	readme := string(readRepoFile(t, "README.md"))
	for _, w := range []string{"make test", "(docs/kubernetes.md)", "(docs/ci.md)"} {
		if !strings.Contains(readme, w) {
			t.Errorf("README.md does not mention %q", w)
		}
	}
	for _, doc := range []string{"docs/kubernetes.md", "docs/ci.md"} {
		readRepoFile(t, doc)
	}
}
