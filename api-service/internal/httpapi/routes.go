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
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	if s.scrape != nil {
		r.GET("/metrics", gin.WrapH(s.scrape))
	}
	r.POST("/auth/token", s.token)

	api := r.Group("/api", s.requireToken)
	api.GET("", s.apiIndex)

	api.POST("/customers", s.createCustomer)
	api.GET("/customers", s.listCustomers)
	api.POST("/customers/import", s.importCustomers)
	api.GET("/customers/:id", s.getCustomer)
	api.PUT("/customers/:id", s.replaceCustomer)
	api.PATCH("/customers/:id", s.patchCustomer)
	api.DELETE("/customers/:id", s.deleteCustomer)
	api.POST("/customers/:id/tags", s.addCustomerTag)
	api.DELETE("/customers/:id/tags/:tag_id", s.removeCustomerTag)
	api.POST("/search", s.searchCustomers)

	api.POST("/mailouts", s.createMailout)
	api.GET("/mailouts", s.listMailouts)
	api.GET("/mailouts/:id", s.getMailout)
	api.PUT("/mailouts/:id", s.replaceMailout)
	api.PATCH("/mailouts/:id", s.patchMailout)
	api.DELETE("/mailouts/:id", s.deleteMailout)
	api.POST("/mailouts/:id/cancel", s.cancelMailout)
	api.POST("/mailouts/:id/tags", s.addMailoutTag)
	api.DELETE("/mailouts/:id/tags/:tag_id", s.removeMailoutTag)
	api.POST("/mailouts/:id/phone_codes", s.addMailoutPhoneCode)
	api.DELETE("/mailouts/:id/phone_codes/:phone_code_id", s.removeMailoutPhoneCode)
	api.GET("/mailouts/:id/stats", s.mailoutStats)
	api.GET("/mailouts/:id/messages", s.listMailoutMessages)

	api.GET("/messages", s.listMessages)
	api.GET("/messages/stats", s.messageStats)
	api.GET("/messages/:id", s.getMessage)

	api.GET("/phone_codes", s.listPhoneCodes)
	api.POST("/phone_codes", s.createPhoneCode)
	api.GET("/phone_codes/:id", s.getPhoneCode)
	api.PUT("/phone_codes/:id", s.updatePhoneCode)
	api.DELETE("/phone_codes/:id", s.deletePhoneCode)
	api.GET("/timezones", s.listTimezones)
	api.POST("/timezones", s.createTimezone)
	api.GET("/timezones/:id", s.getTimezone)
	api.PUT("/timezones/:id", s.updateTimezone)
	api.DELETE("/timezones/:id", s.deleteTimezone)
	api.GET("/audit", s.listAudit)

	api.GET("/tags", s.listTags)
	api.PUT("/tags/:id", s.updateTag)
	api.DELETE("/tags/:id", s.deleteTag)
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
