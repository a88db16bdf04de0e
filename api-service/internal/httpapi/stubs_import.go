package httpapi

import "github.com/gin-gonic/gin"

func (s *Server) importCustomers(c *gin.Context) { notYet(c) }
