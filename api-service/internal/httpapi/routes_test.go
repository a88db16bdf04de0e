package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/auth"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// A route registered beside the role table, the way a hurried change
// might add one, is refused to everyone, admins included, and reported
// without a role.
func TestRouteOutsideTheRoleTableIsRefused(t *testing.T) {
	gin.SetMode(gin.TestMode)
	db := pgtest.Open(t)
	tokens, err := auth.NewTokens(strings.Repeat("s", 40), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := postgres.NewUsers(db).Create(context.Background(), domain.User{Username: "root", Role: domain.RoleAdmin}, "!")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Stores: PostgresStores(db), Log: slog.New(slog.DiscardHandler), Tokens: tokens})
	s.engine.Group("/api", s.authorize).GET("/sneaky", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"secret": true}) })

	tok, err := tokens.Issue(auth.Claims{Subject: strconv.FormatInt(admin.ID, 10), Generation: admin.Generation})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/sneaky", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	var out ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusForbidden || out.Error.Code != "forbidden" {
		t.Fatalf("GET /api/sneaky as admin: %d %s", w.Code, w.Body)
	}
	var listed bool
	for _, r := range s.Routes() {
		if r.Path == "/api/sneaky" {
			listed = true
			if r.Role != "" {
				t.Fatalf("the sneaky route has role %q", r.Role)
			}
		}
	}
	if !listed {
		t.Fatal("Routes does not list the sneaky route")
	}
}
