package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Index describes the API.
type Index struct {
	Service string            `json:"service" example:"mailing-service"`
	Version string            `json:"version" example:"1.0.0"`
	Links   map[string]string `json:"links"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status" example:"ok"`
	Error  string `json:"error,omitempty"`
}

// apiIndex godoc
//
//	@Summary	Service name, version and links
//	@Tags		general
//	@Produce	json
//	@Success	200	{object}	Index
//	@Failure	401	{object}	ErrorBody
//	@Failure	403	{object}	ErrorBody	"needs the viewer role"
//	@Security	OAuth2Password
//	@Security	Bearer
//	@Router		/api [get]
func (s *Server) apiIndex(c *gin.Context) {
	c.JSON(http.StatusOK, Index{Service: "mailing-service", Version: s.version, Links: map[string]string{
		"docs": "/docs/", "openapi": "/docs/doc.json", "token": "/auth/token",
		"customers": "/api/customers", "mailouts": "/api/mailouts", "messages": "/api/messages",
		"search": "/api/search", "tags": "/api/tags", "phone_codes": "/api/phone_codes", "timezones": "/api/timezones",
	}})
}

// healthz godoc
//
//	@Summary	Liveness: the process answers
//	@Tags		general
//	@Produce	json
//	@Success	200	{object}	Health
//	@Router		/healthz [get]
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, Health{Status: "ok"})
}

// readyz godoc
//
//	@Summary	Readiness: the database is reachable
//	@Tags		general
//	@Produce	json
//	@Success	200	{object}	Health
//	@Failure	503	{object}	Health
//	@Router		/readyz [get]
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.health.Ping(ctx); err != nil {
		logger(c).Warn("readiness check failed", "error", err.Error())
		c.JSON(http.StatusServiceUnavailable, Health{Status: "unavailable", Error: "database unreachable"})
		return
	}
	c.JSON(http.StatusOK, Health{Status: "ok"})
}
