package httpapi

import (
	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
)

// notYet answers endpoints whose handlers are still being written.
func notYet(c *gin.Context) {
	writeError(c, domain.Errorf(domain.CodeNotFound, "not implemented yet"))
}
