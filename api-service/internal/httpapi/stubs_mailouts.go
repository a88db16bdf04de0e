package httpapi

import "github.com/gin-gonic/gin"

func (s *Server) createMailout(c *gin.Context)          { notYet(c) }
func (s *Server) listMailouts(c *gin.Context)           { notYet(c) }
func (s *Server) getMailout(c *gin.Context)             { notYet(c) }
func (s *Server) replaceMailout(c *gin.Context)         { notYet(c) }
func (s *Server) patchMailout(c *gin.Context)           { notYet(c) }
func (s *Server) deleteMailout(c *gin.Context)          { notYet(c) }
func (s *Server) cancelMailout(c *gin.Context)          { notYet(c) }
func (s *Server) addMailoutTag(c *gin.Context)          { notYet(c) }
func (s *Server) removeMailoutTag(c *gin.Context)       { notYet(c) }
func (s *Server) addMailoutPhoneCode(c *gin.Context)    { notYet(c) }
func (s *Server) removeMailoutPhoneCode(c *gin.Context) { notYet(c) }
func (s *Server) listMessages(c *gin.Context)           { notYet(c) }
func (s *Server) getMessage(c *gin.Context)             { notYet(c) }
