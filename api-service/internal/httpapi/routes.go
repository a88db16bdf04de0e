package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"

	_ "mailing/api-service/docs" // registers the generated OpenAPI spec

	"mailing/shared/domain"
)

// routes lists every endpoint of the service in one place.
func (s *Server) routes() {
	r := s.engine
	r.Use(s.requestContext, s.recoverer)
	r.NoRoute(func(c *gin.Context) {
		writeError(c, domain.Errorf(domain.CodeNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{Code: "method_not_allowed", Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path}})
	})

	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/docs/") })
	r.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/") })
	r.GET("/docs/*any", s.docs())
	if s.webUI != nil {
		r.Match([]string{http.MethodGet, http.MethodHead}, "/admin/*path", gin.WrapH(s.webUI)) // the admin UI (internal/webui)
	}
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	if s.scrape != nil {
		r.GET("/metrics", gin.WrapH(s.scrape))
	}
	r.POST("/auth/token", s.token)
	r.POST("/auth/login", s.login)
	r.POST("/auth/logout", s.logout)
	r.GET("/auth/session", s.currentSession)
	r.GET("/auth/providers", s.signInProviders)
	if s.oidc != nil {
		r.GET("/auth/oidc/login", s.limitOIDC, s.oidcLogin)
		r.GET("/auth/oidc/callback", s.limitOIDC, s.oidcCallback)
	}

	api := r.Group("/api", s.authorize)
	s.roles = map[string]domain.Role{}
	for _, rt := range s.apiRoutes() {
		api.Handle(rt.method, rt.path, rt.handler)
		s.roles[roleKey(rt.method, "/api"+rt.path)] = rt.role
	}
}

// apiRoute is one /api route and the least role that may call it.
type apiRoute struct {
	method, path string
	role         domain.Role
	handler      gin.HandlerFunc
}

// apiRoutes is every /api route with the least role it needs: reads are
// for viewers; changes to customers, mailouts and reference data, imports
// and cancelling are for operators; users and keys are for admins. This
// table is the one place roles are enforced (authorize reads it), and an
// /api route missing from it is refused to everyone. The creating routes
// a client may retry take an Idempotency-Key (idempotent).
func (s *Server) apiRoutes() []apiRoute {
	const viewer, operator, admin = domain.RoleViewer, domain.RoleOperator, domain.RoleAdmin
	return []apiRoute{
		{"GET", "", viewer, s.apiIndex},

		{"POST", "/customers", operator, s.idempotent(readFirst, s.createCustomer)},
		{"GET", "/customers", viewer, s.listCustomers},
		{"POST", "/customers/import", operator, s.idempotent(hashStreamed, s.importCustomers)},
		{"GET", "/customers/:id", viewer, s.getCustomer},
		{"PUT", "/customers/:id", operator, s.replaceCustomer},
		{"PATCH", "/customers/:id", operator, s.patchCustomer},
		{"DELETE", "/customers/:id", operator, s.deleteCustomer},
		{"POST", "/customers/:id/tags", operator, s.addCustomerTag},
		{"DELETE", "/customers/:id/tags/:tag_id", operator, s.removeCustomerTag},
		{"POST", "/search", viewer, s.searchCustomers},          // a read with a body
		{"POST", "/mailouts/preview", viewer, s.previewMailout}, // a read with a body

		{"POST", "/mailouts", operator, s.idempotent(readFirst, s.createMailout)},
		{"GET", "/mailouts", viewer, s.listMailouts},
		{"GET", "/mailouts/:id", viewer, s.getMailout},
		{"PUT", "/mailouts/:id", operator, s.replaceMailout},
		{"PATCH", "/mailouts/:id", operator, s.patchMailout},
		{"DELETE", "/mailouts/:id", operator, s.deleteMailout},
		{"POST", "/mailouts/:id/cancel", operator, s.cancelMailout},
		{"POST", "/mailouts/:id/pause", operator, s.pauseMailout},
		{"POST", "/mailouts/:id/resume", operator, s.resumeMailout},
		{"POST", "/mailouts/:id/retry", operator, s.retryMailout},
		{"POST", "/mailouts/:id/test", operator, s.sendTest},
		{"GET", "/mailouts/:id/tests", viewer, s.listTests},
		{"POST", "/mailouts/:id/tags", operator, s.addMailoutTag},
		{"DELETE", "/mailouts/:id/tags/:tag_id", operator, s.removeMailoutTag},
		{"POST", "/mailouts/:id/phone_codes", operator, s.addMailoutPhoneCode},
		{"DELETE", "/mailouts/:id/phone_codes/:phone_code_id", operator, s.removeMailoutPhoneCode},
		{"GET", "/mailouts/:id/stats", viewer, s.mailoutStats},
		{"GET", "/mailouts/:id/messages", viewer, s.listMailoutMessages},

		{"GET", "/messages", viewer, s.listMessages},
		{"GET", "/messages/stats", viewer, s.messageStats},
		{"GET", "/messages/:id", viewer, s.getMessage},

		{"GET", "/phone_codes", viewer, s.listPhoneCodes},
		{"POST", "/phone_codes", operator, s.createPhoneCode},
		{"GET", "/phone_codes/:id", viewer, s.getPhoneCode},
		{"PUT", "/phone_codes/:id", operator, s.updatePhoneCode},
		{"DELETE", "/phone_codes/:id", operator, s.deletePhoneCode},
		{"GET", "/timezones", viewer, s.listTimezones},
		{"POST", "/timezones", operator, s.createTimezone},
		{"GET", "/timezones/:id", viewer, s.getTimezone},
		{"PUT", "/timezones/:id", operator, s.updateTimezone},
		{"DELETE", "/timezones/:id", operator, s.deleteTimezone},
		{"GET", "/tags", viewer, s.listTags},
		{"PUT", "/tags/:id", operator, s.updateTag},
		{"DELETE", "/tags/:id", operator, s.deleteTag},

		{"POST", "/users", admin, s.createUser},
		{"GET", "/users", admin, s.listUsers},
		{"GET", "/users/:id", admin, s.getUser},
		{"PATCH", "/users/:id", admin, s.patchUser},
		{"POST", "/users/:id/password", admin, s.resetPassword},
		{"POST", "/keys", admin, s.createKey},
		{"GET", "/keys", admin, s.listKeys},
		{"GET", "/settings", admin, s.getSettings},
		{"PATCH", "/settings", admin, s.patchSettings},
		{"DELETE", "/keys/:id", admin, s.revokeKey},
		{"GET", "/audit", admin, s.listAudit},
	}
}

func roleKey(method, route string) string { return method + " " + route }

// RouteRole is a route the server answers and the least role it needs;
// Role is empty for a route that needs no credentials, or one missing
// from the role table.
type RouteRole struct {
	Method, Path string
	Role         domain.Role
}

// Routes lists every route the server answers with its role, for checks
// that no /api route is left without one.
func (s *Server) Routes() []RouteRole {
	var out []RouteRole
	for _, r := range s.engine.Routes() {
		out = append(out, RouteRole{Method: r.Method, Path: r.Path, Role: s.roles[roleKey(r.Method, r.Path)]})
	}
	return out
}

func (s *Server) docs() gin.HandlerFunc {
	h := ginSwagger.WrapHandler(swaggerFiles.Handler,
		ginSwagger.URL("/docs/doc.json"),
		ginSwagger.PersistAuthorization(true),
		ginSwagger.DefaultModelsExpandDepth(1))
	return func(c *gin.Context) {
		if c.Param("any") == "/" {
			// gin-swagger picks the file from RequestURI, not URL.Path.
			c.Request.URL.Path = "/docs/index.html"
			c.Request.RequestURI = "/docs/index.html"
			c.Params = gin.Params{{Key: "any", Value: "/index.html"}}
		}
		h(c)
	}
}
