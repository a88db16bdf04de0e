package httpapi

import "github.com/gin-gonic/gin"

func (s *Server) listPhoneCodes(c *gin.Context)  { notYet(c) }
func (s *Server) createPhoneCode(c *gin.Context) { notYet(c) }
func (s *Server) getPhoneCode(c *gin.Context)    { notYet(c) }
func (s *Server) updatePhoneCode(c *gin.Context) { notYet(c) }
func (s *Server) deletePhoneCode(c *gin.Context) { notYet(c) }
func (s *Server) listTimezones(c *gin.Context)   { notYet(c) }
func (s *Server) createTimezone(c *gin.Context)  { notYet(c) }
func (s *Server) getTimezone(c *gin.Context)     { notYet(c) }
func (s *Server) updateTimezone(c *gin.Context)  { notYet(c) }
func (s *Server) deleteTimezone(c *gin.Context)  { notYet(c) }
func (s *Server) listTags(c *gin.Context)        { notYet(c) }
func (s *Server) updateTag(c *gin.Context)       { notYet(c) }
func (s *Server) deleteTag(c *gin.Context)       { notYet(c) }
