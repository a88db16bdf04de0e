package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"

	"mailing/api-service/internal/httpapi"
)

// The OpenAPI description tells each /api operation's least role (its 403)
// as the route table declares it, and lets either security scheme — the
// OAuth2 password flow or a bearer JWT or API key — authorize it.
func TestOpenAPIDescribesEachRoutesRole(t *testing.T) {
	raw, err := os.ReadFile("../../docs/swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Description string `json:"description"`
			} `json:"responses"`
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
		SecurityDefinitions map[string]struct {
			Type, In, Name string
		} `json:"securityDefinitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if b := doc.SecurityDefinitions["Bearer"]; b.Type != "apiKey" || b.In != "header" || b.Name != "Authorization" {
		t.Fatalf("Bearer scheme %+v", b)
	}
	srv := httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler)})
	for _, r := range srv.Routes() {
		if r.Path != "/api" && !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		path := pathParam.ReplaceAllStringFunc(r.Path, func(p string) string { return "{" + p[1:] + "}" })
		op, ok := doc.Paths[path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s is not in the OpenAPI description", r.Method, path)
			continue
		}
		if got, want := op.Responses["403"].Description, "needs the "+string(r.Role)+" role"; got != want {
			t.Errorf("%s %s: 403 says %q, the route table %q", r.Method, path, got, want)
		}
		schemes := map[string]bool{}
		for _, alt := range op.Security {
			if len(alt) != 1 {
				t.Errorf("%s %s: a security requirement needs %d schemes at once", r.Method, path, len(alt))
			}
			for name := range alt {
				schemes[name] = true
			}
		}
		if !schemes["OAuth2Password"] || !schemes["Bearer"] {
			t.Errorf("%s %s: security %v, want OAuth2Password or Bearer", r.Method, path, op.Security)
		}
	}
}
